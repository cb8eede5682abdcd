#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import MeshgateLoop

/// Owned descriptors and pipes: no negative number becomes a `Descriptor`; a pipe's two ends
/// are connected.
@Suite struct DescriptorTests {
    @Test func aNegativeNumberIsNoDescriptor() {
        #expect(Descriptor(-1) == nil, "a failed call's -1 stays out of the type")
        #expect(Descriptor(0)?.raw == 0)
    }

    @Test func aPipeCarriesBytesFromItsWriteEndToItsReadEnd() throws {
        let pipe = try Pipe.open().get()
        defer { pipe.close() }
        #expect(pipe.read != pipe.write)
        var byte: UInt8 = 7
        #expect(Glibc.write(pipe.write.raw, &byte, 1) == 1)
        byte = 0
        #expect(Glibc.read(pipe.read.raw, &byte, 1) == 1)
        #expect(byte == 7)
    }
}
