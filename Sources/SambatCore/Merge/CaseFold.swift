/// Folds a case's ops into its ``CaseState``: the deterministic heart of the merge.
///
/// Ops are folded in ``FoldKey`` order (Lamport time, origin, seq). The set of ops only
/// grows and the fold depends on the set alone, so duplicated, reordered or replayed
/// delivery cannot change the result. ``apply(_:to:)`` folds one new op in place, without
/// revisiting earlier ops, when it causally follows every op already folded — the common
/// case — and returns `false` otherwise, telling the caller to re-fold the whole set with
/// ``fold(_:caseID:)``, because a concurrent op can change how earlier ops count.
///
/// ```swift
/// let fold = CaseFold(central: try NodeID("central"))
/// var state = fold.fold(opsOfCase)
/// if let next = fold.applying(newOp, to: state) { state = next }
/// else { state = fold.fold(opsOfCase + [newOp]) }
/// ```
///
/// Safe from any task: a value with no shared state.
public struct CaseFold: Hashable, Sendable {
    /// The central node: the only author of lifecycle ops.
    ///
    /// Every other author is treated as an office.
    public let central: NodeID

    /// Creates a fold for a deployment whose central node is `central`.
    public init(central: NodeID) { self.central = central }

    /// Folds a whole op set from scratch.
    ///
    /// Duplicates (same ``OpID``) are folded once. All ops must belong to one case; the store
    /// guarantees that ops sharing an id carry identical bytes.
    /// - Complexity: O(n log n + n·c) for n ops and c central lifecycle ops.
    public func fold(_ ops: some Sequence<Op>, caseID: CaseID) -> CaseState {
        var unique: [OpID: Op] = [:]
        for op in ops {
            precondition(op.caseID == caseID, "CaseFold.fold was given an op of another case")
            unique[op.id] = unique[op.id] ?? op
        }
        let ordered = unique.values.sorted { $0.foldKey < $1.foldKey }
        let centralOps = ordered.compactMap { $0.id.origin.node == central ? CentralLifecycleRef($0) : nil }
        var state = CaseState(caseID: caseID)
        for op in ordered {
            state.step(op, central: central, centralOps: centralOps)
        }
        return state
    }

    /// Folds a non-empty op set; the case is taken from the first op.
    public func fold(_ ops: [Op]) -> CaseState? {
        guard let first = ops.first else { return nil }
        return fold(ops, caseID: first.caseID)
    }

    /// Folds one more op incrementally, or returns `nil` when a full re-fold is needed.
    ///
    /// Returns `state` unchanged when the op was already folded. Returns `nil` when `op`
    /// does not causally follow every folded op (its context does not dominate the state's
    /// vector) or does not sort after the last folded op.
    ///
    /// This copies `state` (its arrays are copy-on-write); hot paths use ``apply(_:to:)``.
    public func applying(_ op: Op, to state: CaseState) -> CaseState? {
        var next = state
        return apply(op, to: &next) ? next : nil
    }

    /// Folds one more op into `state` in place; returns `false` (leaving `state` unchanged)
    /// when a full re-fold is needed.
    ///
    /// An op already folded leaves `state` unchanged and returns `true`.
    /// - Complexity: amortised O(c + log n) for c central lifecycle ops and n folded ops, when
    ///   `state` is uniquely referenced; an op at or below its origin's counter in the state's
    ///   vector (a duplicate, or one out of order) takes O(n) more to recognise.
    public func apply(_ op: Op, to state: inout CaseState) -> Bool {
        precondition(op.caseID == state.caseID, "CaseFold.apply was given an op of another case")
        if state.contains(op.id) { return true }
        guard op.context.dominates(state.vector), state.lastKey.map({ $0 < op.foldKey }) ?? true else {
            return false
        }
        let centralOps = state.centralLifecycle
        state.step(op, central: central, centralOps: centralOps)
        return true
    }
}
