import Crypto

/// The SHA-256 of an op's canonical bytes: what every replica compares to detect tampering
/// or an id reused for different content.
public struct OpHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Hashes canonical bytes.
    public init(of canonicalBytes: [UInt8]) {
        var hasher = SHA256()
        canonicalBytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        // Copied as one block: `Array(digest)` walked the digest as a generic sequence, byte
        // by byte, and cost twice the hashing itself in a mayor's back-fill (perf).
        bytes = hasher.finalize().withUnsafeBytes { Array($0) }
    }

    /// Wraps stored digest bytes; `nil` unless exactly 32 bytes.
    public init?(storedBytes: [UInt8]) {
        guard storedBytes.count == SHA256.byteCount else { return nil }
        bytes = storedBytes
    }

    /// Lowercase hexadecimal.
    public var description: String { Hex.encode(bytes) }
}

/// Lowercase hexadecimal, used for hashes in text form.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hexadecimal.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hexadecimal (either case); `nil` on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
