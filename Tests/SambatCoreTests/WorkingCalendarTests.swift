import SambatCore
import Testing

/// Working-day arithmetic in WIB over weekends, holidays, cuti bersama and year ends.
@Suite struct WorkingCalendarTests {
    /// The 2026 decree's year-end and Lebaran days, and Ascension with its cuti bersama.
    static let calendar = WorkingCalendar(
        holidays: Set(
            [
                "2026-03-18", "2026-03-19", "2026-03-20", "2026-03-21", "2026-03-22", "2026-03-23", "2026-03-24",
                "2026-05-14", "2026-05-15", "2026-12-24", "2026-12-25", "2027-01-01",
            ].compactMap { CivilDate(iso: $0) }
        )
    )

    /// A WIB wall time such as "2026-11-23 10:00".
    static func wib(_ text: String) -> Timestamp {
        let parts = text.split(separator: " ")
        let clock = parts[1].split(separator: ":").compactMap { Int($0) }
        guard let date = CivilDate(iso: parts[0]), clock.count == 2 else {
            Issue.record("bad test time \(text)")
            return Timestamp(millisecondsSinceEpoch: 0)
        }
        return calendar.instant(date, minute: clock[0] * 60 + clock[1])
    }

    @Test func civilDatesRoundTripAndKnowTheirWeekday() {
        #expect(CivilDate(iso: "2026-11-29")?.isoWeekday == 7)  // a Sunday
        #expect(CivilDate(iso: "2026-11-30")?.isoWeekday == 1)
        #expect(CivilDate(iso: "1970-01-01")?.daysSinceEpoch == 0)
        #expect(CivilDate(iso: "2026-02-29") == nil)
        #expect(CivilDate(iso: "2028-02-29") != nil)
        #expect(CivilDate(iso: "2026-13-01") == nil)
        #expect(CivilDate(iso: "26-11-29") == nil)
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            #expect(CivilDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(CivilDate(iso: "2026-12-31")!.adding(days: 1).description == "2027-01-01")
    }

    @Test(arguments: [
        // start (WIB), working days, due (WIB)
        ("2026-11-23 10:00", 2, "2026-11-25 16:00"),  // Monday: the arrival day does not count
        ("2026-11-27 10:00", 2, "2026-12-01 16:00"),  // Friday: the weekend is skipped
        ("2026-11-28 09:00", 1, "2026-11-30 16:00"),  // arrives on a Saturday
        ("2026-11-23 20:00", 1, "2026-11-24 16:00"),  // after office hours
        ("2026-12-23 10:00", 2, "2026-12-29 16:00"),  // cuti bersama 24 Dec, Christmas, weekend
        ("2026-12-30 10:00", 2, "2027-01-04 16:00"),  // across the year end and New Year's Day
        ("2026-03-17 09:00", 1, "2026-03-25 16:00"),  // the whole Lebaran block
        ("2026-05-13 11:00", 5, "2026-05-22 16:00"),  // Ascension and its cuti bersama
        ("2026-11-23 10:00", 60, "2027-02-18 16:00"),  // a long tier across the year end
    ])
    func workingDayDeadlines(start: String, days: Int, due: String) {
        #expect(Self.calendar.closeOfWorkingDays(days, after: Self.wib(start)) == Self.wib(due))
    }

    @Test func theLocalDayIsWIBNotUTC() {
        // 17:30 UTC on Monday is 00:30 on Tuesday in Jakarta: the arrival day is Tuesday.
        let start = Timestamp(millisecondsSinceEpoch: Self.wib("2026-11-24 00:30").millisecondsSinceEpoch)
        #expect(Self.calendar.localDate(of: start).description == "2026-11-24")
        #expect(Self.calendar.closeOfWorkingDays(1, after: start) == Self.wib("2026-11-25 16:00"))
    }

    @Test(arguments: [
        ("2026-11-23 09:00", 30, "2026-11-23 09:30"),
        ("2026-11-23 15:45", 30, "2026-11-24 07:45"),  // carries over to the next morning
        ("2026-11-28 10:00", 30, "2026-11-30 08:00"),  // Saturday: counts from Monday's opening
        ("2026-11-23 06:00", 30, "2026-11-23 08:00"),  // before opening
        ("2026-12-23 15:50", 30, "2026-12-28 07:50"),  // over cuti bersama, Christmas and a weekend
        ("2026-12-31 15:00", 120, "2027-01-04 08:30"),  // over New Year
    ])
    func workingMinuteDeadlines(start: String, minutes: Int, due: String) {
        #expect(Self.calendar.addingWorkingMinutes(minutes, to: Self.wib(start)) == Self.wib(due))
    }

    @Test(arguments: [
        ("2026-11-23 08:00", "2026-11-23 09:00", 60),
        ("2026-11-27 15:00", "2026-11-30 09:30", 180),  // Friday afternoon to Monday morning
        ("2026-12-23 15:00", "2026-12-28 08:30", 120),  // across the Christmas closure
        ("2026-11-28 08:00", "2026-11-29 17:00", 0),  // a weekend holds no office time
        ("2026-11-23 09:00", "2026-11-23 08:00", 0),  // reversed
        ("2026-11-23 07:30", "2026-11-30 07:30", 5 * 510),  // a whole working week
    ])
    func officeTimeBetween(start: String, end: String, minutes: Int64) {
        #expect(Self.calendar.workingMilliseconds(from: Self.wib(start), to: Self.wib(end)) == minutes * 60_000)
    }

    /// Working days as the fields say, day by day for four years, including after the
    /// weekdays and holidays are changed on an existing calendar (as the reference loader
    /// does).
    @Test func workingDaysFollowTheWeekdaysAndHolidaysEvenAfterAChange() throws {
        var calendar = Self.calendar
        func check() throws {
            let first = try #require(CivilDate(iso: "2025-01-01"))
            for offset in 0..<(4 * 366) {
                let date = first.adding(days: offset)
                let expected = calendar.workingWeekdays.contains(date.isoWeekday) && !calendar.holidays.contains(date)
                #expect(calendar.isWorkingDay(date) == expected, "\(date)")
            }
        }
        try check()
        calendar.workingWeekdays = [1, 2, 3, 4, 5, 6]  // Saturdays open
        calendar.holidays.insert(try #require(CivilDate(iso: "2026-11-30")))
        calendar.holidays.remove(try #require(CivilDate(iso: "2026-12-25")))
        try check()
        #expect(calendar.isWorkingDay(try #require(CivilDate(iso: "2026-11-28"))))  // a Saturday
        #expect(!calendar.isWorkingDay(try #require(CivilDate(iso: "2026-11-30"))))
        // Friday 27 Nov, 2 working days: Saturday 28 counts now, Monday 30 is a holiday.
        #expect(calendar.closeOfWorkingDays(2, after: Self.wib("2026-11-27 10:00")) == Self.wib("2026-12-01 16:00"))
        #expect(calendar != Self.calendar)
        calendar.workingWeekdays = Self.calendar.workingWeekdays
        calendar.holidays = Self.calendar.holidays
        #expect(calendar == Self.calendar)
        #expect(calendar.hashValue == Self.calendar.hashValue)
    }

    @Test func targetsOfEachUnit() {
        let start = Self.wib("2026-11-27 15:00")  // a Friday
        #expect(ServiceTarget.hours(24).due(from: start, in: Self.calendar) == Self.wib("2026-11-28 15:00"))
        #expect(ServiceTarget.workingMinutes(90).due(from: start, in: Self.calendar) == Self.wib("2026-11-30 08:00"))
        #expect(ServiceTarget.workingDays(5).due(from: start, in: Self.calendar) == Self.wib("2026-12-04 16:00"))
        let targets = ServiceTargets()
        #expect(targets.followUp(for: .needsExamination) == .workingDays(60))
        #expect(targets.followUp(for: nil) == .workingDays(5))
    }
}
