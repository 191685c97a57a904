public import SambatCore
import SambatStore

/// The spans a trend is counted in.
public enum TrendPeriod: String, CaseIterable, Hashable, Sendable {
    /// The last 30 days.
    case day
    /// The last 12 weeks, Monday to Sunday.
    case week
    /// The last 12 calendar months.
    case month

    /// How many spans a trend shows.
    public var spans: Int { self == .day ? 30 : 12 }
}

/// One span of a trend: when it starts, how many cases arrived and how many were closed.
public struct TrendPoint: Hashable, Sendable {
    /// The span's first day (WIB).
    public let start: CivilDate
    /// Cases central received in the span.
    public let received: Int
    /// Cases closed in the span.
    public let closed: Int
}

extension CaseBook {
    /// How many cases arrived and were closed in each span up to and including `date`'s, oldest
    /// first; read from the case projection's received and closed times.
    ///
    /// - Throws: ``DeskError/Code/storage``.
    public func trend(_ period: TrendPeriod, through date: CivilDate) async throws(DeskError) -> [TrendPoint] {
        let starts = Self.spanStarts(period, through: date)
        let calendar = reference.calendar
        let boundaries = starts.map { calendar.instant($0, minute: 0) }
        do {
            let counts = try await store.caseCounts(between: boundaries)
            return zip(starts, counts).map { TrendPoint(start: $0, received: $1.received, closed: $1.closed) }
        } catch {
            throw .storage(error)
        }
    }

    /// The first day of each span, and the day after the last span (spans + 1 dates).
    static func spanStarts(_ period: TrendPeriod, through date: CivilDate) -> [CivilDate] {
        switch period {
        case .day:
            return (0...period.spans).map { date.adding(days: $0 - period.spans + 1) }
        case .week:
            let monday = date.adding(days: 1 - date.isoWeekday)
            return (0...period.spans).map { monday.adding(days: 7 * ($0 - period.spans + 1)) }
        case .month:
            return (0...period.spans).map { offset in
                let months = date.year * 12 + (date.month - 1) + offset - period.spans + 1
                return CivilDate(year: months / 12, month: months % 12 + 1, day: 1) ?? date
            }
        }
    }
}
