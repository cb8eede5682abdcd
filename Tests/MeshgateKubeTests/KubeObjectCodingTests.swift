import Foundation
import Testing

@testable import MeshgateKube

@Suite struct KubeObjectCodingTests {
    @Test func intOrStringRoundTrips() throws {
        let ports = try JSONDecoder().decode([KubeIntOrString].self, from: Data(#"[8080, "http"]"#.utf8))
        #expect(ports == [.int(8080), .string("http")])
        #expect(String(decoding: try JSONEncoder().encode(ports), as: UTF8.self) == #"[8080,"http"]"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([KubeIntOrString].self, from: Data("[true]".utf8)) }
    }

    @Test func decodesServiceIgnoringUnknownFields() throws {
        let json = #"""
            {"kind":"Service","apiVersion":"v1","metadata":{"name":"redis","namespace":"shop","uid":"u1",
             "resourceVersion":"42","generation":1,"labels":{"a":"b"},"managedFields":[]},
             "spec":{"type":"ClusterIP","clusterIP":"10.96.0.7","sessionAffinity":"None",
             "ports":[{"name":"redis","port":6379,"targetPort":"redis","protocol":"TCP"}]},"status":{}}
            """#
        let svc = try JSONDecoder().decode(KubeService.self, from: Data(json.utf8))
        #expect(svc.metadata.key == "shop/redis")
        #expect(svc.metadata.resourceVersion == "42")
        #expect(svc.spec.ports?.first?.targetPort == .string("redis"))
        #expect(svc.spec.clusterIP == "10.96.0.7")
    }

    @Test func encodingAddsApiVersionAndKindAndOmitsNil() throws {
        let svc = KubeService(
            metadata: .init(name: "redis-west", namespace: "shop"),
            spec: .init(ports: [.init(port: 6379)]))
        let data = try JSONEncoder().encode(KubeEnvelope(object: svc))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["apiVersion"] as? String == "v1")
        #expect(object["kind"] as? String == "Service")
        let meta = try #require(object["metadata"] as? [String: Any])
        #expect(Set(meta.keys) == ["name", "namespace"])
        let spec = try #require(object["spec"] as? [String: Any])
        #expect(Set(spec.keys) == ["ports"])

        let lease = try JSONEncoder().encode(KubeEnvelope(object: KubeLease(metadata: .init(name: "l"))))
        let leaseObject = try #require(try JSONSerialization.jsonObject(with: lease) as? [String: Any])
        #expect(leaseObject["apiVersion"] as? String == "coordination.k8s.io/v1")
        #expect(leaseObject["kind"] as? String == "Lease")
    }

    @Test func kindsAndPaths() {
        #expect(KubeService.kind.apiVersion == "v1")
        #expect(KubeEndpointSlice.kind.apiVersion == "discovery.k8s.io/v1")
        #expect(KubeServiceExport.kind.apiVersion == "multicluster.x-k8s.io/v1alpha1")
        #expect(KubePath.collection(KubeService.kind, namespace: nil) == "/api/v1/services")
        #expect(KubePath.collection(KubeService.kind, namespace: "shop") == "/api/v1/namespaces/shop/services")
        #expect(
            KubePath.object(KubeLease.kind, namespace: "ns", name: "mirror")
                == "/apis/coordination.k8s.io/v1/namespaces/ns/leases/mirror")
        #expect(KubePath.escapeQuery("a in (b,c)") == "a%20in%20%28b%2Cc%29")
    }

    @Test func microTimeFormatsAndParses() throws {
        let date = Date(timeIntervalSince1970: 1_136_214_245.000123)
        #expect(KubeMicroTime.format(date) == "2006-01-02T15:04:05.000123Z")
        let parsed = try #require(KubeMicroTime.parse("2006-01-02T15:04:05.000123Z"))
        #expect(abs(parsed.timeIntervalSince(date)) < 1e-6)
        #expect(KubeMicroTime.parse("2006-01-02T15:04:05Z") == Date(timeIntervalSince1970: 1_136_214_245))
        #expect(KubeMicroTime.parse("2006-01-02T16:04:05+01:00") == Date(timeIntervalSince1970: 1_136_214_245))
        #expect(KubeMicroTime.parse("2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
        for bad in ["", "2006-01-02", "2006-13-02T15:04:05Z", "2006-01-02T15:04:05", "2006-01-02T15:04:05.Z", "x"] {
            #expect(KubeMicroTime.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func errorDescriptionsAndPredicates() {
        let gone = KubeError(code: 410, reason: "Expired", message: "too old resource version: 5 (9)")
        #expect(gone.isGone && !gone.isConflict && !gone.isNotFound)
        #expect(gone.description == "410 Expired: too old resource version: 5 (9)")
        #expect(KubeError(code: nil, reason: "Transport", message: "refused").description == "Transport: refused")
    }
}
