/// One authoring replica: a node plus the incarnation of its store, written `dpupr#2`.
///
/// A store restored from a backup, or rebuilt, takes a new incarnation before it writes, so it
/// can never reuse a sequence number a peer already holds under the old origin. Origins are
/// ordered by node id bytes, then by incarnation number; the fold uses this order to break
/// ties between ops with the same Lamport time.
public struct Origin: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The node that authored.
    public let node: NodeID
    /// The store incarnation, starting at 1.
    public let incarnation: UInt32

    /// Creates an origin.
    ///
    /// - Throws: ``IdentifierError`` when `incarnation` is 0.
    public init(node: NodeID, incarnation: UInt32) throws(IdentifierError) {
        guard incarnation >= 1 else {
            throw IdentifierError(.origin, rule: "incarnation must be at least 1")
        }
        self.node = node
        self.incarnation = incarnation
    }

    /// Parses the text form `node#incarnation`.
    public init(parsing text: String) throws(IdentifierError) {
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        guard parts.count == 2, let incarnation = UInt32(parts[1]), String(incarnation) == parts[1] else {
            throw IdentifierError(.origin, rule: "must have the form node#incarnation")
        }
        try self.init(node: NodeID(String(parts[0])), incarnation: incarnation)
    }

    /// One word for the hasher: the node's fingerprint mixed with the incarnation.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    /// What a dictionary or set buckets it by (see ``IdentifierFingerprint/bucketHash(_:seed:)``).
    public func _rawHashValue(seed: Int) -> Int {
        IdentifierFingerprint.bucketHash(fingerprint, seed: seed)
    }

    /// The node's fingerprint mixed with the incarnation.
    var fingerprint: UInt64 { node.fingerprint ^ UInt64(incarnation) &* 0x9E37_79B9_7F4A_7C15 }

    public static func < (lhs: Origin, rhs: Origin) -> Bool {
        if lhs.node != rhs.node { return lhs.node < rhs.node }
        return lhs.incarnation < rhs.incarnation
    }

    public var description: String { "\(node)#\(incarnation)" }
}
