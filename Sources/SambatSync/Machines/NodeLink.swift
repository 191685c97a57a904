import Foundation
public import SambatCore

/// How loud a log line of the sync layer is; the service maps it onto its logger.
public enum SyncLogLevel: Sendable, Hashable {
    case debug, info, notice, warning, error
}

/// The node side (an office or the mayor) of the sync protocol, as a value-type state machine.
///
/// Owned by ``NodeSyncService``, which feeds it events (messages, ticks, the results of the
/// store work it asked for) and carries out the actions it returns. It never touches a socket
/// or the store itself, so every rule of design.md §4 is testable without I/O:
/// - HELLO on every (re)connect; the wrong-key hint when WELCOME does not come in time;
/// - upload of this node's own ops above central's frontier, in seq order, in bounded batches,
///   at most `credit` unacknowledged;
/// - each feed batch applied (by the service, durably) before it is acknowledged;
/// - application pings when quiet; a silent link is declared down and HELLO runs again.
public struct NodeLink: Sendable {
    /// Where the link stands.
    public enum Phase: Hashable, Sendable {
        /// Not started.
        case idle
        /// HELLO sent, WELCOME not yet received.
        case awaitingWelcome
        /// Syncing both ways.
        case ready
    }

    /// What happened.
    public enum Event: Sendable {
        /// Start (or restart) the session: say HELLO.
        case connect(localHead: UInt64, checkpoint: UInt64, feedEpoch: UInt64 = 0)
        /// Time passed; `localHead` is this node's highest authored seq now.
        case tick(localHead: UInt64)
        /// A message from central.
        case received(SyncMessage)
        /// The ops asked for by ``Action/readLocalOps(after:limit:byteLimit:generation:)``:
        /// canonical bytes and the seq of the last one.
        case localOpsRead([[UInt8]], lastSeq: UInt64, generation: UInt64)
        /// A feed batch was applied and committed.
        case feedApplied(batchID: UInt64, feedPosition: UInt64)
        /// A feed batch could not be used (bad op bytes); it is not acknowledged.
        case feedRefused(batchID: UInt64, SyncProtocolError)
        /// A feed batch could not be stored (the store failed); it is not acknowledged, and no
        /// batch behind it is applied before the session starts over (``connect``).
        case feedNotStored
        /// What the transport beneath the protocol saw (libzmq's socket monitor, or a send
        /// that could not go out).
        case transport(Transport)
    }

    /// Events of the connection beneath the protocol, which let the link act at once instead
    /// of waiting out its timers.
    public enum Transport: Sendable, Hashable {
        /// A connection to central completed its CURVE handshake.
        case connected
        /// The connection to central broke; the socket reconnects by itself.
        case disconnected
        /// The CURVE handshake with central failed. `keyRefused`: central's ZAP handler refused
        /// this node's key, and the socket will not try again by itself; otherwise it broke
        /// off (central has another key than the one pinned, or the connection was cut).
        case handshakeFailed(keyRefused: Bool)
        /// A HELLO could not be handed to the socket in time (no connection): it was withdrawn.
        case helloNotSent
    }

    /// What the service must do.
    public enum Action: Sendable, Equatable {
        /// Send a message to central.
        case send(SyncMessage)
        /// Read this node's own ops with seq above `after` (at most `limit` ops and about
        /// `byteLimit` bytes), then report ``Event/localOpsRead(_:lastSeq:generation:)``.
        case readLocalOps(after: UInt64, limit: Int, byteLimit: Int, generation: UInt64)
        /// Apply a feed batch in one durable transaction, then report ``Event/feedApplied(batchID:feedPosition:)``.
        case applyFeed(Sambat_Sync_V1_Batch)
        /// Drop the connection to central and open a new one (nothing came back on it).
        case reconnect
        /// Overwrite the stored feed checkpoint: central did not recognise ours.
        case resetCheckpoint(UInt64, epoch: UInt64)
        /// The link came up or went down.
        case linkChanged(up: Bool)
        /// Write a log line (English, no personal data).
        case log(SyncLogLevel, String)
    }

    /// The node's current origin.
    public let origin: Origin
    /// The central node's id, for log lines.
    public let central: NodeID
    public let settings: SyncSettings
    /// Free text sent in HELLO.
    public let software: String
    /// Whether HELLO asks central for NODE_HEALTH reports (the mayor does).
    public let asksNodeHealth: Bool

    public private(set) var phase: Phase = .idle
    /// Central's acknowledged frontier for this origin: ops above it are "not yet sent".
    public private(set) var centralFrontier: UInt64 = 0
    /// This node's highest authored seq, as last reported.
    public private(set) var localHead: UInt64 = 0

    private var uploadedUpTo: UInt64 = 0
    private var inflight: [(batchID: UInt64, upTo: UInt64, sentAt: ContinuousClock.Instant)] = []
    private var reading = false
    /// Bumped on every HELLO, so results of reads asked for in an older session are dropped.
    private var generation: UInt64 = 0
    private var nextBatchID: UInt64 = 1
    private var credit = 1
    private var batchOps = 1
    private var batchBytes = 1
    /// Whether central's WELCOME said it accepts packed ops, and this node packs.
    private var packsUploads = false
    private var checkpoint: UInt64 = 0
    /// Which numbering of central's feed `checkpoint` is in (central's incarnation).
    private var feedEpoch: UInt64 = 0
    /// The last feed position received in this session (applied or being applied).
    private var feedReceived: UInt64 = 0
    /// A feed batch could not be stored: the batches still coming in this session are let
    /// go, since applying one would save a checkpoint past the ops that are missing.
    private var feedHeld = false
    /// When to say HELLO again after central asked us to wait.
    private var retryHelloAt: ContinuousClock.Instant?
    private var helloSentAt: ContinuousClock.Instant?
    /// Since when central has not answered anything: the first HELLO of a silence.
    private var unansweredSince: ContinuousClock.Instant?
    /// Whether this silence has been explained in the log (once per silence).
    private var hinted = false
    /// Whether central has welcomed this link at least once: then the keys and the enrolment
    /// were right, and a later silence is an outage, not a configuration mistake.
    private var everWelcomed = false
    /// Whether central has not answered a HELLO within the hello timeout: a wrong central
    /// key, an unenrolled node or a wrong address (CURVE refusals are silent).
    public private(set) var centralIsSilent = false
    /// Why central last refused this node's session (not enrolled, a duplicate process, a
    /// store behind central…); cleared by the next WELCOME.
    public private(set) var centralRefusal: Sambat_Sync_V1_Error.Code?
    private var lastHeard: ContinuousClock.Instant?
    private var lastSent: ContinuousClock.Instant?
    private var pingNonce: UInt64 = 0
    /// Whether the latest HELLO may not have reached central (its connection broke, or it was
    /// never handed over): the next completed handshake says HELLO again at once.
    private var helloMayBeUnheard = false
    /// When to open a new connection after a failed handshake (or a HELLO a live connection
    /// did not take), and the wait before the next one (doubling; reset by WELCOME).
    ///
    /// Only a refused key lets the wait grow past the reconnect maximum, up to the link timeout.
    private var reopenAt: ContinuousClock.Instant?
    private var reopenBackoff: Duration?
    /// Whether the socket monitor last reported a completed handshake (and no break since).
    private var connectionUp = false

    /// A link for `origin` to `central`, not started.
    public init(
        origin: Origin,
        central: NodeID,
        settings: SyncSettings = SyncSettings(),
        software: String = "sambat",
        asksNodeHealth: Bool = false
    ) {
        self.origin = origin
        self.central = central
        self.settings = settings
        self.software = software
        self.asksNodeHealth = asksNodeHealth
    }

    /// How many of this node's ops central has not acknowledged.
    public var unsentCount: UInt64 { localHead > centralFrontier ? localHead - centralFrontier : 0 }

    /// Whether the link is up with nothing to do.
    ///
    /// No op of this node is unread, unsent or unacknowledged; its timers (pings, the silence
    /// timeout) then run in seconds.
    public var isQuiet: Bool {
        phase == .ready && inflight.isEmpty && !reading && localHead <= uploadedUpTo
    }

    /// Handles one event and returns what to do, in order.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .connect(let head, let checkpoint, let epoch):
            localHead = max(localHead, head)
            self.checkpoint = checkpoint
            feedEpoch = epoch
            feedHeld = false
            sayHello(at: now, into: &actions)
        case .tick(let head):
            localHead = max(localHead, head)
            tick(at: now, into: &actions)
        case .received(let message):
            lastHeard = now
            unansweredSince = nil
            receive(message, at: now, into: &actions)
        case .localOpsRead(let ops, let lastSeq, let readGeneration):
            guard readGeneration == generation else { break }
            reading = false
            guard phase == .ready, !ops.isEmpty, lastSeq > uploadedUpTo else { break }
            var batch = Sambat_Sync_V1_Batch()
            batch.batchID = nextBatchID
            let plain = ops.map { Data($0) }
            if packsUploads, let packed = PackedOps.pack(plain) {
                batch.packedOps = packed
            } else {
                batch.ops = plain
            }
            nextBatchID += 1
            inflight.append((batch.batchID, lastSeq, now))
            uploadedUpTo = lastSeq
            send(.batch(batch), at: now, into: &actions)
            readMoreIfPossible(into: &actions)
        case .feedApplied(let batchID, let position):
            checkpoint = max(checkpoint, position)
            // The feed is applied beside the service's run loop, so this may come after the
            // batch's session ended; the next HELLO carries the checkpoint instead.
            guard phase == .ready else { break }
            var ack = Sambat_Sync_V1_Ack()
            ack.batchID = batchID
            ack.checkpoint = position
            send(.ack(ack), at: now, into: &actions)
        case .transport(let change):
            transport(change, at: now, into: &actions)
        case .feedRefused(let batchID, let error):
            // Batches behind the refused one must not be applied past it: they now look like a
            // gap, which makes the node say HELLO and replay from its checkpoint.
            feedReceived = checkpoint
            actions.append(.log(.error, "refused feed batch \(batchID) from \(central): \(error.message)"))
            send(.error(error.code, error.message, batchID: batchID), at: now, into: &actions)
        case .feedNotStored:
            feedReceived = checkpoint
            feedHeld = true
        }
        return actions
    }

    // MARK: - Steps

    /// Acts on what the connection beneath the protocol did.
    ///
    /// A broken connection takes the link down at once (libzmq reconnects by itself), and the
    /// next completed handshake says HELLO at once. A failed handshake opens a new connection
    /// after a short wait that doubles with each reopening: libzmq never retries a refused
    /// key, and a new connection is where a node with two central keys tries the other one
    /// (during a rotation of central's key). A HELLO withdrawn although the connection is up
    /// (a stalled pipe) opens a new connection too. The link's timers stay as the fallback for
    /// what the monitor cannot see (a connection that hangs without breaking).
    private mutating func transport(_ change: Transport, at now: ContinuousClock.Instant, into actions: inout [Action])
    {
        guard phase != .idle else { return }
        switch change {
        case .connected:
            connectionUp = true
            reopenAt = nil
            guard phase == .awaitingWelcome, helloMayBeUnheard, retryHelloAt == nil else { return }
            actions.append(.log(.info, "connected to central \(central); saying HELLO"))
            sayHello(at: now, into: &actions)
        case .disconnected:
            connectionUp = false
            helloMayBeUnheard = true
            guard phase == .ready else { return }
            actions.append(.log(.notice, "connection to central \(central) broke; reconnecting"))
            endSession(into: &actions)
            helloSentAt = now
            unansweredSince = now
            hinted = false
        case .helloNotSent:
            helloMayBeUnheard = true
            // No handshake is coming to say it again: the connection is up but did not take it.
            if connectionUp, phase == .awaitingWelcome { reopen(at: now, keyRefused: false) }
        case .handshakeFailed(let keyRefused):
            connectionUp = false
            helloMayBeUnheard = true
            if phase == .ready { endSession(into: &actions) }
            if keyRefused {
                // Central's key is right and central answered, in its way: no silence to explain.
                hinted = true
                centralIsSilent = false
            }
            guard let wait = reopen(at: now, keyRefused: keyRefused) else { return }
            if keyRefused, centralRefusal != .notEnrolled {
                centralRefusal = .notEnrolled
                actions.append(
                    .log(
                        .warning,
                        "central \(central) refused this node's key in the CURVE handshake: it is not enrolled "
                            + "there (or was revoked); trying again in \(wait)"
                    )
                )
            }
        }
    }

    /// Schedules a new connection (with HELLO) unless one is already scheduled; the wait
    /// starts at the initial reconnect delay and doubles with each one until central welcomes
    /// the node: up to the link timeout while central refuses the node's key, and no longer
    /// than the reconnect maximum (libzmq's own reconnect) after any other failure.
    ///
    /// A handshake that broke off or garbled (a reset, a lost or repeated segment) says
    /// nothing about central, and libzmq does not retry one it found garbled: letting those
    /// grow the wait too could leave a node waiting up to the link timeout after a bad minute
    /// of network, with central reachable all along.
    /// - Returns: the wait, or `nil` when a new connection was already scheduled.
    @discardableResult
    private mutating func reopen(at now: ContinuousClock.Instant, keyRefused: Bool) -> Duration? {
        guard reopenAt == nil else { return nil }
        let longest = keyRefused ? settings.linkTimeout : max(settings.reconnectMaximum, settings.reconnectInitial)
        let wait = min(reopenBackoff ?? settings.reconnectInitial, longest)
        reopenBackoff = min(wait * 2, settings.linkTimeout)
        reopenAt = now + wait
        return wait
    }

    /// Asks for a fresh socket; it has no connection until the monitor reports one, so a
    /// HELLO it does not take in time waits for that handshake instead of reopening again.
    private mutating func reconnect(into actions: inout [Action]) {
        connectionUp = false
        actions.append(.reconnect)
    }

    /// Ends the current session without saying HELLO: the link is down until central welcomes
    /// the next one, and results asked for in this session are dropped.
    private mutating func endSession(into actions: inout [Action]) {
        if phase == .ready { actions.append(.linkChanged(up: false)) }
        phase = .awaitingWelcome
        generation += 1
        reading = false
        inflight.removeAll()
    }

    private mutating func sayHello(at now: ContinuousClock.Instant, into actions: inout [Action]) {
        if phase == .ready { actions.append(.linkChanged(up: false)) }
        phase = .awaitingWelcome
        helloMayBeUnheard = false
        reopenAt = nil
        generation += 1
        reading = false
        inflight.removeAll()
        helloSentAt = now
        retryHelloAt = nil
        if unansweredSince == nil {
            unansweredSince = now
            hinted = false
        }
        var hello = Sambat_Sync_V1_Hello()
        hello.node = origin.node.rawValue
        hello.origin = origin.description
        hello.lastSeq = localHead
        hello.feedCheckpoint = checkpoint
        hello.software = String(software.utf8.prefix(64)) ?? "sambat"
        hello.session = generation
        hello.feedEpoch = feedEpoch
        hello.nodeHealth = asksNodeHealth
        hello.packedOps = settings.packsOps
        send(.hello(hello), at: now, into: &actions)
    }

    private mutating func tick(at now: ContinuousClock.Instant, into actions: inout [Action]) {
        switch phase {
        case .idle:
            return
        case .awaitingWelcome:
            if let retry = retryHelloAt {
                if now >= retry {
                    reconnect(into: &actions)
                    sayHello(at: now, into: &actions)
                }
                return
            }
            if !hinted, let since = unansweredSince, now - since >= settings.helloTimeout {
                hinted = true
                centralIsSilent = true
                let advice =
                    everWelcomed
                    ? "it answered earlier in this run, so central or the network is probably down "
                        + "(or since then central's key changed or this node was revoked); working offline and retrying"
                    : "check central's address and that this node's config holds central's current public key "
                        + "(a wrong key fails the CURVE handshake silently), and that this node is enrolled"
                actions.append(
                    .log(.warning, "no answer from central \(central) within \(settings.helloTimeout): " + advice)
                )
            }
            if let reopen = reopenAt {
                if now >= reopen {
                    reconnect(into: &actions)
                    sayHello(at: now, into: &actions)
                }
                return
            }
            if let sent = helloSentAt, now - sent >= settings.linkTimeout {
                reconnect(into: &actions)
                sayHello(at: now, into: &actions)
            }
        case .ready:
            if let heard = lastHeard, now - heard >= settings.linkTimeout {
                actions.append(
                    .log(.warning, "link to \(central) silent for \(settings.linkTimeout); saying HELLO again")
                )
                reconnect(into: &actions)
                sayHello(at: now, into: &actions)
                return
            }
            if let oldest = inflight.first, now - oldest.sentAt >= settings.linkTimeout {
                // Pings get answered but this batch never was: it or its ACK was lost.
                actions.append(
                    .log(
                        .warning,
                        "batch \(oldest.batchID) unacknowledged for \(settings.linkTimeout); saying HELLO again"
                    )
                )
                sayHello(at: now, into: &actions)
                return
            }
            if lastSent.map({ now - $0 >= settings.pingInterval }) ?? true {
                pingNonce += 1
                var ping = Sambat_Sync_V1_Ping()
                ping.nonce = pingNonce
                send(.ping(ping), at: now, into: &actions)
            }
            readMoreIfPossible(into: &actions)
        }
    }

    private mutating func receive(_ message: SyncMessage, at now: ContinuousClock.Instant, into actions: inout [Action])
    {
        switch message {
        case .welcome(let welcome):
            // Only the answer to our latest HELLO counts (central echoes its session).
            guard phase == .awaitingWelcome, welcome.session == 0 || welcome.session == generation else { return }
            phase = .ready
            everWelcomed = true
            centralIsSilent = false
            centralRefusal = nil
            reopenBackoff = nil
            reopenAt = nil
            credit = max(1, min(settings.credit, Int(clamping: welcome.credit)))
            batchOps = max(1, min(settings.maximumBatchOps, Int(clamping: welcome.maxBatchOps)))
            batchBytes = max(1, min(settings.maximumBatchBytes, Int(clamping: welcome.maxBatchBytes)))
            packsUploads = settings.packsOps && welcome.packedOps
            centralFrontier = welcome.frontier
            uploadedUpTo = welcome.frontier
            inflight.removeAll()
            if welcome.feedFrom < checkpoint || welcome.feedEpoch != feedEpoch {
                if welcome.feedFrom < checkpoint {
                    actions.append(
                        .log(
                            .warning,
                            "central \(central) does not recognise feed checkpoint \(checkpoint); replaying its feed from \(welcome.feedFrom)"
                        )
                    )
                }
                checkpoint = welcome.feedFrom
                feedEpoch = welcome.feedEpoch
                actions.append(.resetCheckpoint(welcome.feedFrom, epoch: welcome.feedEpoch))
            }
            feedReceived = checkpoint
            actions.append(.linkChanged(up: true))
            actions.append(
                .log(
                    .info,
                    "synced with \(central): frontier \(welcome.frontier), feed \(welcome.feedFrom)/\(welcome.feedHead)"
                )
            )
            readMoreIfPossible(into: &actions)
        case .ack(let ack):
            guard phase == .ready, let index = inflight.firstIndex(where: { $0.batchID == ack.batchID }) else { return }
            // ACKs come in order: an ACK also settles every earlier batch.
            inflight.removeFirst(index + 1)
            centralFrontier = max(centralFrontier, ack.frontier)
            for refusal in ack.refused {
                actions.append(.log(.warning, "central refused op \(origin)/\(refusal.seq): \(refusal.reason)"))
            }
            if inflight.isEmpty, centralFrontier < uploadedUpTo {
                // Central is missing ops below what we sent (a batch lost in a reconnect): resend.
                uploadedUpTo = centralFrontier
            }
            readMoreIfPossible(into: &actions)
        case .batch(let batch):
            guard phase == .ready, !feedHeld else { return }
            guard batch.receivedAtMs.count == batch.ops.count, !batch.ops.isEmpty,
                batch.feedPosition >= UInt64(batch.ops.count), batch.feedPosition <= UInt64(Int64.max)
            else {
                actions.append(.log(.error, "malformed feed batch \(batch.batchID) from \(central)"))
                send(
                    .error(
                        .invalidBatch,
                        "a feed batch needs ops, one receive time per op and a feed position",
                        batchID: batch.batchID
                    ),
                    at: now,
                    into: &actions
                )
                return
            }
            // Feed entries are numbered one by one, so a batch covers a known range. A batch
            // starting beyond what we hold means one was lost: start over from our checkpoint.
            let first = batch.feedPosition - UInt64(batch.ops.count) + 1
            guard first <= feedReceived + 1 else {
                actions.append(
                    .log(
                        .warning,
                        "feed from \(central) skipped positions \(feedReceived + 1)..<\(first); saying HELLO again"
                    )
                )
                sayHello(at: now, into: &actions)
                return
            }
            feedReceived = max(feedReceived, batch.feedPosition)
            actions.append(.applyFeed(batch))
        case .ping(let ping):
            var pong = Sambat_Sync_V1_Pong()
            pong.nonce = ping.nonce
            send(.pong(pong), at: now, into: &actions)
        case .pong:
            return
        case .error(let error):
            switch error.code {
            case .helloRequired:
                // Central restarted (or dropped this session): an ordinary event, not an error.
                actions.append(.log(.notice, "central \(central) has no session for this node; saying HELLO again"))
                sayHello(at: now, into: &actions)
                return
            default:
                actions.append(.log(.error, "central \(central) says \(error.code): \(error.message)"))
            }
            switch error.code {
            case .invalidBatch where inflight.contains(where: { $0.batchID == error.batchID }):
                // Central refused one of our uploads whole; resending it at once would fail
                // the same way. Try again after a while (the log says why).
                waitBeforeHello(settings.linkTimeout, at: now, into: &actions)
            case .unavailable, .notEnrolled, .identityMismatch, .duplicateNode, .storeBehind, .unsupportedVersion:
                if error.code != .unavailable { centralRefusal = error.code }
                // Central answered, so the keys are right; try again later, not in a tight loop.
                waitBeforeHello(
                    error.code == .unavailable ? settings.reconnectInitial : settings.linkTimeout,
                    at: now,
                    into: &actions
                )
            default:
                return
            }
        case .hello:
            send(.error(.unexpectedMessage, "HELLO goes from a node to central"), at: now, into: &actions)
        case .blobRequest, .blobChunk, .nodeHealth:
            return  // evidence blobs and health reports are NodeSync's business, beside the link
        }
    }

    /// Ends the session and says HELLO again after `delay`.
    private mutating func waitBeforeHello(
        _ delay: Duration,
        at now: ContinuousClock.Instant,
        into actions: inout [Action]
    ) {
        if phase == .ready { actions.append(.linkChanged(up: false)) }
        phase = .awaitingWelcome
        hinted = true
        centralIsSilent = false
        generation += 1
        reading = false
        inflight.removeAll()
        retryHelloAt = now + delay
    }

    private mutating func readMoreIfPossible(into actions: inout [Action]) {
        guard phase == .ready, !reading, inflight.count < credit, localHead > uploadedUpTo else { return }
        reading = true
        actions.append(
            .readLocalOps(after: uploadedUpTo, limit: batchOps, byteLimit: batchBytes, generation: generation)
        )
    }

    private mutating func send(_ message: SyncMessage, at now: ContinuousClock.Instant, into actions: inout [Action]) {
        lastSent = now
        actions.append(.send(message))
    }
}
