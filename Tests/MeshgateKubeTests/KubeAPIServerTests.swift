import Testing

@testable import MeshgateKube

/// Integration tests against one real test cluster (etcd + scripts/apiserver), run one at a
/// time. The nested suites are in the `KubeAPIServerTests+*.swift` files.
@Suite(
    .serialized, .kubeCluster,
    .enabled(if: KubeTestCluster.missingTools == nil, Comment(rawValue: KubeTestCluster.missingTools ?? "")))
enum KubeAPIServerTests {}
