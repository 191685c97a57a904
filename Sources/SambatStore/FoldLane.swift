import Dispatch
import SambatCore

/// Folds a peer's inserted ops into their cases' states on another thread, while the writer
/// goes on authorizing and inserting the batch's next ops.
///
/// An op's fold needs nothing the insert of a later op produces, and the writer's core is the
/// bound of a remote apply while the other core idles: an eighth of the writer's samples in
/// `sambat bench store` were the fold (perf). Owned by ``Store``; used only by a
/// ``WriteSession`` of a peer's batch (``WriteSession/foldInserted(_:at:receivedAt:)``), which
/// hands over its inserted ops in order, a chunk at a time, and waits for the lane
/// (``WriteSession/finishFolds()``) before anything reads a state again. Until then the writer
/// keeps off the states it handed over; see ``WriteSession/assignmentEpoch(of:for:)``.
final class FoldLane: Sendable {
    /// One serial queue: ops reach their cases in the order the batch holds them.
    private let queue = DispatchQueue(label: "sambat-store-fold", qos: .userInitiated)

    /// Folds `work`'s ops after those handed over before.
    func fold(_ work: FoldWork) {
        queue.async { work.run() }
    }

    /// Returns once every op handed over so far is folded.
    func wait() {
        queue.sync {}
    }
}

/// Inserted ops of a batch, each with the slot of its case, for the ``FoldLane``.
///
/// Unchecked `Sendable`: the slots and their boxes belong to the writer's transaction, which
/// hands them to the lane and touches neither the states nor ``CaseSlot/needsRefold`` until
/// the lane has run this (``FoldLane/wait()``); it only sets other fields meanwhile.
struct FoldWork: @unchecked Sendable {
    let fold: CaseFold
    /// The batch the ops are read from, by index: one reference to it instead of a copy of
    /// each op.
    let batch: [RemoteOp]
    var items: [(slot: CaseSlot, index: Int)] = []

    func run() {
        for item in items {
            let slot = item.slot
            if slot.needsRefold || !fold.apply(batch[item.index].sealed.op, to: &slot.box.state) {
                slot.needsRefold = true
            }
        }
    }
}
