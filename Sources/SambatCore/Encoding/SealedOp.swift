/// An op together with its canonical bytes and their SHA-256: the form that is stored and sent.
///
/// Build one from an ``Op`` you author (``init(sealing:)``) or from bytes you received
/// (``init(decoding:)``). Either way `bytes` is the canonical encoding of `op` and `hash` its
/// digest, so replicas that hold the same op hold the same bytes.
///
/// ```swift
/// let sealed = try SealedOp(sealing: op)
/// let again = try SealedOp(decoding: sealed.bytes)   // again == sealed
/// ```
public struct SealedOp: Hashable, Sendable {
    /// The op.
    public let op: Op
    /// Its canonical encoding (format version 1, docs/protocol.md).
    public let bytes: [UInt8]
    /// SHA-256 of `bytes`.
    public let hash: OpHash

    /// The current canonical format version, the first byte of every encoding.
    public static let formatVersion: UInt8 = 1

    /// Encodes and hashes an op.
    ///
    /// - Throws: ``CodingError`` when a value breaks ``OpLimits`` or is impossible (for
    ///   example a context entry for the op's own origin at or above its seq).
    public init(sealing op: Op) throws(CodingError) {
        let bytes = try OpCodec.encode(op)
        self.op = op
        self.bytes = bytes
        self.hash = OpHash(of: bytes)
    }

    /// Decodes canonical bytes strictly and hashes them.
    ///
    /// - Throws: ``CodingError`` for truncated, oversized, non-canonical or impossible input,
    ///   an unknown format version or an unknown kind. Never traps.
    public init(decoding bytes: [UInt8]) throws(CodingError) {
        self.op = try OpCodec.decode(bytes)
        self.bytes = bytes
        self.hash = OpHash(of: bytes)
    }

    /// Wraps bytes and a hash read back from this node's own store, decoding the op again.
    ///
    /// - Throws: ``CodingError`` when the stored bytes do not decode or do not match `hash`.
    public init(stored bytes: [UInt8], hash: OpHash) throws(CodingError) {
        try self.init(decoding: bytes)
        guard self.hash == hash else { throw CodingError(.invalidValue, field: "hash", offset: 0) }
    }
}
