import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// Listings, the queue, the report, the recap and the conflicts read from the projection say
/// exactly what folding every case says, on stores grown by random histories (offices working
/// offline, late uploads, reassignments that conflict, closures and reopenings), and again
/// after the deadline policy changes.
@Suite struct ProjectionReadsTests {
    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("\(name) is a valid node id") }
        return id
    }

    static let central = node("central")
    static let offices = [node("dpupr"), node("dlh")]
    static let mayor = node("mayor")
    /// Monday 30 November 2026, 07:00 WIB.
    static let start = Timestamp(millisecondsSinceEpoch: 1_796_000_400_000)

    static func reference(_ targets: ServiceTargets = ServiceTargets()) -> ReferenceData {
        ReferenceData(
            offices: offices.map { Office(code: $0, name: $0.rawValue.uppercased()) },
            calendar: WorkingCalendar(holidays: Set([CivilDate(year: 2026, month: 12, day: 2)].compactMap { $0 })),
            targets: targets,
            routing: RoutingRules(rules: [])
        )
    }

    static func open(_ scratch: Scratch, _ node: NodeID, _ role: NodeRole, policy: DeadlinePolicy?) throws -> Store {
        var configuration = StoreConfiguration(path: scratch.file("\(node.rawValue).sqlite"))
        configuration.deadlines = policy
        return try Store.open(configuration, identity: NodeIdentity(node: node, role: role, central: central))
    }

    /// A random history over about three weeks, ending with the mayor holding central's feed.
    struct World {
        let central: Store
        let mayor: Store
        let end: Timestamp

        init(seed: UInt64, scratch: Scratch, policy: DeadlinePolicy) async throws {
            var random = SplitMix64(seed: seed)
            central = try ProjectionReadsTests.open(scratch, ProjectionReadsTests.central, .central, policy: policy)
            mayor = try ProjectionReadsTests.open(scratch, ProjectionReadsTests.mayor, .mayor, policy: policy)
            var offices: [NodeID: Store] = [:]
            for office in ProjectionReadsTests.offices {
                offices[office] = try ProjectionReadsTests.open(scratch, office, .office, policy: nil)
                try await central.enrolPeer(office, role: .office, publicKey: "", at: ProjectionReadsTests.start)
            }
            try await central.enrolPeer(
                ProjectionReadsTests.mayor,
                role: .mayor,
                publicKey: "",
                at: ProjectionReadsTests.start
            )
            let staff = try ActorID("op.rina")
            var now = ProjectionReadsTests.start
            var cases: [CaseID] = []
            for step in 0..<260 {
                now = Timestamp(
                    millisecondsSinceEpoch: now.millisecondsSinceEpoch + Int64(random.next(below: 240)) * 60_000
                )
                let roll = random.next(below: 100)
                if roll < 22 || cases.isEmpty {
                    let caseID = try CaseID(prefix: "MJK", year: 2026, month: 11, day: 30, serial: step + 1)
                    let channel: IntakeChannel = random.chance(0.5) ? .whatsapp : .sms
                    _ = try await central.append(
                        .opened(.init(channel: channel, reporterRef: "rpt-\(step)", text: "Keluhan nomor \(step)")),
                        to: caseID,
                        actor: staff,
                        at: now
                    )
                    cases.append(caseID)
                    continue
                }
                var caseID = cases[random.next(below: cases.count)]
                let office = ProjectionReadsTests.offices[random.next(below: 2)]
                if (55..<59).contains(roll) {
                    // Reassign a case the office is working on, often while it works offline.
                    var working: [CaseID] = []
                    for candidate in cases {
                        if let status = try await central.caseState(candidate)?.assignment(for: office)?.status,
                            status.isActive, status != .resolved
                        {
                            working.append(candidate)
                        }
                    }
                    guard !working.isEmpty else { continue }
                    caseID = working[random.next(below: working.count)]
                }
                let body: OpBody
                switch roll {
                case ..<34:
                    let tiers: [DeadlineTier] = [.ringan, .normatif, .needsExamination]
                    body = .verified(
                        .init(tier: tiers[random.next(below: 3)], topic: random.chance(0.5) ? "jalan" : "")
                    )
                case ..<38: body = .pended(.init(request: "foto lokasi"))
                case ..<41: body = .archived(.init(reason: .duplicate))
                case ..<55: body = .dispatched(.init(office: office, epoch: 1))
                case ..<59:
                    let other = ProjectionReadsTests.offices.first { $0 != office } ?? office
                    body = .reassigned(.init(from: office, to: other, epoch: 2))
                case ..<64: body = .closed(.init(reason: .byOperator))
                case ..<67: body = .reopened(.init(reason: "belum"))
                case ..<70: body = .noted(.init(text: "catatan", visibility: .internal))
                default:
                    // An office works offline for a while: it receives the feed, acts, and its
                    // ops reach central later (sometimes after central changed the case).
                    guard let store = offices[office] else { continue }
                    try await Self.deliver(central, to: store, at: now)
                    // The next step on one of its own active cases, now and then a return.
                    var own: [(CaseID, AssignmentStatus)] = []
                    for held in try await store.caseIDs() {
                        if let status = try await store.caseState(held)?.assignment(for: office)?.status,
                            status.isActive, status != .resolved
                        {
                            own.append((held, status))
                        }
                    }
                    guard !own.isEmpty else { continue }
                    let (target, status) = own[random.next(below: own.count)]
                    let action: OpBody
                    if random.chance(0.1) {
                        action = .returned(.init(reason: .notOurAuthority))
                    } else {
                        switch status {
                        case .dispatched: action = .acknowledged
                        case .acknowledged:
                            action = random.chance(0.5) ? .started : .resolved(.init(summary: "selesai"))
                        default: action = .resolved(.init(summary: "selesai"))
                        }
                    }
                    let officer = try ActorID("\(office.rawValue).petugas")
                    _ = try? await store.append(action, to: target, actor: officer, at: now)
                    if random.chance(0.6) {
                        let late = Timestamp(
                            millisecondsSinceEpoch: now.millisecondsSinceEpoch + Int64(random.next(below: 600)) * 60_000
                        )
                        try await Self.upload(store, to: central, at: late)
                    }
                    continue
                }
                // Central refuses what its case does not allow; those are simply not written.
                _ = try? await central.append(body, to: caseID, actor: staff, at: now)
            }
            for store in offices.values {
                try await Self.upload(store, to: central, at: now)
            }
            try await Self.deliver(central, to: mayor, at: now)
            end = now
        }

        static func deliver(_ central: Store, to store: Store, at time: Timestamp) async throws {
            let node = store.identity.node
            let position = try await store.checkpoint(for: ProjectionReadsTests.central)
            let entries = try await central.feed(for: node, after: position, limit: 100_000)
            guard let last = entries.last else { return }
            _ = try await store.applyRemote(
                entries.map { RemoteOp($0.op.sealed, centralReceivedAt: $0.op.receivedAt) },
                from: .feed(from: ProjectionReadsTests.central),
                receivedAt: time,
                feedPosition: last.feedSeq
            )
        }

        static func upload(_ office: Store, to central: Store, at time: Timestamp) async throws {
            let origin = try await office.currentOrigin()
            let frontier = try await central.frontier(of: origin)
            let ops = try await office.ops(of: origin, after: frontier, limit: 100_000)
            guard !ops.isEmpty else { return }
            _ = try await central.applyRemote(
                ops.map { RemoteOp($0.sealed) },
                from: .peer(office.identity.node, .office),
                receivedAt: time
            )
        }
    }

    /// Every read of `store` through the projection equals the same read by folding.
    static func expectReadsAgree(_ store: Store, _ reference: ReferenceData, at moments: [Timestamp]) async throws {
        let projected = CaseBook(store: store, reference: reference)
        var folded = projected
        folded.foldsEveryCase = true
        #expect(projected.readsProjection && !folded.readsProjection)
        let filters: [CaseListFilter] = [
            CaseListFilter(), CaseListFilter(includeClosed: true), CaseListFilter(overdueOnly: true),
            CaseListFilter(office: offices[0]), CaseListFilter(office: offices[1], includeClosed: true),
            CaseListFilter(office: offices[0], overdueOnly: true),
        ]
        for now in moments {
            for filter in filters {
                for limit in [nil, 7] {
                    let fromProjection = try await projected.list(filter, at: now, limit: limit)
                    let fromFold = try await folded.list(filter, at: now, limit: limit)
                    #expect(fromProjection == fromFold, "\(filter) at \(now), limit \(String(describing: limit))")
                }
            }
            #expect(try await projected.report(at: now) == folded.report(at: now), "report at \(now)")
            #expect(try await projected.queue(at: now) == folded.queue(at: now), "queue at \(now)")
        }
        for resolved in [false, true] {
            #expect(
                try await projected.conflicts(includeResolved: resolved) == folded.conflicts(includeResolved: resolved)
            )
        }
        let calendar = reference.calendar
        var day = calendar.localDate(of: start)
        let last = calendar.localDate(of: moments.max() ?? start)
        while day <= last {
            let fromProjection = try await projected.recap(of: day)
            let fromFold = try await folded.recap(of: day)
            func pairs(_ list: [(CaseID, NodeID)]) -> [String] { list.map { "\($0.0) \($0.1)" }.sorted() }
            #expect(fromProjection.newCases == fromFold.newCases, "new on \(day)")
            #expect(pairs(fromProjection.dispatched) == pairs(fromFold.dispatched), "dispatched on \(day)")
            #expect(pairs(fromProjection.resolved) == pairs(fromFold.resolved), "resolved on \(day)")
            #expect(fromProjection.closed == fromFold.closed, "closed on \(day)")
            #expect(
                fromProjection.archived.map { "\($0.0) \($0.1)" } == fromFold.archived.map { "\($0.0) \($0.1)" },
                "archived on \(day)"
            )
            #expect(fromProjection.overdue == fromFold.overdue, "overdue at the end of \(day)")
            #expect(
                fromProjection.conflicts.map { "\($0.0) \($0.1)" } == fromFold.conflicts.map { "\($0.0) \($0.1)" },
                "conflicts on \(day)"
            )
            for (caseID, topic) in fromProjection.topics { #expect(fromFold.topics[caseID] == topic) }
            day = day.adding(days: 1)
        }
    }

    @Test(arguments: [UInt64(1), 2, 4])
    func projectionReadsMatchFoldingEveryCase(seed: UInt64) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let reference = Self.reference()
        let world = try await World(seed: seed, scratch: scratch, policy: reference.deadlinePolicy)
        let moments = [
            Timestamp(
                millisecondsSinceEpoch: (Self.start.millisecondsSinceEpoch + world.end.millisecondsSinceEpoch) / 2
            ),
            world.end,
            Timestamp(millisecondsSinceEpoch: world.end.millisecondsSinceEpoch + 7 * 86_400_000),
        ]
        // Something to compare: conflicts, overdue cases and follow-ups happened.
        let folded = try await CaseBook(store: world.central, reference: reference).records()
        #expect(folded.contains { !$0.state.conflicts.isEmpty }, "seed \(seed) made no conflict")
        #expect(folded.contains { $0.isOverdue(at: world.end) }, "seed \(seed) left nothing overdue")
        #expect(folded.contains { $0.state.assignments.contains { $0.status == .resolved } })
        try await Self.expectReadsAgree(world.central, reference, at: moments)
        try await Self.expectReadsAgree(world.mayor, reference, at: moments)
    }

    @Test func aChangedDeadlinePolicyRecomputesEveryDueTime() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let world = try await World(seed: 9, scratch: scratch, policy: Self.reference().deadlinePolicy)
        let end = world.end
        let middle = Timestamp(
            millisecondsSinceEpoch: (Self.start.millisecondsSinceEpoch + end.millisecondsSinceEpoch) / 2
        )
        let before = try await CaseBook(store: world.mayor, reference: Self.reference()).list(
            CaseListFilter(),
            at: middle
        )
        // The city shortens its targets: the mayor's node opens with the new file.
        let stricter = Self.reference(
            ServiceTargets(
                verify: .workingMinutes(10),
                dispatch: .hours(2),
                acknowledge: .workingMinutes(60),
                followUpWorkingDays: [.ringan: 1, .normatif: 2, .withoutOversight: 5, .needsExamination: 20]
            )
        )
        let reopened = try Self.open(scratch, Self.mayor, .mayor, policy: stricter.deadlinePolicy)
        try await Self.expectReadsAgree(reopened, stricter, at: [middle, end])
        let after = try await CaseBook(store: reopened, reference: stricter).list(CaseListFilter(), at: middle)
        // The same cases, each due no later than before, and some earlier.
        #expect(Set(after.map(\.caseID)) == Set(before.map(\.caseID)))
        let dueBefore = Dictionary(uniqueKeysWithValues: before.map { ($0.caseID, $0.nextDue) })
        #expect(
            after.allSatisfy { entry in
                (entry.nextDue ?? .init(millisecondsSinceEpoch: 0))
                    <= (dueBefore[entry.caseID].flatMap { $0 } ?? .init(millisecondsSinceEpoch: .max))
            }
        )
        #expect(after.contains { $0.nextDue != dueBefore[$0.caseID].flatMap { $0 } }, "stricter targets move due times")
        // Central opened without a policy writes a case whose due times it does not keep; the
        // next open with a policy computes them.
        let bare = try Self.open(scratch, Self.central, .central, policy: nil)
        _ = try await bare.append(
            .opened(.init(channel: .sms, reporterRef: "rpt-late", text: "Keluhan terakhir")),
            to: try CaseID(prefix: "MJK", year: 2026, month: 12, day: 20, serial: 1),
            actor: try ActorID("op.rina"),
            at: end
        )
        let again = try Self.open(scratch, Self.central, .central, policy: Self.reference().deadlinePolicy)
        try await Self.expectReadsAgree(again, Self.reference(), at: [end])
        #expect(
            try await CaseBook(store: again, reference: Self.reference()).queue(at: end).contains { $0.nextDue != nil }
        )
    }
}
