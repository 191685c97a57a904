/// One office's assignment on a case: its epoch, its status and its transitions.
///
/// Created by a `dispatched` op (or the target side of `reassigned`); a later dispatch to the
/// same office after a return starts a new, higher epoch and resets the stamps. Office ops
/// must carry the current epoch to change the status.
public struct Assignment: Hashable, Sendable {
    /// The office.
    public let office: NodeID
    /// The current epoch for (case, office).
    public internal(set) var epoch: UInt32
    /// The status of the current epoch.
    public internal(set) var status: AssignmentStatus
    /// When the current epoch was dispatched.
    public internal(set) var dispatched: Stamp
    /// When the office acknowledged (DITERIMA_OPD).
    public internal(set) var acknowledged: Stamp?
    /// When the office last started work (DIPROSES).
    public internal(set) var started: Stamp?
    /// When the office last reported its follow-up (SELESAI_OPD).
    public internal(set) var resolved: Stamp?
    /// When the assignment ended (returned or revoked).
    public internal(set) var ended: Stamp?
    /// Why the office returned it, if it did.
    public internal(set) var returnReason: ReturnReason?
    /// The op that set the current status, with its context, for the same-assignment merge rule.
    var statusOp: OpID
    var statusContext: VersionVector

    init(office: NodeID, epoch: UInt32, by op: Op) {
        self.office = office
        self.epoch = epoch
        self.status = .dispatched
        self.dispatched = Stamp(op: op.id, at: op.at)
        self.statusOp = op.id
        self.statusContext = op.context
    }

    /// Whether `op` and the op that set the current status were made without seeing each other.
    func isConcurrentWithStatusOp(_ op: Op) -> Bool {
        VersionVector.areConcurrent(statusOp, context: statusContext, op.id, context: op.context)
    }

    mutating func setStatus(_ status: AssignmentStatus, by op: Op) {
        self.status = status
        statusOp = op.id
        statusContext = op.context
    }
}
