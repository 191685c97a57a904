import Foundation
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Testing

/// What central does with broken, hostile or repeated input from an enrolled node: an ERROR
/// with a reason, nothing changed, and every other peer still served.
@Suite(.timeLimit(.minutes(1)), .serialized) struct SyncBadInputTests {
    /// A raw CURVE DEALER speaking as `node`, for sending exactly what a test wants.
    struct RawNode {
        let socket: ZMQSocket
        var inbox: ZMQSocket.Messages.Iterator

        init(
            _ world: SyncWorld,
            _ node: NodeID,
            routingID: String? = nil,
            endpoint: String,
            context: ZMQContext
        ) async throws {
            var options = ZMQSocket.Options()
            options.curve = .client(world.key(node), serverPublicKey: world.centralKeys.publicKey)
            options.routingID = routingID
            socket = try await ZMQSocket.open(.dealer, context: context, connect: endpoint, options: options)
            inbox = socket.messages.makeAsyncIterator()
        }

        func send(_ frames: [[UInt8]]) async throws { try await socket.send(frames) }

        /// The next message that is not a PING, BATCH or PONG (which central may send any time).
        mutating func nextReply() async throws -> SyncMessage {
            while let message = await inbox.next() {
                let decoded = try SyncFrames.decode(message.frames)
                switch decoded {
                case .ping, .pong, .batch: continue
                default: return decoded
                }
            }
            throw CancellationError()
        }
    }

    static func hello(_ node: NodeID, lastSeq: UInt64) -> SyncMessage {
        var hello = Sambat_Sync_V1_Hello()
        hello.node = node.rawValue
        hello.origin = "\(node.rawValue)#1"
        hello.lastSeq = lastSeq
        return .hello(hello)
    }

    static func batch(_ id: UInt64, _ ops: [SealedOp]) -> SyncMessage {
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = id
        batch.ops = ops.map { Data($0.bytes) }
        return .batch(batch)
    }

    @Test func brokenInputGetsAnErrorChangesNothingAndOthersAreStillServed() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let context = try ZMQContext()
        // A routing id in use cannot be taken over by another connection (no ROUTER_HANDOVER):
        // dpupr claiming dlh's routing id gets nothing, and dlh keeps its replies.
        var holder = try await RawNode(
            world,
            SyncWorld.dlh,
            routingID: "shared",
            endpoint: hub.endpoint,
            context: context
        )
        try await holder.send(SyncFrames.encode(Self.hello(SyncWorld.dlh, lastSeq: 0)))
        guard case .welcome = try await holder.nextReply() else {
            Issue.record("expected WELCOME")
            return
        }
        let claimant = try await RawNode(
            world,
            SyncWorld.dpupr,
            routingID: "shared",
            endpoint: hub.endpoint,
            context: context
        )
        _ = await claimant.socket.send(
            SyncFrames.encode(Self.hello(SyncWorld.dpupr, lastSeq: 0)),
            within: .milliseconds(500)
        )
        try await holder.send(SyncFrames.encode(Self.hello(SyncWorld.dlh, lastSeq: 0)))
        guard case .welcome = try await holder.nextReply() else {
            Issue.record("expected WELCOME")
            return
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(hub.service.connectedPeers == [SyncWorld.dlh])
        await claimant.socket.close()
        await holder.socket.close()
        var raw = try await RawNode(world, SyncWorld.dpupr, endpoint: hub.endpoint, context: context)

        // Before HELLO: told to say HELLO.
        try await raw.send(SyncFrames.encode(.ping(.init())))
        try await raw.send(SyncFrames.encode(Self.batch(1, [])))
        for _ in 0..<2 {
            guard case .error(let early) = try await raw.nextReply() else {
                Issue.record("expected an ERROR")
                return
            }
            #expect(early.code == .helloRequired)
        }

        // Garbage frames, an unknown type, another protocol version, a body that is not protobuf.
        let cases: [([[UInt8]], Sambat_Sync_V1_Error.Code)] = [
            ([[1]], .malformed),
            ([[1, 3, 9], [0]], .malformed),
            ([[1, 99], []], .unexpectedMessage),
            ([[2, 1], []], .unsupportedVersion),
            ([[1, 3], [0xFF, 0xFF, 0xFF]], .malformed),
        ]
        for (frames, code) in cases {
            try await raw.send(frames)
            guard case .error(let error) = try await raw.nextReply() else {
                Issue.record("expected an ERROR")
                return
            }
            #expect(error.code == code, "frames \(frames)")
        }

        // A proper session: HELLO, then bad batches.
        try await raw.send(SyncFrames.encode(Self.hello(SyncWorld.dpupr, lastSeq: 2)))
        guard case .welcome = try await raw.nextReply() else {
            Issue.record("expected WELCOME")
            return
        }
        let state = try #require(try await central.caseState(caseID))
        let origin = try Origin(parsing: "dpupr#1")
        func op(_ seq: UInt64, _ body: OpBody) throws -> SealedOp {
            var context = state.vector
            if seq > 1 { context.record(try OpID(origin: origin, seq: seq - 1)) }
            return try SealedOp(
                sealing: Op(
                    id: try OpID(origin: origin, seq: seq),
                    lamport: state.lamport + seq,
                    caseID: caseID,
                    epoch: 1,
                    context: context,
                    actor: SyncWorld.actor("dpupr.budi"),
                    at: .now,
                    body: body
                )
            )
        }
        let acknowledged = try op(1, .acknowledged)
        let started = try op(2, .started)
        let before = try await central.ops(ofCase: caseID).count

        // Ops out of seq order: refused whole.
        try await raw.send(SyncFrames.encode(Self.batch(10, [started, acknowledged])))
        guard case .error(let unordered) = try await raw.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(unordered.code == .invalidBatch)
        #expect(unordered.batchID == 10)
        // Bytes that are not an op: refused whole.
        var garbage = Sambat_Sync_V1_Batch()
        garbage.batchID = 11
        garbage.ops = [Data(acknowledged.bytes), Data([1, 2, 3])]
        try await raw.send(SyncFrames.encode(.batch(garbage)))
        guard case .error(let undecodable) = try await raw.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(undecodable.code == .invalidBatch)
        // More ops than a batch may carry.
        var oversized = Sambat_Sync_V1_Batch()
        oversized.batchID = 12
        oversized.ops = Array(repeating: Data(acknowledged.bytes), count: 501)
        try await raw.send(SyncFrames.encode(.batch(oversized)))
        guard case .error(let tooBig) = try await raw.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(tooBig.code == .invalidBatch)
        #expect(try await central.ops(ofCase: caseID).count == before)

        // A good batch, then the same batch twice more (a resend and a replay): one change only.
        try await raw.send(SyncFrames.encode(Self.batch(20, [acknowledged, started])))
        guard case .ack(let ack) = try await raw.nextReply() else {
            Issue.record("expected an ACK")
            return
        }
        #expect(ack.batchID == 20)
        #expect(ack.frontier == 2)
        let afterFirst = try await SyncWorld.hashes(central, caseID)
        for id in [21, 22] as [UInt64] {
            try await raw.send(SyncFrames.encode(Self.batch(id, [acknowledged, started])))
            guard case .ack(let again) = try await raw.nextReply() else {
                Issue.record("expected an ACK")
                return
            }
            #expect(again.frontier == 2)
        }
        #expect(try await SyncWorld.hashes(central, caseID) == afterFirst)
        #expect(try await central.caseState(caseID)?.status == .inProgress)

        // Reusing seq 2 with other bytes: never accepted, recorded as an integrity alarm.
        let forged = try op(2, .noted(.init(text: "lain", visibility: .internal)))
        try await raw.send(SyncFrames.encode(Self.batch(30, [forged])))
        guard case .ack = try await raw.nextReply() else {
            Issue.record("expected an ACK")
            return
        }
        #expect(try await central.integrityAlarmCount() == 1)
        #expect(try await SyncWorld.hashes(central, caseID) == afterFirst)

        // Evidence of a case that is not dpupr's is not given to dpupr, nor a blob nobody holds.
        let dlhSecret = try await SyncWorld.dispatch(central, serial: 3, to: SyncWorld.dlh)
        let secret = try await central.blobs.put(Array("foto rahasia".utf8))
        _ = try await central.append(
            .evidenceAdded(.init(sha256: secret, size: 12, mimeType: "image/jpeg")),
            to: dlhSecret,
            actor: SyncWorld.operatorActor,
            at: .now
        )
        for sha256 in [secret, [UInt8](repeating: 7, count: 32)] {
            var ask = Sambat_Sync_V1_BlobRequest()
            ask.sha256 = Data(sha256)
            ask.length = 1_024
            try await raw.send(SyncFrames.encode(.blobRequest(ask)))
            var answer: Sambat_Sync_V1_BlobChunk?
            while answer == nil, let message = await raw.inbox.next() {
                if case .blobChunk(let chunk) = try SyncFrames.decode(message.frames) { answer = chunk }
            }
            #expect(answer?.unavailable == true)
            #expect(answer?.data.isEmpty == true)
        }

        // Through all of this, another office is served as usual.
        let other = try world.open(SyncWorld.dlh, .office)
        let dlhCase = try await SyncWorld.dispatch(central, serial: 2, to: SyncWorld.dlh)
        let link = world.startNode(other, endpoint: hub.endpoint)
        defer { link.task.cancel() }
        try await eventually("dlh receives its case") { try await other.caseState(dlhCase) != nil }
        await raw.socket.close()
        await context.terminate()
    }

    @Test func aConnectionWithAReplacedKeyCannotEndTheSessionOfTheNewKey() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let context = try ZMQContext()
        // The old laptop, connected with dpupr's first key.
        var stolen = try await RawNode(world, SyncWorld.dpupr, endpoint: hub.endpoint, context: context)
        try await stolen.send(SyncFrames.encode(Self.hello(SyncWorld.dpupr, lastSeq: 0)))
        guard case .welcome = try await stolen.nextReply() else {
            Issue.record("expected WELCOME")
            return
        }
        // IT enrols dpupr's new key; the new node links up with it.
        let newKeys = try CurveKeyPair.generate()
        try await central.enrolPeer(SyncWorld.dpupr, role: .office, publicKey: newKeys.publicKey, at: .now)
        let office = try world.open(SyncWorld.dpupr, .office)
        let link = world.startNode(office, endpoint: hub.endpoint, keys: newKeys)
        defer { link.task.cancel() }
        try await eventually("the new key links up") { link.service.status.linkUp }
        // The old connection keeps talking: it is refused, and the new session stays.
        var sessionLost = 0
        for _ in 0..<20 {
            try await stolen.send(SyncFrames.encode(.ping(.init())))
            try await Task.sleep(for: .milliseconds(20))
            if !hub.service.connectedPeers.contains(SyncWorld.dpupr) { sessionLost += 1 }
        }
        #expect(sessionLost == 0)
        guard case .error(let refused) = try await stolen.nextReply() else {
            Issue.record("expected an ERROR")
            return
        }
        #expect(refused.code == .notEnrolled)
        #expect(hub.service.connectedPeers.contains(SyncWorld.dpupr))
        #expect(link.service.status.linkUp)
        await stolen.socket.close()
        await context.terminate()
    }

    /// Found in review: a node dropped a message of another protocol version as malformed,
    /// then took central for silent (and would swap central keys during a rotation).
    @Test func aCentralAnsweringInAnotherProtocolVersionIsReportedAsARefusal() async throws {
        let world = try SyncWorld()
        let office = try world.open(SyncWorld.dpupr, .office)
        try await ZMQContext.withContext { context in
            try await ZAPHandler.serving(context: context, authorize: { key in "dpupr \(key)" }) {
                var options = ZMQSocket.Options()
                options.curve = .server(world.centralKeys)
                try await ZMQSocket.withSocket(.router, context: context, bind: "tcp://127.0.0.1:*", options: options) {
                    router in
                    // A central of protocol version 2: it answers everything in its own framing.
                    let answering = Task {
                        for await message in router.messages {
                            guard let connection = message.frames.first else { continue }
                            _ = await router.send([connection, [2, 5], []], within: .seconds(1))
                        }
                    }
                    defer { answering.cancel() }
                    let link = world.startNode(
                        office,
                        endpoint: router.endpoint,
                        nextCentralKey: try CurveKeyPair.generate().publicKey
                    )
                    defer { link.task.cancel() }
                    try await eventually("the office reports central's other protocol version") {
                        link.service.status.centralRefusal == .unsupportedVersion
                    }
                    #expect(!link.service.status.linkUp)
                    #expect(!link.service.status.centralSilent)
                }
            }
        }
    }
}
