public import Logging
import SambatCore
public import SambatStore
public import SambatWire
public import ServiceLifecycle
import Synchronization

/// Keeps an office's or the mayor's store in sync with central over one CURVE DEALER socket.
///
/// Owned by the node process (one per node), which runs it as one of its `Service`s. ``run()``
/// drives a ``NodeSync``, which holds the protocol's policy: it feeds it inbound messages and
/// ticks, and carries out its actions against the socket and (through ``NodeStoreWork``) the
/// store. Runs until graceful shutdown or cancellation, then closes
/// the socket (with a short linger). A reconnect replaces the socket: the old one is closed
/// (which ends its reader) as the new one takes its place, so one is open at a time.
public final class NodeSyncService: Service, Sendable {
    /// Where central is and the keys to reach it.
    public struct Configuration: Sendable {
        /// Central's endpoint, such as `tcp://10.0.0.1:7700`.
        public var centralEndpoint: String
        /// Central's CURVE public key (Z85), pinned.
        public var centralPublicKey: String
        /// Central's next public key during a rotation of central's key, if any: when central
        /// does not answer on a connection made with one key, the next connection uses the
        /// other, so the node follows central's switch without a change to its own config.
        public var nextCentralPublicKey: String?
        /// This node's keypair; its public key must be enrolled at central.
        public var keyPair: CurveKeyPair
        /// Protocol tunables.
        public var settings: SyncSettings

        /// A configuration with default tunables.
        public init(
            centralEndpoint: String,
            centralPublicKey: String,
            nextCentralPublicKey: String? = nil,
            keyPair: CurveKeyPair,
            settings: SyncSettings = SyncSettings()
        ) {
            self.centralEndpoint = centralEndpoint
            self.centralPublicKey = centralPublicKey
            self.nextCentralPublicKey = nextCentralPublicKey
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
        /// CURVE handshakes with central completed, and failed (refused by central, or broken
        /// off), since start, as libzmq's socket monitor saw them.
        public var handshakes = 0
        public var handshakesFailed = 0
        /// Whether the link has nothing to do, so it ticks at the idle interval.
        public var quiet = false
    }

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(Status())

    /// What the run loop reads: an event for the machine and, for a connection event, the
    /// number of the socket it came from (counted up on every reconnect), so the events of
    /// a socket already replaced are dropped, even those queued before the replacement.
    private typealias Input = (event: NodeSync.Event, socket: Int?)

    /// The feed's store writes, in the order the machine asked for them, for the task that
    /// carries them out beside the run loop (``applyInOrder(_:work:reportingTo:)``).
    private enum FeedWrite: Sendable {
        case apply(Sambat_Sync_V1_Batch)
        case resetCheckpoint(UInt64, epoch: UInt64)
        /// The run loop has taken in an apply that failed: the batches asked for before it
        /// are let go (the machine has forgotten them), those asked for after it are applied.
        case resume
    }

    /// The feed's writes on their way from the run loop to ``applyInOrder(_:work:reportingTo:)``,
    /// which takes all that wait at once, so batches that queued up can share a commit.
    private final class FeedWrites: Sendable {
        private let pending = Mutex<[FeedWrite]>([])
        private let wake: AsyncStream<Void>.Continuation
        /// One element whenever writes wait (several pushes may make one).
        let wakes: AsyncStream<Void>

        init() {
            (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        func push(_ write: FeedWrite) {
            pending.withLock { $0.append(write) }
            wake.yield()
        }

        func takeAll() -> [FeedWrite] {
            pending.withLock { pending in
                defer { pending = [] }
                return pending
            }
        }
    }

    /// Most feed batches applied in one transaction (see ``NodeStoreWork/applyFeed(_:receivedAt:)``).
    ///
    /// Two, not the whole credit: while the writer commits two, central still holds credit
    /// to send the next ones, so the decoding stage keeps working ahead of the writer.
    static let feedBatchesPerCommit = 2

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
        let work = NodeStoreWork(store: store, logger: logger)
        let started = try await work.start()
        var options = settings.linkSocketOptions
        options.curve = .client(configuration.keyPair, serverPublicKey: configuration.centralPublicKey)
        // Messages wait for a completed connection instead of queueing for an absent central.
        options.immediate = true
        options.reconnectMilliseconds = (
            Int32(clamping: settings.reconnectInitial.milliseconds),
            Int32(clamping: settings.reconnectMaximum.milliseconds)
        )
        // A broken or refused connection is acted on at once, not after the link timeout.
        options.monitorsConnections = true
        try await ZMQContext.withContext { context in
            let (events, input) = AsyncStream<Input>.makeStream(bufferingPolicy: .unbounded)
            let feed = FeedWrites()
            var socket = try await connect(context: context, options: options)
            await withDiscardingTaskGroup { group in
                group.addTask { await self.applyInOrder(feed, work: work, reportingTo: input) }
                group.addTask { [socket] in await self.read(socket, into: input, decodingInto: work.decodedFeed) }
                group.addTask { [socket] in await self.watch(socket, number: 0, into: input) }
                group.addTask {
                    await self.tick(every: settings.pollInterval, quiet: settings.idlePollInterval, into: input)
                }
                group.addTask { await self.tickOnLocalWrites(into: input) }
                group.addTask {
                    await self.tickOnFileChanges(
                        every: settings.pollInterval,
                        quiet: settings.idlePollInterval,
                        into: input
                    )
                }
                input.yield((started, nil))
                await untilStopped(finishing: input) {
                    var machine = NodeSync(
                        central: store.identity.central,
                        settings: settings,
                        fetchesBlobs: store.identity.role == .office,
                        keepsNodeHealth: store.identity.role == .mayor
                    )
                    var linkOptions = options
                    var centralKey = configuration.centralPublicKey
                    // Whether central answered on the socket open now (with `centralKey`):
                    // anything it says, a refusal too, proves the key right.
                    var answeredOnSocket = false
                    var socketNumber = 0
                    for await (event, source) in events {
                        if Task.isCancelled { break }
                        if let source, source != socketNumber { continue }
                        // Anything central says, a refusal too, proves the key right; so does a
                        // completed CURVE handshake, or a refusal by central's ZAP handler
                        // (which only runs once the handshake proved central's key).
                        switch event {
                        case .received, .link(.transport(.connected)),
                            .link(.transport(.handshakeFailed(keyRefused: true))):
                            answeredOnSocket = true
                        default:
                            break
                        }
                        switch event {
                        case .feedNotStored, .link(.feedRefused):
                            feed.push(.resume)
                        default:
                            break
                        }
                        // The results of one event's actions are handled before the next event,
                        // except the feed's writes, which the machine hears of when they are done.
                        var pending = [event]
                        while !pending.isEmpty {
                            for action in machine.handle(pending.removeFirst(), at: .now) {
                                guard case .reconnect = action else {
                                    if let next = await perform(action, on: socket, work: work, feed: feed) {
                                        pending.append(next)
                                    }
                                    continue
                                }
                                // A fresh connection: libzmq may stop retrying a refused
                                // handshake. Closing the old socket ends its reader. Central
                                // silent on this key while its key is being rotated: the
                                // other key is tried.
                                var nextOptions = linkOptions
                                var nextKey = centralKey
                                if !answeredOnSocket, let other = otherCentralKey(than: centralKey) {
                                    nextKey = other
                                    nextOptions.curve = .client(configuration.keyPair, serverPublicKey: other)
                                    logger.notice(
                                        "central does not answer on this key; trying its other configured key",
                                        metadata: ["central.key": "\(other.prefix(8))…"]
                                    )
                                }
                                do {
                                    let fresh = try await connect(context: context, options: nextOptions)
                                    await socket.close()
                                    socket = fresh
                                    // The key changes only with the connection made with it.
                                    centralKey = nextKey
                                    linkOptions = nextOptions
                                    answeredOnSocket = false
                                    socketNumber += 1
                                    group.addTask {
                                        await self.read(fresh, into: input, decodingInto: work.decodedFeed)
                                    }
                                    group.addTask { [socketNumber] in
                                        await self.watch(fresh, number: socketNumber, into: input)
                                    }
                                } catch {
                                    logger.error(
                                        "could not reopen the socket to central",
                                        metadata: ["error": "\(error)"]
                                    )
                                }
                            }
                        }
                        publish(machine)
                        if case .received(.welcome) = event, centralKey != configuration.centralPublicKey {
                            logger.notice(
                                "central answers on central.next_public_key: make it central.public_key in this node's config"
                            )
                        }
                    }
                }
                await socket.close()
                group.cancelAll()
            }
        }
    }

    /// Carries out one of the machine's actions; returns the event that reports its result,
    /// if any.
    private func perform(
        _ action: NodeSync.Action,
        on socket: ZMQSocket,
        work: NodeStoreWork,
        feed: FeedWrites
    ) async -> NodeSync.Event? {
        switch action {
        case .send(let message, let briefly):
            let frames = SyncFrames.encode(message)
            // Not taken in time (no connection to central): withdrawn, never sent late. A
            // HELLO waits least, because the next completed handshake says it again; anything
            // else at most a second, so the loop soon hears what the connection did; the
            // fetcher asks again when it stalls.
            let isHello = if case .hello = message { true } else { false }
            let limit =
                briefly || isHello
                ? Duration.milliseconds(100) : min(configuration.settings.pingInterval, .seconds(1))
            if await socket.send(frames, within: limit) {
                state.withLock { $0.bytesSent += frames.reduce(0) { $0 + $1.count } }
            } else {
                logger.debug("could not send \(message.name) to central")
                // Withdrawn for want of a connection: the next handshake says HELLO again.
                if case .hello = message { return .link(.transport(.helloNotSent)) }
            }
            return nil
        case .serveBlob(let ask):
            let chunk = await work.blobChunk(for: ask)
            _ = await socket.send(SyncFrames.encode(chunk), within: configuration.settings.pingInterval)
            return nil
        case .linkChanged(let up):
            logger.notice(up ? "link to central is up" : "link to central is down")
            return nil
        case .log(let level, let text):
            logger.log(level: level.logLevel, "\(text)")
            return nil
        case .reconnect:
            return nil  // handled by the run loop, which owns the connection
        case .applyFeed(let batch):
            feed.push(.apply(batch))
            return nil
        case .resetCheckpoint(let position, let epoch):
            feed.push(.resetCheckpoint(position, epoch: epoch))
            return nil
        case .readLocalOps, .readLinkStart, .blob, .readMissingBlobs, .saveNodeHealth:
            return await work.perform(action, receivedAt: .now)
        }
    }

    /// Carries out the feed's writes in order, and reports each apply's result to the run
    /// loop, until cancelled.
    ///
    /// Beside the run loop rather than in it: a feed batch holds the writer for up to a tenth
    /// of a second (5,000 ops), and an office's uploads, central's ACKs and the blob fetcher
    /// need only reads. In `sambat bench sync --processes` the office's uploads stood still
    /// for 0.3-0.4 s at a time while the loop waited for central's echo of them to apply.
    /// Batches that waited together (a back-fill, a catch-up) are applied up to
    /// ``feedBatchesPerCommit`` to a transaction: each commit is synced to disk, and its cost
    /// is by the pages it writes, not by its ops.
    /// After a failed apply, the batches behind it are let go until the loop has taken the
    /// failure in (``FeedWrite/resume``): the machine no longer counts them as received.
    private func applyInOrder(
        _ feed: FeedWrites,
        work: NodeStoreWork,
        reportingTo input: AsyncStream<Input>.Continuation
    ) async {
        var failed = false
        for await _ in feed.wakes {
            var writes = feed.takeAll()[...]
            while let write = writes.popFirst() {
                switch write {
                case .resume:
                    failed = false
                case .resetCheckpoint(let position, let epoch):
                    _ = await work.perform(.resetCheckpoint(position, epoch: epoch), receivedAt: .now)
                case .apply(let batch):
                    var batches = [batch]
                    while batches.count < Self.feedBatchesPerCommit, case .apply(let next)? = writes.first {
                        batches.append(next)
                        writes.removeFirst()
                    }
                    // The batches' encoded ops are freed on a background queue, not before the next apply.
                    defer { BackgroundRelease.release { batches } }
                    guard !failed else { continue }
                    for result in await work.applyFeed(batches, receivedAt: .now) {
                        switch result {
                        case .feedNotStored, .link(.feedRefused):
                            failed = true
                        default:
                            break
                        }
                        input.yield((result, nil))
                    }
                }
            }
        }
    }

    /// The configured central key other than `key`, during a rotation of central's key.
    private func otherCentralKey(than key: String) -> String? {
        guard let next = configuration.nextCentralPublicKey else { return nil }
        return key == next ? configuration.centralPublicKey : next
    }

    /// Opens a socket to central.
    private func connect(context: ZMQContext, options: ZMQSocket.Options) async throws(ZMQError) -> ZMQSocket {
        try await ZMQSocket.open(.dealer, context: context, connect: configuration.centralEndpoint, options: options)
    }

    /// Decodes what central sends on `socket` into events, until the socket closes.
    ///
    /// The ops of a feed batch are decoded here, before its event is handed on: this task is
    /// the decoding stage of the feed's pipeline, working on the next batches while the
    /// writer commits the one before.
    private func read(
        _ socket: ZMQSocket,
        into input: AsyncStream<Input>.Continuation,
        decodingInto decodedFeed: DecodedBatches
    ) async {
        for await message in socket.messages {
            let size = message.frames.reduce(0) { $0 + $1.count }
            state.withLock { $0.bytesReceived += size }
            do throws(SyncProtocolError) {
                let decoded = try SyncFrames.decode(message.frames)
                if case .batch(let batch) = decoded { await decodedFeed.decodeAhead(batch) }
                input.yield((.received(decoded), nil))
            } catch {
                logger.warning("refused a message from central", metadata: ["reason": "\(error.message)"])
                // Central answered in another protocol version: it is there and speaks another
                // language, a refusal to report (not a silence to wait out or a key to swap).
                if error.code == .unsupportedVersion {
                    input.yield((.received(.error(.unsupportedVersion, "central: \(error.message)")), nil))
                }
            }
        }
    }

    /// Turns the socket's connection events into link events, until the socket closes.
    ///
    /// Each carries the socket's number: the loop drops them once the socket is replaced.
    private func watch(_ socket: ZMQSocket, number: Int, into input: AsyncStream<Input>.Continuation) async {
        for await event in socket.connectionEvents {
            switch event {
            case .handshakeSucceeded:
                state.withLock { $0.handshakes += 1 }
                input.yield((.link(.transport(.connected)), number))
            case .disconnected:
                input.yield((.link(.transport(.disconnected)), number))
            case .handshakeFailed(let refusedKey):
                state.withLock { $0.handshakesFailed += 1 }
                input.yield((.link(.transport(.handshakeFailed(keyRefused: refusedKey))), number))
            }
        }
    }

    /// Ticks the machine with the local head every poll interval (every `quietInterval` while
    /// the link is quiet), until cancelled.
    private func tick(
        every pollInterval: Duration,
        quiet quietInterval: Duration,
        into input: AsyncStream<Input>.Continuation
    ) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: state.withLock { $0.quiet } ? quietInterval : pollInterval)
            if let head = try? await store.localHead() { input.yield((.tick(localHead: head), nil)) }
        }
    }

    /// Ticks a quiet link as soon as the store's files change, until cancelled: a commit of
    /// another process, such as the office CLI, is found at once (design.md: within 50 ms)
    /// without reading the store; see ``Store/fileChanges(every:onFallback:)``.
    ///
    /// A commit of another process is in the files before it can be read: SQLite writes the
    /// commit to the write-ahead log, syncs the log (`synchronous=FULL`, a few milliseconds),
    /// and only then publishes the commit in the shared-memory index, which no file event
    /// reports. So when the head read at an event has not moved, a second task reads it
    /// again every poll interval until it does, for as long as the quiet ticker would have
    /// taken, while events go on being answered at once. Without that,
    /// `sambat bench sync --processes` saw 2 of 200 live changes wait out the quiet ticker
    /// (p99 245 ms, against 10 ms before commits were synced).
    private func tickOnFileChanges(
        every pollInterval: Duration,
        quiet quietInterval: Duration,
        into input: AsyncStream<Input>.Continuation
    ) async {
        let logger = logger
        let changes = store.fileChanges(every: pollInterval) { reason in
            logger.warning(
                "cannot watch the store's files; comparing them every poll interval instead, which costs CPU",
                metadata: ["reason": "\(reason)"]
            )
        }
        let (unmoved, lookAgain) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await seen in unmoved {
                    var waited = Duration.zero
                    while waited < quietInterval, !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        waited += pollInterval
                        guard let head = try? await self.store.localHead() else { break }
                        if head != seen {
                            input.yield((.tick(localHead: head), nil))
                            break
                        }
                    }
                }
            }
            var lastHead = try? await store.localHead()
            for await _ in changes where state.withLock({ $0.quiet }) {
                guard let head = try? await store.localHead() else { continue }
                input.yield((.tick(localHead: head), nil))
                if head == lastHead { lookAgain.yield(head) }
                lastHead = head
            }
            lookAgain.finish()
        }
    }

    /// Ticks the machine as soon as this process commits a local op, until cancelled: a
    /// quiet link would otherwise find it only at its next idle tick.
    private func tickOnLocalWrites(into input: AsyncStream<Input>.Continuation) async {
        for await _ in store.localWrites() {
            if let head = try? await store.localHead() { input.yield((.tick(localHead: head), nil)) }
        }
    }

    /// Publishes the link's status; while an earlier incarnation is offered, only whether the
    /// link is up (frontier and refusals then concern that incarnation, not this store's).
    private func publish(_ machine: NodeSync) {
        let quiet = machine.isQuiet
        state.withLock { $0.quiet = quiet }
        guard let link = machine.link else { return }
        state.withLock { status in
            status.linkUp = link.phase == .ready
            guard !machine.isDraining else { return }
            status.centralFrontier = link.centralFrontier
            status.unsent = link.unsentCount
            status.centralSilent = link.centralIsSilent
            status.centralRefusal = link.centralRefusal
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
    public var milliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}
