import Testing

@testable import SambatCore

/// The scenarios of design §3, each checked in every delivery order.
@Suite struct MergeScenarioTests {
    /// Folds `ops` in every rotation and reversed, through the incremental path with fallback,
    /// and checks all agree with the full fold.
    static func converged(_ ops: [Op]) -> CaseState {
        let full = Fixtures.fold.fold(ops, caseID: Fixtures.caseID())
        let orders = [ops, ops.reversed()] + (1..<ops.count).map { Array(ops[$0...] + ops[..<$0]) }
        for order in orders {
            #expect(Folder.incremental(order) == full)
        }
        return full
    }

    /// A central that dispatched to dpupr, and a dpupr that acknowledged and started.
    static func workingCase() -> (central: TestReplica, dpupr: TestReplica) {
        var script = CaseScript.at(.inProgress)
        script.central.sync(from: script.dpupr)
        return (script.central, script.dpupr)
    }

    @Test(arguments: [false, true])
    func officeResolvesWhileCentralReassigns(officeSortsFirst: Bool) throws {
        var (central, dpupr) = Self.workingCase()
        // Extra local activity shifts Lamport times so both fold orders are exercised.
        if officeSortsFirst {
            central.author(.noted(.init(text: "Menunggu kabar", visibility: .internal)))
            central.author(.noted(.init(text: "Dicek ulang", visibility: .internal)))
        } else {
            dpupr.author(.noted(.init(text: "Material dipesan", visibility: .internal)))
        }
        let note = dpupr.author(.noted(.init(text: "Sudah dicek ke lokasi", visibility: .public)))
        let resolve = dpupr.author(.resolved(.init(summary: "Lubang ditambal sementara")))
        let reassign = central.author(.reassigned(.init(from: Fixtures.dpupr, to: Fixtures.dlh, epoch: 1)))
        #expect((resolve.foldKey < reassign.foldKey) == officeSortsFirst)

        central.sync(from: dpupr)
        let state = Self.converged(Array(central.known.values))

        #expect(state.conflicts.count == 1)
        let conflict = try #require(state.conflicts.first)
        #expect(conflict.reason == .concurrentWithCentral)
        #expect(conflict.ops == [resolve.id, reassign.id].sorted())
        #expect(conflict.id == "concurrent_with_central:central#1/\(reassign.id.seq),dpupr#1/\(resolve.id.seq)")
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .revoked)
        #expect(state.assignment(for: Fixtures.dlh)?.status == .dispatched)
        #expect(state.status == .dispatched)
        #expect(state.notes.contains { $0.op == note.id })
        #expect(state.notes.contains { $0.op == resolve.id && $0.text == "Lubang ditambal sementara" })
    }

    @Test func officeOpFromAnOldEpochIsALateUpdate() throws {
        var (central, dpupr) = Self.workingCase()
        central.author(.reassigned(.init(from: Fixtures.dpupr, to: Fixtures.dlh, epoch: 1)))
        dpupr.sync(from: central)
        // The office had prepared its follow-up under the old assignment and sends it anyway.
        let late = dpupr.author(.resolved(.init(summary: "Sudah diperbaiki")), epoch: 1)
        central.sync(from: dpupr)
        let state = Self.converged(Array(central.known.values))
        let conflict = try #require(state.conflicts.first)
        #expect(state.conflicts.count == 1)
        #expect(conflict.reason == .staleEpoch)
        #expect(conflict.ops == [late.id])
        #expect(conflict.office == Fixtures.dpupr)
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .revoked)
        #expect(state.notes.contains { $0.op == late.id })
    }

    @Test func redispatchAfterReturnStartsANewEpoch() throws {
        var (central, dpupr) = Self.workingCase()
        dpupr.author(.returned(.init(reason: .insufficientInformation, note: "Alamat kurang jelas")))
        central.sync(from: dpupr)
        #expect(central.state.status == .verified)
        central.author(.dispatched(.init(office: Fixtures.dpupr, epoch: 2, instructions: "Alamat: Jl. Mawar 3")))
        dpupr.sync(from: central)
        #expect(Fixtures.policy.authoringEpoch(for: Fixtures.dpupr, in: dpupr.state) == 2)
        let old = dpupr.author(.acknowledged, epoch: 1)
        let current = dpupr.author(.acknowledged, epoch: 2)
        central.sync(from: dpupr)
        let state = Self.converged(Array(central.known.values))
        #expect(state.assignment(for: Fixtures.dpupr)?.epoch == 2)
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .acknowledged)
        #expect(state.assignment(for: Fixtures.dpupr)?.acknowledged?.op == current.id)
        #expect(state.conflicts.map(\.reason) == [.staleEpoch])
        #expect(state.conflicts.first?.ops == [old.id])
    }

    @Test(arguments: [false, true])
    func resolveVersusReturnAfterRestore(returnSortsFirst: Bool) throws {
        var (central, dpupr1) = Self.workingCase()
        let backup = dpupr1.known
        // dpupr#1 resolves and central gets it; then dpupr's disk dies before it learns more.
        if returnSortsFirst { dpupr1.author(.noted(.init(text: "Foto sebelum", visibility: .internal))) }
        let resolve = dpupr1.author(.resolved(.init(summary: "Selesai dikerjakan")))
        central.sync(from: dpupr1)
        // Restored from the backup as a new incarnation, it returns the case before syncing.
        var dpupr2 = dpupr1.restored(incarnation: 2, from: backup)
        if returnSortsFirst {
            #expect(dpupr2.origin.incarnation == 2)
        } else {
            dpupr2.author(.noted(.init(text: "Dicek ulang", visibility: .internal)))
            dpupr2.author(.noted(.init(text: "Dicek ulang lagi", visibility: .internal)))
        }
        let giveBack = dpupr2.author(.returned(.init(reason: .notOurAuthority, note: "Jalan provinsi")))
        #expect((giveBack.foldKey < resolve.foldKey) == returnSortsFirst)
        central.sync(from: dpupr2)

        let state = Self.converged(Array(central.known.values))
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .returned)
        #expect(state.assignment(for: Fixtures.dpupr)?.resolved == nil)
        #expect(state.status == .verified)
        #expect(state.conflicts.count == 1)
        #expect(state.conflicts.first?.reason == .resolvedVersusReturned)
        #expect(state.conflicts.first?.ops == [resolve.id, giveBack.id].sorted())
        #expect(state.notes.contains { $0.op == resolve.id })
        #expect(state.notes.contains { $0.op == giveBack.id })
    }

    @Test func furtherAlongWinsBetweenConcurrentOpsOfOneAssignmentWithoutConflict() throws {
        var (central, dpupr1) = Self.workingCase()
        let backup = dpupr1.known
        dpupr1.author(.resolved(.init(summary: "Beres")))
        var dpupr2 = dpupr1.restored(incarnation: 2, from: backup)
        let restart = dpupr2.author(.started)  // illegal in its own view (already in progress)
        central.sync(from: dpupr1)
        central.sync(from: dpupr2)
        let state = Self.converged(Array(central.known.values))
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .resolved)
        let effect = state.history.first { $0.op == restart.id }?.effect
        #expect(effect != .applied)
        #expect(effect != nil)
    }

    @Test func twoOfficesOnOneCaseResolveIndependently() throws {
        var central = CaseScript.at(.verified).central
        central.author(.dispatched(.init(office: Fixtures.dpupr, epoch: 1)))
        central.author(.dispatched(.init(office: Fixtures.dlh, epoch: 1)))
        var dpupr = TestReplica(Fixtures.origin("dpupr"))
        var dlh = TestReplica(Fixtures.origin("dlh"))
        dpupr.sync(from: central)
        dlh.sync(from: central)
        for body in [OpBody.acknowledged, .started, .resolved(.init(summary: "Jalan ditambal"))] {
            dpupr.author(body)
        }
        dlh.author(.acknowledged)
        dlh.author(.started)

        var partial = central
        partial.sync(from: dpupr)
        partial.sync(from: dlh)
        let halfway = Self.converged(Array(partial.known.values))
        #expect(halfway.status == .inProgress)
        #expect(halfway.assignment(for: Fixtures.dpupr)?.status == .resolved)
        #expect(halfway.conflicts.isEmpty)

        dlh.author(.resolved(.init(summary: "Sampah diangkut")))
        central.sync(from: dpupr)
        central.sync(from: dlh)
        let done = Self.converged(Array(central.known.values))
        #expect(done.status == .resolved)
        #expect(done.conflicts.isEmpty)
        #expect(done.activeAssignments.map(\.office) == [Fixtures.dlh, Fixtures.dpupr])
    }

    @Test func centralResolvesAConflictAndEveryReplicaSeesIt() throws {
        var (central, dpupr) = Self.workingCase()
        dpupr.author(.resolved(.init(summary: "Selesai")))
        central.author(.reassigned(.init(from: Fixtures.dpupr, to: Fixtures.dlh, epoch: 1)))
        central.sync(from: dpupr)
        let conflict = try #require(central.state.openConflicts.first)
        #expect(
            Fixtures.policy.check(
                role: .office,
                node: Fixtures.dpupr,
                body: .conflictResolved(.init(conflict: conflict.id, outcome: .keptCurrent)),
                epoch: 1,
                in: central.state
            )?.code
                == .kindNotPermitted
        )
        let resolution = central.author(
            .conflictResolved(.init(conflict: conflict.id, outcome: .keptCurrent, note: "Tetap DLH"))
        )
        var dlh = TestReplica(Fixtures.origin("dlh"))
        dlh.sync(from: central)
        dpupr.sync(from: central)
        for replica in [central, dlh, dpupr] {
            let state = Self.converged(Array(replica.known.values))
            #expect(state.conflicts.count == 1)
            #expect(state.openConflicts.isEmpty)
            #expect(state.conflicts.first?.resolution?.op == resolution.id)
            #expect(state.conflicts.first?.resolution?.outcome == .keptCurrent)
        }
    }

    @Test func reopenSendsResolvedAssignmentsBackToWork() {
        let script = CaseScript.at(.reopened)
        var dpupr = script.dpupr
        let state = dpupr.state
        #expect(state.status == .reopened)
        #expect(state.assignment(for: Fixtures.dpupr)?.status == .reopened)
        dpupr.author(.started)
        #expect(dpupr.state.status == .inProgress)
    }
}

/// What a state knows it has folded: an incremental fold skips a duplicate, and refuses (for a
/// re-fold) an op that arrives after a later op of its origin.
@Suite struct FoldedOpTests {
    @Test func aStateKnowsItsFoldedOpsAndNotTheOnesItSkipped() {
        var script = CaseScript.at(.dispatched)
        let acknowledged = script.dpupr.author(.acknowledged)
        let started = script.dpupr.author(.started)
        let noted = script.dpupr.author(.noted(.init(text: "Tim ke lokasi", visibility: .internal)))
        var state = script.central.state
        // The first and the last of the office's three ops: its counter passes the middle one.
        for op in [acknowledged, noted] { #expect(Fixtures.fold.apply(op, to: &state)) }
        #expect(state.contains(acknowledged.id) && state.contains(noted.id))
        #expect(!state.contains(started.id))
        #expect(!state.contains(Fixtures.opID("dpupr", seq: noted.id.seq + 1)))
        #expect(!state.contains(Fixtures.opID("dlh", seq: 1)))
        // Again: nothing changes. The skipped one cannot fold in place: a re-fold takes it.
        let before = state
        #expect(Fixtures.fold.apply(noted, to: &state) && state == before)
        #expect(!Fixtures.fold.apply(started, to: &state) && state == before)
        let refolded = Fixtures.fold.fold(script.central.known.values.map { $0 } + [acknowledged, started, noted])
        #expect(refolded?.contains(started.id) == true && refolded?.opCount == before.opCount + 1)
    }
}

/// Feeds ops one at a time the way a store does: incremental when possible, else a re-fold.
enum Folder {
    static func incremental(_ deliveries: [Op]) -> CaseState {
        var held: [OpID: Op] = [:]
        var state = CaseState(caseID: deliveries.first?.caseID ?? Fixtures.caseID())
        for op in deliveries {
            held[op.id] = op
            if let next = Fixtures.fold.applying(op, to: state) {
                state = next
            } else {
                state = Fixtures.fold.fold(held.values, caseID: op.caseID)
            }
        }
        return state
    }
}
