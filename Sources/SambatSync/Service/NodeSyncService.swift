public import Logging
import SambatCore
public import SambatStore
public import SambatWire
public import ServiceLifecycle
import Synchronization

/// Keeps an office's or the mayor's store in sync with central over one CURVE DEALER socket.
///
/// Owned by the node process (one per node), which runs it as one of its `Service`s. ``run()``
/// drives a ``NodeLink``: it feeds it inbound messages and ticks, and carries out its actions
/// against the socket and the store. Runs until graceful shutdown or cancellation, then closes
/// the socket (with a short linger). A reconnect replaces the socket: the old one is closed
/// (which ends its reader) as the new one takes its place, so one is open at a time.
public final class NodeSyncService: Service, Sendable {
    /// Where central is and the keys to reach it.
    public struct Configuration: Sendable {
        /// Central's endpoint, such as `tcp://10.0.0.1:7700`.
        public var centralEndpoint: String
        /// Central's CURVE public key (Z85), pinned.
        public var centralPublicKey: String
        /// This node's keypair; its public key must be enrolled at central.
        public var keyPair: CurveKeyPair
        /// Protocol tunables.
        public var settings: SyncSettings

        /// A configuration with default tunables.
        public init(
            centralEndpoint: String,
            centralPublicKey: String,
            keyPair: CurveKeyPair,
            settings: SyncSettings = SyncSettings()
        ) {
            self.centralEndpoint = centralEndpoint
            self.centralPublicKey = centralPublicKey
            self.keyPair = keyPair
            self.settings = settings
        }
    }

    /// What `sambat status` and tests read about the link.
    public struct Status: Sendable, Hashable {
        /// Whether central answered HELLO and the link has not gone silent since.
        public var linkUp = false
        /// Central's acknowledged frontier for this node's origin.
        public var centralFrontier: UInt64 = 0
        /// This node's ops central has not acknowledged yet.
        public var unsent: UInt64 = 0
        /// Central has not answered a HELLO in time: likely a wrong key or no enrolment.
        public var centralSilent = false
        /// Why central refuses this node's session, if it does.
        public var centralRefusal: Sambat_Sync_V1_Error.Code?
        /// Bytes of protocol frames sent and received since start (before CURVE framing).
        public var bytesSent = 0
        public var bytesReceived = 0
    }

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(Status())

    /// A service for `store` (an office or mayor store); nothing happens until ``run()``.
    public init(store: Store, configuration: Configuration, logger: Logger = Logger(label: "sambat.sync")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// The link's status now.
    public var status: Status { state.withLock { $0 } }

    /// Syncs until graceful shutdown or cancellation; the `Service` entry point.
    ///
    /// Closes its socket (with a short linger) and terminates its context before returning.
    /// The socket reader and the ticker are child tasks of this call, so nothing it started
    /// outlives it.
    /// - Throws: ``ZMQError`` when the socket cannot be opened, ``StoreError`` when the store
    ///   cannot be read at start.
    public func run() async throws {
        let settings = configuration.settings
        let origin = try await store.currentOrigin()
        let central = store.identity.central
        // A store restored from a backup may hold ops of its earlier incarnation that never
        // reached central: offer those first, one earlier origin per session, then the
        // current origin's.
        var earlier = try await store.earlierOwnOrigins()
        var draining = earlier.isEmpty ? nil : earlier.removeFirst()
        let checkpoint = try await store.checkpoint(for: central)
        let firstHead = try await store.localHead()
        let feedEpoch = try await store.checkpointEpoch(for: central)
        var options = ZMQSocket.Options()
        options.curve = .client(configuration.keyPair, serverPublicKey: configuration.centralPublicKey)
        // Messages wait for a completed connection instead of queueing for an absent central.
        options.immediate = true
        options.maximumMessageBytes = SyncFrames.maximumBodyBytes + 65_536
        options.heartbeatMilliseconds = Int32(clamping: settings.heartbeatInterval.milliseconds)
        options.reconnectMilliseconds = (
            Int32(clamping: settings.reconnectInitial.milliseconds),
            Int32(clamping: settings.reconnectMaximum.milliseconds)
        )
        try await ZMQContext.withContext { context in
            let (events, input) = AsyncStream<NodeLink.Event>.makeStream(bufferingPolicy: .unbounded)
            var socket = try await connect(context: context, options: options)
            await withDiscardingTaskGroup { group in
                group.addTask { [socket] in await self.read(socket, into: input) }
                group.addTask { await self.tick(every: settings.pollInterval, into: input) }
                var link = NodeLink(origin: draining?.origin ?? origin, central: central, settings: settings)
                input.yield(
                    .connect(localHead: draining?.head ?? firstHead, checkpoint: checkpoint, feedEpoch: feedEpoch)
                )
                await untilStopped(finishing: input) {
                    var pending: [NodeLink.Event] = []
                    var fetcher = BlobFetcher(chunkBytes: settings.blobChunkBytes, window: settings.credit)
                    var nextBlobPoll = ContinuousClock.now
                    var blobCursor: [UInt8]?
                    var iterator = events.makeAsyncIterator()
                    while !Task.isCancelled {
                        var event: NodeLink.Event
                        if pending.isEmpty {
                            guard let next = await iterator.next() else { break }
                            event = next
                        } else {
                            event = pending.removeFirst()
                        }
                        // An earlier incarnation writes nothing more: its head is fixed.
                        if let draining, case .tick = event { event = .tick(localHead: draining.head) }
                        let wasReady = link.phase == .ready
                        // Evidence blobs travel beside the link: chunks go to the fetcher, requests
                        // from central are served from this node's blobs.
                        if case .received(let message) = event {
                            switch message {
                            case .blobChunk(let chunk):
                                await fetch(.chunk(chunk), fetcher: &fetcher, socket: socket)
                                continue
                            case .blobRequest(let ask):
                                await serve(ask, socket: socket)
                                continue
                            default:
                                break
                            }
                        }
                        for action in link.handle(event, at: .now) {
                            if case .reconnect = action {
                                // A fresh connection: libzmq may stop retrying a refused handshake.
                                // Closing the old socket ends its reader.
                                do {
                                    let fresh = try await connect(context: context, options: options)
                                    await socket.close()
                                    socket = fresh
                                    group.addTask { await self.read(fresh, into: input) }
                                } catch {
                                    logger.error(
                                        "could not reopen the socket to central",
                                        metadata: ["error": "\(error)"]
                                    )
                                }
                                continue
                            }
                            if let followUp = await perform(
                                action,
                                socket: socket,
                                origin: link.origin,
                                central: central
                            ) {
                                pending.append(followUp)
                            }
                        }
                        publish(link, draining: draining != nil)
                        // Done with an earlier incarnation once central holds all of it, or when central
                        // already holds more of it than this store (STORE_BEHIND: nothing to offer).
                        if let done = draining,
                            (link.phase == .ready && link.centralFrontier >= done.head)
                                || link.centralRefusal == .storeBehind
                        {
                            logger.info(
                                "offered an earlier incarnation's ops to central",
                                metadata: ["origin": "\(done.origin)", "head": "\(done.head)"]
                            )
                            draining = earlier.isEmpty ? nil : earlier.removeFirst()
                            link = NodeLink(
                                origin: draining?.origin ?? origin,
                                central: central,
                                settings: settings
                            )
                            let currentHead = (try? await store.localHead()) ?? 0
                            pending.append(
                                .connect(
                                    localHead: draining?.head ?? currentHead,
                                    checkpoint: (try? await store.checkpoint(for: central)) ?? 0,
                                    feedEpoch: (try? await store.checkpointEpoch(for: central)) ?? 0
                                )
                            )
                        }
                        if store.identity.role == .office {
                            if wasReady, link.phase != .ready {
                                await fetch(.reset, fetcher: &fetcher, socket: socket)
                            }
                            if case .tick = event {
                                // Also while idle: blobs central could not give become due again.
                                await fetch(.tick(.now), fetcher: &fetcher, socket: socket)
                            }
                            if link.phase == .ready, fetcher.isIdle, ContinuousClock.now >= nextBlobPoll {
                                nextBlobPoll = ContinuousClock.now + .seconds(1)
                                let page = await missingBlobs(after: blobCursor, skipping: fetcher)
                                // Page through every missing blob, then start over.
                                blobCursor = page.lastSeen
                                await fetch(.wanted(page.wanted), fetcher: &fetcher, socket: socket)
                            }
                        }
                    }
                }
                await socket.close()
                group.cancelAll()
            }
        }
    }

    /// Blobs the store references and does not hold; ones found complete on disk are marked.
    private func missingBlobs(
        after cursor: [UInt8]?,
        skipping fetcher: BlobFetcher
    ) async -> (wanted: [MissingBlob], lastSeen: [UInt8]?) {
        guard let missing = try? await store.missingBlobs(after: cursor, limit: 20) else { return ([], nil) }
        var wanted: [MissingBlob] = []
        for blob in missing where !fetcher.isDeferred(blob.sha256) {
            if await store.blobs.contains(blob.sha256) {
                try? await store.markBlobStored(blob.sha256)
            } else {
                wanted.append(blob)
            }
        }
        return (wanted, missing.last?.sha256)
    }

    /// Feeds the blob fetcher an event and carries out its actions (and theirs).
    private func fetch(_ first: BlobFetcher.Event, fetcher: inout BlobFetcher, socket: ZMQSocket) async {
        var events = [first]
        while !events.isEmpty {
            for action in fetcher.handle(events.removeFirst()) {
                switch action {
                case .resume(let sha256):
                    events.append(.resumed(sha256: sha256, at: await store.blobs.partialSize(sha256)))
                case .send(let message):
                    // Briefly: a request that cannot go now is asked again by the stall timer,
                    // and must not hold up the link's own messages.
                    _ = await socket.send(SyncFrames.encode(message), within: .milliseconds(100))
                case .store(let chunk):
                    let sha256 = Array(chunk.sha256)
                    do {
                        let size = try await store.blobs.append(sha256, offset: chunk.offset, data: Array(chunk.data))
                        events.append(.stored(sha256: sha256, size: size))
                    } catch {
                        logger.error("could not store an evidence chunk", metadata: ["error": "\(error)"])
                        events.append(.reset)
                    }
                case .finish(let sha256, let size):
                    do {
                        try await store.blobs.complete(sha256, size: size)
                        try await store.markBlobStored(sha256)
                        logger.info(
                            "evidence blob received",
                            metadata: ["sha256": "\(Hex.encode(sha256))", "bytes": "\(size)"]
                        )
                        events.append(.finished(sha256: sha256, verified: true))
                    } catch {
                        logger.error("evidence blob not stored", metadata: ["error": "\(error)"])
                        events.append(.finished(sha256: sha256, verified: false))
                    }
                case .log(let level, let text):
                    logger.log(level: level.logLevel, "\(text)")
                }
            }
        }
    }

    /// Answers central's request for part of a blob this node holds.
    private func serve(_ ask: Sambat_Sync_V1_BlobRequest, socket: ZMQSocket) async {
        let answer = await BlobService.answer(ask, from: store.blobs, visible: true)
        _ = await socket.send(SyncFrames.encode(.blobChunk(answer)), within: configuration.settings.pingInterval)
    }

    /// Opens a socket to central.
    private func connect(context: ZMQContext, options: ZMQSocket.Options) async throws(ZMQError) -> ZMQSocket {
        try await ZMQSocket.open(.dealer, context: context, connect: configuration.centralEndpoint, options: options)
    }

    /// Decodes what central sends on `socket` into link events, until the socket closes.
    private func read(_ socket: ZMQSocket, into input: AsyncStream<NodeLink.Event>.Continuation) async {
        for await message in socket.messages {
            let size = message.frames.reduce(0) { $0 + $1.count }
            state.withLock { $0.bytesReceived += size }
            do throws(SyncProtocolError) {
                input.yield(.received(try SyncFrames.decode(message.frames)))
            } catch {
                logger.warning("refused a message from central", metadata: ["reason": "\(error.message)"])
            }
        }
    }

    /// Feeds the link a tick with the local head every poll interval, until cancelled.
    private func tick(every pollInterval: Duration, into input: AsyncStream<NodeLink.Event>.Continuation) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            if let head = try? await store.localHead() { input.yield(.tick(localHead: head)) }
        }
    }

    /// Publishes the link's status; while an earlier incarnation is offered, only whether the
    /// link is up (frontier and refusals then concern that incarnation, not this store's).
    private func publish(_ link: NodeLink, draining: Bool) {
        state.withLock { status in
            status.linkUp = link.phase == .ready
            guard !draining else { return }
            status.centralFrontier = link.centralFrontier
            status.unsent = link.unsentCount
            status.centralSilent = link.centralIsSilent
            status.centralRefusal = link.centralRefusal
        }
    }

    /// Carries out one action; returns the event that reports its result, if any.
    private func perform(
        _ action: NodeLink.Action,
        socket: ZMQSocket,
        origin: Origin,
        central: NodeID
    ) async -> NodeLink.Event? {
        switch action {
        case .send(let message):
            do {
                let frames = SyncFrames.encode(message)
                // Not taken within a ping interval (central unreachable): withdrawn, never sent
                // late; the link's timers say HELLO again when it is back.
                guard await socket.send(frames, within: configuration.settings.pingInterval) else {
                    throw ZMQError(code: .cancelled, errno: 0, operation: "send \(message.name)")
                }
                state.withLock { $0.bytesSent += frames.reduce(0) { $0 + $1.count } }
            } catch {
                logger.debug("could not send \(message.name) to central", metadata: ["error": "\(error)"])
            }
            return nil
        case .readLocalOps(let after, let limit, let byteLimit, let generation):
            do {
                let ops = try await store.opBytes(of: origin, after: after, limit: limit)
                    .prefix(withinBytes: byteLimit) { $0.bytes.count }
                return .localOpsRead(ops.map(\.bytes), lastSeq: ops.last?.seq ?? after, generation: generation)
            } catch {
                logger.error("could not read local ops to upload", metadata: ["error": "\(error)"])
                return .localOpsRead([], lastSeq: after, generation: generation)
            }
        case .applyFeed(let batch):
            var ops: [RemoteOp] = []
            do {
                let sealed = try await SealedOp.decodeBatch(
                    batch.ops.map { Array($0) },
                    parallelism: SyncSettings.decodingParallelism
                )
                ops.reserveCapacity(sealed.count)
                for (index, op) in sealed.enumerated() {
                    ops.append(
                        RemoteOp(op, centralReceivedAt: Timestamp(millisecondsSinceEpoch: batch.receivedAtMs[index]))
                    )
                }
            } catch {
                return .feedRefused(
                    batchID: batch.batchID,
                    SyncProtocolError(
                        .invalidBatch,
                        "op \(error.index) of the batch does not decode: \(error.error)"
                    )
                )
            }
            do {
                _ = try await store.applyRemote(
                    ops,
                    from: .feed(from: central),
                    receivedAt: .now,
                    feedPosition: batch.feedPosition
                )
                return .feedApplied(batchID: batch.batchID, feedPosition: batch.feedPosition)
            } catch {
                logger.error("could not apply a feed batch; saying HELLO again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                let checkpoint = (try? await store.checkpoint(for: central)) ?? 0
                return .connect(
                    localHead: (try? await store.localHead()) ?? 0,
                    checkpoint: checkpoint,
                    feedEpoch: (try? await store.checkpointEpoch(for: central)) ?? 0
                )
            }
        case .resetCheckpoint(let position, let epoch):
            do {
                try await store.resetCheckpoint(position, epoch: epoch, for: central)
            } catch {
                logger.error("could not reset the feed checkpoint", metadata: ["error": "\(error)"])
            }
            return nil
        case .reconnect:
            return nil  // handled by the run loop, which owns the connection
        case .linkChanged(let up):
            logger.notice(up ? "link to central is up" : "link to central is down")
            return nil
        case .log(let level, let text):
            logger.log(level: level.logLevel, "\(text)")
            return nil
        }
    }
}

extension SyncLogLevel {
    var logLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}
