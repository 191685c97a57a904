/// The identity of an op: its origin and that origin's gapless sequence number.
///
/// Written `dpupr#2/17`. Two ops with the same id must carry the same bytes; a different hash
/// under the same id is an integrity alarm, raised by the store.
public struct OpID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The replica that authored the op.
    public let origin: Origin
    /// The origin's sequence number, starting at 1 and increasing by one per op.
    public let seq: UInt64

    /// Creates an op id.
    ///
    /// - Throws: ``IdentifierError`` when `seq` is 0 or above `Int64.max` (SQLite's integer range).
    public init(origin: Origin, seq: UInt64) throws(IdentifierError) {
        guard seq >= 1, seq <= UInt64(Int64.max) else {
            throw IdentifierError(.opID, rule: "seq must be between 1 and 2^63-1")
        }
        self.origin = origin
        self.seq = seq
    }

    /// Two words for the hasher: the origin (see ``Origin/hash(into:)``) and the seq.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(origin.fingerprint)
        hasher.combine(seq)
    }

    /// What a dictionary or set buckets it by: the origin's fingerprint with the seq folded in
    /// (see ``IdentifierFingerprint/bucketHash(_:seed:)``).
    public func _rawHashValue(seed: Int) -> Int {
        IdentifierFingerprint.bucketHash(origin.fingerprint ^ seq &* 0xC2B2_AE3D_27D4_EB4F, seed: seed)
    }

    /// Parses the text form `node#incarnation/seq`.
    public init(parsing text: String) throws(IdentifierError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = UInt64(parts[1]), String(seq) == parts[1] else {
            throw IdentifierError(.opID, rule: "must have the form node#incarnation/seq")
        }
        try self.init(origin: Origin(parsing: String(parts[0])), seq: seq)
    }

    public static func < (lhs: OpID, rhs: OpID) -> Bool {
        if lhs.origin != rhs.origin { return lhs.origin < rhs.origin }
        return lhs.seq < rhs.seq
    }

    public var description: String { "\(origin)/\(seq)" }
}
