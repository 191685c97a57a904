/// Office days and hours in one time zone, with the holidays that close offices: the
/// arithmetic behind every deadline and every "time to acknowledge".
///
/// Built from configuration (``WorkingCalendar/init(holidays:)`` and friends) by the node at
/// start; a value type, so every reader shares it freely. Indonesia has no daylight saving
/// time, so a fixed UTC offset is exact (WIB is UTC+7).
public struct WorkingCalendar: Hashable, Sendable {
    /// Minutes east of UTC: 420 for WIB (Asia/Jakarta).
    public var utcOffsetMinutes: Int
    /// ISO weekdays offices open (1 = Monday … 7 = Sunday).
    public var workingWeekdays: Set<Int> {
        didSet { weekdayMask = Self.mask(of: workingWeekdays) }
    }
    /// Minute of the day offices open (07:30 = 450).
    public var opensAtMinute: Int
    /// Minute of the day offices close (16:00 = 960); after ``opensAtMinute``.
    public var closesAtMinute: Int
    /// Dates offices are closed on a working weekday: national holidays and cuti bersama.
    public var holidays: Set<CivilDate> {
        didSet { holidayDays = Self.days(of: holidays) }
    }

    /// ``workingWeekdays`` as bits (bit 1 = Monday … bit 7 = Sunday).
    ///
    /// The day-by-day loops below ask about every day they pass, and a projection computes
    /// several deadlines per case: two set lookups per day, each hashing, were a tenth of a
    /// mayor's projection (perf). A mask and a sorted array answer without hashing.
    private var weekdayMask: UInt8
    /// ``holidays`` as days since the epoch, ascending.
    private var holidayDays: [Int64]

    /// Asia/Jakarta, Monday to Friday 07:30–16:00, with the given holidays.
    public init(
        holidays: Set<CivilDate> = [],
        utcOffsetMinutes: Int = 7 * 60,
        workingWeekdays: Set<Int> = [1, 2, 3, 4, 5],
        opensAtMinute: Int = 7 * 60 + 30,
        closesAtMinute: Int = 16 * 60
    ) {
        self.holidays = holidays
        self.utcOffsetMinutes = utcOffsetMinutes
        self.workingWeekdays = workingWeekdays
        self.opensAtMinute = opensAtMinute
        self.closesAtMinute = max(closesAtMinute, opensAtMinute + 1)
        weekdayMask = Self.mask(of: workingWeekdays)
        holidayDays = Self.days(of: holidays)
    }

    private static func mask(of weekdays: Set<Int>) -> UInt8 {
        weekdays.reduce(0) { mask, weekday in (1...7).contains(weekday) ? mask | 1 << UInt8(weekday) : mask }
    }

    private static func days(of dates: Set<CivilDate>) -> [Int64] {
        dates.map(\.daysSinceEpoch).sorted()
    }

    private static let millisecondsPerMinute: Int64 = 60_000
    private static let millisecondsPerDay: Int64 = 86_400_000
    /// Loops walk day by day; no real deadline is further than this many days away.
    private static let horizonDays = 3_660

    /// Office minutes in one working day.
    public var minutesPerWorkingDay: Int { closesAtMinute - opensAtMinute }

    /// The local date of an instant.
    public func localDate(of time: Timestamp) -> CivilDate {
        CivilDate(daysSinceEpoch: localDay(of: time))
    }

    /// The local minute of the day of an instant (0…1439).
    public func localMinute(of time: Timestamp) -> Int {
        let intoDay = localMilliseconds(time) - localDay(of: time) * Self.millisecondsPerDay
        return Int(intoDay / Self.millisecondsPerMinute)
    }

    /// The instant at `minute` of the local `date`.
    public func instant(_ date: CivilDate, minute: Int) -> Timestamp {
        instant(day: date.daysSinceEpoch, minute: minute)
    }

    /// Whether offices open on `date`: a working weekday that is not a holiday.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        isWorkingDay(day: date.daysSinceEpoch)
    }

    /// The first working day strictly after `date`.
    public func nextWorkingDay(after date: CivilDate) -> CivilDate {
        CivilDate(daysSinceEpoch: nextWorkingDay(after: date.daysSinceEpoch))
    }

    /// Closing time of the `count`-th working day after the day of `start`.
    ///
    /// The day a case arrives never counts, whatever the hour (the service-standard reading
    /// of "N hari kerja"); a case that arrives on a Saturday is due at the same moment as
    /// one that arrived on the Friday before.
    public func closeOfWorkingDays(_ count: Int, after start: Timestamp) -> Timestamp {
        var day = localDay(of: start)
        for _ in 0..<max(1, count) { day = nextWorkingDay(after: day) }
        return instant(day: day, minute: closesAtMinute)
    }

    /// The instant `minutes` office minutes after `start`; time outside office hours does
    /// not count.
    public func addingWorkingMinutes(_ minutes: Int, to start: Timestamp) -> Timestamp {
        var remaining = Int64(max(0, minutes)) * Self.millisecondsPerMinute
        var day = localDay(of: start)
        var cursor = start
        for _ in 0..<Self.horizonDays {
            if isWorkingDay(day: day) {
                let opens = instant(day: day, minute: opensAtMinute)
                let closes = instant(day: day, minute: closesAtMinute)
                if cursor < opens { cursor = opens }
                if cursor < closes {
                    let available = closes.millisecondsSinceEpoch - cursor.millisecondsSinceEpoch
                    if remaining <= available {
                        return Timestamp(millisecondsSinceEpoch: cursor.millisecondsSinceEpoch + remaining)
                    }
                    remaining -= available
                }
            }
            day += 1
            cursor = instant(day: day, minute: 0)
        }
        return cursor
    }

    /// Office time between two instants, in milliseconds (0 when `end` is not after `start`).
    ///
    /// This is how "time to acknowledge" is measured: a case dispatched on Friday afternoon
    /// and acknowledged on Monday morning took an hour or two of office time, not three days.
    public func workingMilliseconds(from start: Timestamp, to end: Timestamp) -> Int64 {
        guard start < end else { return 0 }
        var total: Int64 = 0
        var day = localDay(of: start)
        let lastDay = localDay(of: end)
        for _ in 0..<Self.horizonDays {
            if isWorkingDay(day: day) {
                let opens = max(instant(day: day, minute: opensAtMinute), start)
                let closes = min(instant(day: day, minute: closesAtMinute), end)
                if opens < closes { total += closes.millisecondsSinceEpoch - opens.millisecondsSinceEpoch }
            }
            if day >= lastDay { break }
            day += 1
        }
        return total
    }

    // MARK: - Days as numbers (days since 1970-01-01)

    private func isWorkingDay(day: Int64) -> Bool {
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let offset = (day + 3) % 7
        let weekday = UInt8(offset < 0 ? offset + 7 : offset) + 1
        return weekdayMask & 1 << weekday != 0 && !isHoliday(day: day)
    }

    private func isHoliday(day: Int64) -> Bool {
        var low = 0
        var high = holidayDays.count
        while low < high {
            let middle = (low + high) / 2
            if holidayDays[middle] < day { low = middle + 1 } else { high = middle }
        }
        return low < holidayDays.count && holidayDays[low] == day
    }

    private func nextWorkingDay(after start: Int64) -> Int64 {
        var day = start + 1
        // A `for … where` would walk the whole horizon, testing the found day each time.
        var skipped = 0
        while !isWorkingDay(day: day), skipped < Self.horizonDays {
            day += 1
            skipped += 1
        }
        return day
    }

    private func instant(day: Int64, minute: Int) -> Timestamp {
        let local = day * Self.millisecondsPerDay + Int64(minute) * Self.millisecondsPerMinute
        return Timestamp(millisecondsSinceEpoch: local - Int64(utcOffsetMinutes) * Self.millisecondsPerMinute)
    }

    private func localDay(of time: Timestamp) -> Int64 {
        floorDivide(localMilliseconds(time), Self.millisecondsPerDay)
    }

    private func localMilliseconds(_ time: Timestamp) -> Int64 {
        time.millisecondsSinceEpoch + Int64(utcOffsetMinutes) * Self.millisecondsPerMinute
    }

    private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
