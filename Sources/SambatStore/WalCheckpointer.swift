import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file beside the store's writer.
///
/// Owned by a ``Store``; it works from a connection and a thread of its own.
///
/// SQLite's own auto-checkpoint runs on the connection that commits: after a commit that
/// leaves 1,000 pages in the log, that commit copies them into the file and waits for the disk
/// twice before the writer takes its next batch. In a back-fill the writer is the bound, and
/// that was a twentieth of its time (a mayor's back-fill, perf). The checkpointer takes over
/// that hook: past ``backgroundBytes`` it asks its own connection, on a queue of its own, to
/// copy the log, while the writer goes on.
///
/// SQLite starts the log over only when a write transaction begins with all of it copied,
/// which a writer that never pauses does not see when the copying runs beside it. So past
/// ``writerBytes`` the writer copies what is left itself, as SQLite would (few pages: the
/// background has done the rest), and the log starts over. The log file stays below about
/// ``writerBytes`` plus one transaction's pages.
///
/// Both limits are in bytes, turned into pages by the file's page size when the checkpointer
/// is installed: a store created with larger pages holds as much log, not more.
final class WalCheckpointer: Sendable {
    /// Log bytes past which a commit asks for a background checkpoint (SQLite's default
    /// auto-checkpoint size, 1,000 pages, at its default page size of 4 KiB).
    static let backgroundBytes = 1_000 * 4_096
    /// Log bytes past which the writer checkpoints itself after its commit.
    static let writerBytes = 8_000 * 4_096

    /// The database file.
    private let path: String
    /// How the checkpointer's connection waits for a lock while it opens.
    private let busyMode: Database.BusyMode
    /// Whether a checkpoint is running, whether another was asked for meanwhile, and the
    /// checkpoints so far.
    private let state = Mutex<State>(State())
    /// Where checkpoints run: a thread of its own, never the writer's or the cooperative pool,
    /// below the writer's priority (GRDB's `.userInitiated`): the writer is what a back-fill
    /// waits for, and past ``writerBytes`` it copies the log itself anyway.
    private let queue = DispatchQueue(label: "sambat.checkpointer", qos: .utility)

    private struct State {
        /// The store is going: no pass starts any more.
        var stopped = false
        var running = false
        var again = false
        /// The log is past ``writerBytes``: the writer copies the rest itself, and needs
        /// SQLite's checkpoint lock, which a background pass holds while it runs.
        var writerTakesOver = false
        /// Checkpoints so far, by who ran them.
        var counts = WalCheckpointCounts()
        /// ``backgroundBytes`` and ``writerBytes`` in pages of the writer's file.
        var backgroundFrames = Int32(WalCheckpointer.backgroundBytes / 4_096)
        var writerFrames = Int32(WalCheckpointer.writerBytes / 4_096)
    }

    init(path: String, busyMode: Database.BusyMode) {
        self.path = path
        self.busyMode = busyMode
    }

    /// Checkpoints so far, by who ran them.
    var checkpoints: WalCheckpointCounts { state.withLock { $0.counts } }

    /// Makes `db`, the store's writer, report its commits here.
    ///
    /// SQLite's own checkpoint after a commit is off from then on. The writer's connection
    /// must not outlive this checkpointer: the pool's configuration holds it.
    func install(on db: Database) throws {
        let pageSize = max(512, try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4_096)
        state.withLock { state in
            state.backgroundFrames = Int32(max(1, Self.backgroundBytes / pageSize))
            state.writerFrames = Int32(max(1, Self.writerBytes / pageSize))
        }
        sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// The limits in pages of the writer's file: when a commit asks for a background
    /// checkpoint, and when the writer checkpoints itself.
    var frameLimits: (background: Int32, writer: Int32) {
        state.withLock { ($0.backgroundFrames, $0.writerFrames) }
    }

    /// Stops background checkpoints: none starts after this, and a pass already queued or
    /// running is waited for.
    ///
    /// Called as the store goes, before its pool closes, so that no connection of the store
    /// outlives the pool's: a restore that replaces the file right after must find none (the
    /// last connection to close removes the `-wal` file by name, and an open would create
    /// the file).
    func stop() {
        state.withLock { $0.stopped = true }
        queue.sync {}
    }

    /// Called by the writer after each commit with the pages now in the log; returns whether
    /// the writer should checkpoint itself.
    func committed(walFrames: Int32) -> Bool {
        let (takeOver, background) = state.withLock { state in
            let takeOver = walFrames >= state.writerFrames
            state.writerTakesOver = takeOver
            if takeOver { state.counts.writer += 1 }
            return (takeOver, walFrames >= state.backgroundFrames)
        }
        if takeOver { return true }
        if background { requestCheckpoint() }
        return false
    }

    /// Starts a background checkpoint, or marks one to follow the one running.
    private func requestCheckpoint() {
        let start = state.withLock { state in
            if state.writerTakesOver || state.stopped { return false }
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        if start { queue.async { self.checkpointWhileAsked() } }
    }

    /// Runs on ``queue``: checkpoints until no commit asked for another meanwhile.
    ///
    /// The connection is opened here, not in the writer's commit hook, so the writer never
    /// waits for it, and closed when the writes pause: an idle node keeps no second
    /// connection's memory. Opening costs about a millisecond; a checkpoint of 1,000 pages
    /// costs ten or more.
    private func checkpointWhileAsked() {
        guard !state.withLock({ $0.stopped }), let connection = openConnection() else {
            // Stopped, or not opened (a file-descriptor limit, a lock held past the busy
            // timeout): the next commit past `backgroundBytes` asks again, and the writer's
            // step stays the back-stop.
            state.withLock { $0.running = false }
            return
        }
        defer { try? connection.close() }
        while true {
            // PASSIVE: copies what no reader still needs, never waits for the writer. A
            // failure (a full disk) leaves the pages in the log; the writer's own checkpoint
            // past `writerBytes` is the back-stop.
            let copied = (try? connection.writeWithoutTransaction({ db in try db.checkpoint(.passive) })) != nil
            let again = state.withLock { state in
                if copied { state.counts.background += 1 }
                let again = state.again && !state.writerTakesOver && !state.stopped
                state.again = false
                state.running = again
                return again
            }
            if !again { return }
        }
    }

    /// A read-write connection to the file (readers of the pool cannot checkpoint), or `nil`
    /// when it cannot be opened.
    private func openConnection() -> DatabaseQueue? {
        var configuration = Configuration()
        configuration.busyMode = busyMode
        configuration.label = "sambat.checkpointer"
        configuration.qos = .utility
        configuration.prepareDatabase { db in
            // The checkpoint writes the database file: the log must be on disk first, and
            // the file after, as the writer's own checkpoints do.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try? DatabaseQueue(path: path, configuration: configuration)
    }
}

/// How many times a store's write-ahead log was copied into its file, and by whom, since the
/// store opened (``Store/walCheckpoints``).
public struct WalCheckpointCounts: Sendable, Equatable {
    /// Checkpoints the checkpointer's own connection completed beside the writer.
    public var background = 0
    /// Commits after which the writer ran a checkpoint itself, the log being past
    /// ``WalCheckpointer/writerBytes`` (it may have found a background pass holding
    /// the lock, and tried again after its next commit).
    public var writer = 0
}

extension Store {
    /// How many times the write-ahead log was copied into the file since the store opened, by
    /// the checkpointer beside the writer and by the writer itself.
    public var walCheckpoints: WalCheckpointCounts { checkpointer.checkpoints }
}

/// SQLite's WAL hook: runs on the writer's connection after each commit.
private func walHook(
    _ context: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ name: UnsafePointer<CChar>?,
    _ frames: Int32
) -> Int32 {
    guard let context else { return SQLITE_OK }
    let checkpointer = Unmanaged<WalCheckpointer>.fromOpaque(context).takeUnretainedValue()
    if checkpointer.committed(walFrames: frames) {
        // As SQLite's own auto-checkpoint does; SQLITE_BUSY (the background holds the
        // checkpoint lock) is fine: the next commit tries again.
        _ = sqlite3_wal_checkpoint_v2(connection, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }
    return SQLITE_OK
}
