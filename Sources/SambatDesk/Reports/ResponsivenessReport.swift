public import SambatCore

/// Who is slow: per office, the open and overdue cases, the time it takes to acknowledge and
/// to follow up (median and 90th percentile, in office hours), and returns.
///
/// Computed from case records on the mayor's node (or central's); times are central's receive
/// times, so an office's own clock cannot flatter it.
public struct ResponsivenessReport: Hashable, Sendable {
    /// One office's line.
    public struct Line: Hashable, Sendable {
        /// The office.
        public let office: NodeID
        /// Assignments received in all.
        public var assigned = 0
        /// Active assignments without a follow-up yet.
        public var open = 0
        /// Of those, how many are past a deadline now.
        public var overdue = 0
        /// Assignments handed back (bukan wewenang).
        public var returned = 0
        /// Assignments with a follow-up reported.
        public var resolved = 0
        /// Follow-ups reported after their deadline.
        public var resolvedLate = 0
        /// Median time to acknowledge, in office milliseconds.
        public var acknowledgeMedian: Int64?
        /// 90th-percentile time to acknowledge.
        public var acknowledgeP90: Int64?
        /// Median time to follow-up.
        public var followUpMedian: Int64?
        /// 90th-percentile time to follow-up.
        public var followUpP90: Int64?

        /// Nearest-rank percentile; `nil` for no samples.
        static func percentile(_ values: [Int64], _ fraction: Double) -> Int64? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            return sorted[rank(fraction, of: sorted.count)]
        }

        /// The zero-based nearest-rank position of the `fraction` percentile among `count` values.
        static func rank(_ fraction: Double, of count: Int) -> Int {
            let rank = Int((fraction * Double(count)).rounded(.up))
            return min(count - 1, max(0, rank - 1))
        }
    }

    /// One line per office that ever had an assignment, slowest (most overdue) first.
    public let lines: [Line]
    /// Cases not yet verified or dispatched that are past a deadline: central's own backlog.
    public let centralOverdue: Int

    /// Work times count in whole office minutes, as the projection keeps them (and as the
    /// report shows them).
    static func wholeMinutes(_ milliseconds: Int64) -> Int64 { milliseconds / 60_000 * 60_000 }

    /// The report from offices' lines, ordered slowest first.
    init(lines: [Line], centralOverdue: Int) {
        self.lines = lines.sorted {
            ($0.overdue, $0.acknowledgeMedian ?? 0, $1.office.rawValue) > (
                $1.overdue, $1.acknowledgeMedian ?? 0, $0.office.rawValue
            )
        }
        self.centralOverdue = centralOverdue
    }

    /// Builds the report at `now` by folding every case: what a store opened without a
    /// deadline policy reads, and the reference the projection's report is tested against.
    public init(records: [CaseRecord], calendar: WorkingCalendar, now: Timestamp) {
        var lines: [NodeID: Line] = [:]
        var acknowledgeTimes: [NodeID: [Int64]] = [:]
        var followUpTimes: [NodeID: [Int64]] = [:]
        var centralOverdue = 0
        for record in records {
            if record.clocks.contains(where: { $0.office == nil && $0.isOverdue(at: now) }) { centralOverdue += 1 }
            for assignment in record.state.assignments {
                var line = lines[assignment.office] ?? Line(office: assignment.office)
                line.assigned += 1
                let clocks = record.clocks.filter { $0.office == assignment.office }
                if let acknowledge = clocks.first(where: { $0.stage == .acknowledge }),
                    let done = acknowledge.doneAt, assignment.acknowledged != nil || assignment.started != nil
                {
                    acknowledgeTimes[assignment.office, default: []].append(
                        Self.wholeMinutes(calendar.workingMilliseconds(from: acknowledge.startedAt, to: done))
                    )
                }
                switch assignment.status {
                case .returned: line.returned += 1
                case .revoked: break
                case .resolved:
                    line.resolved += 1
                    if let followUp = clocks.first(where: { $0.stage == .followUp }), let done = followUp.doneAt {
                        followUpTimes[assignment.office, default: []].append(
                            Self.wholeMinutes(calendar.workingMilliseconds(from: followUp.startedAt, to: done))
                        )
                        if followUp.wasLate { line.resolvedLate += 1 }
                    }
                case .dispatched, .acknowledged, .inProgress, .reopened:
                    if record.state.status.isOpen {
                        line.open += 1
                        if clocks.contains(where: { $0.isOverdue(at: now) }) { line.overdue += 1 }
                    }
                }
                lines[assignment.office] = line
            }
        }
        for (office, times) in acknowledgeTimes {
            lines[office]?.acknowledgeMedian = Line.percentile(times, 0.5)
            lines[office]?.acknowledgeP90 = Line.percentile(times, 0.9)
        }
        for (office, times) in followUpTimes {
            lines[office]?.followUpMedian = Line.percentile(times, 0.5)
            lines[office]?.followUpP90 = Line.percentile(times, 0.9)
        }
        self.init(lines: Array(lines.values), centralOverdue: centralOverdue)
    }
}

/// The day's recap the vice-mayor's aide used to compile by hand.
public struct DailyRecap: Sendable {
    /// The day (WIB).
    public let date: CivilDate
    /// Cases that arrived that day.
    public var newCases: [CaseID] = []
    /// Dispatches that day: case and office.
    public var dispatched: [(CaseID, NodeID)] { dispatchedPairs.map { ($0.caseID, $0.office) } }
    /// Follow-ups reported that day: case and office.
    public var resolved: [(CaseID, NodeID)] { resolvedPairs.map { ($0.caseID, $0.office) } }
    /// Cases closed that day.
    public var closed: [CaseID] = []
    /// Cases archived that day, with the coded reason.
    public var archived: [(CaseID, ArchiveReason)] { archivedPairs.map { ($0.caseID, $0.reason) } }
    /// Cases with a stage past its deadline at the end of the day.
    public var overdue: [CaseID] = []
    /// The topic of each case named in the recap that has one.
    public var topics: [CaseID: String] = [:]
    /// Conflicts recorded that day (when central received the op that made each one): case and
    /// conflict id.
    public var conflicts: [(CaseID, String)] { conflictPairs.map { ($0.caseID, $0.conflict) } }

    struct Pair: Hashable, Sendable {
        let caseID: CaseID
        let office: NodeID
    }
    struct ConflictPair: Hashable, Sendable {
        let caseID: CaseID
        let conflict: String
    }
    struct ArchivedPair: Hashable, Sendable {
        let caseID: CaseID
        let reason: ArchiveReason
    }
    var archivedPairs: [ArchivedPair] = []
    var dispatchedPairs: [Pair] = []
    var resolvedPairs: [Pair] = []
    var conflictPairs: [ConflictPair] = []

    /// An empty recap of `date`, for the projection's reader to fill.
    init(date: CivilDate) {
        self.date = date
    }

    /// Builds the recap of `date` by folding every case: what a store opened without a
    /// deadline policy reads, and the reference the projection's recap is tested against.
    public init(date: CivilDate, records: [CaseRecord], calendar: WorkingCalendar) {
        self.date = date
        let endOfDay = calendar.instant(date.adding(days: 1), minute: 0)
        func on(_ stamp: Stamp?, _ record: CaseRecord) -> Bool {
            guard let stamp, let time = record.receivedAt[stamp.op] else { return false }
            return calendar.localDate(of: time) == date
        }
        for record in records.sorted(by: { $0.caseID < $1.caseID }) {
            let state = record.state
            if on(state.milestones.received, record) { newCases.append(state.caseID) }
            for assignment in state.assignments {
                if on(assignment.dispatched, record) {
                    dispatchedPairs.append(Pair(caseID: state.caseID, office: assignment.office))
                }
                if on(assignment.resolved, record) {
                    resolvedPairs.append(Pair(caseID: state.caseID, office: assignment.office))
                }
            }
            if on(state.milestones.closed, record) { closed.append(state.caseID) }
            if on(state.milestones.archived, record), let reason = state.archiveReason {
                archivedPairs.append(ArchivedPair(caseID: state.caseID, reason: reason))
            }
            // Overdue at the end of the day: open past the deadline then.
            let lateAtEnd = record.clocks.contains { clock in
                clock.startedAt < endOfDay && clock.dueAt < endOfDay && (clock.doneAt.map { $0 >= endOfDay } ?? true)
            }
            if lateAtEnd { overdue.append(state.caseID) }
            if !state.topic.isEmpty { topics[state.caseID] = state.topic }
            for conflict in state.conflicts
            where conflict.ops.compactMap({ record.receivedAt[$0] }).max().map({ calendar.localDate(of: $0) == date })
                ?? false
            {
                conflictPairs.append(ConflictPair(caseID: state.caseID, conflict: conflict.id))
            }
        }
    }
}
