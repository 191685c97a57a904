import Foundation
import GRDB
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Synchronization
import Testing

/// Central, offices and the mayor over real CURVE sockets on 127.0.0.1, in one process.
@Suite(.timeLimit(.minutes(2)), .serialized) struct SyncIntegrationTests {
    @Test func dispatchReachesTheOfficeAndItsWorkReachesCentralAndTheMayor() async throws {
        let star = try await SyncWorld().startStar()
        defer { star.stop() }
        let (central, office, mayor, caseID) = (star.central, star.office, star.mayor, star.caseID)

        try await eventually("the office holds the dispatched case") {
            try await office.caseState(caseID)?.status == .dispatched
        }
        _ = try await office.append(.acknowledged, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        _ = try await office.append(.started, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        try await eventually("central and the mayor see the office's work") {
            let atCentral = try await central.caseState(caseID)?.status
            let atMayor = try await mayor.caseState(caseID)?.status
            return atCentral == .inProgress && atMayor == .inProgress
        }
        try await eventually("the office knows central holds its ops") { star.officeLink.service.status.unsent == 0 }
        let reference = try await SyncWorld.hashes(central, caseID)
        #expect(reference.count == 5)
        try await eventually("every node holds the same ops") {
            let atOffice = try await SyncWorld.hashes(office, caseID)
            let atMayor = try await SyncWorld.hashes(mayor, caseID)
            return atOffice == reference && atMayor == reference
        }
        #expect(star.hub.service.connectedPeers == [SyncWorld.dpupr, SyncWorld.mayor])
        #expect(try await central.integrityAlarmCount() == 0)
    }

    /// A quiet link ticks rarely (here: every ten minutes), yet an op written in the node's
    /// own process is uploaded at once (the store wakes the link), and so is one written by
    /// another process, as the office CLI writes (the store's files changed).
    @Test(arguments: [false, true])
    func aLocalWriteOnAQuietLinkIsUploadedAtOnce(byAnotherProcess: Bool) async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        let hub = try await world.startCentral(central)
        var settings = SyncWorld.settings
        settings.idlePollInterval = .seconds(600)
        settings.pingInterval = .seconds(600)
        let link = world.startNode(office, endpoint: hub.endpoint, settings: settings)
        defer {
            link.task.cancel()
            hub.task.cancel()
        }
        try await eventually("the office holds the case") { try await office.caseState(caseID)?.status == .dispatched }
        try await eventually("the link is quiet") { link.service.status.quiet }
        // Past the last fast tick, so only the store's signal can wake the link.
        try await Task.sleep(for: .milliseconds(200))

        let writer = byAnotherProcess ? try world.open(SyncWorld.dpupr, .office) : office
        _ = try await writer.append(.acknowledged, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        try await eventually("central holds the office's op", timeout: .seconds(10)) {
            try await central.caseState(caseID)?.status == .acknowledged
        }
        try await eventually("the link is quiet again") { link.service.status.quiet }
    }

    @Test func workDoneWhileCentralIsDownArrivesAfterItRestarts() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 7)
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        // Every node timer at ten minutes: the office relinks when its socket monitor sees
        // central back, not when a timer runs out.
        let officeLink = world.startNode(office, endpoint: endpoint, settings: SyncWorld.patientTimers)
        defer { officeLink.task.cancel() }
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }

        // Central goes down; the office keeps working.
        hub.task.cancel()
        _ = await hub.task.result
        try await eventually("the office holds the case") {
            try await office.caseState(caseID)?.status == .dispatched
        }
        let officer = SyncWorld.actor("dpupr.budi")
        _ = try await office.append(.acknowledged, to: caseID, actor: officer, at: .now)
        _ = try await office.append(.started, to: caseID, actor: officer, at: .now)
        _ = try await office.append(
            .resolved(.init(summary: "Jalan sudah ditambal")),
            to: caseID,
            actor: officer,
            at: .now
        )
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        try await eventually("the office counts three unsent ops") { officeLink.service.status.unsent == 3 }

        // Central comes back on the same endpoint: the office's ops arrive.
        hub = try await world.startCentral(central, endpoint: endpoint)
        defer { hub.task.cancel() }
        try await eventually("central holds the office's work") {
            try await central.caseState(caseID)?.status == .resolved
        }
        try await eventually("the office's outbox is empty") { officeLink.service.status.unsent == 0 }
        #expect(try await SyncWorld.hashes(office, caseID) == SyncWorld.hashes(central, caseID))
        #expect(officeLink.service.status.handshakesFailed == 0)
    }

    /// A feed batch waiting for the store's write lock (held here by another connection, as
    /// the office CLI may hold it) holds up only the feed: the office's uploads go on.
    @Test func anOfficeUploadsWhileAFeedBatchWaitsForTheWriteLock() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        // Uploads of 5 ops, at most 4 unacknowledged: 30 ops need ACKs while the lock is held.
        var settings = SyncWorld.settings
        settings.maximumBatchOps = 5
        let hub = try await world.startCentral(central, settings: settings)
        defer { hub.task.cancel() }
        let first = world.startNode(office, endpoint: hub.endpoint)
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }
        first.task.cancel()
        _ = await first.task.result

        for number in 1...30 {
            let note = OpBody.noted(.init(text: "Catatan lapangan \(number)", visibility: .internal))
            _ = try await office.append(note, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        }
        let head = try await office.localHead()
        let origin = try await office.currentOrigin()
        let next = try await SyncWorld.dispatch(central, serial: 2)
        let lock = WriteLockHolder(try DatabaseQueue(path: office.path))
        defer { lock.release() }
        try await eventually("another connection holds the office's write lock") { lock.isHeld }
        let link = world.startNode(office, endpoint: hub.endpoint)
        defer { link.task.cancel() }
        // Well within the store's busy timeout (5 s), after which the feed batch would fail.
        try await eventually("central holds the office's work while its store is locked", timeout: .seconds(3)) {
            try await central.frontier(of: origin) >= head
        }
        #expect(try await office.caseState(next) == nil, "the feed waits for the lock")
        lock.release()
        try await eventually("the feed batch is applied once the lock is free") {
            try await office.caseState(next) != nil
        }
    }

    /// A feed batch the office cannot store (another connection holds its write lock past the
    /// busy timeout), and the batches central sent behind it, all arrive after the retry: the
    /// checkpoint never passes a batch that was not stored.
    @Test func feedBatchesThatCouldNotBeStoredArriveAfterTheRetry() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        var cases: [CaseID] = []
        for serial in 1...12 { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
        let office = try Store.open(
            StoreConfiguration(path: "\(world.directory)/\(SyncWorld.dpupr).sqlite", busyTimeout: .milliseconds(300)),
            identity: NodeIdentity(node: SyncWorld.dpupr, role: .office, central: SyncWorld.central)
        )
        // Feed batches of 3 ops, 4 unacknowledged: several wait behind the one that fails.
        var settings = SyncWorld.settings
        settings.maximumBatchOps = 3
        let hub = try await world.startCentral(central, settings: settings)
        defer { hub.task.cancel() }
        let lock = WriteLockHolder(try DatabaseQueue(path: office.path))
        defer { lock.release() }
        try await eventually("another connection holds the office's write lock") { lock.isHeld }
        let link = world.startNode(office, endpoint: hub.endpoint)
        defer { link.task.cancel() }
        try await eventually("the office could not store a feed batch") {
            world.log.all.contains { $0.contains("could not apply a feed batch") }
        }
        // Free at once: the batches behind the failed one would now be stored, past it.
        lock.release()
        try await eventually("the office holds every case") { try await office.caseIDs().count == cases.count }
        let head = try await central.feedHead(for: SyncWorld.dpupr)
        try await eventually("the office's checkpoint reaches central's feed head") {
            try await office.checkpoint(for: SyncWorld.central) == head
        }
        for caseID in cases {
            #expect(try await SyncWorld.hashes(office, caseID) == SyncWorld.hashes(central, caseID))
        }
    }

    @Test func anOfficeOfflineWhileAThousandCasesWereDispatchedCatchesUp() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        var cases: [CaseID] = []
        for serial in 1...1_000 { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
        let hub = try await world.startCentral(central)
        let officeLink = world.startNode(office, endpoint: hub.endpoint)
        defer {
            officeLink.task.cancel()
            hub.task.cancel()
        }
        try await eventually("the office holds every case", timeout: .seconds(60)) {
            try await office.caseIDs().count == 1_000
        }
        try await eventually("the office's checkpoint reaches central's feed head") {
            try await office.checkpoint(for: SyncWorld.central) == central.feedHead(for: SyncWorld.dpupr)
        }
        for caseID in [cases[0], cases[499], cases[999]] {
            #expect(try await SyncWorld.hashes(office, caseID) == SyncWorld.hashes(central, caseID))
        }
        try await eventually("central saved the office's acknowledgement") {
            try await central.checkpoint(for: SyncWorld.dpupr) == central.feedHead(for: SyncWorld.dpupr)
        }
    }

    @Test func concurrentChangesOnBothSidesMergeWithTheConflictVisibleEverywhere() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let mayor = try world.open(SyncWorld.mayor, .mayor)
        let caseID = try await SyncWorld.dispatch(central, serial: 3)
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        let officeLink = world.startNode(office, endpoint: endpoint)
        let mayorLink = world.startNode(mayor, endpoint: endpoint)
        defer {
            officeLink.task.cancel()
            mayorLink.task.cancel()
        }
        try await eventually("the office holds the case") {
            try await office.caseState(caseID)?.status == .dispatched
        }
        let officer = SyncWorld.actor("dpupr.budi")
        _ = try await office.append(.acknowledged, to: caseID, actor: officer, at: .now)
        _ = try await office.append(.started, to: caseID, actor: officer, at: .now)
        try await eventually("central sees the work start") {
            try await central.caseState(caseID)?.status == .inProgress
        }

        // The link is down: the office resolves while central reassigns the case to dlh.
        hub.task.cancel()
        _ = await hub.task.result
        _ = try await office.append(
            .resolved(.init(summary: "Sudah diperbaiki")),
            to: caseID,
            actor: officer,
            at: .now
        )
        _ = try await central.append(
            .reassigned(.init(from: SyncWorld.dpupr, to: SyncWorld.dlh, epoch: 1, note: "salah OPD")),
            to: caseID,
            actor: SyncWorld.operatorActor,
            at: .now
        )

        hub = try await world.startCentral(central, endpoint: endpoint)
        defer { hub.task.cancel() }
        try await eventually("every node holds every op of the case") {
            let reference = try await SyncWorld.hashes(central, caseID)
            let atOffice = try await SyncWorld.hashes(office, caseID)
            let atMayor = try await SyncWorld.hashes(mayor, caseID)
            return reference.count == 7 && atOffice == reference && atMayor == reference
        }
        let centralState = try #require(try await central.caseState(caseID))
        #expect(!centralState.conflicts.isEmpty)
        #expect(try await office.caseState(caseID)?.conflicts == centralState.conflicts)
        #expect(try await mayor.caseState(caseID)?.conflicts == centralState.conflicts)
        #expect(try await office.caseState(caseID)?.status == centralState.status)
    }

    @Test func onlyEnrolledNodesAreServedAndARevokedOneIsCutOffWhileConnected() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 2)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }

        // A key central never enrolled: the CURVE handshake is refused by ZAP; nothing flows.
        let strangerStore = try world.open(SyncWorld.dlh, .office)
        let stranger = world.startNode(strangerStore, endpoint: hub.endpoint, keys: try CurveKeyPair.generate())
        defer { stranger.task.cancel() }

        let officeLink = world.startNode(office, endpoint: hub.endpoint)
        defer { officeLink.task.cancel() }
        try await eventually("the enrolled office links up") { officeLink.service.status.linkUp }
        try await eventually("the office holds its case") { try await office.caseState(caseID) != nil }
        #expect(!stranger.service.status.linkUp)
        #expect(hub.service.connectedPeers == [SyncWorld.dpupr])
        #expect(try await strangerStore.caseIDs().isEmpty)

        // Its key replaced (a stolen laptop): the connection made with the old key is cut off.
        try await central.enrolPeer(
            SyncWorld.dpupr,
            role: .office,
            publicKey: try CurveKeyPair.generate().publicKey,
            at: .now
        )
        try await eventually("central cuts off the old key") { !hub.service.connectedPeers.contains(SyncWorld.dpupr) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!hub.service.connectedPeers.contains(SyncWorld.dpupr))
        try await central.enrolPeer(
            SyncWorld.dpupr,
            role: .office,
            publicKey: world.key(SyncWorld.dpupr).publicKey,
            at: .now
        )
        try await eventually("the office is served again with its enrolled key") {
            hub.service.connectedPeers.contains(SyncWorld.dpupr)
        }

        // Revoked while connected: cut off, and what it writes afterwards never reaches central.
        try await central.revokePeer(SyncWorld.dpupr, at: .now)
        try await eventually("central cuts the office off") { !hub.service.connectedPeers.contains(SyncWorld.dpupr) }
        _ = try await office.append(.acknowledged, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        #expect(world.log.all.contains { $0.contains("not enrolled") || $0.contains("no longer enrolled") })
    }

    @Test func aSecondProcessWithTheSameNodeIDIsRefusedAndGetsNothing() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 1)
        let hub = try await world.startCentral(central)
        let first = world.startNode(office, endpoint: hub.endpoint)
        defer { hub.task.cancel() }
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }
        _ = try await office.append(.acknowledged, to: caseID, actor: SyncWorld.actor("dpupr.budi"), at: .now)
        try await eventually("central holds the office's op") {
            try await central.caseState(caseID)?.status == .acknowledged
        }
        // A copy of the node started elsewhere: the same id and key, its own store.
        let twin = try Store.open(
            StoreConfiguration(path: world.directory + "/dpupr-twin.sqlite"),
            identity: office.identity
        )
        let second = world.startNode(twin, endpoint: hub.endpoint)
        defer { second.task.cancel() }
        try await eventually("central refuses the second process") {
            second.service.status.centralRefusal == .duplicateNode
        }
        #expect(first.service.status.linkUp)
        #expect(!second.service.status.linkUp)
        // With the first process gone the twin is still refused: its store never wrote what
        // central holds of dpupr#1, and would reuse those seqs.
        first.task.cancel()
        try await eventually("central refuses a store behind its own origin") {
            second.service.status.centralRefusal == .storeBehind
        }
        #expect(!second.service.status.linkUp)
        #expect(try await twin.caseIDs().isEmpty)
        #expect(try await central.integrityAlarmCount() == 0)
        // The real node comes back and is served again.
        let again = world.startNode(office, endpoint: hub.endpoint)
        defer { again.task.cancel() }
        second.task.cancel()
        try await eventually("the real office is served again") { again.service.status.linkUp }
        #expect(again.service.status.centralRefusal == nil)
    }

    /// A node process that dies and is started again at once (a crash, `kill -9`, a
    /// restart by systemd) is served at once: its old connection is gone, so it is no second
    /// process, although its old session was heard from moments ago.
    @Test func aNodeRestartedAtOnceIsServedWithoutWaitingForItsLinkTimeout() async throws {
        let world = try SyncWorld()
        let (_, office, _, hub) = try await world.centralWithAnOfficeThatSyncedOnce()
        defer { hub.task.cancel() }
        let again = world.startNode(office, endpoint: hub.endpoint, settings: SyncWorld.productionTimeouts)
        defer { again.task.cancel() }
        // Well under the link timeout (15 s) a refused node would wait before its next HELLO.
        try await eventually("the restarted office is linked", timeout: .seconds(6)) { again.service.status.linkUp }
        #expect(again.service.status.centralRefusal == nil)
        // Central took the new HELLO for a second process at first, and its probe of the old
        // connection found it closed.
        #expect(world.log.all.contains { $0.contains("a node reconnected after its old connection closed") })
    }

    /// A node started right after its enrolment is admitted at once, although central's key
    /// snapshot is refreshed only every second (libzmq never retries a refused handshake).
    @Test func aNodeEnrolledAMomentAgoIsAdmittedAtOnce() async throws {
        let world = try SyncWorld()
        let central = try world.open(SyncWorld.central, .central)
        try await central.enrolPeer(
            SyncWorld.dpupr,
            role: .office,
            publicKey: world.key(SyncWorld.dpupr).publicKey,
            at: .now
        )
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        // Let central take its key snapshot without dlh, then enrol dlh and start it at once.
        try await Task.sleep(for: .milliseconds(1_500))
        try await central.enrolPeer(
            SyncWorld.dlh,
            role: .office,
            publicKey: world.key(SyncWorld.dlh).publicKey,
            at: .now
        )
        let dlh = world.startNode(
            try world.open(SyncWorld.dlh, .office),
            endpoint: hub.endpoint,
            settings: SyncWorld.productionTimeouts
        )
        defer { dlh.task.cancel() }
        // Admitted on its first handshake: not refused and then let in on a second try.
        try await eventually("dlh is linked", timeout: .seconds(6)) { dlh.service.status.linkUp }
        #expect(dlh.service.status.handshakes == 1)
        #expect(dlh.service.status.handshakesFailed == 0)
    }

    /// Found by the simulation (seed 49): a backup held an op central never got; after the
    /// restore the node uploaded only its new incarnation, so that op was stranded and every
    /// later op whose context named it was quarantined at central.
    @Test func opsInARestoredBackupThatCentralNeverGotStillArrive() async throws {
        let world = try SyncWorld()
        let (central, office, caseID, hub) = try await world.centralWithAnOfficeThatSyncedOnce()
        defer { hub.task.cancel() }
        // Offline: the ack goes into a backup and never reaches central; then the disk fails
        // and the backup is restored.
        let officer = SyncWorld.actor("dpupr.budi")
        let ack = try await office.append(.acknowledged, to: caseID, actor: officer, at: .now)
        let backup = world.directory + "/dpupr.backup"
        try await office.backup(to: backup)
        try Store.restore(backup: backup, to: world.directory + "/dpupr.sqlite")
        let restored = try world.open(SyncWorld.dpupr, .office)
        #expect(try await restored.currentOrigin().incarnation == 2)
        let start = try await restored.append(.started, to: caseID, actor: officer, at: .now)
        let again = world.startNode(restored, endpoint: hub.endpoint)
        defer { again.task.cancel() }
        try await eventually("central holds the ack from the backup and the op after it") {
            try await central.caseState(caseID)?.status == .inProgress
        }
        let held = Set(try await central.ops(ofCase: caseID).map(\.sealed.op.id))
        #expect(held.contains(ack.sealed.op.id) && held.contains(start.sealed.op.id))
        #expect(try await central.quarantine().isEmpty)
        try await eventually("the office knows central holds everything") {
            again.service.status.linkUp && again.service.status.unsent == 0
        }
    }

    @Test func aNodeWithTheWrongCentralKeyLogsAHint() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let wrongKey = try CurveKeyPair.generate().publicKey
        let link = world.startNode(office, endpoint: hub.endpoint, centralKey: wrongKey)
        defer { link.task.cancel() }
        try await eventually("the hint is logged") {
            world.log.all.contains { $0.contains("public key") && $0.contains("no answer from central") }
        }
        #expect(!link.service.status.linkUp)
    }

    @Test func feedsOutOfSeqOrderAreAppliedWholeAtTheOfficeAndTheMayor() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let mayor = try world.open(SyncWorld.mayor, .mayor)
        let x = try await SyncWorld.dispatch(central, serial: 1)
        let y = try await SyncWorld.dispatch(central, serial: 2)
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        let officeLink = world.startNode(office, endpoint: endpoint)
        defer { officeLink.task.cancel() }
        try await eventually("the office holds both cases") { try await office.caseIDs().count == 2 }

        // Offline: the office works X, Y, X; central opens P then Q and dispatches Q before P.
        hub.task.cancel()
        _ = await hub.task.result
        let officer = SyncWorld.actor("dpupr.budi")
        _ = try await office.append(.acknowledged, to: x, actor: officer, at: .now)
        _ = try await office.append(.acknowledged, to: y, actor: officer, at: .now)
        _ = try await office.append(.started, to: x, actor: officer, at: .now)
        let p = SyncWorld.caseID(3)
        let q = SyncWorld.caseID(4)
        for caseID in [p, q] {
            let opened = OpBody.opened(.init(channel: .whatsapp, reporterRef: "r", text: "Sampah menumpuk"))
            _ = try await central.append(opened, to: caseID, actor: SyncWorld.operatorActor, at: .now)
            _ = try await central.append(
                .verified(.init(tier: .normatif)),
                to: caseID,
                actor: SyncWorld.operatorActor,
                at: .now
            )
        }
        for caseID in [q, p] {
            _ = try await central.append(
                .dispatched(.init(office: SyncWorld.dpupr, epoch: 1)),
                to: caseID,
                actor: SyncWorld.operatorActor,
                at: .now
            )
        }

        hub = try await world.startCentral(central, endpoint: endpoint)
        defer { hub.task.cancel() }
        let mayorLink = world.startNode(mayor, endpoint: endpoint)
        defer { mayorLink.task.cancel() }
        try await eventually("the office and the mayor reach the end of their feeds") {
            let officeDone = try await office.checkpoint(for: SyncWorld.central)
            let officeHead = try await central.feedHead(for: SyncWorld.dpupr)
            let mayorDone = try await mayor.checkpoint(for: SyncWorld.central)
            let mayorHead = try await central.feedHead(for: SyncWorld.mayor)
            return officeLink.service.status.unsent == 0 && officeDone == officeHead && mayorDone == mayorHead
        }
        for caseID in [x, y, p, q] {
            let reference = try await SyncWorld.hashes(central, caseID)
            #expect(try await SyncWorld.hashes(office, caseID) == reference)
            #expect(try await SyncWorld.hashes(mayor, caseID) == reference)
        }
    }

    @Test func aNodeStartedBeforeItsEnrolmentConnectsOnceEnrolled() async throws {
        let world = try SyncWorld()
        let central = try world.open(SyncWorld.central, .central)
        let caseID = try await SyncWorld.dispatch(central, serial: 5)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let office = try world.open(SyncWorld.dpupr, .office)
        // Every node timer at ten minutes: libzmq never retries a refused handshake, so only
        // the node's socket monitor, which sees the refusal, can bring it back in time.
        let link = world.startNode(office, endpoint: hub.endpoint, settings: SyncWorld.patientTimers)
        defer { link.task.cancel() }
        // Its handshakes are refused until IT enrols its key, and it says why.
        try await eventually("central refuses the unenrolled key") {
            link.service.status.centralRefusal == .notEnrolled
        }
        #expect(link.service.status.handshakesFailed >= 1)
        #expect(!link.service.status.linkUp)
        #expect(world.log.all.contains { $0.contains("not enrolled there") })
        try await central.enrolPeer(
            SyncWorld.dpupr,
            role: .office,
            publicKey: world.key(SyncWorld.dpupr).publicKey,
            at: .now
        )
        try await eventually("the office links up once enrolled", timeout: .seconds(30)) {
            link.service.status.linkUp
        }
        #expect(link.service.status.centralRefusal == nil)
        try await eventually("the office receives its case") { try await office.caseState(caseID) != nil }
    }

    @Test func aFiveMegabyteEvidenceFileReachesTheOfficeAcrossAReconnect() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        let caseID = try await SyncWorld.dispatch(central, serial: 9)
        var photo = [UInt8](repeating: 0, count: 5 * 1024 * 1024)
        var seed: UInt32 = 7
        for index in photo.indices {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            photo[index] = UInt8(truncatingIfNeeded: seed >> 24)
        }
        let sha256 = try await central.blobs.put(photo)
        _ = try await central.append(
            .evidenceAdded(
                .init(sha256: sha256, size: UInt64(photo.count), mimeType: "image/jpeg", name: "lubang.jpg")
            ),
            to: caseID,
            actor: SyncWorld.operatorActor,
            at: .now
        )
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        // Small chunks, so the transfer is still running when central goes away.
        var settings = SyncWorld.settings
        settings.blobChunkBytes = 1_024
        let link = world.startNode(office, endpoint: endpoint, settings: settings)
        defer { link.task.cancel() }
        try await eventually("a megabyte has arrived") { await office.blobs.partialSize(sha256) >= 1 << 20 }
        hub.task.cancel()
        _ = await hub.task.result
        let cut = await office.blobs.partialSize(sha256)
        #expect(cut < UInt64(photo.count))
        #expect(!(await office.blobs.contains(sha256)))

        hub = try await world.startCentral(central, endpoint: endpoint)
        defer { hub.task.cancel() }
        try await eventually("the office holds the verified file", timeout: .seconds(60)) {
            await office.blobs.contains(sha256)
        }
        let stored = try #require(try await office.blobs.read(sha256, offset: 0, count: photo.count + 1))
        #expect(stored.data == photo)
        #expect(try await office.missingBlobs().isEmpty)
        // Resumed, not restarted: well under the 5 MB it would take to start again from zero.
        #expect(link.service.status.bytesReceived < photo.count + Int(cut) / 2 + 512 * 1024)
    }

    @Test func aNodeReplaysTheFeedAfterCentralIsRestoredFromABackup() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let office = try world.open(SyncWorld.dpupr, .office)
        _ = try await SyncWorld.dispatch(central, serial: 1)
        let backup = world.directory + "/central-backup.sqlite"
        try await central.backup(to: backup)
        // After the backup: two more cases reach the office and move its checkpoint on.
        _ = try await SyncWorld.dispatch(central, serial: 2)
        _ = try await SyncWorld.dispatch(central, serial: 3)
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        let link = world.startNode(office, endpoint: endpoint)
        defer { link.task.cancel() }
        try await eventually("the office holds all three cases") { try await office.caseIDs().count == 3 }
        try await eventually("the office saved its checkpoint") {
            try await office.checkpoint(for: SyncWorld.central) == central.feedHead(for: SyncWorld.dpupr)
        }
        let checkpoint = try await office.checkpoint(for: SyncWorld.central)
        hub.task.cancel()
        _ = await hub.task.result

        // Central is restored from the backup (losing cases 2 and 3) and takes new complaints,
        // so its feed positions grow again past the office's checkpoint, numbering other ops.
        let restored = try world.restoreCentral(from: backup)
        var fresh: [CaseID] = []
        for serial in 4...6 { fresh.append(try await SyncWorld.dispatch(restored, serial: serial)) }
        #expect(try await restored.feedHead(for: SyncWorld.dpupr) > checkpoint)

        hub = try await world.startCentral(restored, endpoint: endpoint)
        defer { hub.task.cancel() }
        try await eventually("the office receives every case taken after the restore") {
            for caseID in fresh where try await office.caseState(caseID) == nil { return false }
            return true
        }
        for caseID in fresh {
            #expect(try await SyncWorld.hashes(office, caseID) == SyncWorld.hashes(restored, caseID))
        }
    }
}

/// Holds a store's write lock from its own connection, on its own thread, until released:
/// what another process of the node (the office CLI) does while it writes.
final class WriteLockHolder: Sendable {
    private let state = Mutex((held: false, releaseAsked: false))
    private let released = DispatchSemaphore(value: 0)

    init(_ connection: DatabaseQueue) {
        let thread = Thread { [self] in
            try? connection.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    state.withLock { $0.held = true }
                    released.wait()
                    return .commit
                }
            }
            state.withLock { $0.held = false }
        }
        thread.start()
    }

    var isHeld: Bool { state.withLock { $0.held } }

    /// Lets the lock go; later calls do nothing.
    func release() {
        let first = state.withLock { state in
            defer { state.releaseAsked = true }
            return !state.releaseAsked
        }
        if first { released.signal() }
    }
}
