import Foundation
import GRDB
public import SambatCore

extension Store {
    /// Inserts `rows` rows of `bytesPerRow` bytes into a scratch table through this store's
    /// writer connection, `batchSize` rows per transaction, and returns the time it took.
    ///
    /// The yardstick for `sambat bench store`: the same connection, pragmas (WAL,
    /// `synchronous=FULL`) and batching as a remote apply, with none of its work, bound through
    /// the same direct statement binding as the apply's hot statements. The scratch table is
    /// dropped afterwards.
    public func measurePlainInsert(rows: Int, bytesPerRow: Int, batchSize: Int) async throws(StoreError) -> Duration {
        let payload = [UInt8](repeating: 0x5A, count: bytesPerRow)
        try await write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS benchPlain (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var next = 0
        while next < rows {
            let first = next
            let count = min(batchSize, rows - next)
            try await write { db in
                let statement = try HotStatement(db, sql: "INSERT INTO benchPlain (id, payload) VALUES (?, ?)")
                for id in first..<first + count {
                    statement.bind(1, id)
                    statement.bind(2, blob: payload)
                    try statement.execute()
                }
            }
            next += count
        }
        let elapsed = clock.now - start
        try await write { db in try db.execute(sql: "DROP TABLE benchPlain") }
        return elapsed
    }
}

extension Store {
    /// Writes what a remote apply of `batches` writes — op rows, frontiers, the Lamport clock,
    /// projection rows, feed runs (at central) or the feed checkpoint (elsewhere) — one durable
    /// transaction per batch, and returns the time spent in those transactions alone.
    ///
    /// The ceiling for `sambat bench store`: the rows, statements and commits of an apply,
    /// with its Swift work (decoding, authorization, folding, choosing feed readers) done
    /// beforehand and left out of the time. No apply of this schema can beat it, so it tells
    /// how much of an apply's time is SQLite and the disk. Each op must fold incrementally
    /// onto its case (as an uploaded backlog does); use a scratch store, as its cached case
    /// states are not updated.
    /// - Parameters:
    ///   - batches: the ops, as central received them (or as its feed sent them).
    ///   - receivedAt: the receive time stored beside each op.
    /// - Returns: the time spent inside the write transactions, commits included.
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidBatch`` when an op does not fold
    ///   incrementally onto its case, or a storage error.
    public func measureApplyWrites(of batches: [[SealedOp]], receivedAt: Timestamp) async throws(StoreError) -> Duration
    {
        let central = identity.central
        let mayors = identity.role == .central ? try await read { db in try WriteSession.activeMayors(db) } : []
        var states: [CaseID: CaseState] = [:]
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        var feedPosition: UInt64 = 0
        for batch in batches {
            // Untimed: the Swift work of an apply.
            var touched: [TouchedCase] = []
            var slots: [CaseID: Int] = [:]
            var received: [OpID: Timestamp] = [:]
            var origins: [Origin] = []
            var lamport: UInt64 = 0
            for sealed in batch {
                let op = sealed.op
                let slot: Int
                if let known = slots[op.caseID] {
                    slot = known
                } else {
                    var before = states[op.caseID]
                    if before == nil { before = try await caseState(op.caseID) }
                    touched.append(TouchedCase(before ?? CaseState(caseID: op.caseID)))
                    slot = touched.count - 1
                    slots[op.caseID] = slot
                }
                guard fold.apply(op, to: &touched[slot].state) else {
                    throw StoreError(.invalidBatch, path: path, message: "op \(op.id) does not fold incrementally")
                }
                touched[slot].ops.append(op.id)
                received[op.id] = receivedAt
                if !origins.contains(op.id.origin) { origins.append(op.id.origin) }
                lamport = max(lamport, op.lamport)
            }
            var feeds = PendingFeeds()
            for entry in touched {
                states[entry.state.caseID] = entry.state
                guard identity.role == .central else { continue }
                let readers = FeedReaders(before: entry.baseline?.assignments ?? [], after: entry.state.assignments)
                guard readers.newcomers.isEmpty else {
                    let message = "case \(entry.state.caseID) gains an office; not measured"
                    throw StoreError(.invalidBatch, path: path, message: message)
                }
                for peer in mayors + readers.continuing {
                    for id in entry.ops { feeds.append(id, to: peer.rawValue) }
                }
            }
            feedPosition += UInt64(batch.count)
            let checkpoint = identity.role == .central ? nil : feedPosition
            let start = clock.now
            try await write { [touched, received, origins, lamport, feeds] db in
                var session = WriteSession(store: self, db: db)
                for sealed in batch { _ = try session.insertOp(sealed, receivedAt: receivedAt) }
                for origin in origins { _ = try session.advanceFrontier(of: origin) }
                try session.observeLamport(lamport)
                let projection = CaseProjection(db: db, statements: session.statements, receivedAt: received)
                for entry in touched { try projection.write(before: entry.baseline, after: entry.state) }
                for peer in feeds.peers { try session.appendFeed(peer: peer, runs: feeds.runs[peer] ?? []) }
                if let checkpoint { try session.saveCheckpoint(position: checkpoint, of: central) }
            }
            elapsed += clock.now - start
        }
        return elapsed
    }
}

/// A case a measured batch touches: what its rows held before, its state with the batch's
/// ops folded in, and those ops in order.
private struct TouchedCase: Sendable {
    let baseline: CaseBaseline?
    var state: CaseState
    var ops: [OpID] = []

    init(_ before: CaseState) {
        baseline = before.opCount == 0 ? nil : CaseBaseline(before)
        state = before
    }
}
