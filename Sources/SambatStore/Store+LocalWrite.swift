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
        try await write { db in
            var session = WriteSession(store: self, db: db)
            let meta = try self.loadMeta(db)
            let state = try session.state(of: caseID)
            let epoch = self.policy.authoringEpoch(for: self.identity.node, in: state) ?? 0
            if let refusal = self.policy.check(
                role: self.identity.role,
                node: self.identity.node,
                body: body,
                epoch: epoch,
                in: state
            ) {
                throw refusal
            }
            let id = try OpID(origin: meta.origin, seq: meta.nextSeq)
            let op = Op(
                id: id,
                lamport: max(meta.lamport, state.lamport) + 1,
                caseID: caseID,
                epoch: epoch,
                context: state.vector,
                actor: actor,
                at: at,
                body: body
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
                    message: "seq \(id) is already used; the store's metadata is behind its log. Restore from a backup"
                )
            }
            session.noteReceived(id, at: at)
            try db.execute(
                sql: "UPDATE nodeMeta SET nextSeq = nextSeq + 1, lamport = ? WHERE id = 1",
                arguments: [Int64(op.lamport)]
            )
            _ = try session.advanceFrontier(of: meta.origin)
            try session.fold(op)
            try session.finish()
            try session.appendToFeeds([sealed])
            let authored = AuthoredOp(sealed: sealed, state: try session.state(of: caseID))
            session.cacheStates()
            return authored
        }
    }
}
