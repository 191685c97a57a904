import SambatCore
import Synchronization

/// Folded case states kept in memory so most writes fold incrementally.
///
/// Touched only on GRDB's writer queue (inside write transactions), but guarded by a `Mutex`
/// so the type is plainly `Sendable`. Entries always reflect committed data: a rolled-back
/// transaction clears the cache, and so does a commit by another process (detected through
/// `PRAGMA data_version` at the start of every write).
final class CaseStateCache: Sendable {
    private struct Storage {
        var states: [CaseID: CaseState] = [:]
        var dataVersion: Int64?
    }

    private let storage = Mutex(Storage())
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    subscript(caseID: CaseID) -> CaseState? {
        storage.withLock { $0.states[caseID] }
    }

    /// Removes and returns a state, so the caller can mutate it without copying its storage.
    func take(_ caseID: CaseID) -> CaseState? {
        storage.withLock { $0.states.removeValue(forKey: caseID) }
    }

    func store(_ state: CaseState) {
        guard capacity > 0 else { return }
        storage.withLock { storage in
            if storage.states.count >= capacity, storage.states[state.caseID] == nil {
                // Drop an arbitrary tenth: cheap, and a miss only costs one re-fold from disk.
                for key in storage.states.keys.prefix(max(1, capacity / 10)) {
                    storage.states.removeValue(forKey: key)
                }
            }
            storage.states[state.caseID] = state
        }
    }

    func removeAll() {
        storage.withLock { $0.states.removeAll(keepingCapacity: true) }
    }

    /// Clears the cache when the database changed under us since the last write.
    func synchronize(dataVersion: Int64) {
        storage.withLock { storage in
            if storage.dataVersion != dataVersion {
                storage.states.removeAll(keepingCapacity: true)
                storage.dataVersion = dataVersion
            }
        }
    }
}
