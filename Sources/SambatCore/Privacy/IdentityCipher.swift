import Crypto

/// Encrypts reporters' identities and raw intake texts for storage at central (AES-256-GCM).
///
/// Identity never leaves central and is never stored in clear: central's store keeps only the
/// sealed bytes this type produces. The key comes from configuration or the environment,
/// never from the repository. Each sealed value carries its own random nonce; the case or
/// reporter id is bound as additional authenticated data so a ciphertext cannot be moved to
/// another row unnoticed.
///
/// Safe from any task: an immutable value.
public struct IdentityCipher: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    // Raw bytes rather than `SymmetricKey`, which is not `Sendable` in this swift-crypto.
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Says what it is and nothing of its key: a value printed into a log line (a struct's
    /// default description prints every stored property) must never carry key bytes.
    public var description: String { "IdentityCipher(key redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// The key length in bytes (AES-256).
    public static let keyByteCount = 32

    /// Creates a cipher from 32 raw key bytes.
    ///
    /// - Throws: ``IdentityCipherError`` when the key is not 32 bytes.
    public init(keyBytes: [UInt8]) throws(IdentityCipherError) {
        guard keyBytes.count == Self.keyByteCount else { throw IdentityCipherError(reason: "key must be 32 bytes") }
        self.keyBytes = keyBytes
    }

    /// A fresh random key, for `sambat keys` and tests.
    public static func generateKeyBytes() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// Encrypts `plaintext`, binding `context` (for example the reporter reference).
    public func seal(_ plaintext: [UInt8], context: String) throws(IdentityCipherError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
            guard let combined = box.combined else { throw IdentityCipherError(reason: "nonce size not standard") }
            return Array(combined)
        } catch let error as IdentityCipherError {
            throw error
        } catch {
            throw IdentityCipherError(reason: "encryption failed")
        }
    }

    /// Decrypts what ``seal(_:context:)`` produced with the same key and context.
    ///
    /// - Throws: ``IdentityCipherError`` when the bytes were altered, the key is wrong, or the
    ///   context differs.
    public func open(_ sealed: [UInt8], context: String) throws(IdentityCipherError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw IdentityCipherError(reason: "cannot decrypt: wrong key or altered data")
        }
    }
}

/// A failure to encrypt or decrypt an identity; never carries the plaintext.
public struct IdentityCipherError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let reason: String

    public var description: String { "identity cipher: \(reason)" }
}
