import Foundation
import GRDB
public import SambatCore

/// An op received from a peer, with central's receive time when the peer is central.
public struct RemoteOp: Hashable, Sendable {
    /// The op as received.
    public let sealed: SealedOp
    /// Central's receive time, carried by central's feed; `nil` for uploads to central.
    public let centralReceivedAt: Timestamp?

    /// Pairs a received op with central's receive time, if known.
    public init(_ sealed: SealedOp, centralReceivedAt: Timestamp? = nil) {
        self.sealed = sealed
        self.centralReceivedAt = centralReceivedAt
    }
}

/// Where a batch comes from, which decides how much it is trusted.
public enum RemoteSource: Hashable, Sendable {
    /// Central's feed, at an office or the mayor: central has already vetted every op.
    case feed(from: NodeID)
    /// An authenticated peer uploading its own ops to central: each op is authorized, and a
    /// refused op is quarantined (it still counts toward the frontier).
    case peer(NodeID, NodeRole)

    var peerName: String {
        switch self {
        case .feed(let node): node.rawValue
        case .peer(let node, _): node.rawValue
        }
    }
}

/// What applying a batch changed.
public struct RemoteApplyResult: Hashable, Sendable {
    /// An op refused by authorization, with the reason the peer is told.
    public struct Quarantined: Hashable, Sendable {
        /// The op.
        public let id: OpID
        /// Why, in English, without personal data.
        public let reason: String
    }

    /// Ops stored for the first time.
    public internal(set) var inserted = 0
    /// Ops already held with the same bytes (a resend or replay): no change.
    public internal(set) var duplicates = 0
    /// Ops refused and kept in quarantine.
    public internal(set) var quarantined: [Quarantined] = []
    /// Ops whose (origin, seq) is held with different bytes: refused and recorded.
    public internal(set) var integrityAlarms: [OpID] = []
    /// The frontier of every origin in the batch after it was applied.
    public internal(set) var frontiers: [Origin: UInt64] = [:]
    /// Cases whose state changed.
    public internal(set) var changedCases: [CaseID] = []

    /// An empty result: nothing applied.
    public init() {}
}

extension Store {
    /// Applies a batch of ops from a peer in one transaction, idempotently.
    ///
    /// Each op is inserted unless its (origin, seq) is already held: with the same hash it is
    /// a duplicate (no change); with a different hash it is refused and recorded as an
    /// integrity alarm. From an authenticated peer, ops it may not author are quarantined.
    /// Frontiers advance to the highest contiguous seq; touched cases are folded once; feeds
    /// (at central) and the feed checkpoint (elsewhere) are updated in the same transaction,
    /// committed durably before this returns — so the caller may ACK.
    ///
    /// The op log is the commit point: the projection rows (listings, reports) of the batch
    /// follow in a later transaction, which coalesces many batches (a case changed by ten of
    /// them is written once), within ``StoreConfiguration/projectionDelay`` or
    /// ``StoreConfiguration/projectionBacklog``. The batch's `projectionJournal` row, committed
    /// with its ops, makes that safe across a crash. Reads never see the lag: a case's detail
    /// folds the log, and a read of projection rows first projects what is pending.
    /// - Parameters:
    ///   - batch: the ops; in an upload (`.peer`) they must be in ascending seq order.
    ///   - source: who sent them.
    ///   - receivedAt: now; at central, the receive time stored beside each op.
    ///   - feedPosition: at an office or the mayor, central's feed position this batch ends at.
    /// - Returns: counts of inserted and duplicate ops, what was quarantined or raised an
    ///   integrity alarm, the new frontiers and the cases that changed.
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidBatch`` when the batch breaks
    ///   ordering rules (nothing is written), or a storage error.
    public func applyRemote(
        _ batch: [RemoteOp],
        from source: RemoteSource,
        receivedAt: Timestamp,
        feedPosition: UInt64? = nil
    ) async throws(StoreError) -> RemoteApplyResult {
        try await applyRemote(
            batch,
            from: source,
            receivedAt: receivedAt,
            feedPosition: feedPosition,
            carriedTimes: false
        )
    }

    /// ``applyRemote(_:from:receivedAt:feedPosition:)``; with `carriedTimes` central too
    /// stores the receive time each op carries, as only a generated history needs
    /// (``applyCentralHistory(_:)``).
    func applyRemote(
        _ batch: [RemoteOp],
        from source: RemoteSource,
        receivedAt: Timestamp,
        feedPosition: UInt64?,
        carriedTimes: Bool
    ) async throws(StoreError) -> RemoteApplyResult {
        try validate(batch, from: source)
        let (result, deferred) = try await write { db in
            var session = WriteSession(store: self, db: db)
            session.defersProjection = true
            session.expect(ops: batch.count)
            if batch.count >= self.foldLaneBatchOps { session.foldOnLane(self.foldLane, batch: batch, from: source) }
            // The lane holds the batch's states until it is done, also when the batch fails.
            defer { session.finishFolds() }
            var result = RemoteApplyResult()
            var written: [SealedOp] = []
            written.reserveCapacity(batch.count)
            var origins: [Origin] = []
            var highestLamport: UInt64 = 0
            let lamportBase = try self.loadMeta(db).lamport
            for (index, remote) in batch.enumerated() {
                let sealed = remote.sealed
                let op = sealed.op
                if !origins.contains(op.id.origin) { origins.append(op.id.origin) }
                let time =
                    self.identity.role == .central && !carriedTimes
                    ? receivedAt : (remote.centralReceivedAt ?? receivedAt)
                if let reason = try self.refusal(
                    of: op,
                    at: index,
                    from: source,
                    lamportBase: lamportBase,
                    session: &session
                ) {
                    if try session.storedHash(of: op.id) == nil {
                        try self.quarantine(sealed, reason: reason, source: source, time: time, session: &session)
                        result.quarantined.append(.init(id: op.id, reason: reason))
                    } else {
                        try self.checkDuplicate(sealed, source: source, time: time, session: &session, result: &result)
                    }
                    continue
                }
                if try session.quarantineHolds(op.id.origin), try session.storedHash(of: op.id) != nil {
                    // Already held (perhaps in quarantine, which the log insert cannot see).
                    try self.checkDuplicate(sealed, source: source, time: time, session: &session, result: &result)
                    continue
                }
                if try session.insertOp(sealed, receivedAt: time) {
                    try session.foldInserted(op, at: index, receivedAt: time)
                    result.inserted += 1
                    highestLamport = max(highestLamport, op.lamport)
                    written.append(sealed)
                } else if try self.checkDuplicate(
                    sealed,
                    source: source,
                    time: time,
                    session: &session,
                    result: &result
                ),
                    self.identity.role != .central, let centralTime = remote.centralReceivedAt
                {
                    // Central's echo of an op we already hold (typically our own): adopt its
                    // receive time, which deadlines are measured from.
                    try session.adoptReceiveTime(op.id, of: op.caseID, time: centralTime)
                }
            }
            for origin in origins.sorted() {
                result.frontiers[origin] = try session.advanceFrontier(of: origin)
            }
            if highestLamport > 0 { try session.observeLamport(highestLamport) }
            session.finishFolds()
            try session.finish()
            try session.appendToFeeds(written)
            session.cacheStates()
            if let feedPosition, case .feed(let central) = source {
                try session.saveCheckpoint(position: feedPosition, of: central)
            }
            let deferred = try self.deferProjection(of: session, written: written, db: db)
            result.changedCases = session.changedCases
            session.releaseInBackground(with: consume written)
            return (result, deferred)
        }
        if deferred { await followDeferredCommit() }
        return result
    }

    /// Refuses an upload in which the peer's seqs do not strictly increase, or in which it
    /// sends ops under another node's origin.
    ///
    /// Such ops are refused with the whole batch rather than quarantined: quarantine counts
    /// toward the frontier of the op's origin, and a peer must never move another node's
    /// frontier (that would make central skip the real op with that seq).
    private func validate(_ batch: [RemoteOp], from source: RemoteSource) throws(StoreError) {
        // Central's feed is not in seq order (a newly assigned case's history comes where the
        // case first appears, and a central of an earlier release grouped ops by case), so a
        // feed batch may hold one origin's seqs out of order; only an uploader's own stream
        // must ascend, under its own origin.
        guard case .peer(let peer, _) = source else { return }
        var last: [Origin: UInt64] = [:]
        for remote in batch {
            let id = remote.sealed.op.id
            if id.origin.node != peer {
                throw StoreError(
                    .invalidBatch,
                    path: path,
                    message: "\(peer) sent an op under origin \(id.origin), which is not its own; batch refused"
                )
            }
            if let previous = last[id.origin], previous >= id.seq {
                throw StoreError(
                    .invalidBatch,
                    path: path,
                    message: "ops of origin \(id.origin) are not in ascending seq order (\(previous) then \(id.seq))"
                )
            }
            last[id.origin] = id.seq
        }
    }

    /// Classifies an op whose (origin, seq) is already held: a harmless duplicate, or an
    /// integrity alarm when the bytes differ.
    /// - Returns: whether it was a harmless duplicate.
    @discardableResult
    private func checkDuplicate(
        _ sealed: SealedOp,
        source: RemoteSource,
        time: Timestamp,
        session: inout WriteSession,
        result: inout RemoteApplyResult
    ) throws -> Bool {
        guard let stored = try session.storedHash(of: sealed.op.id) else { return false }
        if stored == sealed.hash.bytes {
            result.duplicates += 1
            return true
        }
        try session.db.execute(
            sql: """
                INSERT INTO integrityAlarm (origin, seq, storedHash, offeredHash, peer, receivedAt)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                sealed.op.id.origin.description, Int64(sealed.op.id.seq), Data(stored), Data(sealed.hash.bytes),
                source.peerName, at(time),
            ]
        )
        result.integrityAlarms.append(sealed.op.id)
        return false
    }

    /// Keeps a refused op for audit; it counts toward its origin's frontier.
    private func quarantine(
        _ sealed: SealedOp,
        reason: String,
        source: RemoteSource,
        time: Timestamp,
        session: inout WriteSession
    ) throws {
        let op = sealed.op
        try session.db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO quarantine (origin, seq, caseId, bytes, hash, reason, peer, receivedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            op.id.origin.description, Int64(op.id.seq), op.caseID.rawValue, Data(sealed.bytes),
            Data(sealed.hash.bytes), reason, source.peerName, at(time),
        ])
        if session.db.changesCount > 0 { session.noteHeld(op.id) }
    }

    /// How far beyond central's clock an uploaded op's Lamport time may run (see `refusal`).
    static let lamportSlack: UInt64 = 1_000_000

    /// Why central refuses an uploaded op, or `nil` when it is accepted.
    ///
    /// Identity comes from the authenticated connection (`source`), never from the op: the
    /// op's origin must be the peer's own, its kind must fit the peer's role, and the case
    /// must have been assigned to the peer at the op's epoch. `index` is the op's place in
    /// its batch.
    private func refusal(
        of op: Op,
        at index: Int,
        from source: RemoteSource,
        lamportBase: UInt64,
        session: inout WriteSession
    ) throws -> String? {
        guard case .peer(let peer, let role) = source else { return nil }
        switch role {
        case .mayor: return "the mayor node is read-only"
        case .central: return "central does not upload to itself"
        case .office: break
        }
        guard !op.kind.isCentralOnly else { return "only central may author \(op.kind)" }
        // An honest author's Lamport time is at most one above everything it had seen: what
        // central holds, plus its own ops (at most `seq` of them under this origin). The slack
        // covers ops of an older incarnation that central never received. Anything larger
        // would drag every node's clock towards overflow.
        guard op.lamport <= lamportBase + op.id.seq + Self.lamportSlack else {
            return "Lamport time \(op.lamport) is ahead of anything the author could have seen"
        }
        // The context may only claim ops central holds (other than the author's own).
        for entry in op.context.entries where entry.origin != op.id.origin {
            guard try session.holds(entry.origin, upTo: entry.seq) else {
                return "its context claims ops of \(entry.origin) that central does not hold"
            }
        }
        guard let epoch = try session.assignmentEpoch(of: op.caseID, for: peer, at: index) else {
            return "case \(op.caseID) was never assigned to \(peer)"
        }
        guard op.epoch >= 1, op.epoch <= epoch else {
            return "case \(op.caseID) has no assignment epoch \(op.epoch) for \(peer)"
        }
        return nil
    }
}
