/// Who performed an action: an operator's or officer's account id, or ``system``.
///
/// 1–64 bytes of printable ASCII without spaces (for example `op.rina` or `dpupr.budi`).
/// Account ids are staff identifiers, never a reporter's identity.
public struct ActorID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated text form.
    public let rawValue: String

    /// The longest actor id accepted, in bytes.
    public static let maximumLength = 64

    /// The actor for ops a node authors by itself (for example an automatic close).
    public static let system = ActorID(trusted: "system")

    /// Validates and wraps an account id.
    ///
    /// - Throws: ``IdentifierError`` when the text is empty, longer than 64 bytes, or has
    ///   characters outside printable ASCII `!`…`~`.
    public init(_ rawValue: String) throws(IdentifierError) {
        let valid = rawValue.withContiguousUTF8 { bytes in
            !bytes.isEmpty && bytes.count <= Self.maximumLength && bytes.allSatisfy { (0x21...0x7E).contains($0) }
        }
        guard valid else {
            throw IdentifierError(.actorID, rule: "must be 1 to 64 printable ASCII characters without spaces")
        }
        self.rawValue = rawValue
    }

    private init(trusted rawValue: String) { self.rawValue = rawValue }

    public static func < (lhs: ActorID, rhs: ActorID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    public var description: String { rawValue }
}
