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
        .library(name: "SambatWire", targets: ["SambatWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "SambatCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(
            name: "SambatWire",
            dependencies: ["CZeroMQ", "SambatCore"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "sambat",
            dependencies: [
                "SambatCore",
                "SambatWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatCoreTests",
            dependencies: ["SambatCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SambatWireTests",
            dependencies: ["SambatWire"],
            swiftSettings: strictSettings
        ),
    ]
)
