internal import CZeroMQ

/// A CURVE keypair in Z85 text form (40 characters each), as libzmq takes them.
///
/// Every node has one: central's public key is pinned by every node, and each office's and
/// the mayor's public key is enrolled at central. The secret key never leaves its node.
///
/// ```swift
/// let pair = try CurveKeyPair.generate()
/// try CurveKeyFile.write(pair, to: "keys/dpupr.key", node: "dpupr")   // mode 0600
/// print(pair.publicKey)
/// ```
public struct CurveKeyPair: Hashable, Sendable {
    /// The public key, Z85.
    public let publicKey: String
    /// The secret key, Z85.
    ///
    /// Never log it.
    public let secretKey: String

    /// A fresh keypair from libzmq's CSPRNG (libsodium).
    ///
    /// - Throws: ``ZMQError`` when libzmq was built without CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(
            publicKey: String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self),
            secretKey: String(decoding: secretKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        )
    }

    /// Rebuilds a keypair from its secret key, deriving the public key.
    ///
    /// - Throws: ``ZMQError`` with ``ZMQError/Code/invalidKey`` when `secretKey` is not a Z85 key.
    public init(secretKey: String) throws(ZMQError) {
        guard Self.isValidKey(secretKey) else {
            throw ZMQError(code: .invalidKey, errno: 0, operation: "secret key")
        }
        var publicKey = [CChar](repeating: 0, count: 41)
        let derived = secretKey.withCString { zmq_curve_public(&publicKey, $0) }
        guard derived == 0 else { throw ZMQError.last("zmq_curve_public") }
        self.publicKey = String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.secretKey = secretKey
    }

    private init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The Z85 alphabet (ZeroMQ RFC 32).
    private static let z85Alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8
    )

    /// Whether `key` is a 32-byte key in Z85 text: 40 characters of the Z85 alphabet.
    public static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 40 && key.utf8.allSatisfy(z85Alphabet.contains)
    }
}

extension CurveKeyPair: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Shows the public key only: a keypair interpolated into a log line must not leak its secret.
    public var description: String { "CurveKeyPair(public: \(publicKey), secret: <redacted>)" }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["publicKey": publicKey, "secretKey": "<redacted>"], displayStyle: .struct)
    }
}
