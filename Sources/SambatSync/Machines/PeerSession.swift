import Foundation
public import SambatCore

/// Central's side of the sync protocol for one peer (an office or the mayor), as a value-type
/// state machine.
///
/// Owned by ``CentralSyncService``, one per connected peer. The service authenticates (the
/// peer's node id comes from the ZAP `User-Id`, never from a payload) and does the store work;
/// this decides what to send: WELCOME after HELLO, the peer's feed in bounded batches under
/// credit, ACKs for applied uploads, PONGs.
public struct PeerSession: Sendable {
    /// What happened.
    public enum Event: Sendable {
        /// A valid HELLO, with what the service looked up: central's frontier for the peer's
        /// origin and the head of the peer's feed.
        case hello(Sambat_Sync_V1_Hello, frontier: UInt64, feedHead: UInt64, feedEpoch: UInt64 = 0)
        /// A message other than HELLO.
        case received(SyncMessage)
        /// The head of the peer's feed moved (new ops for it).
        case feedHead(UInt64)
        /// Feed entries asked for by ``Action/readFeed(after:limit:generation:)``.
        case feedRead(ops: [[UInt8]], receivedAt: [Int64], lastPosition: UInt64, generation: UInt64)
        /// An upload was applied and committed: ACK it.
        case uploadApplied(batchID: UInt64, frontier: UInt64, refused: [Sambat_Sync_V1_Refusal])
        /// An upload was refused as a whole.
        case uploadRefused(batchID: UInt64, SyncProtocolError)
    }

    /// What the service must do.
    public enum Action: Sendable, Equatable {
        /// Send a message to this peer.
        case send(SyncMessage)
        /// Read the peer's feed after `after`, then report ``Event/feedRead(ops:receivedAt:lastPosition:generation:)``.
        case readFeed(after: UInt64, limit: Int, generation: UInt64)
        /// Apply an uploaded batch from this peer durably, then report the outcome.
        case applyUpload(Sambat_Sync_V1_Batch)
        /// Save how far the peer has acknowledged its feed.
        case saveAcknowledged(UInt64)
        /// Save how far the peer holds its feed as its HELLO says, also backwards: a node
        /// restored from a backup holds less than it acknowledged before.
        case resetAcknowledged(UInt64)
        /// Write a log line (English, no personal data).
        case log(SyncLogLevel, String)
    }

    /// The peer.
    public let node: NodeID
    public let role: NodeRole
    public let settings: SyncSettings
    /// The ZeroMQ routing id of the peer's current connection.
    public var routingID: [UInt8]

    /// Whether HELLO was answered on this connection.
    public private(set) var isReady = false
    /// The feed position the peer has acknowledged.
    public private(set) var acknowledged: UInt64 = 0

    private var sentUpTo: UInt64 = 0
    private var feedHead: UInt64 = 0
    private var inflight: [(batchID: UInt64, position: UInt64, sentAt: ContinuousClock.Instant)] = []
    private var reading = false
    private var generation: UInt64 = 0
    /// Whether the peer's HELLO said it accepts packed ops, and this central packs.
    private var packsFeed = false
    /// The id the next feed batch gets; carried over from the previous session of the same
    /// node, so an ACK for an older session's batch can never settle a newer one.
    public private(set) var nextBatchID: UInt64

    /// A session for `node`, before its HELLO.
    public init(
        node: NodeID,
        role: NodeRole,
        routingID: [UInt8],
        settings: SyncSettings = SyncSettings(),
        firstBatchID: UInt64 = 1
    ) {
        self.node = node
        self.role = role
        self.routingID = routingID
        self.settings = settings
        self.nextBatchID = max(1, firstBatchID)
    }

    /// Handles one event and returns what to do, in order.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .hello(let hello, let frontier, let head, let epoch):
            isReady = true
            generation += 1
            reading = false
            inflight.removeAll()
            feedHead = head
            // A checkpoint of another feed epoch (central was restored from a backup since) or
            // beyond the feed is one central does not recognise: replay the whole feed, which
            // is idempotent to apply.
            let recognised =
                hello.feedCheckpoint <= head && (hello.feedCheckpoint == 0 || hello.feedEpoch == epoch)
            let from = recognised ? hello.feedCheckpoint : 0
            sentUpTo = from
            acknowledged = from
            var welcome = Sambat_Sync_V1_Welcome()
            welcome.frontier = frontier
            welcome.feedFrom = from
            welcome.feedHead = head
            welcome.credit = UInt32(clamping: settings.credit)
            welcome.maxBatchOps = UInt32(clamping: settings.maximumBatchOps)
            welcome.maxBatchBytes = UInt32(clamping: settings.maximumBatchBytes)
            welcome.session = hello.session
            welcome.feedEpoch = epoch
            welcome.packedOps = settings.packsOps
            packsFeed = settings.packsOps && hello.packedOps
            actions.append(.send(.welcome(welcome)))
            actions.append(
                .log(
                    .info,
                    "\(node) (\(role)) said HELLO: origin \(hello.origin), frontier \(frontier), feed \(from)/\(head)"
                )
            )
            // The peer's HELLO says how far it holds the feed: record it, since an ACK that
            // said so may have been lost (and nothing may be left to send that would be ACKed),
            // and a restored node holds less than it acknowledged (what it waits for is shown
            // on the mayor's dashboard).
            actions.append(.resetAcknowledged(from))
            readMoreIfPossible(into: &actions)
        case .received(let message):
            receive(message, into: &actions)
        case .feedHead(let head):
            feedHead = max(feedHead, head)
            if let oldest = inflight.first, now - oldest.sentAt >= settings.linkTimeout {
                // The peer answers pings but not this batch: it or its ACK was lost. Stream
                // again from what it acknowledged; applying twice is harmless.
                actions.append(
                    .log(
                        .warning,
                        "\(node) left feed batch \(oldest.batchID) unacknowledged; resending from \(acknowledged)"
                    )
                )
                inflight.removeAll()
                sentUpTo = acknowledged
                reading = false
                generation += 1
            }
            readMoreIfPossible(into: &actions)
        case .feedRead(let ops, let times, let last, let readGeneration):
            guard readGeneration == generation else { break }
            reading = false
            guard isReady, !ops.isEmpty, last > sentUpTo else { break }
            var batch = Sambat_Sync_V1_Batch()
            batch.batchID = nextBatchID
            nextBatchID += 1
            let plain = ops.map { Data($0) }
            if packsFeed, let packed = PackedOps.pack(plain) {
                batch.packedOps = packed
            } else {
                batch.ops = plain
            }
            batch.receivedAtMs = times
            batch.feedPosition = last
            inflight.append((batch.batchID, last, now))
            sentUpTo = last
            actions.append(.send(.batch(batch)))
            readMoreIfPossible(into: &actions)
        case .uploadApplied(let batchID, let frontier, let refused):
            var ack = Sambat_Sync_V1_Ack()
            ack.batchID = batchID
            ack.frontier = frontier
            ack.refused = refused
            actions.append(.send(.ack(ack)))
        case .uploadRefused(let batchID, let error):
            actions.append(.log(.warning, "refused a batch from \(node): \(error.message)"))
            actions.append(.send(.error(error.code, error.message, batchID: batchID)))
        }
        return actions
    }

    private mutating func receive(_ message: SyncMessage, into actions: inout [Action]) {
        guard isReady else {
            actions.append(.send(.error(.helloRequired, "say HELLO first")))
            return
        }
        switch message {
        case .batch(let batch):
            guard role == .office else {
                actions.append(.send(.error(.unexpectedMessage, "the mayor node is read-only", batchID: batch.batchID)))
                return
            }
            guard settings.admits(batch) else {
                let bytes = batch.ops.reduce(0) { $0 + $1.count }
                let message =
                    "a batch may carry at most \(settings.maximumBatchOps) ops and \(settings.maximumBatchBytes) bytes; "
                    + "this one has \(batch.ops.count) ops and \(bytes) bytes"
                actions.append(.log(.warning, "\(node): \(message)"))
                actions.append(.send(.error(.invalidBatch, message, batchID: batch.batchID)))
                return
            }
            guard batch.receivedAtMs.isEmpty, batch.feedPosition == 0 else {
                actions.append(
                    .send(
                        .error(
                            .invalidBatch,
                            "an upload carries no receive times or feed position",
                            batchID: batch.batchID
                        )
                    )
                )
                return
            }
            actions.append(.applyUpload(batch))
        case .ack(let ack):
            guard let index = inflight.firstIndex(where: { $0.batchID == ack.batchID }) else { return }
            let position = inflight[index].position
            inflight.removeFirst(index + 1)
            if position > acknowledged {
                acknowledged = position
                actions.append(.saveAcknowledged(position))
            }
            readMoreIfPossible(into: &actions)
        case .ping(let ping):
            var pong = Sambat_Sync_V1_Pong()
            pong.nonce = ping.nonce
            actions.append(.send(.pong(pong)))
        case .pong:
            return
        case .error(let error):
            actions.append(.log(.warning, "\(node) says \(error.code): \(error.message)"))
            if error.code == .invalidBatch, error.batchID != 0 {
                // The peer could not use a feed batch: stop streaming until its next HELLO.
                isReady = false
            }
        case .blobRequest, .blobChunk:
            return  // handled by the service, beside the session
        case .hello, .welcome, .nodeHealth:
            actions.append(.send(.error(.unexpectedMessage, "\(message.name) is not expected here")))
        }
    }

    private mutating func readMoreIfPossible(into actions: inout [Action]) {
        guard isReady, !reading, inflight.count < settings.credit, feedHead > sentUpTo else { return }
        reading = true
        actions.append(.readFeed(after: sentUpTo, limit: settings.maximumBatchOps, generation: generation))
    }
}
