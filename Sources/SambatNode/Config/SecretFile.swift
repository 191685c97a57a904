import Foundation

/// A secret kept in a file of its own (an app secret, a token): read at start, trimmed, and
/// refused when others can read the file.
///
/// Secrets never live in the repository or in a node's YAML; the YAML names the file.
enum SecretFile {
    /// Why a secret file cannot be used; never holds the secret.
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "\(path): \(reason)" }
    }

    /// The file's bytes without surrounding whitespace.
    static func read(_ path: String) throws(Failure) -> [UInt8] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let data = FileManager.default.contents(atPath: path)
        else { throw Failure(path: path, reason: "cannot read the file") }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw Failure(path: path, reason: "readable by other users; run: chmod 600 \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw Failure(path: path, reason: "the file is empty") }
        return Array(text.utf8)
    }
}
