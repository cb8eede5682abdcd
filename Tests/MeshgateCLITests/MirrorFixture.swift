import Foundation
import MeshgateLoad
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// What the service-mirror suites share: the two mirrored echo routes and a mesh whose east
/// is linked to west and north.
enum MirrorFixture {
    static let westKey = "default/echo-west:7000"
    static let northKey = "default/echo-north:7000"

    /// Links east to both and waits (≤ 10 s each) for the two mirrored echo routes.
    static func linkedMesh(_ label: String, eastServices: (BackendServer) -> [ServiceSpec] = { _ in [] }) throws
        -> (MirrorMesh, west: UInt16, north: UInt16)
    {
        let mesh = try MirrorMesh(label: label, eastServices: eastServices)
        do {
            try mesh.link()
            guard let w = mesh.waitRoute(westKey, cluster: "west") else {
                throw TestFailure("east never logged `link west: route \(westKey) on …`:\n\(mesh.logs)")
            }
            guard let n = mesh.waitRoute(northKey, cluster: "north") else {
                throw TestFailure("east never logged `link north: route \(northKey) on …`:\n\(mesh.logs)")
            }
            return (mesh, w, n)
        } catch {
            mesh.shutdown()
            throw error
        }
    }

    /// Milliseconds, rounded, for the printed figures.
    static func ms(_ v: Double) -> String { String(format: "%.0f", v) }
}
