/// The targets and the calendar a store computes its cases' due times with, so listings can
/// read "overdue" as an index range instead of folding every case.
///
/// Owned by whoever opens the store (a node, from its reference files). The fingerprint is
/// kept in the store: when the deadlines file changes, every due time is computed again.
public struct DeadlinePolicy: Hashable, Sendable {
    /// The stage targets.
    public var targets: ServiceTargets
    /// Office days, hours and holidays.
    public var calendar: WorkingCalendar

    /// A policy.
    public init(targets: ServiceTargets, calendar: WorkingCalendar) {
        self.targets = targets
        self.calendar = calendar
    }

    /// A text that changes exactly when a due time could: every target and calendar field,
    /// sets and maps in sorted order (so it is the same in every process).
    public var fingerprint: String {
        let tiers = targets.followUpWorkingDays.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: ",")
        let holidays = calendar.holidays.map(\.description).sorted().joined(separator: ",")
        return [
            "v1", "verify=\(targets.verify)", "dispatch=\(targets.dispatch)", "acknowledge=\(targets.acknowledge)",
            "follow_up=\(tiers)", "default=\(targets.defaultTier.rawValue)", "utc=\(calendar.utcOffsetMinutes)",
            "days=\(calendar.workingWeekdays.sorted().map(String.init).joined(separator: ","))",
            "hours=\(calendar.opensAtMinute)-\(calendar.closesAtMinute)", "holidays=\(holidays)",
        ].joined(separator: "|")
    }
}
