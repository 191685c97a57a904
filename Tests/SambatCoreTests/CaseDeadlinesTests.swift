import SambatCore
import Testing

/// Stage clocks of a case, measured from receive times.
@Suite struct CaseDeadlinesTests {
    static let calendar = WorkingCalendarTests.calendar
    static let wib = WorkingCalendarTests.wib

    @Test func everyStageHasItsDeadlineAndOverdueFollowsTheClock() throws {
        var central = TestReplica(Fixtures.origin("central"))
        var dpupr = TestReplica(Fixtures.origin("dpupr"))
        var times: [OpID: Timestamp] = [:]
        func at(_ op: Op, _ time: String) { times[op.id] = Self.wib(time) }
        at(central.author(Fixtures.opened), "2026-11-27 15:50")  // Friday, ten minutes before closing
        at(central.author(.verified(.init(tier: .ringan, topic: "jalan rusak"))), "2026-11-30 08:00")
        at(central.author(.dispatched(.init(office: Fixtures.dpupr, epoch: 1))), "2026-12-01 10:00")
        dpupr.sync(from: central)
        at(dpupr.author(.acknowledged), "2026-12-03 09:00")  // one working day late
        central.sync(from: dpupr)

        let clocks = CaseDeadlines.clocks(
            for: central.state,
            receivedAt: { times[$0] },
            targets: ServiceTargets(),
            calendar: Self.calendar
        )
        func clock(_ stage: StageClock.Stage) throws -> StageClock { try #require(clocks.first { $0.stage == stage }) }
        // Verify: 30 office minutes = 10 on Friday + 20 on Monday.
        #expect(try clock(.verify).dueAt == Self.wib("2026-11-30 07:50"))
        #expect(try clock(.verify).wasLate)
        // Dispatch: 24 clock hours.
        #expect(try clock(.dispatch).dueAt == Self.wib("2026-12-01 08:00"))
        #expect(try clock(.dispatch).wasLate)
        // Acknowledge: one working day after the dispatch day.
        #expect(try clock(.acknowledge).dueAt == Self.wib("2026-12-02 16:00"))
        #expect(try clock(.acknowledge).office == Fixtures.dpupr)
        #expect(try clock(.acknowledge).wasLate)
        // Follow-up: tier ringan = 2 working days, still open.
        let followUp = try clock(.followUp)
        #expect(followUp.dueAt == Self.wib("2026-12-03 16:00"))
        #expect(followUp.doneAt == nil)
        #expect(!followUp.isOverdue(at: Self.wib("2026-12-03 15:59")))
        #expect(followUp.isOverdue(at: Self.wib("2026-12-03 16:01")))
    }

    @Test func aStageWhoseReceiveTimeIsUnknownIsNotMeasured() {
        var central = TestReplica(Fixtures.origin("central"))
        central.author(Fixtures.opened)
        let clocks = CaseDeadlines.clocks(
            for: central.state,
            receivedAt: { _ in nil },
            targets: ServiceTargets(),
            calendar: Self.calendar
        )
        #expect(clocks.isEmpty)
    }
}
