import Foundation
import SambatCore
import SambatStore
import SambatSync
import Testing

/// An office that comes back after a month offline (issue 17, point 5).
///
/// It made 20,000 changes of its own while central changed the same cases. Everything arrives,
/// nothing twice, and every conflict is visible at central, the office and the mayor. The
/// catch-up time is printed (`month offline: …`) for docs/benchmarks.md; it is not asserted,
/// machines are shared.
@Suite(.timeLimit(.minutes(5)), .serialized) struct MonthOfflineTests {
    static let officer = SyncWorld.actor("dpupr.budi")
    static let cases = 100
    static let resolvedOffline = 10
    static let offlineChanges = 20_000

    @Test func anOfficeBackAfterAMonthOfflineCatchesUpWithEveryConflictVisible() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        var cases: [CaseID] = []
        for serial in 1...Self.cases { cases.append(try await SyncWorld.dispatch(central, serial: serial)) }
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let office = try world.open(SyncWorld.dpupr, .office)
        let mayor = try world.open(SyncWorld.mayor, .mayor)
        let mayorLink = world.startNode(mayor, endpoint: hub.endpoint)
        defer { mayorLink.task.cancel() }
        let first = world.startNode(office, endpoint: hub.endpoint)
        try await eventually("the office holds its cases", timeout: .seconds(60)) {
            try await office.caseIDs().count == Self.cases
        }
        var started: [LocalEdit] = []
        for caseID in cases { started += [LocalEdit(.acknowledged, to: caseID), LocalEdit(.started, to: caseID)] }
        _ = try await office.append(started, actor: Self.officer, at: .now)
        let origin = try await office.currentOrigin()
        try await eventually("central holds the office's start on every case", timeout: .seconds(60)) {
            try await central.frontier(of: origin) == 2 * UInt64(Self.cases)
        }
        first.task.cancel()
        _ = await first.task.result

        // A month offline: the office resolves ten cases and notes its work, 20,000 changes in
        // all, while central hands those ten cases to dlh.
        var edits = (0..<Self.resolvedOffline).map {
            LocalEdit(.resolved(.init(summary: "Sudah ditangani di lapangan")), to: cases[$0])
        }
        for number in 0..<(Self.offlineChanges - Self.resolvedOffline) {
            edits.append(
                LocalEdit(
                    .noted(.init(text: "Catatan lapangan hari ke-\(number / 700 + 1)", visibility: .internal)),
                    to: cases[number % Self.cases]
                )
            )
            if edits.count == 500 {
                _ = try await office.append(edits, actor: Self.officer, at: .now)
                edits = []
            }
        }
        if !edits.isEmpty { _ = try await office.append(edits, actor: Self.officer, at: .now) }
        let head = try await office.localHead()
        #expect(head == 2 * UInt64(Self.cases) + UInt64(Self.offlineChanges))
        for caseID in cases.prefix(Self.resolvedOffline) {
            _ = try await central.append(
                .reassigned(.init(from: SyncWorld.dpupr, to: SyncWorld.dlh, epoch: 1, note: "dialihkan")),
                to: caseID,
                actor: SyncWorld.operatorActor,
                at: .now
            )
        }

        // Back online.
        let clock = ContinuousClock()
        let back = clock.now
        let second = world.startNode(office, endpoint: hub.endpoint)
        defer { second.task.cancel() }
        try await eventually("central holds all of the office's work", timeout: .seconds(180)) {
            try await central.frontier(of: origin) == head
        }
        let uploaded = clock.now - back
        try await eventually("the office holds central's changes", timeout: .seconds(120)) {
            try await office.checkpoint(for: SyncWorld.central) == central.feedHead(for: SyncWorld.dpupr)
        }
        let caughtUp = clock.now - back
        print(
            "month offline: \(Self.offlineChanges) changes uploaded in \(uploaded), both ways caught up in \(caughtUp)"
        )

        // Every conflict is visible everywhere, on exactly the ten cases both sides changed.
        try await eventually("the mayor holds every op", timeout: .seconds(120)) {
            try await mayor.checkpoint(for: SyncWorld.central) == central.feedHead(for: SyncWorld.mayor)
        }
        for (index, caseID) in cases.enumerated() {
            let atCentral = try #require(try await central.caseState(caseID))
            #expect(atCentral.conflicts.isEmpty == (index >= Self.resolvedOffline), "case \(index)")
            #expect(try await office.caseState(caseID)?.conflicts == atCentral.conflicts)
            #expect(try await mayor.caseState(caseID)?.conflicts == atCentral.conflicts)
        }
        // Nothing lost, nothing twice.
        let held = try await central.ops(of: origin, after: 0, limit: 100_000)
        #expect(held.count == Int(head))
        #expect(Set(held.map(\.sealed.op.id)).count == held.count)
        #expect(try await central.integrityAlarmCount() == 0)
        #expect(try await central.quarantine().isEmpty)
    }
}
