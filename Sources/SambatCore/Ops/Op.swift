/// One change to one case: the unit of Sambat's append-only log, of sync, and of the fold.
///
/// An op is identified by ``id`` (origin and gapless seq). Its ``context`` is its author's
/// version vector for the case *before* this op — for each origin that had written the
/// case, the highest seq of its ops on this case the author had seen — and decides whether
/// two ops are ordered or concurrent. ``lamport`` orders ops across replicas for the fold.
///
/// Ops are values; their canonical bytes and hash come from ``SealedOp``.
///
/// ```swift
/// let op = Op(id: try OpID(origin: dpupr, seq: 18), lamport: 42, caseID: ticket, epoch: 1,
///             context: state.vector, actor: try ActorID("dpupr.budi"),
///             at: now, body: .acknowledged)
/// let sealed = try SealedOp(sealing: op)   // canonical bytes + SHA-256
/// ```
public struct Op: Hashable, Sendable {
    /// Origin and sequence number.
    public var id: OpID
    /// Lamport time: one more than the highest Lamport time its author had seen.
    public var lamport: UInt64
    /// The case this op changes.
    public var caseID: CaseID
    /// The authoring office's assignment epoch; 0 for central's own ops.
    public var epoch: UInt32
    /// The author's version vector for this case before this op.
    public var context: VersionVector
    /// The account that performed the action.
    public var actor: ActorID
    /// The author's wall time, for display only.
    public var at: Timestamp
    /// What the op does.
    public var body: OpBody

    /// Creates an op.
    public init(
        id: OpID,
        lamport: UInt64,
        caseID: CaseID,
        epoch: UInt32,
        context: VersionVector,
        actor: ActorID,
        at: Timestamp,
        body: OpBody
    ) {
        self.id = id
        self.lamport = lamport
        self.caseID = caseID
        self.epoch = epoch
        self.context = context
        self.actor = actor
        self.at = at
        self.body = body
    }

    /// The op's kind.
    public var kind: OpKind { body.kind }

    /// Whether `other` is in this op's causal past (its author had seen it).
    public func follows(_ other: Op) -> Bool {
        context.contains(other.id)
    }

    /// Whether neither op had seen the other.
    public func isConcurrent(with other: Op) -> Bool {
        VersionVector.areConcurrent(id, context: context, other.id, context: other.context)
    }

    /// The position of this op in the fold's total order.
    public var foldKey: FoldKey { FoldKey(lamport: lamport, id: id) }
}

/// The fold's total order over ops: Lamport time, then origin, then seq.
public struct FoldKey: Hashable, Comparable, Sendable {
    /// Lamport time.
    public let lamport: UInt64
    /// The op's id (origin, then seq).
    public let id: OpID

    public static func < (lhs: FoldKey, rhs: FoldKey) -> Bool {
        if lhs.lamport != rhs.lamport { return lhs.lamport < rhs.lamport }
        return lhs.id < rhs.id
    }
}
