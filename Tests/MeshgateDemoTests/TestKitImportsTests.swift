import Foundation
import Testing

/// The meshgate binary links MeshgateTestKit (through MeshgateDemo), so no file of the kit may
/// import a test framework: Testing or XCTest would become a run-time dependency of the binary.
@Suite struct TestKitImportsTests {
    @Test("no MeshgateTestKit file imports Testing or XCTest")
    func kitImportsNoTestFramework() throws {
        let kit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("MeshgateTestKit")
        let files = try FileManager.default.contentsOfDirectory(atPath: kit.path).filter { $0.hasSuffix(".swift") }
        #expect(files.contains("LoggedProcess.swift"), "found the kit at \(kit.path)")
        for file in files {
            let text = try String(contentsOfFile: kit.appendingPathComponent(file).path, encoding: .utf8)
            let imports = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                $0.hasPrefix("import Testing") || $0.hasPrefix("import XCTest") || $0.contains("import Testing") || $0.contains("import XCTest")
            }
            #expect(imports.isEmpty, "\(file): \(imports)")
        }
    }
}
