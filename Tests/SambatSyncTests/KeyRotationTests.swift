import Foundation
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Testing

/// Rotating an office's key and central's key without losing sync state, and the old key
/// presented late.
@Suite(.timeLimit(.minutes(2)), .serialized) struct KeyRotationTests {
    static let officer = SyncWorld.actor("dpupr.budi")

    @Test func anOfficeRotatedToANewKeyKeepsItsSyncStateAndItsOldKeyIsRefused() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let office = try world.open(SyncWorld.dpupr, .office)
        let first = world.startNode(office, endpoint: hub.endpoint)
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }
        try await eventually("the office saved its place in the feed") {
            try await office.checkpoint(for: SyncWorld.central) == central.feedHead(for: SyncWorld.dpupr)
        }
        first.task.cancel()
        _ = await first.task.result
        let checkpoint = try await office.checkpoint(for: SyncWorld.central)
        let origin = try await office.currentOrigin()

        // While it is stopped, the office works on; IT enrols its new key at central.
        let ack = try await office.append(.acknowledged, to: caseID, actor: Self.officer, at: .now)
        let newKeys = try CurveKeyPair.generate()
        try await central.enrolPeer(SyncWorld.dpupr, role: .office, publicKey: newKeys.publicKey, at: .now)

        // The old key, presented late (a copy of the old PC): central's ZAP handler refuses it
        // in the handshake, before any message, and the node reports it is not enrolled.
        let stale = world.startNode(office, endpoint: hub.endpoint)
        try await eventually("the old key is refused") { stale.service.status.centralRefusal == .notEnrolled }
        #expect(!stale.service.status.linkUp)
        stale.task.cancel()
        _ = await stale.task.result

        // With the new key: the same store, the same origin and feed position.
        let rotated = world.startNode(office, endpoint: hub.endpoint, keys: newKeys)
        defer { rotated.task.cancel() }
        try await eventually("central holds the change made before the rotation") {
            try await central.caseState(caseID)?.status == .acknowledged
        }
        #expect(try await office.currentOrigin() == origin)
        #expect(try await central.ops(ofCase: caseID).contains { $0.sealed.op.id == ack.sealed.op.id })
        // The feed went on from where it was, not from the start.
        #expect(try await office.checkpoint(for: SyncWorld.central) >= checkpoint)
        let second = try await SyncWorld.dispatch(central, serial: 2)
        try await eventually("a new case reaches the office") { try await office.caseState(second) != nil }
        #expect(try await central.integrityAlarmCount() == 0)
    }

    @Test func nodesFollowCentralToItsNewKeyAndAnOldOnlyConfigIsNotAnswered() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        let newCentralKeys = try CurveKeyPair.generate()
        // Step 1: every node's config learns central's next key; they work on as before.
        let office = try world.open(SyncWorld.dpupr, .office)
        let link = world.startNode(office, endpoint: endpoint, nextCentralKey: newCentralKeys.publicKey)
        defer { link.task.cancel() }
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }

        // Step 2: central restarts with its new key, on the same endpoint and store.
        hub.task.cancel()
        _ = await hub.task.result
        _ = try await office.append(.acknowledged, to: caseID, actor: Self.officer, at: .now)
        hub = try await world.startCentral(central, endpoint: endpoint, keyPair: newCentralKeys)
        defer { hub.task.cancel() }
        try await eventually("the office follows central to its new key", timeout: .seconds(30)) {
            try await central.caseState(caseID)?.status == .acknowledged
        }
        let second = try await SyncWorld.dispatch(central, serial: 2)
        try await eventually("central's work reaches the office") { try await office.caseState(second) != nil }
        #expect(link.service.status.unsent == 0)

        // A node whose config still holds only the old key gets no answer.
        let mayor = try world.open(SyncWorld.mayor, .mayor)
        let stale = world.startNode(mayor, endpoint: endpoint)
        defer { stale.task.cancel() }
        try await eventually("the old central key gets no answer") { stale.service.status.centralSilent }
        #expect(!stale.service.status.linkUp)
        #expect(try await mayor.caseIDs().isEmpty)
    }
}
