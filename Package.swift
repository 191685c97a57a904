// swift-tools-version: 6.1
import PackageDescription

/// Settings every target of ours shares.
///
/// Swift 6 mode plus the upcoming features house style asks for. `-warnings-as-errors` applies to our own targets only, never to dependencies.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "sambat",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sambat", targets: ["sambat"]),
        .library(name: "SambatCore", targets: ["SambatCore"]),
        .library(name: "SambatStore", targets: ["SambatStore"]),
        .library(name: "SambatWire", targets: ["SambatWire"]),
        .library(name: "SambatSync", targets: ["SambatSync"]),
        .library(name: "SambatDesk", targets: ["SambatDesk"]),
        .library(name: "SambatIntake", targets: ["SambatIntake"]),
        .library(name: "SambatWeb", targets: ["SambatWeb"]),
        .library(name: "SambatNode", targets: ["SambatNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "SambatCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SambatStore",
            dependencies: [
                "SambatCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteTuning",
            ],
            swiftSettings: strictSettings
        ),
        // sqlite3_config, which is variadic, for the store's process-wide SQLite settings.
        .systemLibrary(name: "CSQLiteTuning"),
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "SambatWire",
            dependencies: ["CZeroMQ", "SambatCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SambatSync",
            dependencies: [
                "CZlib",
                "SambatCore",
                "SambatStore",
                "SambatWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto/sambat_sync.proto"],
            swiftSettings: strictSettings
        ),
        // The use cases every front door calls: intake, the case book, staff actions, conflicts,
        // reports, reference data, and the one presentation part that renders Bahasa for staff.
        .target(
            name: "SambatDesk",
            dependencies: [
                "SambatCore",
                "SambatStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        // The doors complaints come in through: the WhatsApp Cloud API webhook and the Gammu
        // SMSD gateway, and the replies to reporters; calls the use-case layer.
        .target(
            name: "SambatIntake",
            dependencies: [
                "SambatCore",
                "SambatDesk",
                "SambatStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The HTTP front door: webhooks and health today; consoles, dashboard, Open311 and metrics
        // come here too. Routes parse, call the use-case layer and render; no rule lives here.
        .target(
            name: "SambatWeb",
            dependencies: [
                "SambatCore",
                "SambatStore",
                "SambatDesk",
                "SambatIntake",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The three roles as Services and configuration loading.
        .target(
            name: "SambatNode",
            dependencies: [
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                "SambatCore",
                "SambatStore",
                "SambatDesk",
                "SambatIntake",
                "SambatWeb",
                "SambatWire",
                "SambatSync",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "sambat",
            dependencies: [
                "SambatCore",
                "SambatStore",
                "SambatWire",
                "SambatSync",
                "SambatDesk",
                "SambatNode",
                "SambatIntake",
                "SambatWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                // `sambat bench webhook`: the webhook in process and its load generator.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatCoreTests",
            dependencies: ["SambatCore", "SambatTestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatStoreTests",
            dependencies: ["SambatStore", "SambatTestKit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // A child process for the store's crash-safety test: it writes in a loop until killed.
        .executableTarget(
            name: "sambat-store-churn",
            dependencies: ["SambatStore"],
            path: "Tests/StoreChurn",
            swiftSettings: strictSettings
        ),
        // The decoders under fuzzing and their properties, shared by `sambat-fuzz` and the
        // corpus replay in the tests.
        .target(
            name: "SambatFuzzKit",
            dependencies: ["SambatCore", "SambatSync", "SambatDesk", "SambatNode", "SambatTestKit"],
            path: "Tests/FuzzKit",
            swiftSettings: strictSettings
        ),
        // `make fuzz`: mutation fuzzing of the op, vector and envelope decoders.
        .executableTarget(
            name: "sambat-fuzz",
            dependencies: ["SambatCore", "SambatSync", "SambatFuzzKit"],
            path: "Tests/Fuzz",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatSyncTests",
            dependencies: [
                "SambatSync", "SambatStore", "SambatWire", "SambatCore", "SambatTestKit",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // make test's share of fuzzing: the corpus replayed and fresh mutations per target.
        .testTarget(
            name: "SambatFuzzTests",
            dependencies: ["SambatFuzzKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatDeskTests",
            dependencies: ["SambatDesk", "SambatStore", "SambatCore", "SambatTestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatIntakeTests",
            dependencies: [
                "SambatIntake", "SambatDesk", "SambatStore", "SambatCore", "SambatTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatWebTests",
            dependencies: [
                "SambatWeb", "SambatIntake", "SambatDesk", "SambatStore", "SambatCore", "SambatTestKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatNodeTests",
            dependencies: [
                "SambatNode", "SambatDesk", "SambatStore", "SambatCore", "SambatSync", "SambatWire", "SambatTestKit",
                "SambatWeb",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Deterministic simulation: the sync machines and real stores over a simulated network.
        .testTarget(
            name: "SambatSimulationTests",
            dependencies: [
                "SambatSync", "SambatStore", "SambatCore", "SambatTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Helpers shared by test targets: running built binaries as processes, a seeded generator.
        .target(
            name: "SambatTestKit",
            path: "Tests/TestKit",
            exclude: ["chaos_proxy.py"],
            swiftSettings: strictSettings
        ),
        // Multi-process runs of the built `sambat` binary: the demo's story, end to end.
        .testTarget(
            name: "SambatIntegrationTests",
            dependencies: ["SambatStore", "SambatCore", "SambatIntake", "SambatTestKit"],
            swiftSettings: strictSettings
        ),
        // Central, three offices and the mayor as processes under SIGKILLs and a faulty proxy.
        .testTarget(
            name: "SambatChaosTests",
            dependencies: ["SambatStore", "SambatCore", "SambatTestKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatWireTests",
            dependencies: ["SambatWire"],
            swiftSettings: strictSettings
        ),
    ]
)
