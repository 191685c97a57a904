import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// Staff actions through the use-case layer: who may act, what is refused with which code, and
/// that a refusal writes nothing.
@Suite struct CaseActionsTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)

    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("\(name) is a valid node id") }
        return id
    }

    static var reference: ReferenceData {
        ReferenceData(
            offices: [Office(code: node("dpupr"), name: "Dinas PUPR"), Office(code: node("dlh"), name: "DLH")],
            calendar: WorkingCalendar(),
            targets: ServiceTargets(),
            routing: RoutingRules(rules: [])
        )
    }

    /// A node's store with the desk's actions over it.
    struct Node {
        let store: Store
        let actions: CaseActions
        let book: CaseBook

        init(_ scratch: Scratch, _ name: String, _ role: NodeRole) throws {
            store = try Store.open(
                StoreConfiguration(path: scratch.file("\(name).sqlite")),
                identity: NodeIdentity(
                    node: CaseActionsTests.node(name),
                    role: role,
                    central: CaseActionsTests.node("central")
                )
            )
            actions = CaseActions(store: store, reference: CaseActionsTests.reference)
            book = CaseBook(store: store, reference: CaseActionsTests.reference)
        }

        func opCount() async throws -> UInt64 { try await store.localHead() }
    }

    static func operatorAccount() throws -> ActorID { try ActorID("op.rina") }

    /// Central with one opened case.
    static func centralWithCase(_ scratch: Scratch) async throws -> (Node, CaseID) {
        let central = try Node(scratch, "central", .central)
        let caseID = try CaseID("MJK-261129-0001")
        _ = try await central.store.append(
            .opened(.init(channel: .sms, reporterRef: "rpt-1", text: "Jalan berlubang di depan pasar")),
            to: caseID,
            actor: try operatorAccount(),
            at: now
        )
        return (central, caseID)
    }

    /// Performs `action` and returns the refusal, checking that nothing was written.
    static func refusal(
        _ action: StaffAction,
        on caseID: CaseID,
        at node: Node,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> DeskError? {
        let before = try await node.opCount()
        let error = await #expect(throws: DeskError.self, sourceLocation: sourceLocation) {
            try await node.actions.perform(action, on: caseID, actor: try operatorAccount(), at: now)
        }
        #expect(try await node.opCount() == before, "a refused action wrote an op", sourceLocation: sourceLocation)
        return error
    }

    @Test func centralVerifiesAndDispatchesToAnEnrolledOffice() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (central, caseID) = try await Self.centralWithCase(scratch)
        let verified = try await central.actions.perform(
            .verify(tier: .ringan, topic: "jalan rusak, hubungi 081233445566"),
            on: caseID,
            actor: try Self.operatorAccount(),
            at: Self.now
        )
        #expect(verified.kind == .verified && verified.status == .verified)
        let topic = try await central.store.caseState(caseID)?.topic ?? ""
        #expect(!topic.contains("081233445566"), "staff texts are masked like complaints")

        let unenrolled = try await Self.refusal(
            .dispatch(office: Self.node("dpupr"), instructions: ""),
            on: caseID,
            at: central
        )
        #expect(unenrolled?.code == .officeNotEnrolled)
        #expect(unenrolled?.office == Self.node("dpupr"))
        let unknown = try await Self.refusal(
            .dispatch(office: Self.node("nosuch"), instructions: ""),
            on: caseID,
            at: central
        )
        #expect(unknown?.code == .unknownOffice)

        try await central.store.enrolPeer(Self.node("dpupr"), role: .office, publicKey: "", at: Self.now)
        let dispatched = try await central.actions.perform(
            .dispatch(office: Self.node("dpupr"), instructions: "Segera"),
            on: caseID,
            actor: try Self.operatorAccount(),
            at: Self.now
        )
        #expect(dispatched.status == .dispatched)
        #expect(try await central.store.caseState(caseID)?.assignment(for: Self.node("dpupr"))?.epoch == 1)

        let reassignFromWrongOffice = try await Self.refusal(
            .reassign(from: Self.node("dlh"), to: Self.node("dpupr"), note: ""),
            on: caseID,
            at: central
        )
        #expect(reassignFromWrongOffice?.code == .notAssignedTo)
    }

    @Test func refusalsCarryTheirCodesAndWriteNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (central, caseID) = try await Self.centralWithCase(scratch)

        let illegal = try await Self.refusal(.close(reason: .byOperator), on: caseID, at: central)
        #expect(illegal?.code == .illegalTransition)
        #expect(illegal?.kind == .closed && illegal?.status == .received)

        let officeOnly = try await Self.refusal(.acknowledge, on: caseID, at: central)
        #expect(officeOnly?.code == .wrongRole && officeOnly?.roles == [.office])

        let empty = try await Self.refusal(.pend(request: "   "), on: caseID, at: central)
        #expect(empty?.code == .emptyText && empty?.field == .request)

        let long = String(repeating: "x", count: OpLimits.maximumShortText + 1)
        let tooLong = try await Self.refusal(.note(text: long, visibility: .internal), on: caseID, at: central)
        #expect(tooLong?.code == .textTooLong && tooLong?.limit == OpLimits.maximumShortText)

        let missing = try await Self.refusal(
            .verify(tier: .normatif, topic: ""),
            on: try CaseID("MJK-200101-0001"),
            at: central
        )
        #expect(missing?.code == .caseNotFound)

        let noConflict = try await Self.refusal(
            .resolveConflict(id: "stale_epoch:x", outcome: .keptCurrent, note: ""),
            on: caseID,
            at: central
        )
        #expect(noConflict?.code == .conflictNotFound)
    }

    @Test func theMayorWritesNothingAndAnOfficeOnlyItsOwnCases() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (central, caseID) = try await Self.centralWithCase(scratch)
        let mayor = try Node(scratch, "mayor", .mayor)
        let readOnly = try await Self.refusal(.note(text: "Tolong cepat", visibility: .internal), on: caseID, at: mayor)
        #expect(readOnly?.code == .readOnlyNode)

        // An office holding the case (via central's feed) but not assigned to it.
        let office = try Node(scratch, "dpupr", .office)
        let ops = try await central.store.ops(ofCase: caseID)
        _ = try await office.store.applyRemote(
            ops.map { RemoteOp($0.sealed, centralReceivedAt: $0.receivedAt) },
            from: .feed(from: Self.node("central")),
            receivedAt: Self.now,
            feedPosition: UInt64(ops.count)
        )
        let notAssigned = try await Self.refusal(.acknowledge, on: caseID, at: office)
        #expect(notAssigned?.code == .notAssigned)
        let centralOnly = try await Self.refusal(.verify(tier: .normatif, topic: ""), on: caseID, at: office)
        #expect(centralOnly?.code == .wrongRole && centralOnly?.roles == [.central])
    }

    @Test func theCaseBookListsOverdueFirstAndFindsConflictsAndTheQueue() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (central, first) = try await Self.centralWithCase(scratch)
        let second = try CaseID("MJK-261129-0002")
        _ = try await central.store.append(
            .opened(.init(channel: .phone, reporterRef: "rpt-2", text: "Sampah menumpuk di TPS")),
            to: second,
            actor: try Self.operatorAccount(),
            at: Timestamp(millisecondsSinceEpoch: Self.now.millisecondsSinceEpoch + 60_000)
        )
        // Received (not the authoring time) counts: both are stamped at the append's time.
        let later = Timestamp(millisecondsSinceEpoch: Self.now.millisecondsSinceEpoch + 30 * 86_400_000)
        let listed = try await central.book.list(CaseListFilter(), at: later)
        #expect(listed.map(\.caseID).count == 2)
        #expect(listed.allSatisfy { $0.isOverdue })
        let firstPage = try await central.book.list(CaseListFilter(), at: later, limit: 1)
        #expect(firstPage.count == 1)
        let queue = try await central.book.queue(at: later)
        #expect(Set(queue.map(\.caseID)) == [first, second])
        #expect(try await central.book.conflicts(includeResolved: true).isEmpty)
        let detail = try await central.book.detail(first)
        #expect(detail.state.caseID == first)
    }

    @Test func theRecapListsArchivedCasesWithTheirReasonAndTheTimelineShowsEachOp() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (central, caseID) = try await Self.centralWithCase(scratch)
        _ = try await central.actions.perform(
            .archive(reason: .outOfRemit, note: "urusan provinsi"),
            on: caseID,
            actor: try Self.operatorAccount(),
            at: Self.now
        )
        let day = WorkingCalendar().localDate(of: Self.now)
        let recap = try await central.book.recap(of: day)
        #expect(recap.archived.map(\.0) == [caseID])
        #expect(recap.archived.map(\.1) == [.outOfRemit])
        #expect(recap.newCases == [caseID])
        let otherDay = try await central.book.recap(of: day.adding(days: 1))
        #expect(otherDay.archived.isEmpty)

        let timeline = try await central.book.detail(caseID).timeline
        #expect(timeline.map(\.kind) == [.opened, .archived])
        #expect(timeline.allSatisfy { $0.actor == (try? Self.operatorAccount()) && $0.effect == .applied })
    }
}
