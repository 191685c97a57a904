/// Everything a node knows about one case: the deterministic result of folding its ops.
///
/// Produced only by ``CaseFold``. Two replicas holding the same set of ops hold equal states,
/// whatever order the ops arrived in. Besides the status it carries the timestamps of every
/// transition (as ``Stamp``s, so a store can look up central's receive time by op id), the
/// assignments, notes, evidence, conflicts and a per-op ``history`` in fold order, in which
/// every folded op appears exactly once with its effect.
public struct CaseState: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// Central's lifecycle phase.
    public internal(set) var phase: CasePhase = .unopened
    /// The overall status (derived from the phase and the assignments).
    public internal(set) var status: CaseStatus = .received
    /// The complaint as registered (masked text and pseudonymous reporter reference).
    public internal(set) var complaint: OpBody.Opened?
    /// The tier set at verification.
    public internal(set) var tier: DeadlineTier?
    /// The topic set at verification; empty when none.
    public internal(set) var topic: String = ""
    /// The archive reason, when archived.
    public internal(set) var archiveReason: ArchiveReason?
    /// The close reason, when closed.
    public internal(set) var closeReason: CloseReason?
    /// Case-level transitions.
    public internal(set) var milestones = Milestones()
    /// Every office the case was ever dispatched to, sorted by office; ended ones included.
    public internal(set) var assignments: [Assignment] = []
    /// Notes, resolution summaries, return notes and reporter follow-ups, in fold order.
    public internal(set) var notes: [CaseNote] = []
    /// Evidence references, in fold order.
    public internal(set) var evidence: [EvidenceRef] = []
    /// Conflicts, in the order they were recorded.
    public internal(set) var conflicts: [Conflict] = []
    /// Every folded op with its effect, in fold order.
    public internal(set) var history: [HistoryEntry] = []
    /// The version vector of the folded ops: per origin, the highest seq folded on this case.
    public internal(set) var vector = VersionVector()
    /// The highest Lamport time folded.
    public internal(set) var lamport: UInt64 = 0

    /// The fold position of the last op folded.
    var lastKey: FoldKey?
    /// Central lifecycle ops folded so far, for the concurrency rule.
    var centralLifecycle: [CentralLifecycleRef] = []
    /// Resolutions by conflict id, kept even when they arrive before the conflict.
    var resolutions: [String: Conflict.Resolution] = [:]

    /// An empty state: no ops folded.
    public init(caseID: CaseID) {
        self.caseID = caseID
    }

    /// Whether the op with this id has been folded.
    ///
    /// Every folded op of an origin has a seq at most the vector's counter for it, so an op
    /// above that counter (each new op of a fold in order) is answered without a search; only
    /// one at or below it (a duplicate, or an op out of order) looks through the history. A
    /// set of folded ids used to answer it: one hashed insert per op folded, about 1,250
    /// instructions of each status op central applied, and a table per cached case.
    public func contains(_ id: OpID) -> Bool {
        guard vector[id.origin] >= id.seq else { return false }
        return history.contains { $0.op == id }
    }

    /// The number of ops folded.
    ///
    /// Inlinable: the store asks it of a state in its cache box for each case a batch
    /// touches, and a call into this module copied the whole state to ask (a memcpy and a
    /// retain and release of each of its arrays; `sambat bench store`, perf).
    @inlinable public var opCount: Int { history.count }

    /// The assignment of `office`, current or ended, if it was ever dispatched there.
    public func assignment(for office: NodeID) -> Assignment? {
        assignments.first { $0.office == office }
    }

    /// Assignments still being worked (not returned or revoked).
    public var activeAssignments: [Assignment] { assignments.filter(\.status.isActive) }

    /// Conflicts central has not resolved yet.
    public var openConflicts: [Conflict] { conflicts.filter { !$0.isResolved } }
}

/// When and by which op a transition happened.
public struct Stamp: Hashable, Sendable {
    /// The op that made the transition; a store maps it to central's receive time.
    public let op: OpID
    /// The author's wall time (display only).
    public let at: Timestamp
}

/// Case-level transitions.
///
/// `verified` and `dispatched` keep the first occurrence; the others the latest.
public struct Milestones: Hashable, Sendable {
    /// The complaint was registered.
    public internal(set) var received: Stamp?
    /// First verification.
    public internal(set) var verified: Stamp?
    /// Last time it was put on hold.
    public internal(set) var pended: Stamp?
    /// Archived.
    public internal(set) var archived: Stamp?
    /// First dispatch to any office.
    public internal(set) var dispatched: Stamp?
    /// Last close.
    public internal(set) var closed: Stamp?
    /// Last reopen.
    public internal(set) var reopened: Stamp?
}

/// A note on a case.
///
/// Notes form a grow-only set: they never conflict and are never dropped.
public struct CaseNote: Hashable, Sendable {
    /// What produced the note.
    public enum Source: UInt8, Hashable, Sendable {
        /// A `noted` op.
        case note = 1
        /// The summary of a `resolved` op (tindak lanjut).
        case followUp = 2
        /// The explanation of a `returned` op.
        case returnNote = 3
        /// A `reporter_wrote` op (the reporter's masked follow-up message).
        case reporter = 4
        /// Dispatch instructions.
        case instructions = 5
    }

    /// The op that carried it.
    public let op: OpID
    /// The account that wrote it.
    public let actor: ActorID
    /// The author's wall time.
    public let at: Timestamp
    /// What produced it.
    public let source: Source
    /// Who may read it.
    public let visibility: NoteVisibility
    /// The (masked) text.
    public let text: String
}

/// A reference to an evidence blob attached to a case.
public struct EvidenceRef: Hashable, Sendable {
    /// The `evidence_added` op.
    public let op: OpID
    /// SHA-256 of the blob.
    public let sha256: [UInt8]
    /// Size in bytes.
    public let size: UInt64
    /// MIME type.
    public let mimeType: String
    /// Display name.
    public let name: String
}

/// One folded op and what it did: the case timeline.
public struct HistoryEntry: Hashable, Sendable {
    /// What the op did to the state.
    public enum Effect: Hashable, Sendable {
        /// Applied.
        case applied
        /// Applied, and a conflict was recorded (for example returned winning over resolved).
        case appliedWithConflict(String)
        /// A concurrent op of the same assignment was further along; nothing to record.
        case superseded
        /// Refused: recorded in the conflict with this id (its text, if any, kept as a note).
        case conflict(String)
    }

    /// The op.
    public let op: OpID
    /// Its kind.
    public let kind: OpKind
    /// Who.
    public let actor: ActorID
    /// Author's wall time.
    public let at: Timestamp
    /// What it did.
    public let effect: Effect
}

/// What the concurrency rule needs to know of a central lifecycle op.
struct CentralLifecycleRef: Hashable, Sendable {
    let id: OpID
    let context: VersionVector
    /// The offices it touches; `nil` when it concerns the whole case.
    let offices: [NodeID]?

    init?(_ op: Op) {
        guard op.kind.isCentralLifecycle else { return nil }
        id = op.id
        context = op.context
        switch op.body {
        case .dispatched(let p): offices = [p.office]
        case .reassigned(let p): offices = [p.from, p.to]
        default: offices = nil
        }
    }

    func touches(_ office: NodeID) -> Bool { offices?.contains(office) ?? true }

    func isConcurrent(with op: Op) -> Bool {
        VersionVector.areConcurrent(id, context: context, op.id, context: op.context)
    }
}
