// swift-tools-version:5.9
// SyncCore: the uniffi Swift bindings of sync-core over the static library packed by
// build-xcframework.sh.
import PackageDescription

let package = Package(
    name: "SyncCore",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "SyncCore", targets: ["SyncCore"]),
    ],
    targets: [
        .binaryTarget(name: "sync_coreFFI", path: "SyncCoreFFI.xcframework"),
        .target(name: "SyncCore", dependencies: ["sync_coreFFI"], path: "Sources/SyncCore"),
    ]
)
