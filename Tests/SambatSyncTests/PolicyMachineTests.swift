import Foundation
import SambatCore
import SambatStore
import SambatSync
import Testing

/// Central's hub and the node's sync machine without any I/O: the policy the services only
/// carry out (admission, the duplicate-node probe, cut-offs, the blob budget, earlier
/// incarnations, retries, the blob-poll schedule), with the time as an input.
@Suite struct PolicyMachineTests {
    static let dpupr = node("dpupr")
    static let central = node("central")
    static let key = String(repeating: "k", count: 40)

    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("bad node \(name)") }
        return id
    }

    static func origin(_ text: String) -> Origin {
        guard let origin = try? Origin(parsing: text) else { preconditionFailure("bad origin \(text)") }
        return origin
    }

    static func peer(key: String = key, status: EnrolledPeer.Status = .active) -> EnrolledPeer {
        EnrolledPeer(
            node: dpupr,
            role: .office,
            publicKey: key,
            status: status,
            changedAt: Timestamp(millisecondsSinceEpoch: 0)
        )
    }

    static func arrival(_ message: SyncMessage, on connection: UInt8, key: String = key) -> CentralHub.Arrival {
        CentralHub.Arrival(connection: [connection], node: dpupr, key: key, frames: SyncFrames.encode(message))
    }

    static func hello(lastSeq: UInt64 = 0) -> SyncMessage {
        var hello = Sambat_Sync_V1_Hello()
        hello.node = "dpupr"
        hello.origin = "dpupr#1"
        hello.lastSeq = lastSeq
        hello.session = 7
        return .hello(hello)
    }

    /// Feeds the hub a message whose sender is enrolled as `peer`, and returns the actions
    /// that follow the enrolment check.
    static func deliver(
        _ message: SyncMessage,
        on connection: UInt8,
        to hub: inout CentralHub,
        peer: EnrolledPeer? = peer(),
        key: String = key,
        at now: ContinuousClock.Instant
    ) -> [CentralHub.Action] {
        let arrival = arrival(message, on: connection, key: key)
        let asked = hub.handle(.arrived(arrival), at: now)
        #expect(asked.count == 1)
        return hub.handle(.senderLookedUp(arrival, peer: peer, storeFailed: false), at: now)
    }

    /// A hub with dpupr admitted on `connection` at `now`.
    static func hubWithSession(on connection: UInt8, at now: ContinuousClock.Instant) -> CentralHub {
        var hub = CentralHub(settings: SyncSettings())
        let actions = deliver(hello(), on: connection, to: &hub, at: now)
        guard case .lookUpHello(let pending)? = actions.first else {
            Issue.record("expected the HELLO's facts to be looked up, got \(actions)")
            return hub
        }
        let admitted = hub.handle(
            .helloLookedUp(pending, CentralHub.HelloFacts(frontier: 0, feedHead: 0, feedEpoch: 1)),
            at: now
        )
        #expect(admitted.contains { $0.sentMessage(to: [connection])?.name == "WELCOME" })
        return hub
    }

    @Test func aSecondProcessIsRefusedAfterTheProbeWhileARestartIsAdmitted() {
        let start = ContinuousClock.now
        var hub = Self.hubWithSession(on: 1, at: start)
        #expect(hub.connectedPeers == [Self.dpupr])

        // A HELLO on another connection while the first was heard from a moment ago: probe.
        let second = Self.deliver(Self.hello(), on: 2, to: &hub, at: start + .milliseconds(100))
        guard case .probe(let pending, let probed)? = second.first else {
            Issue.record("expected a probe of the old connection, got \(second)")
            return
        }
        #expect(probed == [1])

        // The old connection still takes messages: a second process, refused; the session stays.
        let refused = hub.handle(.probed(pending, connectionGone: false), at: start + .milliseconds(150))
        #expect(refused.contains { $0.sentMessage(to: [2])?.errorCode == .duplicateNode })
        #expect(hub.sessions[Self.dpupr]?.routingID == [1])

        // The old connection is gone: a restart; the session is forgotten and the HELLO admitted.
        let restarted = hub.handle(.probed(pending, connectionGone: true), at: start + .milliseconds(200))
        #expect(restarted.contains { if case .lookUpHello = $0 { true } else { false } })
        #expect(hub.sessions[Self.dpupr] == nil)

        // A node silent for two ping intervals is reconnecting: no probe at all.
        var quiet = Self.hubWithSession(on: 1, at: start)
        let later = Self.deliver(Self.hello(), on: 3, to: &quiet, at: start + SyncSettings().pingInterval * 2)
        #expect(later.contains { if case .lookUpHello = $0 { true } else { false } })
    }

    /// Central's socket reader decodes an arrival's frames ahead of the hub (and an upload's
    /// ops ahead of the writer): the hub acts on what the reader decoded exactly as on frames
    /// it decodes itself, a refusal included, and still only after the enrolment check.
    @Test func aMessageDecodedByTheReaderIsHandledAsOneTheHubDecodes() {
        let now = ContinuousClock.now
        func handled(_ arrival: CentralHub.Arrival, peer: EnrolledPeer? = Self.peer()) -> [CentralHub.Action] {
            var hub = Self.hubWithSession(on: 1, at: now)
            _ = hub.handle(.arrived(arrival), at: now)
            return hub.handle(.senderLookedUp(arrival, peer: peer, storeFailed: false), at: now)
        }
        func decodedAhead(_ arrival: CentralHub.Arrival) -> CentralHub.Arrival {
            var ahead = arrival
            ahead.decoded = Result { () throws(SyncProtocolError) in try SyncFrames.decode(arrival.frames) }
            return ahead
        }
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = 4
        batch.ops = [Data([1, 2, 3])]
        let upload = Self.arrival(.batch(batch), on: 1)
        for arrival in [upload, decodedAhead(upload)] {
            let actions = handled(arrival)
            #expect(
                actions.contains { action in
                    guard case .applyUpload(let applied, _, _, _) = action else { return false }
                    return applied == batch
                },
                "the upload was not applied: \(actions)"
            )
            // From a node no longer enrolled, nothing is applied.
            let revoked = handled(arrival, peer: Self.peer(status: .revoked))
            #expect(revoked.contains { $0.sentMessage(to: [1])?.errorCode == .notEnrolled })
            #expect(!revoked.contains { if case .applyUpload = $0 { true } else { false } })
        }
        let garbage = CentralHub.Arrival(connection: [1], node: Self.dpupr, key: Self.key, frames: [[1, 3], [0xFF]])
        for arrival in [garbage, decodedAhead(garbage)] {
            #expect(handled(arrival).contains { $0.sentMessage(to: [1])?.errorCode == .malformed })
        }
    }

    /// An upload over the ops or bytes a batch may carry is refused whole, and is not decoded
    /// ahead by central's socket reader; one at the limits is applied.
    @Test func anUploadOverTheBatchLimitsIsRefusedWhole() {
        let now = ContinuousClock.now
        let settings = SyncSettings()
        func upload(_ ops: [Data]) -> Sambat_Sync_V1_Batch {
            var batch = Sambat_Sync_V1_Batch()
            batch.batchID = 9
            batch.ops = ops
            return batch
        }
        let atLimits = [
            upload(Array(repeating: Data([1]), count: settings.maximumBatchOps)),
            upload([Data(count: settings.maximumBatchBytes)]),
        ]
        let over = [
            upload(Array(repeating: Data([1]), count: settings.maximumBatchOps + 1)),
            upload([Data(count: settings.maximumBatchBytes), Data([1])]),
        ]
        for (batch, admitted) in atLimits.map({ ($0, true) }) + over.map({ ($0, false) }) {
            #expect(settings.admits(batch) == admitted)
            var hub = Self.hubWithSession(on: 1, at: now)
            let actions = Self.deliver(.batch(batch), on: 1, to: &hub, at: now)
            let applied = actions.contains { if case .applyUpload = $0 { true } else { false } }
            #expect(applied == admitted, "\(batch.ops.count) ops: \(actions)")
            #expect(actions.contains { $0.sentMessage(to: [1])?.errorCode == .invalidBatch } == !admitted)
        }
    }

    @Test func aStoreBehindCentralForItsOwnOriginIsRefused() {
        let now = ContinuousClock.now
        var hub = CentralHub(settings: SyncSettings())
        let actions = Self.deliver(Self.hello(lastSeq: 5), on: 1, to: &hub, at: now)
        guard case .lookUpHello(let pending)? = actions.first else {
            Issue.record("expected a lookup, got \(actions)")
            return
        }
        let answer = hub.handle(
            .helloLookedUp(pending, CentralHub.HelloFacts(frontier: 9, feedHead: 0, feedEpoch: 1)),
            at: now
        )
        #expect(answer.contains { $0.sentMessage(to: [1])?.errorCode == .storeBehind })
        #expect(hub.connectedPeers.isEmpty)
    }

    @Test func aPeerRevokedOrReKeyedWhileConnectedIsCutOff() {
        let now = ContinuousClock.now
        var hub = Self.hubWithSession(on: 1, at: now)
        // The same key still enrolled: nothing happens.
        #expect(hub.handle(.peersRead([Self.peer()]), at: now).isEmpty)
        #expect(hub.connectedPeers == [Self.dpupr])
        // Enrolled again with another key: the session on the old key ends, with a reason.
        let rekeyed = hub.handle(.peersRead([Self.peer(key: String(repeating: "n", count: 40))]), at: now)
        #expect(rekeyed.contains { $0.sentMessage(to: [1])?.errorCode == .notEnrolled })
        #expect(hub.connectedPeers.isEmpty)

        // Revoked: a message on the live session is refused and the session forgotten.
        var revoked = Self.hubWithSession(on: 1, at: now)
        var ping = Sambat_Sync_V1_Ping()
        ping.nonce = 1
        let refused = Self.deliver(.ping(ping), on: 1, to: &revoked, peer: Self.peer(status: .revoked), at: now)
        #expect(refused.contains { $0.sentMessage(to: [1])?.errorCode == .notEnrolled })
        #expect(revoked.connectedPeers.isEmpty)
    }

    @Test func aConnectionWithAReplacedKeyCannotEndTheCurrentSession() {
        let now = ContinuousClock.now
        let newKey = String(repeating: "n", count: 40)
        var hub = CentralHub(settings: SyncSettings())
        let actions = Self.deliver(Self.hello(), on: 1, to: &hub, peer: Self.peer(key: newKey), key: newKey, at: now)
        guard case .lookUpHello(let pending)? = actions.first else {
            Issue.record("expected a lookup, got \(actions)")
            return
        }
        _ = hub.handle(.helloLookedUp(pending, CentralHub.HelloFacts(frontier: 0, feedHead: 0, feedEpoch: 1)), at: now)
        // The old key's connection speaks: refused, and the new key's session stays.
        let old = Self.deliver(Self.hello(), on: 2, to: &hub, peer: Self.peer(key: newKey), at: now)
        #expect(old.contains { $0.sentMessage(to: [2])?.errorCode == .notEnrolled })
        #expect(hub.connectedPeers == [Self.dpupr])
    }

    @Test func blobRequestsOverSixteenMebibytesASecondAreDropped() {
        let start = ContinuousClock.now
        var hub = Self.hubWithSession(on: 1, at: start)
        var ask = Sambat_Sync_V1_BlobRequest()
        ask.sha256 = Data(repeating: 1, count: 32)
        ask.length = 256 * 1024
        let perSecond = CentralHub.blobBytesPerSecond / (256 * 1024)
        func served(at now: ContinuousClock.Instant) -> Bool {
            Self.deliver(.blobRequest(ask), on: 1, to: &hub, at: now)
                .contains { if case .serveBlob = $0 { true } else { false } }
        }
        for _ in 0..<perSecond { #expect(served(at: start)) }
        #expect(!served(at: start + .milliseconds(500)))
        #expect(served(at: start + .seconds(1)))
    }

    @Test func aPeerThatDoesNotTakeMessagesIsForgottenButAStaleFailureIsIgnored() {
        let now = ContinuousClock.now
        var hub = Self.hubWithSession(on: 1, at: now)
        #expect(hub.handle(.sendFailed(Self.dpupr, connection: [9]), at: now).isEmpty)
        #expect(hub.connectedPeers == [Self.dpupr])
        let dropped = hub.handle(.sendFailed(Self.dpupr, connection: [1]), at: now)
        #expect(dropped.contains { if case .connectedChanged(let peers) = $0 { peers.isEmpty } else { false } })
        #expect(hub.connectedPeers.isEmpty)
    }

    @Test func anAppliedUploadLetsTheOtherFeedsStreamAtOnce() {
        let now = ContinuousClock.now
        var hub = Self.hubWithSession(on: 1, at: now)
        let uploaded = hub.handle(
            .uploaded(Self.dpupr, .uploadApplied(batchID: 1, frontier: 3, refused: []), applied: true),
            at: now
        )
        // Alone, there is no other feed to read; the ACK goes out.
        #expect(uploaded.contains { $0.sentMessage(to: [1])?.name == "ACK" })
        #expect(!uploaded.contains { if case .readFeedHeads = $0 { true } else { false } })
        #expect(
            hub.handle(.tick, at: now).contains { if case .readFeedHeads([Self.dpupr]) = $0 { true } else { false } }
        )
    }

    // MARK: The node's machine

    static func welcome(for actions: [NodeSync.Action], frontier: UInt64) -> SyncMessage? {
        for case .send(.hello(let hello), _) in actions {
            var welcome = Sambat_Sync_V1_Welcome()
            welcome.session = hello.session
            welcome.frontier = frontier
            welcome.credit = 4
            welcome.maxBatchOps = 500
            welcome.maxBatchBytes = 1 << 20
            return .welcome(welcome)
        }
        return nil
    }

    static func helloOrigin(_ actions: [NodeSync.Action]) -> String? {
        for case .send(.hello(let hello), _) in actions { return hello.origin }
        return nil
    }

    @Test func earlierIncarnationsAreOfferedFirstThenTheCurrentOrigin() throws {
        let now = ContinuousClock.now
        var machine = NodeSync(central: Self.central, settings: SyncSettings(), fetchesBlobs: false)
        let start = NodeSync.LinkStart(localHead: 2, checkpoint: 0, feedEpoch: 0)
        let first = machine.handle(
            .started(
                current: Self.origin("dpupr#3"),
                earlier: [
                    NodeSync.OwnOrigin(origin: Self.origin("dpupr#1"), head: 5),
                    NodeSync.OwnOrigin(origin: Self.origin("dpupr#2"), head: 4),
                ],
                start
            ),
            at: now
        )
        #expect(Self.helloOrigin(first) == "dpupr#1")
        #expect(machine.isDraining)

        // Central holds all of dpupr#1: the next earlier origin, once the store is read.
        let welcomed = machine.handle(.received(try #require(Self.welcome(for: first, frontier: 5))), at: now)
        #expect(welcomed.contains(.readLinkStart))
        let second = machine.handle(.linkStartRead(start), at: now)
        #expect(Self.helloOrigin(second) == "dpupr#2")

        // Central holds more of dpupr#2 than this store: nothing to offer, on to the current.
        var refusal = Sambat_Sync_V1_Error()
        refusal.code = .storeBehind
        let behind = machine.handle(.received(.error(refusal)), at: now)
        #expect(behind.contains(.readLinkStart))
        let current = machine.handle(.linkStartRead(start), at: now)
        #expect(Self.helloOrigin(current) == "dpupr#3")
        #expect(!machine.isDraining)
        // The current origin is never "done": no further restart.
        let done = machine.handle(.received(try #require(Self.welcome(for: current, frontier: 2))), at: now)
        #expect(!done.contains(.readLinkStart))
    }

    /// dpupr's machine, started from `start` and welcomed by central.
    static func welcomedMachine(from start: NodeSync.LinkStart, at now: ContinuousClock.Instant) throws -> NodeSync {
        var machine = NodeSync(central: Self.central, settings: SyncSettings(), fetchesBlobs: false)
        let first = machine.handle(.started(current: Self.origin("dpupr#1"), earlier: [], start), at: now)
        _ = machine.handle(.received(try #require(Self.welcome(for: first, frontier: 0))), at: now)
        return machine
    }

    @Test func aFeedBatchThatCouldNotBeStoredLeadsToAHelloASecondLater() throws {
        let now = ContinuousClock.now
        let start = NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0)
        var machine = try Self.welcomedMachine(from: start, at: now)
        #expect(
            machine.handle(.feedNotStored, at: now).contains { if case .log(.error, _) = $0 { true } else { false } }
        )
        #expect(!machine.handle(.tick(localHead: 0), at: now + .milliseconds(500)).contains(.readLinkStart))
        #expect(machine.handle(.tick(localHead: 0), at: now + .seconds(1)).contains(.readLinkStart))
        #expect(!machine.handle(.tick(localHead: 0), at: now + .seconds(2)).contains(.readLinkStart))
        let again = machine.handle(.linkStartRead(start), at: now + .seconds(2))
        #expect(Self.helloOrigin(again) == "dpupr#1")
    }

    @Test func batchesBehindOneThatCouldNotBeStoredAreNotAppliedPastIt() throws {
        // Applying them would save a checkpoint beyond the batch that failed, and the HELLO
        // of the retry would then never ask for its ops again.
        let now = ContinuousClock.now
        let start = NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0)
        var machine = try Self.welcomedMachine(from: start, at: now)
        let failing = SyncMachineTests.batch(id: 1, last: 2, count: 2)
        #expect(machine.handle(.received(.batch(failing)), at: now).contains(.applyFeed(failing)))
        _ = machine.handle(.feedNotStored, at: now)
        let behind = SyncMachineTests.batch(id: 2, last: 4, count: 2)
        let actions = machine.handle(.received(.batch(behind)), at: now + .milliseconds(10))
        #expect(!actions.contains { if case .applyFeed = $0 { true } else { false } })
        // The retry asks for the feed from the checkpoint before the batch that failed.
        _ = machine.handle(.tick(localHead: 0), at: now + .seconds(1))
        let again = machine.handle(.linkStartRead(start), at: now + .seconds(1))
        let hello = try #require(
            again.lazy.compactMap { if case .send(.hello(let hello), _) = $0 { hello } else { nil } }.first
        )
        #expect(hello.feedCheckpoint == 0)
        let replayed = SyncMachineTests.batch(id: 1, last: 2, count: 2)
        _ = machine.handle(.received(try #require(Self.welcome(for: again, frontier: 0))), at: now + .seconds(1))
        #expect(machine.handle(.received(.batch(replayed)), at: now + .seconds(1)).contains(.applyFeed(replayed)))
    }

    @Test func anOfficeLooksForMissingBlobsAtMostOnceASecondWhileTheLinkIsUp() throws {
        let now = ContinuousClock.now
        for fetches in [true, false] {
            var machine = NodeSync(central: Self.central, settings: SyncSettings(), fetchesBlobs: fetches)
            let start = NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0)
            let first = machine.handle(.started(current: Self.origin("dpupr#1"), earlier: [], start), at: now)
            #expect(!first.contains(.readMissingBlobs(after: nil)), "looked for blobs before the link was up")
            let ready = machine.handle(.received(try #require(Self.welcome(for: first, frontier: 0))), at: now)
            #expect(ready.contains(.readMissingBlobs(after: nil)) == fetches)
            let cursor = [UInt8](repeating: 9, count: 32)
            _ = machine.handle(.missingBlobsRead([], lastSeen: cursor), at: now)
            #expect(!machine.handle(.tick(localHead: 0), at: now + .milliseconds(900)).contains { $0.readsMissing })
            let next = machine.handle(.tick(localHead: 0), at: now + .seconds(1))
            // The next look pages on from the last blob seen.
            #expect(next.contains(.readMissingBlobs(after: cursor)) == fetches)
        }
    }
}

extension CentralHub.Action {
    /// The message this action sends to `connection`, if it sends one there.
    func sentMessage(to connection: CentralHub.Connection) -> SyncMessage? {
        if case .send(let message, let to, _) = self, to == connection { return message }
        return nil
    }
}

extension SyncMessage {
    var errorCode: Sambat_Sync_V1_Error.Code? {
        if case .error(let error) = self { return error.code }
        return nil
    }
}

extension NodeSync.Action {
    var readsMissing: Bool {
        if case .readMissingBlobs = self { return true }
        return false
    }
}
