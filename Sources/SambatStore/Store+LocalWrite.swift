import Foundation
import GRDB
public import SambatCore

/// A local op as written: its sealed form and the case state after it.
public struct AuthoredOp: Hashable, Sendable {
    /// The op as stored and sent.
    public let sealed: SealedOp
    /// The case after folding it.
    public let state: CaseState
}

extension Store {
    /// Authors a new op on a case in one transaction.
    ///
    /// Checks the role policy against the case as this store holds it, allocates the next
    /// gapless seq and Lamport time, stores the op with the author's context (this store's
    /// vector for the case), folds the case, updates projections and — at central — appends
    /// the op to the feed of every peer that should see it.
    /// - Parameters:
    ///   - body: what the op does.
    ///   - caseID: the case.
    ///   - actor: the staff account acting.
    ///   - at: the author's wall time; at central also the op's receive time.
    /// - Returns: the sealed op and the case state after it.
    /// - Throws: ``StoreError`` with code ``StoreError/Code/policyRefused`` (and the refusal)
    ///   when this node may not author it now, ``StoreError/Code/invalidOp`` when it cannot be
    ///   encoded, or a storage error. Nothing is written when it throws.
    public func append(
        _ body: OpBody,
        to caseID: CaseID,
        actor: ActorID,
        at: Timestamp
    ) async throws(StoreError)
        -> AuthoredOp
    {
        let authored = try await append([LocalEdit(body, to: caseID)], actor: actor, at: at)
        guard let only = authored.first else { preconditionFailure("one edit authors one op") }
        return only
    }

    /// Authors several ops, in order, in one transaction: all of them or none.
    ///
    /// Each edit is checked against the case as the edits before it left it. Used where many
    /// ops are authored at once (imports, benchmarks); see ``append(_:to:actor:at:)``.
    /// - Returns: for each edit, its sealed op and the case state right after it.
    /// - Throws: as ``append(_:to:actor:at:)``; nothing is written when it throws.
    public func append(_ edits: [LocalEdit], actor: ActorID, at: Timestamp) async throws(StoreError) -> [AuthoredOp] {
        let authored = try await write { db in
            // Read your own writes: this projects synchronously, from rows that match the log.
            try self.projectPending(db)
            var session = WriteSession(store: self, db: db)
            let meta = try self.loadMeta(db)
            var nextSeq = meta.nextSeq
            var lamport = meta.lamport
            var authored: [AuthoredOp] = []
            var written: [SealedOp] = []
            authored.reserveCapacity(edits.count)
            for edit in edits {
                let state = try session.currentState(of: edit.caseID)
                let epoch = self.policy.authoringEpoch(for: self.identity.node, in: state) ?? 0
                if let refusal = self.policy.check(
                    role: self.identity.role,
                    node: self.identity.node,
                    body: edit.body,
                    epoch: epoch,
                    in: state
                ) {
                    throw refusal
                }
                let id = try OpID(origin: meta.origin, seq: nextSeq)
                let op = Op(
                    id: id,
                    lamport: max(lamport, state.lamport) + 1,
                    caseID: edit.caseID,
                    epoch: epoch,
                    context: state.vector,
                    actor: actor,
                    at: at,
                    body: edit.body
                )
                let sealed: SealedOp
                do {
                    sealed = try SealedOp(sealing: op)
                } catch {
                    throw StoreError(.invalidOp, path: self.path, message: "the op cannot be encoded: \(error)")
                }
                guard try session.insertOp(sealed, receivedAt: at) else {
                    throw StoreError(
                        .corruptOp,
                        path: self.path,
                        message:
                            "seq \(id) is already used; the store's metadata is behind its log. Restore from a backup"
                    )
                }
                session.noteReceived(id, at: at)
                try session.fold(op)
                nextSeq += 1
                lamport = op.lamport
                written.append(sealed)
                authored.append(AuthoredOp(sealed: sealed, state: try session.currentState(of: edit.caseID)))
            }
            try db.execute(
                sql: "UPDATE nodeMeta SET nextSeq = ?, lamport = MAX(lamport, ?) WHERE id = 1",
                arguments: [Int64(nextSeq), Int64(lamport)]
            )
            _ = try session.advanceFrontier(of: meta.origin)
            try session.finish()
            try session.appendToFeeds(written)
            session.cacheStates()
            return authored
        }
        localWriteSignal.signal()
        return authored
    }
}

/// One change a local user makes: what to do to which case.
public struct LocalEdit: Hashable, Sendable {
    /// What the op does.
    public var body: OpBody
    /// The case.
    public var caseID: CaseID

    /// An edit of `caseID`.
    public init(_ body: OpBody, to caseID: CaseID) {
        self.body = body
        self.caseID = caseID
    }
}
