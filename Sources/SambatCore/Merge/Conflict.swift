/// A merge the fold could not make silently: shown to people, resolved only at central.
///
/// Its ``id`` is the reason plus the sorted ids of the ops involved, so every replica that
/// folds the same ops names the conflict the same way, and central's `conflict_resolved` op
/// can refer to it.
public struct Conflict: Hashable, Sendable, Identifiable {
    /// Why the fold recorded a conflict.
    public enum Reason: String, CaseIterable, Hashable, Sendable {
        /// An office op from an assignment epoch that is no longer current (late update).
        case staleEpoch = "stale_epoch"
        /// An office status op concurrent with a central lifecycle op: central won.
        case concurrentWithCentral = "concurrent_with_central"
        /// Concurrent `resolved` and `returned` on one assignment: returned won the status.
        case resolvedVersusReturned = "resolved_vs_returned"
        /// A transition that is not legal at that point in the case's history.
        case illegalTransition = "illegal_transition"
        /// The author may not make this kind of op on this case (role or assignment).
        case notPermitted = "not_permitted"
    }

    /// How central closed the conflict.
    public struct Resolution: Hashable, Sendable {
        /// The `conflict_resolved` op.
        public let op: OpID
        /// What central decided.
        public let outcome: ConflictOutcome
    }

    /// `reason:origin/seq,origin/seq…` with op ids sorted.
    public let id: String
    /// Why.
    public let reason: Reason
    /// The ops involved, sorted.
    public let ops: [OpID]
    /// The office concerned, when the conflict is about one assignment.
    public let office: NodeID?
    /// Set once central has resolved it.
    public internal(set) var resolution: Resolution?

    init(reason: Reason, ops: [OpID], office: NodeID?) {
        let sorted = Array(Set(ops)).sorted()
        self.reason = reason
        self.ops = sorted
        self.office = office
        self.id = Self.makeID(reason: reason, ops: sorted)
    }

    /// The id a conflict over `ops` for `reason` has.
    public static func makeID(reason: Reason, ops: [OpID]) -> String {
        reason.rawValue + ":" + Array(Set(ops)).sorted().map(\.description).joined(separator: ",")
    }

    /// Whether central has resolved it.
    public var isResolved: Bool { resolution != nil }
}
