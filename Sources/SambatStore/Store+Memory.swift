import GRDB
import Synchronization

extension Store {
    /// Gives back the memory a store keeps for speed, when nothing was written through it
    /// since the previous call: SQLite's page and statement caches, the reader connections,
    /// and the cached case states.
    ///
    /// A node keeps the pages its last work read, up to 64 MiB per connection, long after the
    /// work is done: `make scale` found idle offices holding 30 MiB of them each. The node's
    /// status writer calls this every half minute; after an idle half minute the next read
    /// or write takes its pages from the file (in the operating system's cache) again.
    /// - Returns: whether the store was idle and its memory was released.
    public func releaseMemoryIfIdle() async -> Bool {
        let idle = writeActivity.withLock { activity in
            defer { activity.seenAtLastLook = activity.commits }
            return activity.seenAtLastLook == activity.commits
        }
        guard idle else { return false }
        // On the writer, so no transaction is folding into a state while it is dropped.
        try? await pool.writeWithoutTransaction { _ in self.cache.removeAll() }
        pool.releaseMemoryEventually()
        return true
    }
}
