public import SambatCore
public import SambatStore

/// Central's store work for one peer session: reading the next feed batch and applying an
/// upload, answered as the events ``PeerSession`` expects.
///
/// The code between the session machine and the store, shared by ``CentralSyncService`` and
/// the deterministic simulation so that both run exactly the same rules. Owned by whoever
/// drives the session; it does no socket I/O and no logging (it reports what to log).
public struct CentralStoreWork: Sendable {
    /// Central's store.
    public let store: Store

    /// Work on `store`.
    public init(store: Store) {
        self.store = store
    }

    /// The feed entries of `peer` after `after`: at most `limit`, and at most `byteLimit`
    /// bytes of ops (always at least one entry when any is waiting).
    ///
    /// - Returns: the `feedRead` event for the session.
    /// - Throws: ``StoreError`` when the feed cannot be read.
    public func readFeed(
        for peer: NodeID,
        after: UInt64,
        limit: Int,
        byteLimit: Int,
        generation: UInt64
    ) async throws(StoreError) -> PeerSession.Event {
        let entries = try await store.feedBytes(for: peer, after: after, limit: limit)
            .prefix(withinBytes: byteLimit) { $0.bytes.count }
        return .feedRead(
            ops: entries.map(\.bytes),
            receivedAt: entries.map(\.receivedAt.millisecondsSinceEpoch),
            lastPosition: entries.last?.feedSeq ?? after,
            generation: generation
        )
    }

    /// What applying an upload led to.
    public struct UploadOutcome: Sendable {
        /// The event for the session: the batch applied (with central's frontier and any
        /// refusals) or refused whole.
        public let event: PeerSession.Event
        /// Ops offered again with different bytes (never accepted; worth an error in the log).
        public let integrityAlarms: Int
        /// A storage failure behind an `UNAVAILABLE` refusal, for the log.
        public let storeFailure: StoreError?
        /// Whether anything was applied, so other peers' feeds may have grown.
        public var applied: Bool {
            if case .uploadApplied = event { return true }
            return false
        }
    }

    /// Decodes and applies a peer's upload in one durable transaction.
    ///
    /// A batch from a peer without a session origin (no HELLO) or with an op that does not
    /// decode is refused whole and changes nothing; a batch the store refuses as invalid
    /// likewise. Identity is the authenticated `node` and `role`, never the ops' own claims.
    ///
    /// - Returns: the session's event and what to log.
    public func applyUpload(
        _ batch: Sambat_Sync_V1_Batch,
        from node: NodeID,
        role: NodeRole,
        origin: Origin?,
        receivedAt: Timestamp
    ) async -> UploadOutcome {
        func refused(_ code: Sambat_Sync_V1_Error.Code, _ message: String, failure: StoreError? = nil) -> UploadOutcome
        {
            UploadOutcome(
                event: .uploadRefused(batchID: batch.batchID, SyncProtocolError(code, message)),
                integrityAlarms: 0,
                storeFailure: failure
            )
        }
        guard let origin else { return refused(.helloRequired, "say HELLO first") }
        let ops: [RemoteOp]
        do {
            ops = try await SealedOp.decodeBatch(
                batch.ops.map { Array($0) },
                parallelism: SyncSettings.decodingParallelism
            )
            .map { RemoteOp($0) }
        } catch {
            return refused(.invalidBatch, "op \(error.index) of the batch does not decode: \(error.error)")
        }
        do {
            let result = try await store.applyRemote(ops, from: .peer(node, role), receivedAt: receivedAt)
            let frontier: UInt64
            if let known = result.frontiers[origin] {
                frontier = known
            } else {
                frontier = try await store.frontier(of: origin)
            }
            let refusals = result.quarantined.map { entry in
                var refusal = Sambat_Sync_V1_Refusal()
                refusal.seq = entry.id.seq
                refusal.reason = entry.reason
                return refusal
            }
            return UploadOutcome(
                event: .uploadApplied(batchID: batch.batchID, frontier: frontier, refused: refusals),
                integrityAlarms: result.integrityAlarms.count,
                storeFailure: nil
            )
        } catch  where error.code == .invalidBatch {
            return refused(.invalidBatch, error.message)
        } catch {
            return refused(.unavailable, "central could not store the batch; try again", failure: error)
        }
    }
}
