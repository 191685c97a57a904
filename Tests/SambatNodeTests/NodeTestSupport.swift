import Foundation
import SambatCore
import SambatNode
import SambatStore
import SambatTestKit
import SambatWire

extension Scratch {
    /// A fresh CURVE key file.
    func keyFile(_ name: String) throws -> (path: String, pair: CurveKeyPair) {
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.write(pair, to: file(name), node: "test")
        return (file(name), pair)
    }

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
            "SAMBAT_REFERENCE_SCREENING": config("screening.yaml"),
        ]
    }
}
