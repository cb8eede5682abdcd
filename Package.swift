// swift-tools-version: 6.0
// meshgate — a multi-cluster mTLS service gateway. See docs/design.md (the design) and
// docs/development.md (what each target holds, how to test).
//
// Layering (arrows point down only; every edge is in docs/architecture.md):
//   meshgate (executable) → MeshgateCLI → MeshgateDemo (`meshgate demo`; uses MeshgateTestKit's process
//     runner, ports and waits) → MeshgateAdmin;  MeshgateCLI → MeshgateAdmin → MeshgateControl → MeshgateIdentity, MeshgateKube,
//     MeshgateDiscovery → MeshgateProxy → MeshgateWire / MeshgateTLS / MeshgateLoop;  MeshgateTLS → COpenSSL;
//     MeshgateLoop → CMeshgateShim → CURing;  MeshgateProxy hands discover streams to MeshgateDiscovery through
//     its DiscoverStreamHandler protocol (no edge upwards);
//   MeshgateNames (names, identities, durations) is the leaf under MeshgateTLS, MeshgateIdentity and up
//   meshgate-bench → MeshgateLoad (load harness; independent of the proxy) → CMeshgateShim / COpenSSL
import PackageDescription

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

/// The package dependencies (`owner/name` on GitHub, the lowest version taken), but swift-crypto,
/// which takes a range.
let packagesOnGitHub: [(repository: String, from: Version)] = [
    ("apple/swift-argument-parser", "1.5.0"), ("apple/swift-log", "1.6.0"), ("apple/swift-atomics", "1.2.0"),
    ("swift-server/swift-service-lifecycle", "2.6.0"), ("HdrHistogram/hdrhistogram-swift", "0.1.0"),
    ("apple/swift-certificates", "1.21.0"), ("apple/swift-asn1", "1.1.0"), ("jpsim/Yams", "6.0.0"),
    ("apple/swift-collections", "1.1.0"), ("apple/swift-nio", "2.101.2"), ("apple/swift-metrics", "2.13.0"),
    ("swift-server/swift-prometheus", "2.4.1"), ("swift-server/async-http-client", "1.37.0"), ("apple/swift-nio-ssl", "2.29.0"),
]

// Products of the package dependencies, named once.
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let atomics: Target.Dependency = .product(name: "Atomics", package: "swift-atomics")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
/// `NIOCore`, `NIOPosix`, … of swift-nio.
func nio(_ name: String) -> Target.Dependency { .product(name: name, package: "swift-nio") }
/// X.509 certificates and the crypto and ASN.1 under them (identity tooling).
let certificates: [Target.Dependency] = [
    .product(name: "X509", package: "swift-certificates"),
    .product(name: "Crypto", package: "swift-crypto"),
    .product(name: "SwiftASN1", package: "swift-asn1"),
]

let package = Package(
    name: "meshgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshgate", targets: ["meshgate"]),
        .executable(name: "meshgate-bench", targets: ["MeshgateBench"]),
        .executable(name: "meshgate-route-bench", targets: ["MeshgateRouteBench"]),
    ],
    dependencies: packagesOnGitHub.map { .package(url: "https://github.com/\($0.repository)", from: $0.from) } + [
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0")
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
                "MeshgateLoop", "MeshgateTLS", "MeshgateWire", "MeshgateNames", atomics,
                .product(name: "HashTreeCollections", package: "swift-collections"), logging,
            ],
            swiftSettings: v5),

        // Off-loop control transport (TLSStream, GatewayProbe) and both halves of the discover
        // protocol: the pure sessions (DiscoverServerSession, DiscoverClientSession) and the
        // DiscoveryServer that runs the serving half for the loops.
        .target(
            name: "MeshgateDiscovery",
            dependencies: [
                "MeshgateProxy", "MeshgateWire", "MeshgateTLS", "MeshgateLoop", "MeshgateNames", atomics, logging,
            ],
            swiftSettings: v5),

        // Identity tooling: trust anchor, per-cluster issuer, leaf certificates (PEM files).
        .target(
            name: "MeshgateIdentity",
            dependencies: ["MeshgateNames"] + certificates,
            swiftSettings: v5),

        // Kubernetes API client: objects, list/watch, informer, lease election (knows nothing of gateways).
        .target(
            name: "MeshgateKube",
            dependencies: [
                "MeshgateNames", asyncHTTPClient, nio("NIOCore"), nio("NIOPosix"), nio("NIOConcurrencyHelpers"), nio("NIOFoundationCompat"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), logging, yams,
            ],
            swiftSettings: v5),

        // Control: gateway config, registry, file watching, route-table publishing.
        .target(
            name: "MeshgateControl",
            dependencies: [
                "MeshgateDiscovery", "MeshgateProxy", "MeshgateWire", "MeshgateTLS", "MeshgateLoop", "MeshgateIdentity", "MeshgateKube",
                "MeshgateNames", yams, logging,
            ] + certificates,
            swiftSettings: v5),

        // Admin endpoint: /live, /ready, /status (JSON) and /metrics (Prometheus) on its own
        // one-thread NIO event loop group.
        .target(
            name: "MeshgateAdmin",
            dependencies: [
                "MeshgateControl", "MeshgateDiscovery", "MeshgateProxy", "MeshgateLoop", nio("NIOCore"), nio("NIOPosix"), nio("NIOHTTP1"),
                metrics, prometheus,
                logging,
            ],
            swiftSettings: v5),

        // `meshgate demo`: three linked clusters on loopback run by this binary's subcommands, their
        // backends (an HTTP server, redis-server), clients and steps. Its processes, ports and waits
        // are the test kit's (LoggedProcess, LoopbackPorts, waitUntil).
        .target(
            name: "MeshgateDemo",
            dependencies: ["MeshgateAdmin", "MeshgateControl", "MeshgateNames", "MeshgateTestKit"],
            swiftSettings: v5),

        // Command-line front end.
        .target(
            name: "MeshgateCLI",
            dependencies: [
                "MeshgateProxy", "MeshgateLoop", "MeshgateTLS", "MeshgateControl", "MeshgateIdentity", "MeshgateAdmin", "MeshgateNames",
                "MeshgateDemo", argumentParser, logging,
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
            dependencies: ["MeshgateLoad", "MeshgateNames", argumentParser],
            path: "Benchmarks/MeshgateBench",
            swiftSettings: v5),

        // Route-table propagation benchmark: publishes to a running gateway's loops in-process.
        .executableTarget(
            name: "MeshgateRouteBench",
            dependencies: ["MeshgateProxy", "MeshgateTLS", "MeshgateLoop", "MeshgateWire", "MeshgateNames", argumentParser, logging],
            path: "Benchmarks/MeshgateRouteBench",
            swiftSettings: v5),

        // Test kit shared by the test targets and the demo: eventually/waitUntil, loopback ports,
        // the child-process runners and an openssl-made PKI. The meshgate binary links it (through
        // MeshgateDemo), so it imports no test framework (MeshgateDemoTests checks).
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
            dependencies: ["MeshgateKube", "MeshgateTestKit", asyncHTTPClient, nio("NIOCore"), nio("NIOFoundationCompat"), logging],
            swiftSettings: v5),
        .testTarget(
            name: "MeshgateAdminTests",
            dependencies: [
                "MeshgateAdmin", "MeshgateControl", "MeshgateDiscovery", "MeshgateProxy", "MeshgateIdentity", "MeshgateTestKit", logging,
                metrics, prometheus,
            ],
            swiftSettings: v5),
        .testTarget(name: "MeshgateProxyTests", dependencies: ["MeshgateProxy", "MeshgateLoad", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(
            name: "MeshgateDiscoveryTests",
            dependencies: ["MeshgateDiscovery", "MeshgateProxy", "MeshgateLoad", "MeshgateTestKit", logging],
            swiftSettings: v5),
        .testTarget(
            name: "MeshgateCLITests",
            dependencies: ["MeshgateCLI", "MeshgateLoad", "MeshgateTestKit", yams], swiftSettings: v5),
        .testTarget(name: "MeshgateDemoTests", dependencies: ["MeshgateDemo", "MeshgateTestKit"], swiftSettings: v5),
        .testTarget(name: "MeshgateLoadTests", dependencies: ["MeshgateLoad"], swiftSettings: v5),
    ]
)
