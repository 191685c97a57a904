/// An identifier (node, origin, case, actor) that does not have the required form.
///
/// Thrown by the validating initialisers of ``NodeID``, ``Origin``, ``CaseID`` and ``ActorID``.
/// The offending value is never included: identifiers come from outside input and the
/// description may end up in a log line.
public struct IdentifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of identifier was rejected.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case nodeID = "node id"
            case origin = "origin"
            case caseID = "case id"
            case actorID = "actor id"
            case opID = "op id"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A ``NodeID`` was malformed.
        public static let nodeID = Code(.nodeID)
        /// An ``Origin`` was malformed.
        public static let origin = Code(.origin)
        /// A ``CaseID`` was malformed.
        public static let caseID = Code(.caseID)
        /// An ``ActorID`` was malformed.
        public static let actorID = Code(.actorID)
        /// An ``OpID`` was malformed.
        public static let opID = Code(.opID)

        public var description: String { base.rawValue }
    }

    /// Which identifier failed.
    public let code: Code
    /// The rule it broke, in English, without the value itself.
    public let rule: String

    public init(_ code: Code, rule: String) {
        self.code = code
        self.rule = rule
    }

    public var description: String { "invalid \(code): \(rule)" }
}
