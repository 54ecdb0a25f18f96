// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "lattice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lattice", targets: ["lattice"]),
        .executable(name: "lattice-controller", targets: ["lattice-controller"]),
        .executable(name: "lattice-bench", targets: ["lattice-bench"]),
        .executable(name: "lattice-proxy", targets: ["lattice-proxy"]),
        .executable(name: "lattice-init", targets: ["lattice-init"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.0"),
    ],
    targets: [
        // Layer 0: pure, no NIO.
        .target(
            name: "LatticeModel",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticePolicy",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeIdentity",
            dependencies: [
                "LatticeModel",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeDiscovery",
            dependencies: ["LatticeModel", "LatticePolicy", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeInjector",
            dependencies: ["LatticeModel", "LatticePolicy", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeManifests",
            dependencies: [
                "LatticeModel", "LatticeIdentity", "LatticeInjector", .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeObservability",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 1.
        .target(
            name: "LatticeKube",
            dependencies: [
                "LatticeModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeKubeDiscovery",
            dependencies: ["LatticeKube", "LatticeDiscovery", "LatticeModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "LatticeAdmin",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeProxyCore",
            dependencies: [
                "LatticeModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeInit",
            dependencies: ["LatticeModel", "LatticePolicy", "LatticeCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeCommandLine",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // Layer 2.
        .target(
            name: "LatticeController",
            dependencies: [
                "LatticeModel", "LatticeIdentity", "LatticeKube", "LatticeAPI", "LatticeObservability",
                "LatticeAdmin", "LatticeCommandLine", "LatticeDiscovery", "LatticePolicy", "LatticeKubeDiscovery", "LatticeInjector",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeProxy",
            dependencies: [
                "LatticeModel", "LatticePolicy", "LatticeIdentity", "LatticeProxyCore", "LatticeAdmin",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeCLI",
            dependencies: [
                "LatticeModel", "LatticeIdentity", "LatticeAPI", "LatticeCommandLine", "LatticeInjector", "LatticeManifests", "LatticeKube",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LatticeBench",
            dependencies: [
                "LatticeController", "LatticeIdentity", "LatticeAPI", "LatticeModel", "LatticeObservability",
                "LatticeCommandLine", "LatticeInjector",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Executables: @main only.
        .executableTarget(
            name: "lattice-bench",
            dependencies: ["LatticeBench", "LatticeCommandLine"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "lattice", dependencies: ["LatticeCLI", "LatticeCommandLine"], swiftSettings: swiftSettings),
        .executableTarget(name: "lattice-proxy", dependencies: ["LatticeProxy"], swiftSettings: swiftSettings),
        .executableTarget(name: "lattice-init", dependencies: ["LatticeInit"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "lattice-controller",
            dependencies: ["LatticeController", "LatticeCommandLine"],
            swiftSettings: swiftSettings
        ),
        // Tests.
        .target(
            name: "LatticeTestSupport",
            dependencies: [
                "LatticeModel", "LatticeIdentity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/LatticeTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeInitTests",
            dependencies: ["LatticeInit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticePolicyTests",
            dependencies: ["LatticePolicy"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeIdentityTests",
            dependencies: ["LatticeIdentity", "LatticeTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeKubeTests",
            dependencies: [
                "LatticeKube",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeKubeDiscoveryTests",
            dependencies: ["LatticeKubeDiscovery", "LatticeKube", "LatticeDiscovery"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeKubernetesTests",
            dependencies: [
                "LatticeInjector", "LatticeManifests", "LatticeModel", "LatticeIdentity", "LatticeTestSupport",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeControllerTests",
            dependencies: [
                "LatticeController", "LatticeDiscovery", "LatticePolicy", "LatticeTestSupport", "LatticeObservability", "LatticeKube", "LatticeIdentity",
                "LatticeInjector",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeCLITests",
            dependencies: [
                "LatticeCLI", "LatticeTestSupport", "LatticeInjector", "LatticeManifests", "LatticeIdentity",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LatticeProxyCoreTests",
            dependencies: [
                "LatticeProxyCore", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"), .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "LatticeTestSupport", "LatticeAPI", "LatticeIdentity", "LatticeModel",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
