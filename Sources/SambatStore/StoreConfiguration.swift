/// How to open a node's store.
///
/// Fields, with their defaults:
/// - `path` (required): the SQLite file, normally `<data dir>/sambat.sqlite`.
/// - `busyTimeout` (5 s): how long a writer waits for another process's lock.
/// - `caseCacheCapacity` (10,000): case states kept in memory for incremental folding.
/// - `pageCacheMebibytes` (64): SQLite's page cache per connection; the op log's indexes
///   and the case projection should fit, or every write reads pages back from the file.
/// - `maximumPageCount` (none): a page limit, used by tests to simulate a full disk.
public struct StoreConfiguration: Sendable {
    /// The SQLite file.
    public var path: String
    /// How long to wait for a lock held by another process (the office CLI, a backup).
    public var busyTimeout: Duration
    /// How many folded case states to keep in memory.
    public var caseCacheCapacity: Int
    /// SQLite's page cache per connection, in MiB.
    public var pageCacheMebibytes: Int
    /// A page limit for the database file; tests use it to simulate a full disk.
    public var maximumPageCount: Int?

    /// Creates a configuration with the defaults above.
    public init(path: String, busyTimeout: Duration = .seconds(5), caseCacheCapacity: Int = 10_000) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.caseCacheCapacity = caseCacheCapacity
        self.pageCacheMebibytes = 64
        self.maximumPageCount = nil
    }
}
