// swift-tools-version: 6.0
// meshgate — a multi-cluster mTLS service gateway. See docs/design.md (the design) and
// docs/development.md (what each target holds, how to test).
//
// Layering (arrows point down only; every edge is in docs/architecture.md):
//   meshgate (executable) → MeshgateCLI → MeshgateAdmin → MeshgateControl → MeshgateIdentity, MeshgateKube,
//     MeshgateDiscovery → MeshgateProxy → MeshgateWire / MeshgateTLS / MeshgateLoop;  MeshgateTLS → COpenSSL;
//     MeshgateLoop → CMeshgateShim → CURing;  MeshgateProxy hands discover streams to MeshgateDiscovery through
//     its DiscoverStreamHandler protocol (no edge upwards);
//   MeshgateNames (names, identities, durations) is the leaf under MeshgateTLS, MeshgateIdentity and up
//   meshgate-bench → MeshgateLoad (load harness; independent of the proxy) → CMeshgateShim / COpenSSL
import PackageDescription

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "meshgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshgate", targets: ["meshgate"]),
        .executable(name: "meshgate-bench", targets: ["MeshgateBench"]),
        .executable(name: "meshgate-route-bench", targets: ["MeshgateRouteBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
    ],
    targets: [
        // C boundary: system libraries through pkg-config, plus one small shim for macros.
        .systemLibrary(
            name: "CURing", path: "Sources/CURing", pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .target(name: "CMeshgateShim", dependencies: ["CURing"], path: "Sources/CMeshgateShim"),

        // Names and grammars used everywhere: DNS labels and names, workload identities, the
        // duration grammar (no dependencies; Swift 6 language mode).
        .target(name: "MeshgateNames"),

        // Event loop: io_uring and epoll backends behind one completion interface.
        .target(
            name: "MeshgateLoop",
            dependencies: ["CMeshgateShim"]),

        // TLS engine: OpenSSL 3 over memory BIOs, identities, kTLS key material.
        .target(
            name: "MeshgateTLS",
            dependencies: ["COpenSSL", "MeshgateNames"]),

        // Wire protocol between gateways: the transport header codec (no dependencies).
        .target(name: "MeshgateWire"),

        // L4 proxy engine: connections, splice, upstream selection, counters.
        .target(
            name: "MeshgateProxy",
            dependencies: [
                "MeshgateLoop", "MeshgateTLS", "MeshgateWire", "MeshgateNames",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "HashTreeCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),

        // Off-loop control transport (TLSStream, GatewayProbe) and both halves of the discover
        // protocol: the pure sessions (DiscoverServerSession, DiscoverClientSession) and the
        // DiscoveryServer that runs the serving half for the loops.
        .target(
            name: "MeshgateDiscovery",
            dependencies: [
                "MeshgateProxy", "MeshgateWire", "MeshgateTLS", "MeshgateLoop", "MeshgateNames",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),

        // Identity tooling: trust anchor, per-cluster issuer, leaf certificates (PEM files).
        .target(
            name: "MeshgateIdentity",
            dependencies: [
                "MeshgateNames",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: v5),

        // Kubernetes API client: objects, list/watch, informer, lease election (knows nothing of gateways).
        .target(
            name: "MeshgateKube",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: v5),

        // Control: gateway config, registry, file watching, route-table publishing.
        .target(
            name: "MeshgateControl",
            dependencies: [
                "MeshgateDiscovery", "MeshgateProxy", "MeshgateWire", "MeshgateTLS", "MeshgateLoop", "MeshgateIdentity", "MeshgateKube",
                "MeshgateNames",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: v5),

        // Admin endpoint: /live, /ready, /status (JSON) and /metrics (Prometheus) on its own
        // one-thread NIO event loop group.
        .target(
            name: "MeshgateAdmin",
            dependencies: [
                "MeshgateControl", "MeshgateProxy", "MeshgateLoop",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),

        // Command-line front end.
        .target(
            name: "MeshgateCLI",
            dependencies: [
                "MeshgateProxy", "MeshgateLoop", "MeshgateTLS", "MeshgateControl", "MeshgateIdentity", "MeshgateAdmin", "MeshgateNames",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: v5),
        .executableTarget(name: "meshgate", dependencies: ["MeshgateCLI"], swiftSettings: v5),

        // Load harness (Benchmarks/): a library the tests reuse, and the meshgate-bench tool.
        .target(
            name: "MeshgateLoad",
            dependencies: ["COpenSSL", "CMeshgateShim", "MeshgateNames", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Benchmarks/MeshgateLoad",
            swiftSettings: v5),
        .executableTarget(
            name: "MeshgateBench",
            dependencies: [
                "MeshgateLoad", "MeshgateNames",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/MeshgateBench",
            swiftSettings: v5),

        // Route-table propagation benchmark: publishes to a running gateway's loops in-process.
        .executableTarget(
            name: "MeshgateRouteBench",
            dependencies: [
                "MeshgateProxy", "MeshgateTLS", "MeshgateLoop", "MeshgateWire", "MeshgateNames",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/MeshgateRouteBench",
            swiftSettings: v5),

        // Test kit shared by the test targets: eventually/waitUntil, loopback ports, a child-process
        // runner and an openssl-made PKI.
        .target(
            name: "MeshgateTestKit",
            dependencies: ["MeshgateTLS", "MeshgateNames"],
            path: "Tests/MeshgateTestKit",
            swiftSettings: v5),

        // Tests: one target per source target, plus end-to-end through the CLI binary.
        .testTarget(name: "MeshgateNamesTests", dependencies: ["MeshgateNames"]),
        .testTarget(name: "MeshgateLoopTests", dependencies: ["MeshgateLoop"], swiftSettings: v5),
        .testTarget(name: "MeshgateTLSTests", dependencies: ["MeshgateTLS", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(name: "MeshgateWireTests", dependencies: ["MeshgateWire", "MeshgateTestKit"]),
        .testTarget(
            name: "MeshgateIdentityTests", dependencies: ["MeshgateIdentity", "MeshgateTLS", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(name: "MeshgateControlTests", dependencies: ["MeshgateControl", "MeshgateDiscovery", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(
            name: "MeshgateKubeTests",
            dependencies: [
                "MeshgateKube", "MeshgateTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .testTarget(
            name: "MeshgateAdminTests",
            dependencies: [
                "MeshgateAdmin", "MeshgateControl", "MeshgateDiscovery", "MeshgateProxy", "MeshgateIdentity", "MeshgateTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: v5),
        .testTarget(name: "MeshgateProxyTests", dependencies: ["MeshgateProxy", "MeshgateLoad", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(
            name: "MeshgateDiscoveryTests",
            dependencies: ["MeshgateDiscovery", "MeshgateProxy", "MeshgateLoad", "MeshgateTestKit", .product(name: "Logging", package: "swift-log")],
            swiftSettings: v5),
        .testTarget(
            name: "MeshgateCLITests",
            dependencies: ["MeshgateCLI", "MeshgateLoad", "MeshgateTestKit", .product(name: "Yams", package: "Yams")], swiftSettings: v5),
        .testTarget(name: "MeshgateLoadTests", dependencies: ["MeshgateLoad"], swiftSettings: v5),
    ]
)
