import Dispatch
import Glibc
import SambatCore
import Synchronization

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

    /// Makes the slots of a batch's cases (see ``CasePreparation``) before it folds anything
    /// of the batch.
    func prepare(_ preparation: CasePreparation) {
        queue.async { preparation.run() }
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

/// The case of each op of a large batch, looked up on the ``FoldLane`` ahead of the writer:
/// the slot the writer's session would make for it when it first touches the case.
///
/// Making a slot (the cache's lookups, the rows' baseline, the assignments active before) was
/// about half of what authorizing an op cost the writer, a tenth of its samples in `sambat
/// bench store` (perf), where a batch touches as many cases as it has ops. Owned by the
/// session's ``LaneUse``: the lane fills it in batch order before it folds anything of the
/// batch, and publishes how far it got; the writer takes a slot only below that mark
/// (``slot(at:of:waiting:)``) and makes one itself when the lane is behind, so it never waits. A
/// case the writer made itself and the lane too has two slots; the writer's wins (the session
/// looks up its own first), and the lane's is dropped unused. Only cached states are
/// prepared: a case that is not cached is folded from the log, which only the writer's
/// connection can read.
final class CasePreparation: @unchecked Sendable {
    /// Unchecked `Sendable`: the lane writes an element only before it publishes it through
    /// `ready`, and the writer reads one only after; the slots go to the writer untouched.
    private let slots: UnsafeMutableBufferPointer<(caseID: CaseID, slot: CaseSlot)?>
    /// How many of the batch's ops have their slot (or none, when not cached) in `slots`.
    private let ready = Atomic<Int>(0)
    private let batch: [RemoteOp]
    private let makeSlot: (CaseStateBox, CaseID) -> CaseSlot
    private let cache: CaseStateCache

    /// - Parameters:
    ///   - batch: the batch, in the order the writer goes through it.
    ///   - cache: where cached states are looked up (counted as a use, as the writer's are).
    ///   - makeSlot: makes the slot for a cached box, as the session would.
    init(
        batch: [RemoteOp],
        cache: CaseStateCache,
        makeSlot: @escaping (CaseStateBox, CaseID) -> CaseSlot
    ) {
        self.batch = batch
        self.cache = cache
        self.makeSlot = makeSlot
        slots = .allocate(capacity: batch.count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// Prepares every op's slot, in order; on the lane.
    func run() {
        var made: [CaseID: CaseSlot?] = [:]
        made.reserveCapacity(batch.count)
        for index in batch.indices {
            let caseID = batch[index].sealed.op.caseID
            let slot: CaseSlot?
            if let known = made[caseID] {
                slot = known
            } else {
                slot = cache.use(caseID).map { makeSlot($0, caseID) }
                made.updateValue(slot, forKey: caseID)  // Also when `nil`: not cached.
            }
            if let slot { slots[index] = (caseID, slot) }
            ready.store(index + 1, ordering: .releasing)
        }
    }

    /// The slot the lane made for the case of the batch's op at `index`, if it has got that
    /// far (or, `waiting`, once it has) and the case was cached; `nil` tells the writer to
    /// make it itself.
    func slot(at index: Int, of caseID: CaseID, waiting: Bool) -> CaseSlot? {
        guard index < slots.count else { return nil }
        if waiting {
            // Only tests wait: the lane goes through the batch without waiting for anyone.
            while index >= ready.load(ordering: .acquiring) { sched_yield() }
        }
        guard index < ready.load(ordering: .acquiring), let prepared = slots[index], prepared.caseID == caseID else {
            return nil
        }
        return prepared.slot
    }
}
