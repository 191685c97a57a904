public import SambatCore
public import SambatStore

/// The node side (an office or the mayor) of sync as a whole, as a value-type state machine:
/// the ``NodeLink`` of the origin being offered, the earlier incarnations still to offer, the
/// ``BlobFetcher`` and when to look for missing blobs.
///
/// Owned by ``NodeSyncService`` and driven the same way by the deterministic simulation. It
/// decides, from the events it is fed and the time it is given:
/// - which origin is offered: a store restored from a backup may hold ops of its earlier
///   incarnations that never reached central, so those go first, one per session, then the
///   current origin's;
/// - when an earlier incarnation is done (central holds all of it, or more than this store);
/// - when a feed batch that could not be stored is retried (a second later, by a new HELLO);
/// - at an office, when to look for missing evidence blobs (at most once a second while the
///   link is up and the fetcher idle) and what to do with blob chunks and requests.
///
/// It touches neither socket nor store: the store work is ``NodeStoreWork/perform(_:)``,
/// shared by the service and the simulation; only sending and reconnecting differ.
public struct NodeSync: Sendable {
    /// An origin of this store and its highest seq.
    public struct OwnOrigin: Sendable, Hashable {
        public var origin: Origin
        public var head: UInt64

        /// The origin with its head.
        public init(origin: Origin, head: UInt64) {
            self.origin = origin
            self.head = head
        }
    }

    /// Where the store stands for a (re)start of the link.
    public struct LinkStart: Sendable, Hashable {
        /// This store's highest own seq of its current origin.
        public var localHead: UInt64
        /// How far the store holds central's feed, and in which feed epoch.
        public var checkpoint: UInt64
        public var feedEpoch: UInt64

        /// The position as read.
        public init(localHead: UInt64, checkpoint: UInt64, feedEpoch: UInt64) {
            self.localHead = localHead
            self.checkpoint = checkpoint
            self.feedEpoch = feedEpoch
        }
    }

    /// What happened.
    public enum Event: Sendable {
        /// The service started: the store's current origin, its earlier incarnations, where it
        /// stands.
        case started(current: Origin, earlier: [OwnOrigin], LinkStart)
        /// A poll interval passed; `localHead` is this node's highest authored seq now.
        case tick(localHead: UInt64)
        /// A message from central.
        case received(SyncMessage)
        /// Store work for the link finished.
        case link(NodeLink.Event)
        /// A feed batch could not be stored (the store failed): say HELLO again a second later.
        case feedNotStored
        /// Where the store stands, as read for ``Action/readLinkStart``.
        case linkStartRead(LinkStart)
        /// Blob work finished.
        case blob(BlobFetcher.Event)
        /// Missing blobs found by ``Action/readMissingBlobs(after:)``, and the last one looked at.
        case missingBlobsRead([MissingBlob], lastSeen: [UInt8]?)
    }

    /// What the service must do.
    public enum Action: Sendable, Equatable {
        /// Send a message to central; `briefly` when it must not hold up the link's own
        /// messages (a blob request that cannot go now is asked again).
        case send(SyncMessage, briefly: Bool)
        /// Read own ops of `origin` above `after`, then report `link(.localOpsRead)`.
        case readLocalOps(Origin, after: UInt64, limit: Int, byteLimit: Int, generation: UInt64)
        /// Apply a feed batch durably, then report `link(.feedApplied)`, `link(.feedRefused)`
        /// or ``Event/feedNotStored``.
        case applyFeed(Sambat_Sync_V1_Batch)
        /// Overwrite the stored feed checkpoint: central did not recognise ours.
        case resetCheckpoint(UInt64, epoch: UInt64)
        /// Drop the connection to central and open a new one.
        case reconnect
        /// Read where the store stands, then report ``Event/linkStartRead(_:)``.
        case readLinkStart
        /// Answer central's request for part of a blob this node holds.
        case serveBlob(Sambat_Sync_V1_BlobRequest)
        /// Blob store work for the fetcher (resume, store a chunk, finish), reported as `blob`.
        case blob(BlobFetcher.Action)
        /// Page through missing blobs after `after`, then report ``Event/missingBlobsRead(_:lastSeen:)``.
        case readMissingBlobs(after: [UInt8]?)
        /// The link came up or went down.
        case linkChanged(up: Bool)
        /// Keep central's latest sync-health report (the mayor).
        case saveNodeHealth(NodeHealthReport)
        /// Write a log line (English, no personal data).
        case log(SyncLogLevel, String)
    }

    public let central: NodeID
    public let settings: SyncSettings
    /// Whether this node fetches evidence blobs (offices do; the mayor holds none).
    public let fetchesBlobs: Bool
    /// Whether this node asks for and keeps central's NODE_HEALTH reports (the mayor does).
    public let keepsNodeHealth: Bool
    /// The link of the origin being offered; `nil` before ``Event/started(current:earlier:_:)``.
    public private(set) var link: NodeLink?
    /// The earlier incarnation being offered, if any.
    public private(set) var draining: OwnOrigin?
    private var current: Origin?
    private var earlier: [OwnOrigin] = []
    private var fetcher: BlobFetcher
    private var nextBlobPoll: ContinuousClock.Instant?
    private var blobCursor: [UInt8]?
    /// When to say HELLO again after a feed batch could not be stored.
    private var retryAt: ContinuousClock.Instant?
    private var awaitingStart = false

    /// A machine for a node whose central is `central`.
    public init(central: NodeID, settings: SyncSettings, fetchesBlobs: Bool, keepsNodeHealth: Bool = false) {
        self.central = central
        self.settings = settings
        self.fetchesBlobs = fetchesBlobs
        self.keepsNodeHealth = keepsNodeHealth
        fetcher = BlobFetcher(chunkBytes: settings.blobChunkBytes, window: settings.credit)
    }

    /// Whether an earlier incarnation is being offered (the link's frontier and refusals then
    /// concern that incarnation, not this store's current one).
    public var isDraining: Bool { draining != nil }

    /// Whether nothing waits on a tick sooner than in seconds.
    ///
    /// True when the link is quiet (see ``NodeLink/isQuiet``), no earlier incarnation is being
    /// offered, no restart of the link is due, and no evidence blob is being fetched. The
    /// service then ticks at ``SyncSettings/idlePollInterval`` instead of
    /// ``SyncSettings/pollInterval``.
    public var isQuiet: Bool {
        guard let link, link.isQuiet, draining == nil, retryAt == nil, !awaitingStart else { return false }
        return !fetchesBlobs || fetcher.isIdle
    }

    /// Handles one event and returns what to do, in order.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        let wasReady = link?.phase == .ready
        switch event {
        case .started(let current, let earlier, let start):
            self.current = current
            self.earlier = earlier
            draining = self.earlier.isEmpty ? nil : self.earlier.removeFirst()
            begin(start, into: &actions, at: now)
        case .tick(let localHead):
            // An earlier incarnation writes nothing more: its head is fixed.
            drive(.tick(localHead: draining?.head ?? localHead), into: &actions, at: now)
            if let retry = retryAt, now >= retry, !awaitingStart {
                retryAt = nil
                awaitingStart = true
                actions.append(.readLinkStart)
            }
            // Also while idle: blobs central could not give become due again.
            if fetchesBlobs { fetch(.tick(now), into: &actions) }
        case .received(let message):
            switch message {
            case .blobChunk(let chunk):
                // Evidence blobs travel beside the link.
                if fetchesBlobs { fetch(.chunk(chunk), into: &actions) }
            case .blobRequest(let ask):
                actions.append(.serveBlob(ask))
            case .nodeHealth(let health):
                guard keepsNodeHealth else {
                    actions.append(.log(.debug, "ignored a NODE_HEALTH report this node did not ask for"))
                    break
                }
                keep(health, into: &actions)
            default:
                drive(.received(message), into: &actions, at: now)
            }
        case .link(let linkEvent):
            drive(linkEvent, into: &actions, at: now)
        case .feedNotStored:
            actions.append(.log(.error, "could not apply a feed batch; saying HELLO again in a second"))
            drive(.feedNotStored, into: &actions, at: now)
            retryAt = now + .seconds(1)
        case .linkStartRead(let start):
            awaitingStart = false
            begin(start, into: &actions, at: now)
        case .blob(let blobEvent):
            fetch(blobEvent, into: &actions)
        case .missingBlobsRead(let missing, let lastSeen):
            // Page through every missing blob, then start over.
            blobCursor = lastSeen
            fetch(.wanted(missing.filter { !fetcher.isDeferred($0.sha256) }), into: &actions)
        }
        finishDrainingIfDone(into: &actions)
        if fetchesBlobs, let link {
            if wasReady, link.phase != .ready { fetch(.reset, into: &actions) }
            if link.phase == .ready, fetcher.isIdle, nextBlobPoll.map({ now >= $0 }) ?? true {
                nextBlobPoll = now + .seconds(1)
                actions.append(.readMissingBlobs(after: blobCursor))
            }
        }
        return actions
    }

    /// Starts the link of the origin now offered where the store stands: a new link when the
    /// origin changed, the same one saying HELLO again otherwise (its generations keep
    /// counting, so results asked for before are told from new ones).
    private mutating func begin(_ start: LinkStart, into actions: inout [Action], at now: ContinuousClock.Instant) {
        guard let current else { return }
        let origin = draining?.origin ?? current
        if link?.origin != origin {
            link = NodeLink(origin: origin, central: central, settings: settings, asksNodeHealth: keepsNodeHealth)
        }
        drive(
            .connect(
                localHead: draining?.head ?? start.localHead,
                checkpoint: start.checkpoint,
                feedEpoch: start.feedEpoch
            ),
            into: &actions,
            at: now
        )
    }

    /// Done with an earlier incarnation once central holds all of it, or when central already
    /// holds more of it than this store (STORE_BEHIND: nothing to offer): the next origin's
    /// link starts once the store's position is read.
    private mutating func finishDrainingIfDone(into actions: inout [Action]) {
        guard let done = draining, let link, !awaitingStart,
            (link.phase == .ready && link.centralFrontier >= done.head) || link.centralRefusal == .storeBehind
        else { return }
        actions.append(
            .log(.info, "offered an earlier incarnation's ops (\(done.origin), up to \(done.head)) to central")
        )
        draining = earlier.isEmpty ? nil : earlier.removeFirst()
        awaitingStart = true
        actions.append(.readLinkStart)
    }

    /// Feeds the link an event and turns what it asks into actions.
    private mutating func drive(_ event: NodeLink.Event, into actions: inout [Action], at now: ContinuousClock.Instant)
    {
        guard var link else { return }
        let asked = link.handle(event, at: now)
        self.link = link
        for action in asked {
            switch action {
            case .send(let message):
                actions.append(.send(message, briefly: false))
            case .readLocalOps(let after, let limit, let byteLimit, let generation):
                actions.append(
                    .readLocalOps(link.origin, after: after, limit: limit, byteLimit: byteLimit, generation: generation)
                )
            case .applyFeed(let batch):
                actions.append(.applyFeed(batch))
            case .reconnect:
                actions.append(.reconnect)
            case .resetCheckpoint(let position, let epoch):
                actions.append(.resetCheckpoint(position, epoch: epoch))
            case .linkChanged(let up):
                actions.append(.linkChanged(up: up))
            case .log(let level, let text):
                actions.append(.log(level, text))
            }
        }
    }

    /// Keeps a health report: entries naming no valid node or role are dropped (and counted in
    /// the log), the rest kept whole; a report of nothing valid is not kept.
    private func keep(_ health: Sambat_Sync_V1_NodeHealth, into actions: inout [Action]) {
        var nodes: [NodeSyncHealth] = []
        for entry in health.nodes.prefix(Self.maximumHealthEntries) {
            guard let node = try? NodeID(entry.node), let role = NodeRole(rawValue: entry.role), role != .central
            else { continue }
            nodes.append(
                NodeSyncHealth(
                    node: node,
                    role: role,
                    connected: entry.connected,
                    lastSeenAt: entry.lastSeenMs > 0 ? Timestamp(millisecondsSinceEpoch: entry.lastSeenMs) : nil,
                    feedBehind: entry.feedBehind,
                    uploadBehind: entry.uploadBehind
                )
            )
        }
        let dropped = health.nodes.count - nodes.count
        if dropped > 0 {
            actions.append(.log(.warning, "dropped \(dropped) entries of a NODE_HEALTH report that name no valid node"))
        }
        guard !nodes.isEmpty, health.reportedAtMs > 0 else { return }
        let report = NodeHealthReport(
            reportedAt: Timestamp(millisecondsSinceEpoch: health.reportedAtMs),
            nodes: nodes.sorted { $0.node < $1.node }
        )
        actions.append(.saveNodeHealth(report))
    }

    /// The most nodes one health report may list: a province-wide central has a few hundred.
    public static let maximumHealthEntries = 10_000

    /// Feeds the blob fetcher an event; its sends go out briefly, its store work is asked for.
    private mutating func fetch(_ event: BlobFetcher.Event, into actions: inout [Action]) {
        for action in fetcher.handle(event) {
            switch action {
            case .send(let message):
                actions.append(.send(message, briefly: true))
            case .log(let level, let text):
                actions.append(.log(level, text))
            case .resume, .store, .finish:
                actions.append(.blob(action))
            }
        }
    }
}
