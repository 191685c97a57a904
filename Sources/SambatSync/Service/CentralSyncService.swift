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
/// ``run(onBound:)`` drives a ``CentralHub``, which holds the protocol's policy, and carries
/// out its actions against the socket and (through ``CentralStoreWork``) the store. Every
/// message is attributed to the node its CURVE key is enrolled as (the ZAP `User-Id`).
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

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    /// Enrolled active keys → node id, read by the ZAP thread, and when the peer table they
    /// came from was read (an older read never replaces a newer one).
    private let admitted = Mutex<(keys: [String: String], readAt: ContinuousClock.Instant?)>(([:], nil))
    /// When the ZAP handler last re-read the peers for a key it did not know.
    private let lastKeyLookup = Mutex<ContinuousClock.Instant?>(nil)
    private let connected = Mutex<Set<NodeID>>([])
    /// When each peer with a session was last heard from, as the hub last knew it.
    private let heard = Mutex<[NodeID: ContinuousClock.Instant]>([:])

    /// A service for central's `store`; nothing happens until ``run(onBound:)``.
    public init(store: Store, configuration: Configuration, logger: Logger = Logger(label: "sambat.sync.central")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Peers that said HELLO and have not been cut off since.
    public var connectedPeers: Set<NodeID> { connected.withLock { $0 } }

    /// The peers with a session, with how long ago each was heard from, and of them the ones
    /// heard within the link timeout: a session whose node went silent stays until a send to
    /// it fails, so "connected" is judged by silence, as in NODE_HEALTH.
    public func peerContacts(at now: ContinuousClock.Instant) -> (silence: [NodeID: Duration], live: Set<NodeID>) {
        CentralHub.contacts(from: heard.withLock { $0 }, at: now, linkTimeout: configuration.settings.linkTimeout)
    }

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
        var options = configuration.settings.linkSocketOptions
        options.curve = .server(configuration.keyPair)
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

    /// Runs the hub over `socket` with its reader and ticker as child tasks, until graceful
    /// shutdown or cancellation finishes the event stream; closes `socket` on the way out.
    private func serve(_ socket: ZMQSocket) async {
        let settings = configuration.settings
        let (events, input) = AsyncStream<CentralHub.Event>.makeStream(bufferingPolicy: .unbounded)
        let work = CentralStoreWork(store: store, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Ends when the socket closes.
                for await message in socket.messages {
                    guard var arrival = self.arrival(message) else { continue }
                    await self.decodeAhead(&arrival, into: work.decodedUploads, settings: settings)
                    input.yield(.arrived(arrival))
                }
            }
            group.addTask { await self.tick(every: settings.pollInterval, into: input) }
            await untilStopped(finishing: input) {
                var hub = CentralHub(settings: settings)
                for await event in events {
                    if Task.isCancelled { break }
                    // The results of one event's actions are handled before the next event.
                    var pending = [event]
                    while !pending.isEmpty {
                        for action in hub.handle(pending.removeFirst(), at: .now) {
                            if let next = await perform(action, on: socket, work: work) { pending.append(next) }
                        }
                    }
                    // Published once a poll interval, not on every message: /metrics reads it.
                    if case .tick = event {
                        let contacts = hub.lastHeardBySession
                        heard.withLock { $0 = contacts }
                    }
                }
            }
            await socket.close()
            group.cancelAll()
        }
    }

    /// Decodes an arrival's frames, and an upload's ops, before the hub sees it: this task is
    /// the decoding stage of the uploads' pipeline, working on the next batches while the
    /// writer commits the one before (the hub's loop used to decode each batch between two
    /// commits: a tenth of central's time in `sambat bench sync --processes`, perf).
    ///
    /// Only a batch within the limits the hub enforces is decoded ahead; the hub still checks
    /// enrolment, session and limits first, and answers a malformed message as before.
    private func decodeAhead(
        _ arrival: inout CentralHub.Arrival,
        into decodedUploads: DecodedBatches,
        settings: SyncSettings
    ) async {
        let decoded = Result { () throws(SyncProtocolError) in try SyncFrames.decode(arrival.frames) }
        arrival.decoded = decoded
        // Not kept twice while the message waits for the hub.
        arrival.frames = []
        guard case .success(.batch(let batch)) = decoded, settings.admits(batch) else { return }
        await decodedUploads.decodeAhead(batch)
    }

    /// The message with the node and key ZAP authenticated its connection as, or `nil` when
    /// it carries none (without CURVE and ZAP nothing reaches here; refuse rather than guess).
    private func arrival(_ message: ZMQSocket.Message) -> CentralHub.Arrival? {
        guard message.frames.count >= 2, let connection = message.frames.first else { return nil }
        let identity = message.userID?.split(separator: " ", maxSplits: 1).map(String.init) ?? []
        guard identity.count == 2, let node = try? NodeID(identity[0]) else {
            logger.warning("dropped a message without an authenticated node")
            return nil
        }
        return CentralHub.Arrival(
            connection: connection,
            node: node,
            key: identity[1],
            frames: Array(message.frames.dropFirst())
        )
    }

    /// Carries out one of the hub's actions; returns the event that reports its result, if any.
    private func perform(
        _ action: CentralHub.Action,
        on socket: ZMQSocket,
        work: CentralStoreWork
    ) async -> CentralHub.Event? {
        switch action {
        case .send(let message, let connection, let session):
            let sent = await socket.send([connection] + SyncFrames.encode(message), within: .seconds(1))
            guard !sent, let session else { return nil }
            return .sendFailed(session, connection: connection)
        case .probe(let pending, let connection):
            var ping = Sambat_Sync_V1_Ping()
            ping.nonce = 0
            // With ROUTER_MANDATORY a send to a connection libzmq has closed fails at once;
            // only that means gone. A connection too busy to take the PING within 200 ms is
            // alive.
            let attempt = await socket.attemptSend(
                [connection] + SyncFrames.encode(.ping(ping)),
                within: .milliseconds(200)
            )
            guard case .failed(let error) = attempt, error.errno == EHOSTUNREACH else {
                return .probed(pending, connectionGone: false)
            }
            return .probed(pending, connectionGone: true)
        case .serveBlob(let ask, let node, let role, let connection):
            let chunk = await work.blobChunk(for: ask, node: node, role: role)
            _ = await socket.send([connection] + SyncFrames.encode(chunk), within: .milliseconds(50))
            return nil
        case .connectedChanged(let peers):
            connected.withLock { $0 = peers }
            return nil
        case .log(let level, let text, let node):
            logger.log(level: level.logLevel, "\(text)", metadata: node.map { ["node": "\($0)"] })
            return nil
        case .lookUpSender, .lookUpHello, .readFeed, .applyUpload, .saveAcknowledged, .resetAcknowledged,
            .readFeedHeads, .recordContact, .readSyncHealth:
            return await work.perform(action, receivedAt: .now)
        }
    }

    /// Ticks the hub every poll interval, and reads the peer table about once a second
    /// (enrolment changes from `sambat node enrol|revoke`), until cancelled.
    private func tick(every pollInterval: Duration, into input: AsyncStream<CentralHub.Event>.Continuation) async {
        let ticksPerSecond = max(1, Int(1_000 / max(1, pollInterval.milliseconds)))
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            ticks += 1
            input.yield(.tick)
            let readAt = ContinuousClock.now
            if ticks % ticksPerSecond == 0, let peers = try? await store.peers() {
                refreshKeys(peers, readAt: readAt)
                input.yield(.peersRead(peers))
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

    private func refreshKeys(_ peers: [EnrolledPeer], readAt: ContinuousClock.Instant) {
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
}
