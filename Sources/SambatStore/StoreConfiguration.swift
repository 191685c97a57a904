/// How to open a node's store.
///
/// Keys (when read from a node config, under `store`):
/// - `path` (string, required): the SQLite file, normally `<data dir>/sambat.sqlite`.
/// - `busy_timeout_ms` (int, 5000): how long a writer waits for another process's lock.
/// - `case_cache` (int, 10000): case states kept in memory for incremental folding.
public struct StoreConfiguration: Sendable {
    /// The SQLite file.
    public var path: String
    /// How long to wait for a lock held by another process (the office CLI, a backup).
    public var busyTimeout: Duration
    /// How many folded case states to keep in memory.
    public var caseCacheCapacity: Int
    /// A page limit for the database file; tests use it to simulate a full disk.
    public var maximumPageCount: Int?

    /// Creates a configuration with the defaults above.
    public init(path: String, busyTimeout: Duration = .seconds(5), caseCacheCapacity: Int = 10_000) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.caseCacheCapacity = caseCacheCapacity
        self.maximumPageCount = nil
    }
}
