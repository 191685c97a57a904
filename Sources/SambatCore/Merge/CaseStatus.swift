/// A case's overall status, as staff and the mayor see it (SP4N-LAPOR! vocabulary).
///
/// Derived by the fold: before dispatch it follows central's lifecycle; after dispatch it is
/// the least advanced status among the active assignments, and ``verified`` again when every
/// assignment has been returned or revoked (awaiting re-dispatch).
public enum CaseStatus: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case received = 1
    case pending = 2
    case verified = 3
    case archived = 4
    case dispatched = 5
    case acknowledged = 6
    case inProgress = 7
    case resolved = 8
    case closed = 9
    case reopened = 10

    /// Whether the case still needs someone to act (everything but closed and archived).
    public var isOpen: Bool { self != .closed && self != .archived }

    /// The snake_case identifier used in logs and machine output.
    public var description: String {
        switch self {
        case .received: "received"
        case .pending: "pending"
        case .verified: "verified"
        case .archived: "archived"
        case .dispatched: "dispatched"
        case .acknowledged: "acknowledged"
        case .inProgress: "in_progress"
        case .resolved: "resolved"
        case .closed: "closed"
        case .reopened: "reopened"
        }
    }
}

/// The status of one office's assignment on a case.
public enum AssignmentStatus: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Sent to the office, not yet acknowledged.
    case dispatched = 1
    /// The office acknowledged it.
    case acknowledged = 2
    /// The office is working on it.
    case inProgress = 3
    /// The office reported its follow-up.
    case resolved = 4
    /// Central reopened it after the reporter disputed the follow-up.
    case reopened = 5
    /// The office handed it back (bukan wewenang); the assignment has ended.
    case returned = 6
    /// Central moved it to another office; the assignment has ended.
    case revoked = 7

    /// Whether the assignment is still the office's to work.
    public var isActive: Bool { self != .returned && self != .revoked }

    /// Position on the office's progress path; the case's overall status is the lowest one.
    var progressRank: Int {
        switch self {
        case .dispatched: 0
        case .acknowledged: 1
        case .reopened: 2
        case .inProgress: 3
        case .resolved: 4
        case .returned, .revoked: 5
        }
    }

    /// The overall case status an active assignment in this status stands for.
    var caseStatus: CaseStatus {
        switch self {
        case .dispatched: .dispatched
        case .acknowledged: .acknowledged
        case .reopened: .reopened
        case .inProgress: .inProgress
        case .resolved: .resolved
        case .returned, .revoked: .verified
        }
    }

    public var description: String {
        switch self {
        case .dispatched: "dispatched"
        case .acknowledged: "acknowledged"
        case .inProgress: "in_progress"
        case .resolved: "resolved"
        case .reopened: "reopened"
        case .returned: "returned"
        case .revoked: "revoked"
        }
    }
}

/// Where a case stands in central's own lifecycle; offices' progress is in the assignments.
public enum CasePhase: UInt8, Hashable, Sendable {
    /// No `opened` op folded yet.
    case unopened = 0
    case received = 1
    case pending = 2
    case verified = 3
    case archived = 4
    /// Dispatched at least once and not closed.
    case dispatched = 5
    case closed = 6
}
