/// The kind of an op, with its stable wire code.
///
/// Central authors the lifecycle kinds; offices author ``acknowledged``, ``started``,
/// ``resolved`` and ``returned`` on their own assignments; both may add notes and evidence.
public enum OpKind: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case opened = 1
    case verified = 2
    case pended = 3
    case archived = 4
    case dispatched = 5
    case acknowledged = 6
    case started = 7
    case noted = 8
    case resolved = 9
    case returned = 10
    case reassigned = 11
    case closed = 12
    case reopened = 13
    case evidenceAdded = 14
    case reporterWrote = 15
    case conflictResolved = 16

    /// Kinds only central may author.
    public var isCentralOnly: Bool {
        switch self {
        case .opened, .verified, .pended, .archived, .dispatched, .reassigned, .closed, .reopened,
            .reporterWrote, .conflictResolved:
            return true
        case .acknowledged, .started, .resolved, .returned, .noted, .evidenceAdded:
            return false
        }
    }

    /// Kinds only an assigned office may author.
    public var isOfficeOnly: Bool {
        switch self {
        case .acknowledged, .started, .resolved, .returned: return true
        default: return false
        }
    }

    /// Central's lifecycle kinds: the ops that win over a concurrent office status op.
    public var isCentralLifecycle: Bool {
        switch self {
        case .verified, .pended, .archived, .dispatched, .reassigned, .closed, .reopened: return true
        default: return false
        }
    }

    /// The snake_case name used in docs, logs and the CLI.
    public var description: String {
        switch self {
        case .opened: "opened"
        case .verified: "verified"
        case .pended: "pended"
        case .archived: "archived"
        case .dispatched: "dispatched"
        case .acknowledged: "acknowledged"
        case .started: "started"
        case .noted: "noted"
        case .resolved: "resolved"
        case .returned: "returned"
        case .reassigned: "reassigned"
        case .closed: "closed"
        case .reopened: "reopened"
        case .evidenceAdded: "evidence_added"
        case .reporterWrote: "reporter_wrote"
        case .conflictResolved: "conflict_resolved"
        }
    }
}
