public import SambatCore
public import SambatStore

/// Central's sync policy for every connected peer, as a value-type state machine.
///
/// Owned by ``CentralSyncService`` (one per running socket) and driven the same way by the
/// deterministic simulation. It holds one ``PeerSession`` per peer and decides, from the
/// events it is fed and the time it is given:
/// - whether a message's sender is still enrolled with the key it connected with (checked for
///   every message, so a revoked node is cut off while connected);
/// - HELLO admission: the origin, the node named, a store that is behind central for its own
///   origin, and a second process running with one node id (told from a restart by a probe);
/// - cut-offs when the peer table changes;
/// - the per-node blob budget;
/// - feed batch ids continuing across a node's sessions;
/// - when each peer was last heard from, and the NODE_HEALTH reports a mayor asked for.
///
/// It touches neither socket nor store: it returns ``Action``s, and the results of the store
/// work and probes come back as ``Event``s. The store work is ``CentralStoreWork/perform(_:)``,
/// shared by the service and the simulation; only sending and probing differ between them.
public struct CentralHub: Sendable {
    /// A ZeroMQ routing id: one connection of a peer.
    public typealias Connection = [UInt8]

    /// A message as it arrived: the connection, and the node and key its CURVE handshake
    /// authenticated (from ZAP, never from the payload).
    public struct Arrival: Sendable {
        public var connection: Connection
        public var node: NodeID
        public var key: String
        /// The message's frames after the routing id.
        public var frames: [[UInt8]]
        /// The frames already decoded by the socket reader (which decodes an upload's ops
        /// ahead of the writer, and then lets `frames` go), or `nil` for the hub to decode
        /// them.
        public var decoded: Result<SyncMessage, SyncProtocolError>?

        /// An arrival on `connection` from `node`, authenticated with `key`.
        public init(
            connection: Connection,
            node: NodeID,
            key: String,
            frames: [[UInt8]],
            decoded: Result<SyncMessage, SyncProtocolError>? = nil
        ) {
            self.connection = connection
            self.node = node
            self.key = key
            self.frames = frames
            self.decoded = decoded
        }
    }

    /// A HELLO that passed the checks needing no store, waiting for what only the store knows.
    public struct PendingHello: Sendable {
        public var hello: Sambat_Sync_V1_Hello
        public var peer: EnrolledPeer
        public var origin: Origin
        public var connection: Connection
        public var key: String
    }

    /// What the store knows that admitting a HELLO needs.
    public struct HelloFacts: Sendable {
        /// Central's frontier for the HELLO's origin.
        public var frontier: UInt64
        /// The head of the peer's feed.
        public var feedHead: UInt64
        /// Central's incarnation: the feed's numbering changes exactly when it does.
        public var feedEpoch: UInt64

        /// The facts as read.
        public init(frontier: UInt64, feedHead: UInt64, feedEpoch: UInt64) {
            self.frontier = frontier
            self.feedHead = feedHead
            self.feedEpoch = feedEpoch
        }
    }

    /// What happened.
    public enum Event: Sendable {
        /// A message arrived.
        case arrived(Arrival)
        /// The sender's enrolment as read for ``Action/lookUpSender(_:)``; `nil` peer when not
        /// enrolled, `storeFailed` when the store could not say.
        case senderLookedUp(Arrival, peer: EnrolledPeer?, storeFailed: Bool)
        /// The answer to ``Action/probe(_:connection:)``: whether the old connection is gone.
        case probed(PendingHello, connectionGone: Bool)
        /// What ``Action/lookUpHello(_:)`` read; `nil` when the store could not say.
        case helloLookedUp(PendingHello, HelloFacts?)
        /// A poll interval passed: the feeds of connected peers may have grown.
        case tick
        /// The feed heads of the named peers (after a tick, or after an upload grew them).
        case feedHeads([NodeID: UInt64])
        /// The peer table, read about once a second (enrolment changes made by the CLI).
        case peersRead([EnrolledPeer])
        /// A session's store work finished.
        case session(NodeID, PeerSession.Event)
        /// An upload was applied: the session's event, and whether anything was written.
        case uploaded(NodeID, PeerSession.Event, applied: Bool)
        /// A message to a session's connection was not taken within a second.
        case sendFailed(NodeID, connection: Connection)
        /// The report ``Action/readSyncHealth(for:connected:)`` built; `nil` when the store
        /// could not be read.
        case syncHealthRead(NodeID, Sambat_Sync_V1_NodeHealth?)
    }

    /// What the service must do.
    public enum Action: Sendable {
        /// Read the enrolment of the arrival's node, then report ``Event/senderLookedUp(_:peer:storeFailed:)``.
        case lookUpSender(Arrival)
        /// Try a PING on `connection` within 200 ms, then report ``Event/probed(_:connectionGone:)``:
        /// gone only when libzmq says the connection no longer exists.
        case probe(PendingHello, connection: Connection)
        /// Read the frontier, feed head and epoch for a HELLO, then report ``Event/helloLookedUp(_:_:)``.
        case lookUpHello(PendingHello)
        /// Send a message within a second. When `session` is set and the send fails, report
        /// ``Event/sendFailed(_:connection:)``.
        case send(SyncMessage, to: Connection, session: NodeID?)
        /// Answer a blob request from `node`'s blobs visible to it, sent briefly (a chunk the
        /// node does not take at once is dropped; it asks again).
        case serveBlob(Sambat_Sync_V1_BlobRequest, node: NodeID, role: NodeRole, to: Connection)
        /// Read a session's feed, then report ``Event/session(_:_:)`` with `feedRead`.
        case readFeed(NodeID, after: UInt64, limit: Int, byteLimit: Int, generation: UInt64)
        /// Apply an upload durably, then report ``Event/uploaded(_:_:applied:)``.
        case applyUpload(Sambat_Sync_V1_Batch, node: NodeID, role: NodeRole, origin: Origin)
        /// Save how far a peer has acknowledged its feed.
        case saveAcknowledged(NodeID, UInt64)
        /// Save how far a peer holds its feed as its HELLO said, also backwards.
        case resetAcknowledged(NodeID, UInt64)
        /// Read the feed heads of these peers, then report ``Event/feedHeads(_:)``.
        case readFeedHeads([NodeID])
        /// The set of peers with a session changed.
        case connectedChanged(Set<NodeID>)
        /// Save that `node` was last heard from `silentFor` ago, with its origin and the
        /// highest seq it said it authored under it.
        case recordContact(NodeID, origin: Origin, claimedSeq: UInt64, silentFor: Duration)
        /// Build a NODE_HEALTH report for `node`: every peer's sync health, with how long ago
        /// each session was heard from, and which sessions count as connected. Then report
        /// ``Event/syncHealthRead(_:_:)``.
        case readSyncHealth(for: NodeID, heard: [NodeID: Duration], connected: Set<NodeID>)
        /// Write a log line (English, no personal data).
        case log(SyncLogLevel, String, node: NodeID?)
    }

    /// The most blob bytes served to one node per second, so one office cannot take
    /// central's loop from the others.
    public static let blobBytesPerSecond = 16 << 20

    public let settings: SyncSettings
    /// Sessions by node: peers that said HELLO and have not been cut off since.
    public private(set) var sessions: [NodeID: PeerSession] = [:]
    private var origins: [NodeID: Origin] = [:]
    /// The key each session authenticated with.
    private var sessionKeys: [NodeID: String] = [:]
    /// When each session's node was last heard from, to tell a second process running with
    /// the same node id from a reconnect.
    private var lastHeard: [NodeID: ContinuousClock.Instant] = [:]
    /// Feed batch ids continue across a node's sessions.
    private var nextBatchIDs: [NodeID: UInt64] = [:]
    /// Blob bytes served per node in the current second.
    private var blobBudget: [NodeID: (second: ContinuousClock.Instant, used: Int)] = [:]
    /// The highest seq each session's node said it authored (HELLO, then acknowledged uploads).
    private var claimedSeqs: [NodeID: UInt64] = [:]
    /// When each session's contact was last saved.
    private var contactSavedAt: [NodeID: ContinuousClock.Instant] = [:]
    /// Mayor sessions that asked for NODE_HEALTH, and when each was last sent one.
    private var healthSentAt: [NodeID: ContinuousClock.Instant] = [:]

    /// How often a session's "last heard from" is saved while it lasts; also when it ends.
    public static let contactSaveInterval: Duration = .seconds(30)

    /// A hub with no sessions.
    public init(settings: SyncSettings) {
        self.settings = settings
    }

    /// Peers with a session.
    public var connectedPeers: Set<NodeID> { Set(sessions.keys) }

    /// When each peer with a session was last heard from.
    public var lastHeardBySession: [NodeID: ContinuousClock.Instant] {
        lastHeard.filter { sessions[$0.key] != nil }
    }

    /// Handles one event and returns what to do, in order.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .arrived(let arrival):
            actions.append(.lookUpSender(arrival))
        case .senderLookedUp(let arrival, let peer, let storeFailed):
            receive(arrival, from: peer, storeFailed: storeFailed, at: now, into: &actions)
        case .probed(let pending, let gone):
            if !gone {
                actions.append(
                    .log(
                        .error,
                        "refused HELLO: another connection of this node is active; two processes may run with one node id",
                        node: pending.peer.node
                    )
                )
                let text = "another connection of node \(pending.peer.node) is active; run one process per node id"
                actions.append(.send(.error(.duplicateNode, text), to: pending.connection, session: nil))
                return actions
            }
            actions.append(.log(.info, "a node reconnected after its old connection closed", node: pending.peer.node))
            forget(pending.peer.node, at: now, into: &actions)
            actions.append(.lookUpHello(pending))
        case .helloLookedUp(let pending, let facts):
            admit(pending, facts: facts, at: now, into: &actions)
        case .tick:
            if !sessions.isEmpty { actions.append(.readFeedHeads(sessions.keys.sorted())) }
            for node in sessions.keys.sorted() {
                if let saved = contactSavedAt[node], now - saved >= Self.contactSaveInterval {
                    recordContact(of: node, at: now, into: &actions)
                }
                // A mayor that asked is told every ping interval (5 s by default).
                if let sent = healthSentAt[node], now - sent >= settings.pingInterval {
                    healthSentAt[node] = now
                    actions.append(readSyncHealth(for: node, at: now))
                }
            }
        case .feedHeads(let heads):
            for (node, head) in heads.sorted(by: { $0.key < $1.key }) {
                run(.feedHead(head), for: node, at: now, into: &actions)
            }
        case .peersRead(let peers):
            var keys: [NodeID: String] = [:]
            for peer in peers where peer.status == .active { keys[peer.node] = peer.publicKey }
            for node in sessions.keys.sorted() where keys[node] == nil || keys[node] != sessionKeys[node] {
                guard let session = sessions[node] else { continue }
                let reason = "\(node) is no longer enrolled with the key it connected with"
                forget(node, at: now, into: &actions)
                actions.append(.log(.notice, "cut off a peer: \(reason)", node: node))
                actions.append(.send(.error(.notEnrolled, reason), to: session.routingID, session: nil))
            }
        case .session(let node, let sessionEvent):
            run(sessionEvent, for: node, at: now, into: &actions)
        case .uploaded(let node, let sessionEvent, let applied):
            run(sessionEvent, for: node, at: now, into: &actions)
            // Let the other feeds that just grew (the mayor's above all) stream at once; the
            // uploader's own echo follows on the next tick.
            let others = sessions.keys.filter { $0 != node }.sorted()
            if applied, !others.isEmpty { actions.append(.readFeedHeads(others)) }
        case .sendFailed(let node, let connection):
            // The peer is gone or too slow to take a message within a second: forget the
            // session (nothing counts as in flight); its next HELLO resumes the feed from its
            // checkpoint. One slow peer never holds up the others.
            guard sessions[node]?.routingID == connection else { break }
            actions.append(.log(.notice, "dropped a peer that does not take messages", node: node))
            forget(node, at: now, into: &actions)
        case .syncHealthRead(let node, let report):
            guard let report else {
                actions.append(.log(.error, "could not read the nodes' sync health", node: node))
                break
            }
            guard let session = sessions[node], healthSentAt[node] != nil else { break }
            actions.append(.send(.nodeHealth(report), to: session.routingID, session: node))
        }
        return actions
    }

    /// A message from a sender whose enrolment has just been read.
    private mutating func receive(
        _ arrival: Arrival,
        from enrolled: EnrolledPeer?,
        storeFailed: Bool,
        at now: ContinuousClock.Instant,
        into actions: inout [Action]
    ) {
        let node = arrival.node
        func answer(_ message: SyncMessage) {
            actions.append(.send(message, to: arrival.connection, session: nil))
        }
        guard !storeFailed else {
            actions.append(.log(.error, "could not check enrolment", node: node))
            answer(.error(.unavailable, "central cannot read its store; try again"))
            return
        }
        guard let peer = enrolled, peer.status == .active, peer.role != .central, peer.publicKey == arrival.key else {
            actions.append(.log(.warning, "refused a message from a node that is not enrolled", node: node))
            answer(.error(.notEnrolled, "this node is not enrolled at central"))
            // A connection still using a replaced key must not end the session the node
            // opened with its current key.
            if enrolled?.status != .active || sessionKeys[node] == arrival.key { forget(node, at: now, into: &actions) }
            return
        }
        let message: SyncMessage
        do {
            if let decoded = arrival.decoded {
                message = try decoded.get()
            } else {
                message = try SyncFrames.decode(arrival.frames)
            }
        } catch {
            actions.append(.log(.warning, "refused a malformed message: \(error.message)", node: node))
            answer(.error(error.code, error.message))
            return
        }
        if case .hello(let hello) = message {
            receiveHello(hello, from: peer, arrival: arrival, at: now, into: &actions)
            return
        }
        guard sessions[node] != nil else {
            answer(.error(.helloRequired, "say HELLO first"))
            return
        }
        sessions[node]?.routingID = arrival.connection
        lastHeard[node] = now
        switch message {
        case .blobRequest(let ask):
            // A request over the budget is dropped: the node asks again when its transfer stalls.
            let bytes = Int(min(ask.length, UInt32(BlobService.maximumChunkBytes)))
            guard spendBlobBudget(of: node, bytes: bytes, at: now) else { break }
            actions.append(.serveBlob(ask, node: node, role: peer.role, to: arrival.connection))
        case .blobChunk:
            break  // central does not fetch blobs from nodes yet
        default:
            run(.received(message), for: node, at: now, into: &actions)
        }
    }

    private mutating func receiveHello(
        _ hello: Sambat_Sync_V1_Hello,
        from peer: EnrolledPeer,
        arrival: Arrival,
        at now: ContinuousClock.Instant,
        into actions: inout [Action]
    ) {
        func answer(_ message: SyncMessage) {
            actions.append(.send(message, to: arrival.connection, session: nil))
        }
        guard hello.node == peer.node.rawValue else {
            actions.append(.log(.warning, "HELLO names another node than its key", node: peer.node))
            answer(.error(.identityMismatch, "HELLO names another node than this key is enrolled as"))
            return
        }
        guard let origin = try? Origin(parsing: hello.origin), origin.node == peer.node else {
            answer(.error(.malformed, "HELLO's origin must be this node's, as node#incarnation"))
            return
        }
        let pending = PendingHello(
            hello: hello,
            peer: peer,
            origin: origin,
            connection: arrival.connection,
            key: arrival.key
        )
        if let old = duplicateCandidate(peer.node, key: arrival.key, connection: arrival.connection, at: now) {
            actions.append(.probe(pending, connection: old))
        } else {
            actions.append(.lookUpHello(pending))
        }
    }

    /// The connection of `node`'s session when a HELLO on `connection` may come from a
    /// second process of it: the session lives on another connection, with the same key,
    /// heard from within two ping intervals.
    ///
    /// A reconnecting node was silent for at least that long (it reconnects after its link
    /// timeout), and a re-keyed node's old session is being cut off. A node killed and
    /// restarted says HELLO within seconds while its old session still looks live, so the
    /// candidate is probed: a restart's old connection is gone, a second process's is not.
    private func duplicateCandidate(
        _ node: NodeID,
        key: String,
        connection: Connection,
        at now: ContinuousClock.Instant
    ) -> Connection? {
        guard let existing = sessions[node], existing.routingID != connection, sessionKeys[node] == key,
            let heard = lastHeard[node], now - heard < settings.pingInterval * 2
        else { return nil }
        return existing.routingID
    }

    private mutating func admit(
        _ pending: PendingHello,
        facts: HelloFacts?,
        at now: ContinuousClock.Instant,
        into actions: inout [Action]
    ) {
        let node = pending.peer.node
        func answer(_ message: SyncMessage) {
            actions.append(.send(message, to: pending.connection, session: nil))
        }
        guard let facts else {
            actions.append(.log(.error, "could not answer HELLO: the store could not be read", node: node))
            answer(.error(.unavailable, "central cannot read its store; try again"))
            return
        }
        // Only the store that wrote an origin's ops can hold them all: one that reports
        // less never wrote them, and would reuse their seqs.
        guard pending.hello.lastSeq >= facts.frontier else {
            actions.append(
                .log(
                    .error,
                    "refused HELLO: the store is behind central for its own origin "
                        + "(origin \(pending.origin), last seq \(pending.hello.lastSeq), frontier \(facts.frontier))",
                    node: node
                )
            )
            answer(
                .error(
                    .storeBehind,
                    "central holds \(pending.origin) up to seq \(facts.frontier) but this store reports "
                        + "\(pending.hello.lastSeq): it did not write them (another store uses this node id, "
                        + "or it was copied back)"
                )
            )
            return
        }
        if let previous = sessions[node] { nextBatchIDs[node] = previous.nextBatchID }
        let wasConnected = sessions[node] != nil
        sessions[node] = PeerSession(
            node: node,
            role: pending.peer.role,
            routingID: pending.connection,
            settings: settings,
            firstBatchID: nextBatchIDs[node] ?? 1
        )
        sessionKeys[node] = pending.key
        origins[node] = pending.origin
        lastHeard[node] = now
        claimedSeqs[node] = pending.hello.lastSeq
        if !wasConnected { actions.append(.connectedChanged(connectedPeers)) }
        recordContact(of: node, at: now, into: &actions)
        // Only the mayor's dashboard shows every node's health; offices are not told of others.
        healthSentAt[node] = nil
        if pending.peer.role == .mayor, pending.hello.nodeHealth {
            healthSentAt[node] = now
            actions.append(readSyncHealth(for: node, at: now))
        }
        run(
            .hello(pending.hello, frontier: facts.frontier, feedHead: facts.feedHead, feedEpoch: facts.feedEpoch),
            for: node,
            at: now,
            into: &actions
        )
    }

    private mutating func spendBlobBudget(of node: NodeID, bytes: Int, at now: ContinuousClock.Instant) -> Bool {
        var budget = blobBudget[node] ?? (now, 0)
        if now - budget.second >= .seconds(1) { budget = (now, 0) }
        guard budget.used + bytes <= Self.blobBytesPerSecond else { return false }
        budget.used += bytes
        blobBudget[node] = budget
        return true
    }

    private mutating func forget(_ node: NodeID, at now: ContinuousClock.Instant, into actions: inout [Action]) {
        guard let session = sessions[node] else { return }
        recordContact(of: node, at: now, pace: false, into: &actions)
        nextBatchIDs[node] = session.nextBatchID
        sessions[node] = nil
        origins[node] = nil
        lastHeard[node] = nil
        claimedSeqs[node] = nil
        contactSavedAt[node] = nil
        healthSentAt[node] = nil
        actions.append(.connectedChanged(connectedPeers))
    }

    /// Asks to save when a session's node was last heard from; `pace` is now, to pace the
    /// next save (`nil` when the session ends).
    private mutating func recordContact(
        of node: NodeID,
        at now: ContinuousClock.Instant,
        pace: Bool = true,
        into actions: inout [Action]
    ) {
        guard let origin = origins[node] else { return }
        contactSavedAt[node] = pace ? now : nil
        let silence = lastHeard[node].map { max(.zero, now - $0) } ?? .zero
        actions.append(.recordContact(node, origin: origin, claimedSeq: claimedSeqs[node] ?? 0, silentFor: silence))
    }

    /// The report request for `node`: how long ago each session was heard from, and as
    /// connected those heard from within the link timeout (a node pings when quiet, so a
    /// longer silence means its connection is dead even if no send to it has failed yet).
    private func readSyncHealth(for node: NodeID, at now: ContinuousClock.Instant) -> Action {
        let contacts = Self.contacts(from: lastHeardBySession, at: now, linkTimeout: settings.linkTimeout)
        return .readSyncHealth(for: node, heard: contacts.silence, connected: contacts.live)
    }

    /// How long ago each session was heard from, and which count as connected.
    ///
    /// Connected means heard within `linkTimeout`: the one rule for NODE_HEALTH and `/metrics`.
    public static func contacts(
        from lastHeard: [NodeID: ContinuousClock.Instant],
        at now: ContinuousClock.Instant,
        linkTimeout: Duration
    ) -> (silence: [NodeID: Duration], live: Set<NodeID>) {
        let silence = lastHeard.mapValues { max(.zero, now - $0) }
        return (silence, Set(silence.filter { $0.value < linkTimeout }.keys))
    }

    /// Feeds an event to a peer's session and turns what it asks into hub actions.
    private mutating func run(
        _ event: PeerSession.Event,
        for node: NodeID,
        at now: ContinuousClock.Instant,
        into actions: inout [Action]
    ) {
        guard var session = sessions[node] else { return }
        let asked = session.handle(event, at: now)
        sessions[node] = session
        for action in asked {
            switch action {
            case .send(let message):
                if case .ack(let ack) = message, ack.frontier > claimedSeqs[node] ?? 0 {
                    claimedSeqs[node] = ack.frontier
                }
                actions.append(.send(message, to: session.routingID, session: node))
            case .readFeed(let after, let limit, let generation):
                actions.append(
                    .readFeed(
                        node,
                        after: after,
                        limit: limit,
                        byteLimit: session.settings.maximumBatchBytes,
                        generation: generation
                    )
                )
            case .applyUpload(let batch):
                // A session always has the origin its HELLO named.
                guard let origin = origins[node] else { continue }
                actions.append(.applyUpload(batch, node: node, role: session.role, origin: origin))
            case .saveAcknowledged(let position):
                actions.append(.saveAcknowledged(node, position))
            case .resetAcknowledged(let position):
                actions.append(.resetAcknowledged(node, position))
            case .log(let level, let text):
                actions.append(.log(level, text, node: node))
            }
        }
    }
}
