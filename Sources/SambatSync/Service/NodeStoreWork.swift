public import Logging
public import SambatCore
public import SambatStore

/// An office's or the mayor's store work for ``NodeSync``: every action that reads or writes
/// the store or its blobs, answered as the event the machine expects.
///
/// The code between the machine and the store, shared by ``NodeSyncService`` and the
/// deterministic simulation so that both run exactly the same rules. Owned by whoever drives
/// the machine; it does no socket I/O, and logs only what the store did or failed to do.
public struct NodeStoreWork: Sendable {
    /// The node's store.
    public let store: Store
    /// Feed batches decoded ahead of their apply; whoever reads the socket fills it.
    public let decodedFeed = DecodedBatches(receiveTimes: .central)
    private let logger: Logger

    /// Work on `store`, logging to `logger`.
    public init(store: Store, logger: Logger = Logger(label: "sambat.sync")) {
        self.store = store
        self.logger = logger
    }

    /// What the machine is started with: the current origin, the earlier incarnations whose
    /// ops central may lack, and where the store stands.
    ///
    /// - Returns: the `started` event.
    /// - Throws: ``StoreError`` when the store cannot be read.
    public func start() async throws(StoreError) -> NodeSync.Event {
        .started(
            current: try await store.currentOrigin(),
            earlier: try await store.earlierOwnOrigins().map { NodeSync.OwnOrigin(origin: $0.origin, head: $0.head) },
            try await linkStart()
        )
    }

    /// Carries out a store action of the machine.
    ///
    /// - Parameters:
    ///   - action: the machine's action; those that are not store work (sending, serving a
    ///     blob, reconnecting, logging) are left to the caller and answer `nil`.
    ///   - receivedAt: the wall time to record on applied feed batches.
    /// - Returns: the event that reports the result, if the action has one.
    public func perform(_ action: NodeSync.Action, receivedAt: Timestamp) async -> NodeSync.Event? {
        switch action {
        case .readLocalOps(let origin, let after, let limit, let byteLimit, let generation):
            do {
                let ops = try await store.opBytes(of: origin, after: after, limit: limit)
                    .prefix(withinBytes: byteLimit) { $0.bytes.count }
                return .link(.localOpsRead(ops.map(\.bytes), lastSeq: ops.last?.seq ?? after, generation: generation))
            } catch {
                logger.error("could not read local ops to upload", metadata: ["error": "\(error)"])
                return .link(.localOpsRead([], lastSeq: after, generation: generation))
            }
        case .applyFeed(let batch):
            return await applyFeed([batch], receivedAt: receivedAt).first
        case .resetCheckpoint(let position, let epoch):
            do {
                try await store.resetCheckpoint(position, epoch: epoch, for: store.identity.central)
            } catch {
                logger.error("could not reset the feed checkpoint", metadata: ["error": "\(error)"])
            }
            return nil
        case .readLinkStart:
            do {
                return .linkStartRead(try await linkStart())
            } catch {
                logger.error("could not read the store's sync position", metadata: ["error": "\(error)"])
                return .linkStartRead(NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0))
            }
        case .blob(let blobAction):
            return await blobWork(blobAction).map { .blob($0) }
        case .readMissingBlobs(let cursor):
            // The fetcher polls: evidence still waiting for its projection is found at a later poll.
            guard let missing = try? await store.missingBlobs(after: cursor, limit: 20, allowingProjectionLag: true)
            else {
                return .missingBlobsRead([], lastSeen: nil)
            }
            var wanted: [MissingBlob] = []
            for blob in missing {
                // A blob found complete on disk (fetched before a crash) is only marked.
                if await store.blobs.contains(blob.sha256) {
                    try? await store.markBlobStored(blob.sha256)
                } else {
                    wanted.append(blob)
                }
            }
            return .missingBlobsRead(wanted, lastSeen: missing.last?.sha256)
        case .saveNodeHealth(let report):
            do {
                try await store.saveNodeHealth(report)
            } catch {
                logger.error("could not keep central's sync-health report", metadata: ["error": "\(error)"])
            }
            return nil
        case .send, .reconnect, .serveBlob, .linkChanged, .log:
            return nil
        }
    }

    /// The answer to central's request for part of a blob this node holds.
    ///
    /// - Returns: the BLOB_CHUNK to send.
    public func blobChunk(for ask: Sambat_Sync_V1_BlobRequest) async -> SyncMessage {
        .blobChunk(await BlobService.answer(ask, from: store.blobs, visible: true))
    }

    private func linkStart() async throws(StoreError) -> NodeSync.LinkStart {
        let central = store.identity.central
        return NodeSync.LinkStart(
            localHead: try await store.localHead(),
            checkpoint: try await store.checkpoint(for: central),
            feedEpoch: try await store.checkpointEpoch(for: central)
        )
    }

    /// Applies feed batches (decoded ahead or now), in order, in one durable transaction: one
    /// commit instead of one per batch, for batches that waited for the writer together.
    ///
    /// The checkpoint moves to the last applied batch's position in the same transaction.
    /// If a batch does not decode, the batches before it are applied and it is refused; those
    /// after it are let go, as the machine lets go of everything behind a refusal.
    ///
    /// - Returns: the events the machine expects, in order: `feedApplied` for each applied
    ///   batch, then the refusal if one did not decode; or only `feedNotStored` when the
    ///   store could not take them (nothing of them is stored then).
    public func applyFeed(_ batches: [Sambat_Sync_V1_Batch], receivedAt: Timestamp) async -> [NodeSync.Event] {
        var ops: [RemoteOp] = []
        // Thousands of decoded ops are freed on a background queue, not before the next apply.
        defer { BackgroundRelease.release(emptying: &ops) }
        var applied: [Sambat_Sync_V1_Batch] = []
        var refusal: NodeSync.Event?
        for batch in batches {
            switch await decodedFeed.take(batch) {
            case .success(var decoded):
                // One batch, the usual case, is applied as it was decoded: no copy.
                if ops.isEmpty {
                    swap(&ops, &decoded)
                } else {
                    ops += decoded
                    BackgroundRelease.release(emptying: &decoded)
                }
                applied.append(batch)
            case .failure(let error):
                let reason = "op \(error.index) of the batch does not decode: \(error.error)"
                refusal = .link(.feedRefused(batchID: batch.batchID, SyncProtocolError(.invalidBatch, reason)))
            }
            if refusal != nil { break }
        }
        var events: [NodeSync.Event] = []
        if let last = applied.last {
            do {
                let result = try await store.applyRemote(
                    ops,
                    from: .feed(from: store.identity.central),
                    receivedAt: receivedAt,
                    feedPosition: last.feedPosition
                )
                SyncMetrics.applied(result.inserted, source: "feed")
                events = applied.map { .link(.feedApplied(batchID: $0.batchID, feedPosition: $0.feedPosition)) }
            } catch {
                logger.error("could not apply a feed batch", metadata: ["error": "\(error)"])
                return [.feedNotStored]
            }
        }
        if let refusal { events.append(refusal) }
        return events
    }

    /// Blob store work for the fetcher; returns the event that reports it.
    private func blobWork(_ action: BlobFetcher.Action) async -> BlobFetcher.Event? {
        switch action {
        case .resume(let sha256):
            return .resumed(sha256: sha256, at: await store.blobs.partialSize(sha256))
        case .store(let chunk):
            let sha256 = Array(chunk.sha256)
            do {
                let size = try await store.blobs.append(sha256, offset: chunk.offset, data: Array(chunk.data))
                return .stored(sha256: sha256, size: size)
            } catch {
                logger.error("could not store an evidence chunk", metadata: ["error": "\(error)"])
                return .reset
            }
        case .finish(let sha256, let size):
            do {
                try await store.blobs.complete(sha256, size: size)
                try await store.markBlobStored(sha256)
                logger.info(
                    "evidence blob received",
                    metadata: ["sha256": "\(Hex.encode(sha256))", "bytes": "\(size)"]
                )
                return .finished(sha256: sha256, verified: true)
            } catch {
                logger.error("evidence blob not stored", metadata: ["error": "\(error)"])
                return .finished(sha256: sha256, verified: false)
            }
        case .send, .log:
            return nil
        }
    }
}
