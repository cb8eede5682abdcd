import Foundation
import Testing

@testable import MeshgateControl

/// `meshgate check` when gateway.yaml names a links folder that is not there.
@Suite struct GatewayCheckLinksFolderTests {
    @Test("a missing links folder: the check says to create it (not to fix or remove a file)")
    func missingLinksFolder() throws {
        let dir = try GatewayCheckTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/links")
        let results = GatewayCheckTests.run(dir)
        let links = try #require(GatewayCheckTests.find(results, "links"), "\(results.map(\.name))")
        #expect(links.status == .failed)
        #expect(links.detail.contains("does not exist"), "\(links.detail)")
        #expect(links.hint?.contains("create it") == true, "\(String(describing: links.hint))")
        #expect(results.allSatisfy { $0.hint?.contains("fix or remove") != true }, "\(results)")
    }
}
