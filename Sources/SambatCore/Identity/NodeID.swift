/// The stable name of a Sambat node, such as `central`, `dpupr` or `mayor`.
///
/// A node id is 1–32 bytes of lowercase ASCII letters, digits, `-` and `_`, starting with a
/// letter. Office nodes use their OPD code (`dpupr`, `dlh`), which is also how assignments
/// name the office. Ordering is by UTF-8 bytes, which for this alphabet is plain ASCII order.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated text form.
    public let rawValue: String
    /// What hashing feeds the hasher (see ``IdentifierFingerprint``).
    let fingerprint: UInt64

    /// The longest node id accepted, in bytes.
    public static let maximumLength = 32

    /// Validates and wraps `rawValue`.
    ///
    /// - Throws: ``IdentifierError`` with code ``IdentifierError/Code/nodeID`` when the text
    ///   is empty, too long, or uses characters outside `[a-z0-9_-]`.
    public init(_ rawValue: String) throws(IdentifierError) {
        let checked: Result<UInt64, IdentifierError> = rawValue.withContiguousUTF8 { bytes in
            guard !bytes.isEmpty, bytes.count <= Self.maximumLength else {
                return .failure(IdentifierError(.nodeID, rule: "must be 1 to \(Self.maximumLength) bytes long"))
            }
            guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) else {
                return .failure(IdentifierError(.nodeID, rule: "must start with a lowercase letter"))
            }
            guard bytes.allSatisfy(Self.isAllowed) else {
                return .failure(IdentifierError(.nodeID, rule: "may contain only a-z, 0-9, '-' and '_'"))
            }
            return .success(IdentifierFingerprint.of(bytes))
        }
        self.rawValue = rawValue
        self.fingerprint = try checked.get()
    }

    public static func == (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.rawValue == rhs.rawValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    /// What a dictionary or set buckets it by (see ``IdentifierFingerprint/bucketHash(_:seed:)``).
    public func _rawHashValue(seed: Int) -> Int {
        IdentifierFingerprint.bucketHash(fingerprint, seed: seed)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    public var description: String { rawValue }
}
