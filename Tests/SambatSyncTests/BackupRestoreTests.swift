import Foundation
import SambatCore
import SambatStore
import SambatSync
import Testing

/// Restoring a node from a backup older than what its peers hold, as `sambat backup` and
/// `sambat restore` do it: the sync brings back what the node is missing, nothing is lost,
/// nothing is applied twice, and no seq is used twice.
@Suite(.timeLimit(.minutes(2)), .serialized) struct BackupRestoreTests {
    static let officer = SyncWorld.actor("dpupr.budi")

    static func note(_ number: Int) -> OpBody {
        .noted(.init(text: "Catatan lapangan \(number)", visibility: .internal))
    }

    /// Every op id in `store` for `cases`, with its hash; a duplicate would show as a count
    /// above the number of distinct ids.
    static func ops(_ store: Store, _ cases: [CaseID]) async throws -> (ids: Set<OpID>, count: Int, hashes: [String]) {
        var ids: Set<OpID> = []
        var count = 0
        var hashes: [String] = []
        for caseID in cases {
            let held = try await store.ops(ofCase: caseID)
            count += held.count
            ids.formUnion(held.map(\.sealed.op.id))
            hashes += try await SyncWorld.hashes(store, caseID)
        }
        return (ids, count, hashes)
    }

    @Test func anOfficeRestoredFromBeforeFiftyChangesGetsThemBackFromCentral() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        var cases: [CaseID] = []
        for serial in 1...5 { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let office = try world.open(SyncWorld.dpupr, .office)
        let first = world.startNode(office, endpoint: hub.endpoint)
        try await eventually("the office holds the five cases") { try await office.caseIDs().count == 5 }
        let backup = world.directory + "/dpupr-backup.sqlite"
        try await office.backup(to: backup)

        // Fifty changes after the backup, all of them acknowledged by central.
        for number in 0..<50 {
            _ = try await office.append(Self.note(number), to: cases[number % 5], actor: Self.officer, at: .now)
        }
        try await eventually("central holds the fifty changes") {
            try await Self.ops(central, cases).ids.filter { $0.origin.node == SyncWorld.dpupr }.count == 50
        }
        first.task.cancel()
        _ = await first.task.result
        let atCentral = try await Self.ops(central, cases)

        // The office's disk is replaced by the backup.
        let path = world.directory + "/dpupr.sqlite"
        try Store.restore(backup: backup, to: path, settingAsideTo: path + ".before-restore")
        #expect(FileManager.default.fileExists(atPath: path + ".before-restore"), "the old store is kept")
        let restored = try world.open(SyncWorld.dpupr, .office)
        let origin = try await restored.currentOrigin()
        #expect(origin.incarnation == 2)
        #expect(try await Self.ops(restored, cases).count < atCentral.count)

        let second = world.startNode(restored, endpoint: hub.endpoint)
        defer { second.task.cancel() }
        try await eventually("the office holds every op central holds") {
            try await Self.ops(restored, cases).hashes == atCentral.hashes
        }
        let back = try await Self.ops(restored, cases)
        #expect(back.count == back.ids.count && back.ids == atCentral.ids, "nothing lost, nothing twice")
        #expect(back.ids.filter { $0.origin.node == SyncWorld.dpupr }.count == 50)

        // New work goes out under the new origin, from seq 1: no seq of the old one is reused.
        let after = try await restored.append(Self.note(50), to: cases[0], actor: Self.officer, at: .now)
        #expect(after.sealed.op.id.origin == origin && after.sealed.op.id.seq == 1)
        try await eventually("central holds the change made after the restore") {
            try await central.ops(ofCase: cases[0]).contains { $0.sealed.op.id == after.sealed.op.id }
        }
        #expect(try await central.integrityAlarmCount() == 0)
        #expect(try await central.quarantine().isEmpty)
    }

    @Test func centralRestoredFromBeforeAnOfficesUploadsGetsThemAgain() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        var cases: [CaseID] = []
        for serial in 1...3 { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
        var hub = try await world.startCentral(central)
        let endpoint = hub.endpoint
        let office = try world.open(SyncWorld.dpupr, .office)
        let link = world.startNode(office, endpoint: endpoint)
        defer { link.task.cancel() }
        try await eventually("the office holds the three cases") { try await office.caseIDs().count == 3 }
        _ = try await office.append(.acknowledged, to: cases[0], actor: Self.officer, at: .now)
        try await eventually("central holds the first upload") {
            try await central.caseState(cases[0])?.status == .acknowledged
        }
        let backup = world.directory + "/central-backup.sqlite"
        try await central.backup(to: backup)

        // Uploads central acknowledges after its backup, then central's disk is lost.
        for caseID in cases { _ = try await office.append(Self.note(1), to: caseID, actor: Self.officer, at: .now) }
        _ = try await office.append(.started, to: cases[0], actor: Self.officer, at: .now)
        try await eventually("central holds the later uploads") {
            try await Self.ops(central, cases).ids.filter { $0.origin.node == SyncWorld.dpupr }.count == 5
        }
        let officeOps = try await Self.ops(office, cases)
        let uploads = officeOps.ids.filter { $0.origin.node == SyncWorld.dpupr }
        #expect(uploads.count == 5)
        hub.task.cancel()
        _ = await hub.task.result

        let restored = try world.restoreCentral(from: backup)
        #expect(try await restored.currentOrigin().incarnation == 2)
        let lost = try await Self.ops(restored, cases).ids
        #expect(uploads.subtracting(lost).count == 4, "the backup misses the four later uploads")

        hub = try await world.startCentral(restored, endpoint: endpoint)
        defer { hub.task.cancel() }
        try await eventually("central holds every upload again") {
            uploads.isSubset(of: try await Self.ops(restored, cases).ids)
        }
        let again = try await Self.ops(restored, cases)
        #expect(again.count == again.ids.count, "nothing applied twice")
        #expect(try await restored.caseState(cases[0])?.status == .inProgress)
        #expect(try await restored.integrityAlarmCount() == 0)
        #expect(try await restored.quarantine().isEmpty)
        // The office ends where central is: the same ops, no seq of its origin reused.
        try await eventually("the office holds what central holds") {
            try await Self.ops(office, cases).hashes == Self.ops(restored, cases).hashes
        }
    }
}
