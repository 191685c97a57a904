import Foundation
import SambatCore
import SambatNode
import SambatStore
import SambatWire

/// A temporary directory for one test, removed by the test with ``remove()``.
struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sambat-node-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    /// A fresh CURVE key file.
    func keyFile(_ name: String) throws -> (path: String, pair: CurveKeyPair) {
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.write(pair, to: file(name), node: "test")
        return (file(name), pair)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

enum Repository {
    /// The package root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func config(_ name: String) -> String { root + "/Config/" + name }

    /// Overrides pointing the reference files at the repository's Config/, whatever the
    /// working directory.
    static var referenceOverrides: [String: String] {
        [
            "SAMBAT_REFERENCE_DIRECTORY": config("opd-directory.yaml"),
            "SAMBAT_REFERENCE_DEADLINES": config("deadlines.yaml"),
            "SAMBAT_REFERENCE_HOLIDAYS": config("holidays.yaml"),
            "SAMBAT_REFERENCE_ROUTING": config("routing.yaml"),
        ]
    }
}
