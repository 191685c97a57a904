public import SambatCore

/// One thing a staff member does to a case, as every front door asks for it.
///
/// Texts are as typed; ``CaseActions`` trims, masks and bounds them, so the CLI and the web
/// consoles refuse the same inputs with the same words.
public enum StaffAction: Hashable, Sendable {
    /// Office: the case is received (DITERIMA_OPD).
    case acknowledge
    /// Office: work started (DIPROSES).
    case start
    /// Office or central: a note.
    case note(text: String, visibility: NoteVisibility)
    /// Office: the follow-up is done (SELESAI_OPD).
    case resolve(summary: String)
    /// Office: not ours (bukan wewenang and its relatives).
    case returnToCentral(reason: ReturnReason, note: String)
    /// Central: the complaint is verified, with its deadline tier.
    case verify(tier: DeadlineTier, topic: String)
    /// Central: waiting for the reporter (tunda).
    case pend(request: String)
    /// Central: archived with a coded reason.
    case archive(reason: ArchiveReason, note: String)
    /// Central: dispatched to an office (a new assignment epoch).
    case dispatch(office: NodeID, instructions: String)
    /// Central: moved from one office to another.
    case reassign(from: NodeID, to: NodeID, note: String)
    /// Central: closed.
    case close(reason: CloseReason)
    /// Central: reopened because the reporter disputes the follow-up.
    case reopen(reason: String)
    /// Central: a person settles a conflict the merge recorded.
    case resolveConflict(id: String, outcome: ConflictOutcome, note: String)

    /// The kind of op the action authors.
    public var kind: OpKind {
        switch self {
        case .acknowledge: .acknowledged
        case .start: .started
        case .note: .noted
        case .resolve: .resolved
        case .returnToCentral: .returned
        case .verify: .verified
        case .pend: .pended
        case .archive: .archived
        case .dispatch: .dispatched
        case .reassign: .reassigned
        case .close: .closed
        case .reopen: .reopened
        case .resolveConflict: .conflictResolved
        }
    }

    /// The roles whose staff may take the action.
    public var roles: Set<NodeRole> {
        switch self {
        case .acknowledge, .start, .resolve, .returnToCentral: [.office]
        case .note: [.office, .central]
        case .verify, .pend, .archive, .dispatch, .reassign, .close, .reopen, .resolveConflict: [.central]
        }
    }
}

/// What an action did.
public struct ActionOutcome: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// The op written.
    public let op: OpID
    /// Its kind.
    public let kind: OpKind
    /// The case's status after it.
    public let status: CaseStatus
}
