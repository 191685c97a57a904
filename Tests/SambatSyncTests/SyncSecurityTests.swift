import Foundation
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Testing

/// What an enrolled node cannot do through the protocol: replay another node's traffic,
/// write or read another office's cases, or (the mayor) write at all.
@Suite(.timeLimit(.minutes(1)), .serialized) struct SyncSecurityTests {
    typealias RawNode = SyncBadInputTests.RawNode

    /// A correctly formed op by `node` (incarnation 1) on `caseID`, as its store would author it.
    static func op(
        by node: NodeID,
        incarnation: UInt32 = 1,
        seq: UInt64,
        _ body: OpBody,
        on caseID: CaseID,
        after state: CaseState,
        epoch: UInt32 = 1
    ) throws -> SealedOp {
        try SealedOp(
            sealing: Op(
                id: try OpID(origin: try Origin(parsing: "\(node.rawValue)#\(incarnation)"), seq: seq),
                lamport: state.lamport + seq,
                caseID: caseID,
                epoch: epoch,
                context: state.vector,
                actor: SyncWorld.actor("\(node.rawValue).petugas"),
                at: .now,
                body: body
            )
        )
    }

    /// Says HELLO and waits for WELCOME.
    static func join(_ raw: inout RawNode, as node: NodeID, incarnation: UInt32 = 1) async throws {
        var hello = Sambat_Sync_V1_Hello()
        hello.node = node.rawValue
        hello.origin = "\(node.rawValue)#\(incarnation)"
        try await raw.send(SyncFrames.encode(.hello(hello)))
        guard case .welcome = try await raw.nextReply() else {
            throw CancellationError()
        }
    }

    @Test func trafficReplayedFromAnotherNodesConnectionChangesNothing() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let context = try ZMQContext()
        let state = try #require(try await central.caseState(caseID))
        // What dpupr would send: its acknowledgement of its own case.
        let captured = SyncFrames.encode(
            SyncBadInputTests.batch(
                7,
                [try Self.op(by: SyncWorld.dpupr, seq: 1, .acknowledged, on: caseID, after: state)]
            )
        )
        let before = try await SyncWorld.hashes(central, caseID)

        // Replayed by dlh: central attributes it to dlh (its key), and the op is not dlh's.
        var dlh = try await RawNode(world, SyncWorld.dlh, endpoint: hub.endpoint, context: context)
        try await Self.join(&dlh, as: SyncWorld.dlh)
        try await dlh.send(captured)
        guard case .error(let refused) = try await dlh.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(refused.code == .invalidBatch)
        // Replayed by the mayor: the mayor uploads nothing.
        var mayor = try await RawNode(world, SyncWorld.mayor, endpoint: hub.endpoint, context: context)
        try await Self.join(&mayor, as: SyncWorld.mayor)
        try await mayor.send(captured)
        guard case .error(let fromMayor) = try await mayor.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(fromMayor.code == .unexpectedMessage)
        #expect(try await SyncWorld.hashes(central, caseID) == before)
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        #expect(try await central.quarantine().isEmpty)
        await dlh.socket.close()
        await mayor.socket.close()
        await context.terminate()
    }

    @Test func anOfficeCanNeitherWriteNorReadAnotherOfficesCase() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 1)  // dpupr's case
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let context = try ZMQContext()
        let state = try #require(try await central.caseState(caseID))
        let before = try await SyncWorld.hashes(central, caseID)

        // dlh writes on dpupr's case with its own, correctly formed op (claiming dpupr's epoch),
        // under an incarnation its real store does not use.
        var dlh = try await RawNode(world, SyncWorld.dlh, endpoint: hub.endpoint, context: context)
        try await Self.join(&dlh, as: SyncWorld.dlh, incarnation: 7)
        let forged = try Self.op(
            by: SyncWorld.dlh,
            incarnation: 7,
            seq: 1,
            .resolved(.init(summary: "Selesai")),
            on: caseID,
            after: state
        )
        try await dlh.send(SyncFrames.encode(SyncBadInputTests.batch(1, [forged])))
        guard case .ack(let ack) = try await dlh.nextReply() else {
            Issue.record("expected an ACK with a refusal")
            return
        }
        #expect(ack.refused.map(\.seq) == [1])
        #expect(try await SyncWorld.hashes(central, caseID) == before)
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        #expect(try await central.quarantine().map(\.id) == [forged.op.id])
        // The refused op reaches no one: the mayor's feed and dpupr's feed do not carry it.
        for peer in [SyncWorld.mayor, SyncWorld.dpupr] {
            let feed = try await central.feedBytes(for: peer, after: 0, limit: 1_000)
            #expect(!feed.contains { $0.bytes == forged.bytes })
        }
        await dlh.socket.close()

        // And dlh reads nothing of it: a real dlh node syncing holds no op of the case.
        let dlhStore = try world.open(SyncWorld.dlh, .office)
        let dlhLink = world.startNode(dlhStore, endpoint: hub.endpoint)
        defer { dlhLink.task.cancel() }
        try await eventually("dlh syncs") { dlhLink.service.status.linkUp }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await dlhStore.caseIDs().isEmpty)
        #expect(try await central.feedBytes(for: SyncWorld.dlh, after: 0, limit: 1_000).isEmpty)
        await context.terminate()
    }
}
