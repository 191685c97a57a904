import Foundation
import SambatCore
import SambatStore
import SambatSync
import Testing

/// NODE_HEALTH: central tells a mayor that asks how every node's sync stands (connected,
/// last seen, ops behind both ways), and nobody else; the mayor keeps the latest report.
@Suite(.timeLimit(.minutes(2))) struct SyncHealthTests {
    static let mayor = PolicyMachineTests.node("mayor")
    static let dpupr = PolicyMachineTests.dpupr

    static func peer(_ node: NodeID, _ role: NodeRole) -> EnrolledPeer {
        EnrolledPeer(
            node: node,
            role: role,
            publicKey: PolicyMachineTests.key + node.rawValue,
            status: .active,
            changedAt: Timestamp(millisecondsSinceEpoch: 0)
        )
    }

    /// Admits `node` on `connection` with a HELLO that asks for health reports or not, and
    /// returns what the admission asked for.
    static func admit(
        _ node: NodeID,
        _ role: NodeRole,
        asking: Bool,
        lastSeq: UInt64 = 4,
        on connection: UInt8,
        to hub: inout CentralHub,
        at now: ContinuousClock.Instant
    ) throws -> [CentralHub.Action] {
        var hello = Sambat_Sync_V1_Hello()
        hello.node = node.rawValue
        hello.origin = "\(node.rawValue)#1"
        hello.lastSeq = lastSeq
        hello.nodeHealth = asking
        let enrolled = peer(node, role)
        let arrival = CentralHub.Arrival(
            connection: [connection],
            node: node,
            key: enrolled.publicKey,
            frames: SyncFrames.encode(.hello(hello))
        )
        _ = hub.handle(.arrived(arrival), at: now)
        let looked = hub.handle(.senderLookedUp(arrival, peer: enrolled, storeFailed: false), at: now)
        guard case .lookUpHello(let pending)? = looked.first else {
            Issue.record("expected the HELLO's facts to be looked up, got \(looked)")
            return []
        }
        return hub.handle(
            .helloLookedUp(pending, CentralHub.HelloFacts(frontier: 1, feedHead: 0, feedEpoch: 1)),
            at: now
        )
    }

    static func healthReads(
        _ actions: [CentralHub.Action]
    ) -> [(for: NodeID, heard: [NodeID: Duration], connected: Set<NodeID>)] {
        actions.compactMap {
            if case .readSyncHealth(let node, let heard, let connected) = $0 { (node, heard, connected) } else { nil }
        }
    }

    static func contacts(_ actions: [CentralHub.Action]) -> [(NodeID, UInt64)] {
        actions.compactMap {
            if case .recordContact(let node, _, let claimed, _) = $0 { (node, claimed) } else { nil }
        }
    }

    @Test func onlyAMayorThatAsksIsToldAndEveryPingInterval() throws {
        let start = ContinuousClock.now
        let settings = SyncSettings()
        var hub = CentralHub(settings: settings)

        // An office that asks is not told about the others.
        let office = try Self.admit(Self.dpupr, .office, asking: true, lastSeq: 4, on: 1, to: &hub, at: start)
        #expect(Self.healthReads(office).isEmpty)
        #expect(Self.contacts(office).map(\.0) == [Self.dpupr])
        #expect(Self.contacts(office).map(\.1) == [4], "the HELLO's last seq is the node's claim")

        // The mayor that asks is told at once, then every ping interval.
        let welcomed = try Self.admit(Self.mayor, .mayor, asking: true, on: 2, to: &hub, at: start)
        let first = try #require(Self.healthReads(welcomed).first)
        #expect(first.for == Self.mayor)
        #expect(first.connected == [Self.dpupr, Self.mayor])
        #expect(Self.healthReads(hub.handle(.tick, at: start + .seconds(1))).isEmpty)
        let later = Self.healthReads(hub.handle(.tick, at: start + settings.pingInterval))
        #expect(later.map(\.for) == [Self.mayor])

        // The report read is sent to the mayor's connection, and to nobody else.
        var report = Sambat_Sync_V1_NodeHealth()
        report.reportedAtMs = 1
        let sent = hub.handle(.syncHealthRead(Self.mayor, report), at: start + settings.pingInterval)
        #expect(sent.compactMap { $0.sentMessage(to: [2]) } == [.nodeHealth(report)])
        #expect(sent.compactMap { $0.sentMessage(to: [1]) }.isEmpty)

        // Nodes silent past the link timeout are reported as not connected, with their silence.
        let silent = Self.healthReads(hub.handle(.tick, at: start + .seconds(20)))
        let quiet = try #require(silent.first)
        #expect(quiet.connected.isEmpty)
        #expect(quiet.heard[Self.dpupr] == .seconds(20))

        // What the service publishes for /metrics: when each session was last heard from.
        #expect(hub.lastHeardBySession[Self.dpupr] == start)
        // A session that ends has its last contact saved, and is no longer published.
        let dropped = hub.handle(.sendFailed(Self.dpupr, connection: [1]), at: start + .seconds(21))
        #expect(Self.contacts(dropped).map(\.0) == [Self.dpupr])
        #expect(hub.lastHeardBySession[Self.dpupr] == nil)

        // A mayor that does not ask is not told.
        var quietHub = CentralHub(settings: settings)
        let plain = try Self.admit(Self.mayor, .mayor, asking: false, on: 3, to: &quietHub, at: start)
        #expect(Self.healthReads(plain).isEmpty)
        #expect(Self.healthReads(quietHub.handle(.tick, at: start + .seconds(6))).isEmpty)
    }

    @Test func aNodeSendingNodeHealthToCentralIsRefused() throws {
        let start = ContinuousClock.now
        var hub = CentralHub(settings: SyncSettings())
        _ = try Self.admit(Self.dpupr, .office, asking: false, on: 1, to: &hub, at: start)
        let enrolled = Self.peer(Self.dpupr, .office)
        let arrival = CentralHub.Arrival(
            connection: [1],
            node: Self.dpupr,
            key: enrolled.publicKey,
            frames: SyncFrames.encode(.nodeHealth(Sambat_Sync_V1_NodeHealth()))
        )
        let answer = hub.handle(.senderLookedUp(arrival, peer: enrolled, storeFailed: false), at: start)
        #expect(answer.compactMap { $0.sentMessage(to: [1])?.errorCode } == [.unexpectedMessage])
    }

    @Test func theMayorAsksAndKeepsOnlyTheValidEntriesWhileAnOfficeKeepsNothing() throws {
        let now = ContinuousClock.now
        var report = Sambat_Sync_V1_NodeHealth()
        report.reportedAtMs = 1_796_000_000_000
        var good = Sambat_Sync_V1_PeerHealth()
        good.node = "dpupr"
        good.role = "office"
        good.lastSeenMs = 1_795_999_990_000
        good.feedBehind = 7
        var badNode = good
        badNode.node = "<script>"
        var badRole = good
        badRole.node = "central"
        badRole.role = "central"
        report.nodes = [badNode, good, badRole]

        for role in [NodeRole.mayor, .office] {
            var machine = NodeSync(
                central: PolicyMachineTests.central,
                settings: SyncSettings(),
                fetchesBlobs: false,
                keepsNodeHealth: role == .mayor
            )
            let origin = PolicyMachineTests.origin(role == .mayor ? "mayor#1" : "dpupr#1")
            let start = NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0)
            let first = machine.handle(.started(current: origin, earlier: [], start), at: now)
            let hello = try #require(
                first.compactMap { action -> Sambat_Sync_V1_Hello? in
                    if case .send(.hello(let hello), _) = action { hello } else { nil }
                }
                .first
            )
            #expect(hello.nodeHealth == (role == .mayor))

            let kept = machine.handle(.received(.nodeHealth(report)), at: now).compactMap { action in
                if case .saveNodeHealth(let kept) = action { kept } else { nil }
            }
            if role == .mayor {
                let expected = NodeSyncHealth(
                    node: Self.dpupr,
                    role: .office,
                    connected: false,
                    lastSeenAt: Timestamp(millisecondsSinceEpoch: 1_795_999_990_000),
                    feedBehind: 7,
                    uploadBehind: 0
                )
                #expect(
                    kept == [
                        NodeHealthReport(
                            reportedAt: Timestamp(millisecondsSinceEpoch: 1_796_000_000_000),
                            nodes: [expected]
                        )
                    ]
                )
            } else {
                #expect(kept.isEmpty)
            }
        }

        // A report without a time, or of nothing valid, is not kept.
        var machine = NodeSync(
            central: PolicyMachineTests.central,
            settings: SyncSettings(),
            fetchesBlobs: false,
            keepsNodeHealth: true
        )
        _ = machine.handle(
            .started(
                current: PolicyMachineTests.origin("mayor#1"),
                earlier: [],
                NodeSync.LinkStart(localHead: 0, checkpoint: 0, feedEpoch: 0)
            ),
            at: now
        )
        var untimed = report
        untimed.reportedAtMs = 0
        var empty = report
        empty.nodes = [badNode]
        for bad in [untimed, empty] {
            #expect(
                !machine.handle(.received(.nodeHealth(bad)), at: now).contains {
                    if case .saveNodeHealth = $0 { true } else { false }
                }
            )
        }
    }

    @Test(.timeLimit(.minutes(2))) func theMayorSeesWhoIsConnectedWhoStoppedAndWhatIsWaiting() async throws {
        // Central counts a node connected while heard within its link timeout: the production
        // 15 s, so that a loaded test machine does not make the nodes look cut off.
        let star = try await SyncWorld().startStar(centralSettings: SyncWorld.productionTimeouts)
        defer { star.stop() }
        let (central, office, mayor, caseID) = (star.central, star.office, star.mayor, star.caseID)
        func health(_ node: NodeID) async throws -> NodeSyncHealth? {
            try await mayor.nodeHealthReport()?.nodes.first { $0.node == node }
        }

        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }
        _ = try await office.append(.acknowledged, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        try await eventually("the mayor is told both nodes are connected and nothing is waiting", timeout: .seconds(60))
        {
            guard let atOffice = try await health(SyncWorld.dpupr), let atMayor = try await health(SyncWorld.mayor)
            else { return false }
            return atOffice.connected && atMayor.connected && atOffice.opsBehind == 0 && atMayor.opsBehind == 0
                && atOffice.lastSeenAt != nil
        }
        // The dlh office is enrolled but never connected.
        let never = try #require(try await health(SyncWorld.dlh))
        #expect(!never.connected && never.lastSeenAt == nil)

        // The office stops; central dispatches it another case that it cannot receive.
        star.officeLink.task.cancel()
        _ = await star.officeLink.task.result
        let stoppedAt = Timestamp.now
        _ = try await SyncWorld.dispatch(central, serial: 2)
        let feedHead = try await central.feedHead(for: SyncWorld.dpupr)
        let acknowledged = try await central.checkpoint(for: SyncWorld.dpupr)
        #expect(feedHead > acknowledged)
        try await eventually("the mayor is told the office stopped and what waits for it", timeout: .seconds(60)) {
            guard let atOffice = try await health(SyncWorld.dpupr), let seen = atOffice.lastSeenAt else { return false }
            return !atOffice.connected && atOffice.feedBehind == feedHead - acknowledged
                && seen.millisecondsSinceEpoch <= stoppedAt.millisecondsSinceEpoch + 1_000
        }

        // What the office said it wrote beyond central's frontier counts as upload behind.
        let origin = try await office.currentOrigin()
        let held = try await central.frontier(of: origin)
        try await central.recordContact(of: SyncWorld.dpupr, origin: origin, claimedSeq: held + 3, at: .now)
        let read = try await central.syncHealth(heard: [:], connected: [])
        #expect(read.first { $0.node == SyncWorld.dpupr }?.uploadBehind == 3)
        #expect(read.map(\.node) == [SyncWorld.dlh, SyncWorld.dpupr, SyncWorld.mayor])
    }
}
