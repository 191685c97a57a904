import Foundation
import SambatCore

/// Central's identity key file: 32 random bytes as 64 hex digits, mode 0600.
///
/// The key seals reporter identities and raw messages at rest (AES-GCM) and keys the
/// pseudonymous reporter reference. Losing it makes stored identities unreadable, so
/// operations back it up apart from the database.
public enum IdentityKeyFile {
    /// Why a key file cannot be used.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file.
        public let path: String
        /// What is wrong, in Bahasa Indonesia.
        public let reason: String
        /// `path: reason`.
        public var description: String { "\(path): \(reason)" }
    }

    /// Writes a fresh key; refuses to overwrite an existing file.
    public static func generate(at path: String) throws(Failure) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Failure(path: path, reason: "berkas sudah ada; kunci lama tidak ditimpa")
        }
        let hex = Hex.encode(IdentityCipher.generateKeyBytes())
        let text =
            "# Sambat identity key: seals reporter identities at central. Keep secret; back up apart from the data.\n\(hex)\n"
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else {
            throw Failure(path: path, reason: "tidak dapat ditulis")
        }
    }

    /// Reads the key bytes, refusing a file others can read.
    public static func read(from path: String) throws(Failure) -> [UInt8] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let data = FileManager.default.contents(atPath: path)
        else {
            throw Failure(path: path, reason: "berkas tidak ada; buat dengan `sambat keys identity --out \(path)`")
        }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw Failure(path: path, reason: "dapat dibaca pengguna lain; jalankan `chmod 600 \(path)`")
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let line, line.count == 64 else {
            throw Failure(path: path, reason: "harus berisi 64 digit heksadesimal")
        }
        var bytes: [UInt8] = []
        var index = line.startIndex
        while index < line.endIndex {
            let next = line.index(index, offsetBy: 2)
            guard let byte = UInt8(line[index..<next], radix: 16) else {
                throw Failure(path: path, reason: "harus berisi 64 digit heksadesimal")
            }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
