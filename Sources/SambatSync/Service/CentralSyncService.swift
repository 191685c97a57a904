public import Logging
public import SambatCore
public import SambatStore
public import SambatWire
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Central's end of the sync protocol: one CURVE ROUTER that every enrolled office and the
/// mayor connect to, with a ZAP handler that admits only enrolled keys.
///
/// Owned by the central node process, which runs it as one of its `Service`s.
/// ``run(onBound:)`` keeps one ``PeerSession`` per
/// connected peer and carries out its actions against the socket and the store. Every message
/// is attributed to the node its CURVE key is enrolled as (the ZAP `User-Id`), and enrolment is
/// checked again for every message, so a revoked node is cut off even while connected.
public final class CentralSyncService: Service, Sendable {
    /// Where to listen and with which key.
    public struct Configuration: Sendable {
        /// The endpoint to bind, such as `tcp://0.0.0.0:7700` (`tcp://127.0.0.1:*` in tests).
        public var bindEndpoint: String
        /// Central's keypair; its public key is pinned in every node's config.
        public var keyPair: CurveKeyPair
        /// Protocol tunables (told to each node in WELCOME).
        public var settings: SyncSettings

        /// A configuration with default tunables.
        public init(bindEndpoint: String, keyPair: CurveKeyPair, settings: SyncSettings = SyncSettings()) {
            self.bindEndpoint = bindEndpoint
            self.keyPair = keyPair
            self.settings = settings
        }
    }

    private enum Event: Sendable {
        case message(ZMQSocket.Message)
        case feedHeads([NodeID: UInt64])
        case peersChanged([EnrolledPeer], readAt: ContinuousClock.Instant)
    }

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    /// Enrolled active keys → node id, read by the ZAP thread, and when the peer table they
    /// came from was read (an older read never replaces a newer one).
    private let admitted = Mutex<(keys: [String: String], readAt: ContinuousClock.Instant?)>(([:], nil))
    /// When the ZAP handler last re-read the peers for a key it did not know.
    private let lastKeyLookup = Mutex<ContinuousClock.Instant?>(nil)
    private let connected = Mutex<Set<NodeID>>([])

    /// A service for central's `store`; nothing happens until ``run(onBound:)``.
    public init(store: Store, configuration: Configuration, logger: Logger = Logger(label: "sambat.sync.central")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Peers that said HELLO and have not been cut off since.
    public var connectedPeers: Set<NodeID> { connected.withLock { $0 } }

    /// Serves peers until graceful shutdown or cancellation; the `Service` entry point.
    public func run() async throws {
        try await run { _ in }
    }

    /// Serves peers until graceful shutdown or cancellation, then closes its sockets (with
    /// a short linger) and terminates its context before returning.
    ///
    /// The ZAP handler, the socket reader and the ticker are child tasks of this call, so
    /// nothing it started outlives it.
    /// - Parameter onBound: called once with the bound endpoint (with the real port).
    /// - Throws: ``ZMQError`` when the socket cannot be bound, ``StoreError`` when the peer
    ///   table cannot be read at start.
    public func run(onBound: @Sendable (String) -> Void) async throws {
        var options = ZMQSocket.Options()
        options.curve = .server(configuration.keyPair)
        options.heartbeatMilliseconds = Int32(clamping: configuration.settings.heartbeatInterval.milliseconds)
        options.maximumMessageBytes = SyncFrames.maximumBodyBytes + 65_536
        refreshKeys(try await store.peers(), readAt: .now)
        try await ZMQContext.withContext { context in
            try await ZAPHandler.serving(context: context, authorize: { [self] key in await self.admit(key) }) {
                try await ZMQSocket.withSocket(
                    .router,
                    context: context,
                    bind: configuration.bindEndpoint,
                    options: options
                ) { socket in
                    onBound(socket.endpoint)
                    logger.notice("central listening", metadata: ["endpoint": "\(socket.endpoint)"])
                    await serve(socket)
                }
            }
        }
    }

    /// Runs the loop over `socket` with its reader and ticker as child tasks, until graceful
    /// shutdown or cancellation finishes the event stream; closes `socket` on the way out.
    private func serve(_ socket: ZMQSocket) async {
        let settings = configuration.settings
        let (events, input) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Ends when the socket closes.
                for await message in socket.messages { input.yield(.message(message)) }
            }
            group.addTask { await self.tick(every: settings.pollInterval, into: input) }
            await untilStopped(finishing: input) {
                var loop = CentralLoop(service: self, socket: socket)
                for await event in events {
                    if Task.isCancelled { break }
                    await loop.handle(event)
                }
            }
            await socket.close()
            group.cancelAll()
        }
    }

    /// Feeds the loop the feed heads of connected peers every poll interval, and the peer
    /// table about once a second (enrolment changes from `sambat node enrol|revoke`), until
    /// cancelled.
    private func tick(every pollInterval: Duration, into input: AsyncStream<Event>.Continuation) async {
        let ticksPerSecond = max(1, Int(1_000 / max(1, pollInterval.milliseconds)))
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            ticks += 1
            // Only the feeds of connected peers matter; one indexed lookup each.
            var heads: [NodeID: UInt64] = [:]
            for node in connectedPeers {
                if let head = try? await store.feedHead(for: node) { heads[node] = head }
            }
            input.yield(.feedHeads(heads))
            let readAt = ContinuousClock.now
            if ticks % ticksPerSecond == 0, let peers = try? await store.peers() {
                input.yield(.peersChanged(peers, readAt: readAt))
            }
        }
    }

    /// The ZAP answer for `key`: the user id of its enrolled node, or `nil` to refuse.
    ///
    /// The keys are re-read every second; a key enrolled a moment ago is looked up in the
    /// store before it is refused, because libzmq never retries a refused handshake (the node
    /// would wait a whole link timeout). At most ten lookups a second, so a stream of unknown
    /// keys cannot keep the store busy.
    private func admit(_ key: String) async -> String? {
        if let node = admitted.withLock({ $0.keys[key] }) { return node }
        let now = ContinuousClock.now
        let mayLook = lastKeyLookup.withLock { last in
            guard last.map({ now - $0 >= .milliseconds(100) }) ?? true else { return false }
            last = now
            return true
        }
        guard mayLook, let peers = try? await store.peers() else { return nil }
        refreshKeys(peers, readAt: now)
        return admitted.withLock { $0.keys[key] }
    }

    fileprivate func refreshKeys(_ peers: [EnrolledPeer], readAt: ContinuousClock.Instant) {
        var keys: [String: String] = [:]
        for peer in peers where peer.status == .active && !peer.publicKey.isEmpty {
            // The User-Id names the node and the key it authenticated with, so a connection
            // made with a key that has since been replaced can be told apart and cut off.
            keys[peer.publicKey] = "\(peer.node.rawValue) \(peer.publicKey)"
        }
        admitted.withLock { admitted in
            guard admitted.readAt.map({ $0 <= readAt }) ?? true else { return }
            admitted = (keys, readAt)
        }
    }

    /// The state of one `run`: sessions by node, owned by the loop's task.
    private struct CentralLoop {
        let service: CentralSyncService
        let socket: ZMQSocket
        var sessions: [NodeID: PeerSession] = [:]
        var origins: [NodeID: Origin] = [:]
        /// The key each session authenticated with.
        var sessionKeys: [NodeID: String] = [:]
        /// When each session's node was last heard from, to tell a second process running
        /// with the same node id from a reconnect.
        var lastHeard: [NodeID: ContinuousClock.Instant] = [:]
        /// Feed batch ids continue across a node's sessions.
        var nextBatchIDs: [NodeID: UInt64] = [:]
        /// Blob bytes served per node in the current second.
        var blobBudget: [NodeID: (second: ContinuousClock.Instant, used: Int)] = [:]
        /// The most blob bytes served to one node per second.
        static let blobBytesPerSecond = 16 << 20

        init(service: CentralSyncService, socket: ZMQSocket) {
            self.service = service
            self.socket = socket
        }

        var store: Store { service.store }
        var logger: Logger { service.logger }

        mutating func handle(_ event: Event) async {
            switch event {
            case .message(let message):
                await receive(message)
            case .feedHeads(let heads):
                for node in Array(sessions.keys) {
                    await run(.feedHead(heads[node] ?? 0), for: node)
                }
            case .peersChanged(let peers, let readAt):
                service.refreshKeys(peers, readAt: readAt)
                var keys: [NodeID: String] = [:]
                for peer in peers where peer.status == .active { keys[peer.node] = peer.publicKey }
                for node in Array(sessions.keys) where keys[node] == nil || keys[node] != sessionKeys[node] {
                    await cutOff(node, reason: "\(node) is no longer enrolled with the key it connected with")
                }
            }
        }

        private mutating func receive(_ message: ZMQSocket.Message) async {
            guard message.frames.count >= 2, let routingID = message.frames.first else { return }
            let identity = message.userID?.split(separator: " ", maxSplits: 1).map(String.init) ?? []
            guard identity.count == 2, let node = try? NodeID(identity[0]) else {
                // Without CURVE and ZAP nothing reaches here; refuse rather than guess.
                logger.warning("dropped a message without an authenticated node")
                return
            }
            let key = identity[1]
            let frames = Array(message.frames.dropFirst())
            // Enrolment is checked again for every message: a revoked node is cut off at once.
            let enrolled: EnrolledPeer?
            do {
                enrolled = try await store.peer(node)
            } catch {
                logger.error("could not check enrolment", metadata: ["node": "\(node)", "error": "\(error)"])
                await send(.error(.unavailable, "central cannot read its store; try again"), to: routingID)
                return
            }
            guard let peer = enrolled, peer.status == .active, peer.role != .central, peer.publicKey == key else {
                logger.warning("refused a message from a node that is not enrolled", metadata: ["node": "\(node)"])
                await send(.error(.notEnrolled, "this node is not enrolled at central"), to: routingID)
                // A connection still using a replaced key must not end the session the node
                // opened with its current key.
                if enrolled?.status != .active || sessionKeys[node] == key { forget(node) }
                return
            }
            let decoded: SyncMessage
            do {
                decoded = try SyncFrames.decode(frames)
            } catch {
                logger.warning(
                    "refused a malformed message",
                    metadata: ["node": "\(node)", "reason": "\(error.message)"]
                )
                await send(.error(error.code, error.message), to: routingID)
                return
            }
            if case .hello(let hello) = decoded {
                if isDuplicate(node, key: key, routingID: routingID), await isStillConnected(node) {
                    logger.error(
                        "refused HELLO: another connection of this node is active; two processes may run with one node id",
                        metadata: ["node": "\(node)"]
                    )
                    await send(
                        .error(
                            .duplicateNode,
                            "another connection of node \(node) is active; run one process per node id"
                        ),
                        to: routingID
                    )
                    return
                }
                sessionKeys[node] = key
                await receiveHello(hello, from: peer, routingID: routingID)
                return
            }
            guard sessions[node] != nil else {
                await send(.error(.helloRequired, "say HELLO first"), to: routingID)
                return
            }
            sessions[node]?.routingID = routingID
            lastHeard[node] = .now
            switch decoded {
            case .blobRequest(let ask):
                // At most `blobBytesPerSecond` per node, so one office cannot take central's
                // loop from the others; a request over the budget is dropped (the office asks
                // again when its transfer stalls).
                guard spendBlobBudget(of: node, bytes: Int(min(ask.length, UInt32(BlobService.maximumChunkBytes))))
                else { break }
                // Only blobs of cases this node may see.
                let visible = (try? await store.blob(Array(ask.sha256), isVisibleTo: node, role: peer.role)) ?? false
                let answer = await BlobService.answer(ask, from: store.blobs, visible: visible)
                // Briefly: a chunk the node does not take now is dropped, not waited on.
                _ = await socket.send([routingID] + SyncFrames.encode(.blobChunk(answer)), within: .milliseconds(50))
            case .blobChunk:
                break  // central does not fetch blobs from nodes yet
            default:
                await run(.received(decoded), for: node)
            }
        }

        private mutating func receiveHello(
            _ hello: Sambat_Sync_V1_Hello,
            from peer: EnrolledPeer,
            routingID: [UInt8]
        ) async {
            guard hello.node == peer.node.rawValue else {
                logger.warning("HELLO names another node than its key", metadata: ["node": "\(peer.node)"])
                await send(
                    .error(.identityMismatch, "HELLO names another node than this key is enrolled as"),
                    to: routingID
                )
                return
            }
            guard let origin = try? Origin(parsing: hello.origin), origin.node == peer.node else {
                await send(.error(.malformed, "HELLO's origin must be this node's, as node#incarnation"), to: routingID)
                return
            }
            do {
                let frontier = try await store.frontier(of: origin)
                // Only the store that wrote an origin's ops can hold them all: one that
                // reports less never wrote them, and would reuse their seqs.
                guard hello.lastSeq >= frontier else {
                    logger.error(
                        "refused HELLO: the store is behind central for its own origin",
                        metadata: [
                            "node": "\(peer.node)", "origin": "\(origin)", "last_seq": "\(hello.lastSeq)",
                            "frontier": "\(frontier)",
                        ]
                    )
                    await send(
                        .error(
                            .storeBehind,
                            "central holds \(origin) up to seq \(frontier) but this store reports \(hello.lastSeq): "
                                + "it did not write them (another store uses this node id, or it was copied back)"
                        ),
                        to: routingID
                    )
                    return
                }
                let head = try await store.feedHead(for: peer.node)
                // The feed's numbering changes exactly when central's incarnation does (a restore).
                let epoch = UInt64(try await store.currentOrigin().incarnation)
                if let previous = sessions[peer.node] { nextBatchIDs[peer.node] = previous.nextBatchID }
                sessions[peer.node] = PeerSession(
                    node: peer.node,
                    role: peer.role,
                    routingID: routingID,
                    settings: service.configuration.settings,
                    firstBatchID: nextBatchIDs[peer.node] ?? 1
                )
                origins[peer.node] = origin
                lastHeard[peer.node] = .now
                service.connected.withLock { _ = $0.insert(peer.node) }
                await run(.hello(hello, frontier: frontier, feedHead: head, feedEpoch: epoch), for: peer.node)
            } catch {
                logger.error("could not answer HELLO", metadata: ["node": "\(peer.node)", "error": "\(error)"])
                await send(.error(.unavailable, "central cannot read its store; try again"), to: routingID)
            }
        }

        /// Whether a HELLO on `routingID` comes from a second process of `node`: its session
        /// lives on another connection, with the same key, heard from within two ping intervals.
        ///
        /// A reconnecting node was silent for at least that long (it reconnects after its link
        /// timeout), and a re-keyed node's old session is being cut off.
        private func isDuplicate(_ node: NodeID, key: String, routingID: [UInt8]) -> Bool {
            guard let existing = sessions[node], existing.routingID != routingID, sessionKeys[node] == key,
                let heard = lastHeard[node]
            else { return false }
            return ContinuousClock.now - heard < service.configuration.settings.pingInterval * 2
        }

        /// Whether the connection of `node`'s current session still takes messages.
        ///
        /// A node killed and restarted says HELLO on a new connection within seconds, while
        /// its old session still looks live. With `ROUTER_MANDATORY` a send to a connection
        /// libzmq has closed fails at once, so a PING tells a restart (old connection gone:
        /// the old session is forgotten) from a second process (old connection alive).
        private mutating func isStillConnected(_ node: NodeID) async -> Bool {
            guard let old = sessions[node]?.routingID else { return false }
            var ping = Sambat_Sync_V1_Ping()
            ping.nonce = 0
            // Only "no such connection" means gone. A connection too busy to take the PING
            // within 200 ms is alive: the HELLO is refused as a second process's.
            let attempt = await socket.attemptSend([old] + SyncFrames.encode(.ping(ping)), within: .milliseconds(200))
            guard case .failed(let error) = attempt, error.errno == EHOSTUNREACH else { return true }
            logger.info("a node reconnected after its old connection closed", metadata: ["node": "\(node)"])
            forget(node)
            return false
        }

        private mutating func spendBlobBudget(of node: NodeID, bytes: Int) -> Bool {
            let now = ContinuousClock.now
            var budget = blobBudget[node] ?? (now, 0)
            if now - budget.second >= .seconds(1) { budget = (now, 0) }
            guard budget.used + bytes <= Self.blobBytesPerSecond else { return false }
            budget.used += bytes
            blobBudget[node] = budget
            return true
        }

        private mutating func cutOff(_ node: NodeID, reason: String) async {
            guard let session = sessions[node] else { return }
            forget(node)
            logger.notice("cut off a peer", metadata: ["node": "\(node)", "reason": "\(reason)"])
            await send(.error(.notEnrolled, reason), to: session.routingID)
        }

        private mutating func forget(_ node: NodeID) {
            if let session = sessions[node] { nextBatchIDs[node] = session.nextBatchID }
            sessions[node] = nil
            origins[node] = nil
            lastHeard[node] = nil
            service.connected.withLock { _ = $0.remove(node) }
        }

        /// Feeds an event to a peer's session and carries out what it asks, until it asks nothing.
        private mutating func run(_ first: PeerSession.Event, for node: NodeID) async {
            var pending = [first]
            while !pending.isEmpty {
                let event = pending.removeFirst()
                guard var session = sessions[node] else { return }
                let actions = session.handle(event, at: .now)
                sessions[node] = session
                for action in actions {
                    if let next = await perform(action, session: session) { pending.append(next) }
                }
            }
        }

        private mutating func perform(_ action: PeerSession.Action, session: PeerSession) async -> PeerSession.Event? {
            switch action {
            case .send(let message):
                if await !send(message, to: session.routingID) {
                    // The peer is gone or too slow to take a message within a second: forget
                    // the session (nothing counts as in flight); its next HELLO resumes the
                    // feed from its checkpoint. One slow peer never holds up the others.
                    logger.notice("dropped a peer that does not take messages", metadata: ["node": "\(session.node)"])
                    forget(session.node)
                }
                return nil
            case .readFeed(let after, let limit, let generation):
                do {
                    return try await CentralStoreWork(store: store).readFeed(
                        for: session.node,
                        after: after,
                        limit: limit,
                        byteLimit: session.settings.maximumBatchBytes,
                        generation: generation
                    )
                } catch {
                    logger.error("could not read a feed", metadata: ["node": "\(session.node)", "error": "\(error)"])
                    return .feedRead(ops: [], receivedAt: [], lastPosition: after, generation: generation)
                }
            case .applyUpload(let batch):
                return await apply(batch, from: session)
            case .saveAcknowledged(let position):
                do {
                    try await store.saveCheckpoint(position, for: session.node)
                } catch {
                    logger.error(
                        "could not save a peer's checkpoint",
                        metadata: ["node": "\(session.node)", "error": "\(error)"]
                    )
                }
                return nil
            case .log(let level, let text):
                logger.log(level: level.logLevel, "\(text)")
                return nil
            }
        }

        private mutating func apply(_ batch: Sambat_Sync_V1_Batch, from session: PeerSession) async -> PeerSession.Event
        {
            let outcome = await CentralStoreWork(store: store).applyUpload(
                batch,
                from: session.node,
                role: session.role,
                origin: origins[session.node],
                receivedAt: .now
            )
            if let failure = outcome.storeFailure {
                logger.error("could not apply an upload", metadata: ["node": "\(session.node)", "error": "\(failure)"])
            }
            if outcome.integrityAlarms > 0 {
                logger.error(
                    "integrity alarm: ops offered again with different bytes",
                    metadata: ["node": "\(session.node)", "count": "\(outcome.integrityAlarms)"]
                )
            }
            if outcome.applied {
                // Let the other feeds that just grew (the mayor's above all) stream at once; the
                // uploader's own echo follows on the next tick.
                for node in Array(sessions.keys) where node != session.node {
                    if let head = try? await store.feedHead(for: node) { await run(.feedHead(head), for: node) }
                }
            }
            return outcome.event
        }

        /// Sends to a routing id; returns whether libzmq took the message within a second.
        @discardableResult
        private func send(_ message: SyncMessage, to routingID: [UInt8]) async -> Bool {
            await socket.send([routingID] + SyncFrames.encode(message), within: .seconds(1))
        }
    }
}
