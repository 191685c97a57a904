public import SambatCore
import SambatStore

/// Why the use-case layer refused a request; nothing was written.
///
/// Every front door gets the same error: the CLI prints ``Presentation/render(_:)-(DeskError)``,
/// the web console will show the same Bahasa text, city IT's logs get ``description`` (English).
/// Context fields carry ids, codes and limits only, never a reporter's identity or a complaint
/// text.
public struct DeskError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of refusal; stable, so callers and tests can match on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case caseNotFound = "case_not_found"
            case invalidCaseID = "invalid_case_id"
            case invalidNodeID = "invalid_node_id"
            case invalidActor = "invalid_actor"
            case invalidDate = "invalid_date"
            case readOnlyNode = "read_only_node"
            case wrongRole = "wrong_role"
            case kindNotPermitted = "kind_not_permitted"
            case notAssigned = "not_assigned"
            case staleAssignment = "stale_assignment"
            case illegalTransition = "illegal_transition"
            case unknownOffice = "unknown_office"
            case officeNotEnrolled = "office_not_enrolled"
            case notAssignedTo = "not_assigned_to"
            case conflictNotFound = "conflict_not_found"
            case conflictAlreadyResolved = "conflict_already_resolved"
            case emptyText = "empty_text"
            case textTooLong = "text_too_long"
            case unknownValue = "unknown_value"
            case storage = "storage"
            case invalidAccountName = "invalid_account_name"
            case accountExists = "account_exists"
            case accountNotFound = "account_not_found"
            case weakPassword = "weak_password"
            case signInRefused = "sign_in_refused"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// This node's store holds no op of the case.
        public static let caseNotFound = Code(.caseNotFound)
        /// A ticket number that is not of the form `MJK-261129-0001`.
        public static let invalidCaseID = Code(.invalidCaseID)
        /// An office or node code that is not a valid node id.
        public static let invalidNodeID = Code(.invalidNodeID)
        /// A staff account id that is not valid.
        public static let invalidActor = Code(.invalidActor)
        /// A date that is not `YYYY-MM-DD`.
        public static let invalidDate = Code(.invalidDate)
        /// The mayor's node writes nothing.
        public static let readOnlyNode = Code(.readOnlyNode)
        /// The action belongs to another role (``DeskError/roles``).
        public static let wrongRole = Code(.wrongRole)
        /// The role policy does not let this node author this kind of op.
        public static let kindNotPermitted = Code(.kindNotPermitted)
        /// The case is not currently assigned to this office.
        public static let notAssigned = Code(.notAssigned)
        /// The office's assignment changed under it.
        public static let staleAssignment = Code(.staleAssignment)
        /// The case's status does not allow the action.
        public static let illegalTransition = Code(.illegalTransition)
        /// The office is not in the OPD directory.
        public static let unknownOffice = Code(.unknownOffice)
        /// The office is in the directory but not enrolled at central as an office node.
        public static let officeNotEnrolled = Code(.officeNotEnrolled)
        /// A reassignment names an office that does not hold the case.
        public static let notAssignedTo = Code(.notAssignedTo)
        /// The case has no conflict with that id.
        public static let conflictNotFound = Code(.conflictNotFound)
        /// The conflict was resolved already.
        public static let conflictAlreadyResolved = Code(.conflictAlreadyResolved)
        /// A required text (``DeskError/field``) is empty.
        public static let emptyText = Code(.emptyText)
        /// A text (``DeskError/field``) is over its limit (``DeskError/limit`` bytes).
        public static let textTooLong = Code(.textTooLong)
        /// A coded value (``DeskError/field``) is not one of ``DeskError/allowed``.
        public static let unknownValue = Code(.unknownValue)
        /// The store failed; ``DeskError/detail`` says how (English, no personal data).
        public static let storage = Code(.storage)

        /// A staff account name that is not 2–64 of `a-z 0-9 . _ -`, starting with a letter.
        public static let invalidAccountName = Code(.invalidAccountName)
        /// An account with that name exists already.
        public static let accountExists = Code(.accountExists)
        /// No account has that name.
        public static let accountNotFound = Code(.accountNotFound)
        /// A password shorter than ``StaffAccounts/minimumPasswordLength`` characters.
        public static let weakPassword = Code(.weakPassword)
        /// A wrong name or password, or a disabled account (never said which).
        public static let signInRefused = Code(.signInRefused)

        /// The snake_case name.
        public var description: String { base.rawValue }
    }

    /// What a text or coded value was, so the refusal can name it.
    public enum Field: String, Hashable, Sendable {
        case note, summary, instructions, topic, request, reason, tier, channel, outcome, location, displayName
    }

    /// The class of refusal.
    public let code: Code
    /// The case concerned.
    public var caseID: CaseID?
    /// The office concerned (dispatch, reassign, not assigned).
    public var office: NodeID?
    /// This node.
    public var node: NodeID?
    /// This node's role.
    public var role: NodeRole?
    /// The roles the action belongs to (for ``Code/wrongRole``).
    public var roles: Set<NodeRole> = []
    /// The op kind refused.
    public var kind: OpKind?
    /// The case's status when refused.
    public var status: CaseStatus?
    /// The text or coded field concerned.
    public var field: Field?
    /// The value the user gave, for malformed ids, dates and codes (never free text).
    public var value: String?
    /// The values allowed, for ``Code/unknownValue``.
    public var allowed: [String] = []
    /// A byte limit, for ``Code/textTooLong``.
    public var limit: Int?
    /// The conflict concerned.
    public var conflict: String?
    /// Technical detail for ``Code/storage`` (English).
    public var detail: String?

    /// A refusal of class `code`; set the context fields that apply.
    public init(_ code: Code) { self.code = code }

    /// For logs, in English; carries no personal data.
    public var description: String {
        var parts = ["desk refused: \(code)"]
        if let caseID { parts.append("case \(caseID)") }
        if let office { parts.append("office \(office)") }
        if let node { parts.append("node \(node)") }
        if let role { parts.append("role \(role)") }
        if !roles.isEmpty { parts.append("for roles \(roles.map(\.rawValue).sorted().joined(separator: ","))") }
        if let kind { parts.append("kind \(kind)") }
        if let status { parts.append("status \(status)") }
        if let field { parts.append("field \(field.rawValue)") }
        if let value { parts.append("value '\(value)'") }
        if let limit { parts.append("limit \(limit) bytes") }
        if let conflict { parts.append("conflict \(conflict)") }
        if let detail { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}

extension DeskError {
    static func caseNotFound(_ caseID: CaseID, on node: NodeID) -> DeskError {
        var error = DeskError(.caseNotFound)
        error.caseID = caseID
        error.node = node
        return error
    }

    static func unknownValue(_ field: Field, _ value: String, allowed: [String]) -> DeskError {
        var error = DeskError(.unknownValue)
        error.field = field
        error.value = value
        error.allowed = allowed
        return error
    }

    static func storage(_ error: StoreError) -> DeskError {
        var refused = DeskError(.storage)
        refused.detail = error.description
        return refused
    }
}
