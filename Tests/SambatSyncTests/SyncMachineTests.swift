import Foundation
import SambatCore
import SambatSync
import Testing

/// The protocol's state machines without any I/O: event in, actions out.
@Suite struct SyncMachineTests {
    static let origin: Origin = {
        guard let origin = try? Origin(parsing: "dpupr#1") else { preconditionFailure("bad origin") }
        return origin
    }()
    static let central: NodeID = {
        guard let node = try? NodeID("central") else { preconditionFailure("bad node") }
        return node
    }()

    static func sentHello(_ actions: [NodeLink.Action]) -> Sambat_Sync_V1_Hello? {
        for case .send(.hello(let hello)) in actions { return hello }
        return nil
    }

    static func welcome(session: UInt64, frontier: UInt64 = 0, from: UInt64 = 0) -> SyncMessage {
        var welcome = Sambat_Sync_V1_Welcome()
        welcome.session = session
        welcome.frontier = frontier
        welcome.feedFrom = from
        welcome.credit = 4
        welcome.maxBatchOps = 500
        welcome.maxBatchBytes = 1 << 20
        return .welcome(welcome)
    }

    static func feedBatch(id: UInt64, last: UInt64, count: Int) -> SyncMessage {
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = id
        batch.ops = Array(repeating: Data([1]), count: count)
        batch.receivedAtMs = Array(repeating: 1, count: count)
        batch.feedPosition = last
        return .batch(batch)
    }

    /// A link that said HELLO and got its WELCOME.
    static func readyLink(at now: ContinuousClock.Instant) -> NodeLink {
        var link = NodeLink(origin: origin, central: central)
        let hello = sentHello(link.handle(.connect(localHead: 0, checkpoint: 0), at: now))
        _ = link.handle(.received(welcome(session: hello?.session ?? 0)), at: now)
        return link
    }

    @Test func aRefusedFeedBatchIsNeverSkippedByTheOneBehindIt() {
        let now = ContinuousClock.now
        var link = Self.readyLink(at: now)
        #expect(link.handle(.received(Self.feedBatch(id: 1, last: 10, count: 10)), at: now).contains { $0.isApply })
        #expect(link.handle(.received(Self.feedBatch(id: 2, last: 20, count: 10)), at: now).contains { $0.isApply })
        _ = link.handle(.feedRefused(batchID: 1, SyncProtocolError(.invalidBatch, "bad op")), at: now)
        // Batch 3 follows batch 2, but batch 1 was never applied: no apply, a new HELLO instead.
        let after = link.handle(.received(Self.feedBatch(id: 3, last: 30, count: 10)), at: now)
        #expect(!after.contains { $0.isApply })
        #expect(Self.sentHello(after) != nil)
    }

    @Test func aFeedGapMakesTheNodeSayHelloInsteadOfApplying() {
        let now = ContinuousClock.now
        var link = Self.readyLink(at: now)
        let actions = link.handle(.received(Self.feedBatch(id: 1, last: 30, count: 10)), at: now)
        #expect(!actions.contains { $0.isApply })
        #expect(Self.sentHello(actions) != nil)
    }

    @Test func anUploadNeverAcknowledgedLeadsToANewHello() {
        let start = ContinuousClock.now
        var link = Self.readyLink(at: start)
        let read = link.handle(.tick(localHead: 3), at: start)
        guard case .readLocalOps(_, _, _, let generation)? = read.first(where: { $0.isRead }) else {
            Issue.record("expected a read of local ops")
            return
        }
        _ = link.handle(.localOpsRead([[1], [2], [3]], lastSeq: 3, generation: generation), at: start)
        // Central keeps answering pings, but the batch's ACK never comes.
        var later = start
        var hello: Sambat_Sync_V1_Hello?
        for _ in 0..<40 {
            later = later + .seconds(1)
            _ = link.handle(.received(.pong(.init())), at: later)
            hello = Self.sentHello(link.handle(.tick(localHead: 3), at: later))
            if hello != nil { break }
        }
        #expect(hello != nil)
        #expect(later - start >= link.settings.linkTimeout)
    }

    @Test func aWelcomeForAnOlderHelloIsIgnored() {
        let now = ContinuousClock.now
        var link = NodeLink(origin: Self.origin, central: Self.central)
        let first = Self.sentHello(link.handle(.connect(localHead: 0, checkpoint: 0), at: now))
        let second = Self.sentHello(link.handle(.connect(localHead: 0, checkpoint: 0), at: now))
        #expect(first?.session != second?.session)
        _ = link.handle(.received(Self.welcome(session: first?.session ?? 0)), at: now)
        #expect(link.phase == .awaitingWelcome)
        _ = link.handle(.received(Self.welcome(session: second?.session ?? 0)), at: now)
        #expect(link.phase == .ready)
    }

    @Test func centralResendsAFeedBatchThePeerNeverAcknowledged() throws {
        let start = ContinuousClock.now
        var session = PeerSession(node: try NodeID("dpupr"), role: .office, routingID: [1])
        var hello = Sambat_Sync_V1_Hello()
        hello.node = "dpupr"
        hello.origin = "dpupr#1"
        let opened = session.handle(.hello(hello, frontier: 0, feedHead: 5), at: start)
        guard case .readFeed(let after, _, let generation)? = opened.first(where: { $0.isFeedRead }) else {
            Issue.record("expected a feed read")
            return
        }
        #expect(after == 0)
        _ = session.handle(
            .feedRead(
                ops: [[1], [2], [3], [4], [5]],
                receivedAt: [1, 1, 1, 1, 1],
                lastPosition: 5,
                generation: generation
            ),
            at: start
        )
        // The ACK never comes; once the link timeout passed, the feed is read again from 0.
        let early = session.handle(.feedHead(5), at: start + .seconds(1))
        #expect(!early.contains { $0.isFeedRead })
        let late = session.handle(.feedHead(5), at: start + session.settings.linkTimeout + .seconds(1))
        guard case .readFeed(let again, _, _)? = late.first(where: { $0.isFeedRead }) else {
            Issue.record("expected the feed to be read again")
            return
        }
        #expect(again == 0)
    }

    @Test func batchIDsContinueAcrossSessionsOfTheSameNode() throws {
        let session = PeerSession(node: try NodeID("dpupr"), role: .office, routingID: [1], firstBatchID: 42)
        #expect(session.nextBatchID == 42)
    }
}

extension NodeLink.Action {
    var isApply: Bool {
        if case .applyFeed = self { return true }
        return false
    }

    var isRead: Bool {
        if case .readLocalOps = self { return true }
        return false
    }
}

extension PeerSession.Action {
    var isFeedRead: Bool {
        if case .readFeed = self { return true }
        return false
    }
}
