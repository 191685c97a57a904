/// How long a stage may take: in office minutes, in clock hours, or in working days.
public enum ServiceTarget: Hashable, Sendable, CustomStringConvertible {
    /// Office minutes (the SOP's "verifikasi 30 menit").
    case workingMinutes(Int)
    /// Elapsed clock hours, office open or not (the SOP's "disposisi 24 jam").
    case hours(Int)
    /// Working days: due at closing time of the N-th working day after the start day.
    case workingDays(Int)

    /// The deadline for a stage that started at `start`.
    public func due(from start: Timestamp, in calendar: WorkingCalendar) -> Timestamp {
        switch self {
        case .workingMinutes(let minutes): calendar.addingWorkingMinutes(minutes, to: start)
        case .hours(let hours):
            Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(max(0, hours)) * 3_600_000)
        case .workingDays(let days): calendar.closeOfWorkingDays(days, after: start)
        }
    }

    /// As in `deadlines.yaml`: "30 working_minutes", "24 hours", "5 working_days".
    public var description: String {
        switch self {
        case .workingMinutes(let minutes): "\(minutes) working_minutes"
        case .hours(let hours): "\(hours) hours"
        case .workingDays(let days): "\(days) working_days"
        }
    }
}

/// The service standard: a target for each stage of a case, and the follow-up deadline of
/// each tier.
///
/// Loaded from `Config/deadlines.yaml` by the node; the defaults are Kota Mojokerto's SOP and
/// the national tiers (2/5/14/60 working days).
public struct ServiceTargets: Hashable, Sendable {
    /// From arrival at central to verification (or pend, or archive).
    public var verify: ServiceTarget
    /// From verification to dispatch.
    public var dispatch: ServiceTarget
    /// From dispatch to the office's acknowledgement.
    public var acknowledge: ServiceTarget
    /// From dispatch to the office's follow-up, per tier, in working days.
    public var followUpWorkingDays: [DeadlineTier: Int]
    /// The tier assumed for a case not yet given one.
    public var defaultTier: DeadlineTier

    /// Mojokerto's SOP and the national tiers unless told otherwise.
    public init(
        verify: ServiceTarget = .workingMinutes(30),
        dispatch: ServiceTarget = .hours(24),
        acknowledge: ServiceTarget = .workingDays(1),
        followUpWorkingDays: [DeadlineTier: Int] = [
            .ringan: 2, .normatif: 5, .withoutOversight: 14, .needsExamination: 60,
        ],
        defaultTier: DeadlineTier = .normatif
    ) {
        self.verify = verify
        self.dispatch = dispatch
        self.acknowledge = acknowledge
        self.followUpWorkingDays = followUpWorkingDays
        self.defaultTier = defaultTier
    }

    /// The follow-up target of a tier.
    public func followUp(for tier: DeadlineTier?) -> ServiceTarget {
        let tier = tier ?? defaultTier
        return .workingDays(followUpWorkingDays[tier] ?? followUpWorkingDays[defaultTier] ?? 5)
    }
}
