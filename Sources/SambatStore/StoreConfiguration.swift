public import SambatCore

/// How to open a node's store.
///
/// Fields, with their defaults:
/// - `path` (required): the SQLite file, normally `<data dir>/sambat.sqlite`.
/// - `busyTimeout` (5 s): how long a writer waits for another process's lock.
/// - `caseCacheCapacity` (10,000): case states kept in memory for incremental folding; a full
///   cache holds between half and one and a half times as many (see `CaseStateCache`).
/// - `pageCacheMebibytes` (64): SQLite's page cache per connection; the op log's indexes
///   and the case projection should fit, or every write reads pages back from the file.
/// - `maximumPageCount` (none): a page limit, used by tests to simulate a full disk.
/// - `pageSize` (8 KiB): the page size of a file this opens for the first time (see
///   ``pageSize``); a store keeps the page size it was created with.
/// - `deadlines` (none): the targets and calendar due times are computed with. With a policy
///   the projection keeps every case's due times, and listings read them; a node always opens
///   its store with one (from its reference files). Without one no due time is kept current.
/// - `projectionDelay` (5 s), `projectionQuiet` (1 s) and `projectionBacklog` (100,000 ops):
///   how long, after how long a pause in peers' batches, and for how many ops, the projection
///   rows of ops received from peers may trail the op log before the store brings them up to
///   date (see ``Store/applyRemote(_:from:receivedAt:feedPosition:)``; the times are kept by
///   whoever calls ``Store/projectPendingOpsIfDue()``, a node's projection follower). Reads
///   through the store never see the lag; these bound the work a restart after a crash
///   redoes and the memory the pending baselines hold.
/// - `foldLaneBatchOps` (256): a peer's batch of at least this many ops has its ops folded
///   into their cases on another thread while the writer inserts them (see ``foldLaneBatchOps``).
/// - `foldLaneSlots` (`.whenAhead`): whether the writer takes the case slots that thread makes
///   ahead of it (see ``FoldLaneSlots``).
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
    /// The page size, in bytes, of a store created with this configuration.
    ///
    /// A power of two from 512 to 65,536. SQLite takes it only for a new file; an existing
    /// store keeps its own.
    ///
    /// 8 KiB rather than SQLite's 4 KiB: a batch from a peer scatters its ops over the leaves
    /// of the log's case index and the projection's tables, and with larger pages each tree has
    /// fewer pages to descend through and dirty, and a commit fewer log frames. The remote
    /// apply's median went from about 113,500 to 119,600 ops/s, its writes alone from 215,700
    /// to 225,500 (`sambat bench store --page-size`, alternating; docs/architecture.md, scale
    /// decision 9). 16 KiB gained twice that, but a commit of a few rows writes whole pages to
    /// the log, and the webhook burst's p99 went from 9-27 ms to 23-88 ms (`sambat bench
    /// webhook`); at 8 KiB it stayed at 8-21 ms.
    public var pageSize: Int

    /// The deadline policy the projection's due times follow.
    public var deadlines: DeadlinePolicy?
    /// The longest the projection of peers' ops may wait while their batches keep arriving:
    /// it is brought up to date at the latest this long after the first deferred op.
    public var projectionDelay: Duration
    /// How long peers' batches must pause before their projection is brought up to date.
    ///
    /// A projection written while a peer's backlog streams in holds the writer that the
    /// next batches wait for, and writes rows the next batches change again; once the stream
    /// pauses, one projection writes each case once. A live change, which comes alone, is
    /// projected this long after it arrives. The pause is counted from the last commit, so it
    /// must outlast the gaps within a stream: an office's upload of 5,000-op batches to a
    /// central that folds their cases cold commits every 0.1-0.3 s (`sambat bench sync
    /// --processes`), and 250 ms projected in those gaps, holding both writers for a second.
    public var projectionQuiet: Duration
    /// How many deferred ops make the store bring the projection up to date at once.
    public var projectionBacklog: Int
    /// The fewest ops of a peer's batch whose folds go to another thread, beside the writer
    /// that inserts them; `Int.max` folds every batch on the writer.
    ///
    /// A backlog's batches of thousands of ops gain the time the writer spent folding; a
    /// live change of a few ops would only wait for the hand-over. Tests set 1 to send every
    /// batch through the lane.
    public var foldLaneBatchOps: Int
    /// Whether, in a batch of at least ``foldLaneBatchOps`` ops, the writer takes the case
    /// slots the fold lane makes ahead of it.
    public var foldLaneSlots: FoldLaneSlots

    /// Creates a configuration with the defaults above.
    public init(path: String, busyTimeout: Duration = .seconds(5), caseCacheCapacity: Int = 10_000) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.caseCacheCapacity = caseCacheCapacity
        self.pageCacheMebibytes = 64
        self.maximumPageCount = nil
        self.pageSize = 8_192
        self.projectionDelay = .seconds(5)
        self.projectionQuiet = .seconds(1)
        self.projectionBacklog = 100_000
        self.foldLaneBatchOps = 256
        self.foldLaneSlots = .whenAhead
    }

    /// Whether SQLite can use `size` as a page size: a power of two from 512 to 65,536.
    public static func isPossiblePageSize(_ size: Int) -> Bool {
        (512...65_536).contains(size) && size & (size - 1) == 0
    }
}

/// Who makes the working slot of a case a peer's large batch touches (see
/// ``StoreConfiguration/foldLaneSlots``): its lookup in the case cache and what the projection
/// diffs against.
public enum FoldLaneSlots: Sendable {
    /// The fold lane makes them ahead of the writer, which takes the ones made by the time it
    /// gets to them and makes the rest itself: it never waits.
    case whenAhead
    /// The writer waits for the lane's slot of every cached case. For tests, so that every
    /// cached case's slot comes from the lane.
    case fromLane
}
