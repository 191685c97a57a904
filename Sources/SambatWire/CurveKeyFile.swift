#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes a node's CURVE key file: `public-key` and `secret-key` lines, mode 0600.
///
/// ```text
/// # Sambat CURVE key for node dpupr. Keep secret: never copy this file to another node.
/// public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
/// secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
/// ```
///
/// Written with `O_EXCL` and mode 0600 so a secret is never briefly world-readable and an
/// existing key is never overwritten by accident.
public enum CurveKeyFile {
    /// Why a key file could not be written or read; never includes key material.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file.
        public let path: String
        /// What went wrong and what to do.
        public let reason: String

        public var description: String { "\(path): \(reason)" }
    }

    /// Writes `pair` to a new file at `path` (mode 0600).
    ///
    /// - Throws: ``Failure`` when the file exists or cannot be created.
    public static func write(_ pair: CurveKeyPair, to path: String, node: String) throws(Failure) {
        guard !node.contains(where: \.isNewline) else {
            throw Failure(path: path, reason: "the node name must be a single line")
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let reason =
                errno == EEXIST
                ? "a key file already exists; remove it first if you really mean to replace this node's key"
                : "cannot create the key file: \(String(cString: strerror(errno)))"
            throw Failure(path: path, reason: reason)
        }
        var finished = false
        defer {
            close(descriptor)
            // Never leave a partial key behind: it would block the next attempt and mislead.
            if !finished { unlink(path) }
        }
        let text = """
            # Sambat CURVE key for node \(node). Keep secret: never copy this file to another node.
            public-key = "\(pair.publicKey)"
            secret-key = "\(pair.secretKey)"

            """
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                throw Failure(path: path, reason: "cannot write the key file: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else {
            throw Failure(path: path, reason: "cannot write the key file: \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    /// Reads a key file, checking its permissions and that the public key matches the secret.
    ///
    /// - Throws: ``Failure`` when the file is missing, readable by others, or malformed.
    public static func read(from path: String) throws(Failure) -> CurveKeyPair {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw Failure(path: path, reason: "cannot read the key file: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw Failure(path: path, reason: "the key file is readable by other users; run: chmod 600 \(path)")
        }
        guard let handle = fopen(path, "r") else {
            throw Failure(path: path, reason: "cannot open the key file: \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var values: [String: String] = [:]
        var buffer = [CChar](repeating: 0, count: 512)
        while fgets(&buffer, Int32(buffer.count), handle) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let trimmed = line.trimmingCharacters(in: " \t\r\n")
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let parts = trimmed.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: " \t")
            let value = parts[1].trimmingCharacters(in: " \t\"")
            values[key] = value
        }
        guard let secret = values["secret-key"] else {
            throw Failure(path: path, reason: "no secret-key line; generate one with 'sambat keys generate'")
        }
        let pair: CurveKeyPair
        do {
            pair = try CurveKeyPair(secretKey: secret)
        } catch {
            throw Failure(path: path, reason: "the secret key is not a 40-character Z85 CURVE key")
        }
        if let stated = values["public-key"], stated != pair.publicKey {
            throw Failure(path: path, reason: "the public key does not belong to the secret key; the file was edited")
        }
        return pair
    }
}

extension StringProtocol {
    /// The text without leading and trailing scalars from `set`.
    ///
    /// Works on Unicode scalars, not characters: "\r\n" is one `Character`, so a character
    /// set built from " \t\r\n" would not match a lone "\n".
    fileprivate func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        let view = unicodeScalars
        guard let first = view.firstIndex(where: { !scalars.contains($0) }),
            let last = view.lastIndex(where: { !scalars.contains($0) })
        else { return "" }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: view[first...last])
        return String(result)
    }
}
