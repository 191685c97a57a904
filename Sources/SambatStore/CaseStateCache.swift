import Dispatch
import SambatCore
import Synchronization

/// Folded case states kept in memory so most writes fold incrementally.
///
/// Touched only on GRDB's writer queue (inside write transactions), but guarded by a `Mutex`
/// so the type is plainly `Sendable`. A write folds into a cached state in place, so during
/// a transaction an entry may hold its uncommitted ops; outside one, entries reflect committed
/// data: a failed transaction clears the cache (`Store.write`), and so does a commit by
/// another process (detected through `PRAGMA data_version` at the start of every write).
///
/// States are kept in two generations. A state put in goes to the recent one; when the cache
/// holds its capacity and the recent generation at least half of it, the older generation is
/// let go (on ``BackgroundRelease``'s queue) and the recent one takes its place. What is still
/// used survives every turn, a turn costs the writer no more than moving a dictionary, and
/// cases that fit in the capacity are never let go, however they are visited in turn. Once
/// full, the cache holds at least half its capacity and at most one and a half times it. The
/// cache used to drop the first tenth of one dictionary in iteration order: that emptied the
/// low buckets of its open-addressed table while new keys landed everywhere, so the rest grew
/// dense and every lookup probed long runs (11 µs per new case at 10,000 cases, against
/// 0.2 µs now; in the mayor's back-fill of a million cases, a sixteenth of its CPU).
final class CaseStateCache: Sendable {
    private struct Storage {
        /// States put in (or put back) since the last turn.
        var recent: [CaseID: CaseStateBox] = [:]
        /// The generation before: what is not put back before the next turn goes.
        var older: [CaseID: CaseStateBox] = [:]
        var dataVersion: Int64?

        /// Puts a box in the recent generation, turning generations first when the cache is
        /// full and the recent generation holds at least `generation` states.
        mutating func admit(_ box: CaseStateBox, as caseID: CaseID, capacity: Int, generation: Int) {
            if recent.count >= generation, recent.count + older.count >= capacity, recent[caseID] == nil {
                BackgroundRelease.release {
                    var dropped: [CaseID: CaseStateBox] = [:]
                    swap(&dropped, &older)
                    return dropped
                }
                swap(&older, &recent)
                recent.reserveCapacity(generation)
            }
            recent[caseID] = box
        }
    }

    private let storage = Mutex(Storage())
    private let capacity: Int
    /// The fewest states the recent generation holds before it may turn.
    private let generation: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        generation = max(1, self.capacity / 2)
    }

    /// How many states are held; for tests.
    var count: Int {
        storage.withLock { $0.recent.count + $0.older.count }
    }

    /// The box holding a case's state, left in the cache: a write session mutates the state
    /// in place, which is safe because only the writer queue touches boxes and a rolled-back
    /// transaction clears the cache.
    ///
    /// Only a look: it does not count as a use. The projection looks up every case it writes,
    /// and that must not turn the writer's generations.
    func box(_ caseID: CaseID) -> CaseStateBox? {
        storage.withLock { $0.recent[caseID] ?? $0.older[caseID] }
    }

    /// The box holding a case's state, counted as a use: one the older generation holds moves
    /// to the recent one, as ``store(_:)`` would move it.
    ///
    /// For a write session, which works on the box in place: a box it finds here needs no
    /// ``store(_:)`` when the session ends, which would look it up again under the lock.
    func use(_ caseID: CaseID) -> CaseStateBox? {
        storage.withLock { storage in
            if let box = storage.recent[caseID] { return box }
            guard let box = storage.older.removeValue(forKey: caseID) else { return nil }
            storage.admit(box, as: caseID, capacity: capacity, generation: generation)
            return box
        }
    }

    /// Puts a box in (or back, as a use): it goes to the recent generation, uncopied.
    func store(_ box: CaseStateBox) {
        guard capacity > 0 else { return }
        let caseID = box.state.caseID
        storage.withLock { storage in
            if let held = storage.recent[caseID], held === box { return }
            storage.older.removeValue(forKey: caseID)
            storage.admit(box, as: caseID, capacity: capacity, generation: generation)
        }
    }

    func removeAll() {
        storage.withLock { storage in
            storage.recent.removeAll(keepingCapacity: true)
            storage.older.removeAll()
        }
    }

    /// Clears the cache when the database changed under us since the last write.
    ///
    /// The states are let go on a background queue: freeing ten thousand of them took the
    /// writer 38 ms, which the first change after another process's commit waited out
    /// (`sambat bench sync --processes`, where the office CLI's commits are the benchmark's).
    /// - Returns: whether it was cleared.
    @discardableResult
    func synchronize(dataVersion: Int64) -> Bool {
        storage.withLock { storage in
            guard storage.dataVersion != dataVersion else { return false }
            storage.dataVersion = dataVersion
            guard !storage.recent.isEmpty || !storage.older.isEmpty else { return true }
            let capacity = storage.recent.capacity
            BackgroundRelease.release {
                var dropped = [CaseID: CaseStateBox](minimumCapacity: capacity)
                swap(&dropped, &storage.recent)
                var older: [CaseID: CaseStateBox] = [:]
                swap(&older, &storage.older)
                return [dropped, older]
            }
            return true
        }
    }
}

/// Lets go of large structures on a background queue instead of the thread that drops them.
///
/// For the store's writer, whose every millisecond a waiting write waits too, and for a node's
/// feed task (owned by the store, used by `SambatSync`), whose next apply waited while the
/// last batch's 5,000 decoded ops were freed (a tenth of the samples of the threads that
/// decode and apply the feed in a mayor's back-fill, perf). Process-wide; the queue runs at
/// utility priority, behind the work that matters.
public enum BackgroundRelease {
    private static let queue = DispatchQueue(label: "sambat-store-release", qos: .utility)
    /// What waits to be let go; the queue takes it all at once, so the last reference to
    /// each value goes on the queue's thread.
    private static let held = Mutex<[any Sendable]>([])

    /// Keeps the value `take` moves out of its owner until the background queue lets it go.
    ///
    /// `take` runs before anything is queued, and what it returns goes straight into the
    /// list, so the queue holds the only reference when it runs and the caller pays nothing
    /// for the freeing.
    public static func release(_ take: () -> some Sendable) {
        held.withLock { $0.append(take()) }
        queue.async {
            let taken = held.withLock { list in
                defer { list = [] }
                return list
            }
            withExtendedLifetime(taken) {}
        }
    }

    /// Lets what `collection` holds go on the background queue, and leaves it empty.
    ///
    /// For a batch whose last reference is the caller's: its elements are freed on the queue,
    /// not on the task that would otherwise free them before it takes the next batch.
    public static func release<C: RangeReplaceableCollection & Sendable>(emptying collection: inout C) {
        release {
            var taken = C()
            swap(&taken, &collection)
            return taken
        }
    }

    /// Waits until everything handed over so far is let go; for tests.
    static func drain() {
        queue.sync {}
    }
}

/// A folded case state on the heap, so it moves between the cache and a write session by
/// reference instead of being copied field by field.
///
/// Only ever touched on GRDB's writer queue, one write session at a time, which is what makes
/// the unchecked `Sendable` sound; a dropped box is freed on ``BackgroundRelease``'s queue,
/// which holds its last reference and touches nothing else of it.
final class CaseStateBox: @unchecked Sendable {
    var state: CaseState
    /// Receive times (milliseconds) of this case's ops: those its projection has looked up,
    /// and those of peers' ops written since its rows were (the deferred projection's source).
    ///
    /// The next write of the case then does not ask the log again: the stage clocks name the
    /// same milestone ops every time. Kept with the state and dropped with it, so it holds only
    /// committed times outside a transaction; a write that changes a stored time updates it.
    var receiveTimes: [OpID: Int64] = [:]
    /// The case's stage rows as last written, or `nil` before the projection has read them.
    var stageRows: StageRows?
    /// Per office, the assignment row's report columns as last written.
    var assignmentReads: [NodeID: AssignmentReads] = [:]
    /// The case row's subject, close, archive and due columns as last written.
    var caseReads: CaseReads?

    init(_ state: CaseState) { self.state = state }
}
