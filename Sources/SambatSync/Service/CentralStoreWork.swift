public import Logging
public import SambatCore
public import SambatStore

/// Central's store work for the ``CentralHub``: every action that reads or writes the store,
/// answered as the event the hub expects.
///
/// The code between the hub and the store, shared by ``CentralSyncService`` and the
/// deterministic simulation so that both run exactly the same rules. Owned by whoever drives
/// the hub; it does no socket I/O, and logs only store failures.
public struct CentralStoreWork: Sendable {
    /// Central's store.
    public let store: Store
    /// Peers' upload batches decoded ahead of their apply; whoever reads the socket fills it.
    public let decodedUploads = DecodedBatches()
    private let logger: Logger

    /// Work on `store`, logging store failures to `logger`.
    public init(store: Store, logger: Logger = Logger(label: "sambat.sync.central")) {
        self.store = store
        self.logger = logger
    }

    /// Carries out a store action of the hub.
    ///
    /// - Parameters:
    ///   - action: the hub's action; those that are not store work (sending, probing, blobs,
    ///     logging) are left to the caller and answer `nil`.
    ///   - receivedAt: the wall time to record on applied uploads.
    /// - Returns: the event that reports the result, if the action has one.
    public func perform(_ action: CentralHub.Action, receivedAt: Timestamp) async -> CentralHub.Event? {
        switch action {
        case .lookUpSender(let arrival):
            do {
                return .senderLookedUp(arrival, peer: try await store.peer(arrival.node), storeFailed: false)
            } catch {
                logger.error("could not check enrolment", metadata: ["node": "\(arrival.node)", "error": "\(error)"])
                return .senderLookedUp(arrival, peer: nil, storeFailed: true)
            }
        case .lookUpHello(let pending):
            do {
                let facts = CentralHub.HelloFacts(
                    frontier: try await store.frontier(of: pending.origin),
                    feedHead: try await store.feedHead(for: pending.peer.node),
                    feedEpoch: UInt64(try await store.currentOrigin().incarnation)
                )
                return .helloLookedUp(pending, facts)
            } catch {
                logger.error(
                    "could not answer HELLO",
                    metadata: ["node": "\(pending.peer.node)", "error": "\(error)"]
                )
                return .helloLookedUp(pending, nil)
            }
        case .readFeed(let node, let after, let limit, let byteLimit, let generation):
            do {
                return .session(
                    node,
                    try await readFeed(
                        for: node,
                        after: after,
                        limit: limit,
                        byteLimit: byteLimit,
                        generation: generation
                    )
                )
            } catch {
                logger.error("could not read a feed", metadata: ["node": "\(node)", "error": "\(error)"])
                return .session(node, .feedRead(ops: [], receivedAt: [], lastPosition: after, generation: generation))
            }
        case .applyUpload(let batch, let node, let role, let origin):
            let outcome = await applyUpload(batch, from: node, role: role, origin: origin, receivedAt: receivedAt)
            if let failure = outcome.storeFailure {
                logger.error("could not apply an upload", metadata: ["node": "\(node)", "error": "\(failure)"])
            }
            if outcome.integrityAlarms > 0 {
                logger.error(
                    "integrity alarm: ops offered again with different bytes",
                    metadata: ["node": "\(node)", "count": "\(outcome.integrityAlarms)"]
                )
            }
            return .uploaded(node, outcome.event, applied: outcome.applied)
        case .saveAcknowledged(let node, let position):
            do {
                try await store.saveCheckpoint(position, for: node)
            } catch {
                logger.error("could not save a peer's checkpoint", metadata: ["node": "\(node)", "error": "\(error)"])
            }
            return nil
        case .resetAcknowledged(let node, let position):
            do {
                try await store.resetCheckpoint(position, for: node)
            } catch {
                logger.error("could not save a peer's checkpoint", metadata: ["node": "\(node)", "error": "\(error)"])
            }
            return nil
        case .readFeedHeads(let nodes):
            return .feedHeads((try? await store.feedHeads(for: nodes)) ?? [:])
        case .recordContact(let node, let origin, let claimed, let silence):
            do {
                try await store.recordContact(
                    of: node,
                    origin: origin,
                    claimedSeq: claimed,
                    at: Timestamp(millisecondsSinceEpoch: receivedAt.millisecondsSinceEpoch - silence.milliseconds)
                )
            } catch {
                logger.error(
                    "could not save when a peer was last heard from",
                    metadata: ["node": "\(node)", "error": "\(error)"]
                )
            }
            return nil
        case .readSyncHealth(let node, let silences, let connected):
            do {
                let heard = silences.mapValues {
                    Timestamp(millisecondsSinceEpoch: receivedAt.millisecondsSinceEpoch - $0.milliseconds)
                }
                let nodes = try await store.syncHealth(heard: heard, connected: connected)
                return .syncHealthRead(node, Self.report(nodes, at: receivedAt))
            } catch {
                logger.error("could not read the nodes' sync health", metadata: ["error": "\(error)"])
                return .syncHealthRead(node, nil)
            }
        case .send, .probe, .serveBlob, .connectedChanged, .log:
            return nil
        }
    }

    /// The NODE_HEALTH message for `nodes`, taken at `time`.
    static func report(_ nodes: [NodeSyncHealth], at time: Timestamp) -> Sambat_Sync_V1_NodeHealth {
        var report = Sambat_Sync_V1_NodeHealth()
        report.reportedAtMs = time.millisecondsSinceEpoch
        report.nodes = nodes.map { health in
            var entry = Sambat_Sync_V1_PeerHealth()
            entry.node = health.node.rawValue
            entry.role = health.role.rawValue
            entry.connected = health.connected
            entry.lastSeenMs = health.lastSeenAt?.millisecondsSinceEpoch ?? 0
            entry.feedBehind = health.feedBehind
            entry.uploadBehind = health.uploadBehind
            return entry
        }
        return report
    }

    /// The answer to a blob request from `node`: the part asked for when the blob belongs
    /// to a case the node may see, "unavailable" otherwise.
    ///
    /// - Returns: the BLOB_CHUNK to send.
    public func blobChunk(for ask: Sambat_Sync_V1_BlobRequest, node: NodeID, role: NodeRole) async -> SyncMessage {
        let visible = (try? await store.blob(Array(ask.sha256), isVisibleTo: node, role: role)) ?? false
        return .blobChunk(await BlobService.answer(ask, from: store.blobs, visible: visible))
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
        var ops: [RemoteOp]
        switch await decodedUploads.take(batch) {
        case .success(let decoded):
            ops = decoded
        case .failure(let error):
            return refused(.invalidBatch, "op \(error.index) of the batch does not decode: \(error.error)")
        }
        // The batch's thousands of ops are freed on a background queue, not on the hub's turn
        // before it takes the next message (a millisecond a batch while the writer waited).
        defer { BackgroundRelease.release(emptying: &ops) }
        do {
            let result = try await store.applyRemote(ops, from: .peer(node, role), receivedAt: receivedAt)
            SyncMetrics.applied(result.inserted, source: "upload")
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
