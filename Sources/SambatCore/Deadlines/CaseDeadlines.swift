/// One stage of a case against its deadline: when it started, when it is due, and when it
/// was done.
///
/// Times are central's receive times of the ops involved, never an author's own clock, so a
/// wrong office clock cannot make an office look faster.
public struct StageClock: Hashable, Sendable {
    /// The stages a case goes through.
    public enum Stage: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
        /// Central verifies (or pends, or archives) the complaint.
        case verify = 1
        /// Central dispatches it to an office.
        case dispatch = 2
        /// The office acknowledges it (DITERIMA_OPD).
        case acknowledge = 3
        /// The office reports its follow-up (SELESAI_OPD).
        case followUp = 4

        /// snake_case identifier.
        public var description: String {
            switch self {
            case .verify: "verify"
            case .dispatch: "dispatch"
            case .acknowledge: "acknowledge"
            case .followUp: "follow_up"
            }
        }
    }

    /// Which stage.
    public let stage: Stage
    /// The office, for the office stages.
    public let office: NodeID?
    /// When the clock started.
    public let startedAt: Timestamp
    /// When the stage is due.
    public let dueAt: Timestamp
    /// When it was done; `nil` while still open.
    public let doneAt: Timestamp?

    /// Whether the stage is still open past its deadline at `now`.
    public func isOverdue(at now: Timestamp) -> Bool { doneAt == nil && now > dueAt }

    /// Whether the stage was done after its deadline.
    public var wasLate: Bool { doneAt.map { $0 > dueAt } ?? false }
}

/// Computes a case's stage clocks from its folded state.
public enum CaseDeadlines {
    /// Every stage clock of `state` that has started.
    ///
    /// `receivedAt` gives central's receive time of an op of this case; a stamp whose time is
    /// unknown is skipped (its clock cannot be measured).
    ///
    /// - Returns: the verify and dispatch clocks, then two clocks per assignment.
    public static func clocks(
        for state: CaseState,
        receivedAt: (OpID) -> Timestamp?,
        targets: ServiceTargets,
        calendar: WorkingCalendar
    ) -> [StageClock] {
        func time(_ stamp: Stamp?) -> Timestamp? { stamp.flatMap { receivedAt($0.op) } }
        let milestones = state.milestones
        // A closed or archived case stops every clock still running.
        let finished = time(milestones.closed) ?? time(milestones.archived)
        var clocks: [StageClock] = []
        if let received = time(milestones.received) {
            let done = [time(milestones.verified), time(milestones.pended), time(milestones.archived)]
                .compactMap { $0 }.min()
            clocks.append(
                StageClock(
                    stage: .verify,
                    office: nil,
                    startedAt: received,
                    dueAt: targets.verify.due(from: received, in: calendar),
                    doneAt: done ?? finished
                )
            )
        }
        if let verified = time(milestones.verified) {
            let dispatched = state.assignments.compactMap { time($0.dispatched) }.min()
            clocks.append(
                StageClock(
                    stage: .dispatch,
                    office: nil,
                    startedAt: verified,
                    dueAt: targets.dispatch.due(from: verified, in: calendar),
                    doneAt: dispatched.map { max($0, verified) } ?? finished
                )
            )
        }
        for assignment in state.assignments {
            guard let dispatched = time(assignment.dispatched) else { continue }
            let ended = time(assignment.ended)
            let acknowledged =
                [time(assignment.acknowledged), time(assignment.started), time(assignment.resolved)]
                .compactMap { $0 }.min()
            clocks.append(
                StageClock(
                    stage: .acknowledge,
                    office: assignment.office,
                    startedAt: dispatched,
                    dueAt: targets.acknowledge.due(from: dispatched, in: calendar),
                    doneAt: acknowledged ?? ended ?? finished
                )
            )
            // A reopened assignment is open again: its old follow-up no longer counts.
            let resolved = assignment.status == .reopened ? nil : time(assignment.resolved)
            clocks.append(
                StageClock(
                    stage: .followUp,
                    office: assignment.office,
                    startedAt: dispatched,
                    dueAt: targets.followUp(for: state.tier).due(from: dispatched, in: calendar),
                    doneAt: resolved ?? ended ?? finished
                )
            )
        }
        return clocks
    }
}
