import CSQLiteTuning
import Foundation
import GRDB
public import SambatCore
import Synchronization

/// A node's durable op log, its projections and its sync bookkeeping, in one SQLite file.
///
/// `Store` is the only owner of the database file in its process. It keeps the promise the
/// sync protocol rests on: every write — a local op, or a batch from a peer — is one
/// transaction committed with `synchronous=FULL`, so after a crash either all of it is there
/// or none of it is, and re-applying the same batch is a no-op. Several processes (the node
/// and the office CLI) may write the same file: writes take SQLite's write lock up front
/// (`BEGIN IMMEDIATE`) and wait for it up to the busy timeout.
///
/// ```swift
/// let store = try Store.open(.init(path: "data/sambat.sqlite"), identity: identity)
/// let authored = try await store.append(.acknowledged, to: caseID, actor: officer, at: now)
/// let result = try await store.applyRemote(batch, from: .feed(central), receivedAt: now)
/// ```
///
/// Safe from any task: database access goes through GRDB's serialized writer and its pool
/// of readers; the in-memory case cache is guarded by a mutex.
public final class Store: Sendable {
    /// The database file.
    public let path: String
    /// Who this store belongs to.
    public let identity: NodeIdentity
    /// Evidence blobs, in `<name>.blobs/` beside the database file `<name>.sqlite`.
    public let blobs: BlobStore
    /// The deadline policy the projection's due times follow; `nil` when opened without one
    /// (then listings fold, and the stored due times are marked stale).
    public let deadlines: DeadlinePolicy?

    let pool: DatabasePool
    let fold: CaseFold
    let policy: RolePolicy
    let cache: CaseStateCache
    /// Commits through ``write(_:)``, and how many there were when ``releaseMemoryIfIdle()``
    /// last looked.
    let writeActivity = Mutex<(commits: UInt64, seenAtLastLook: UInt64?)>((0, nil))
    /// Peers' ops committed to the log whose projection rows have not been written yet.
    let pendingProjection = Mutex(PendingProjection())
    /// How long, and for how many ops, projection rows may trail the log (see
    /// ``StoreConfiguration``).
    let projectionDelay: Duration
    let projectionQuiet: Duration
    let projectionBacklog: Int
    /// Folds a peer's large batches beside the writer (see ``FoldLane``).
    let foldLane = FoldLane()
    /// The fewest ops of a peer's batch that go to ``foldLane`` (see
    /// ``StoreConfiguration/foldLaneBatchOps``).
    let foldLaneBatchOps: Int
    /// Who makes the slots of a batch that goes to the lane (see
    /// ``StoreConfiguration/foldLaneSlots``).
    let foldLaneSlots: FoldLaneSlots
    /// Copies the write-ahead log into the file beside the writer (see ``WalCheckpointer``).
    let checkpointer: WalCheckpointer
    /// Wakes the sync link when a local op commits.
    let localWriteSignal = LocalWriteSignal()
    /// Set once, by ``open(_:identity:)``, when it wrote every case's projection rows again.
    let rebuiltOnOpen = Atomic<Bool>(false)

    /// Whether opening this store wrote every case's projection rows again from the op log:
    /// they were missing, or their due times had been computed with another deadline policy.
    ///
    /// At a year of a city that is minutes of the open, so a node says so in its log.
    public var projectionsRebuiltOnOpen: Bool { rebuiltOnOpen.load(ordering: .relaxed) }

    private init(
        path: String,
        identity: NodeIdentity,
        pool: DatabasePool,
        cacheCapacity: Int,
        deadlines: DeadlinePolicy?,
        projectionDelay: Duration,
        projectionQuiet: Duration,
        projectionBacklog: Int,
        foldLaneBatchOps: Int,
        foldLaneSlots: FoldLaneSlots,
        checkpointer: WalCheckpointer
    ) {
        self.checkpointer = checkpointer
        self.foldLaneBatchOps = max(1, foldLaneBatchOps)
        self.foldLaneSlots = foldLaneSlots
        self.deadlines = deadlines
        self.projectionDelay = projectionDelay
        self.projectionQuiet = projectionQuiet
        self.projectionBacklog = max(1, projectionBacklog)
        self.path = path
        self.identity = identity
        self.blobs = BlobStore(besideStore: path)
        self.pool = pool
        self.fold = CaseFold(central: identity.central)
        self.policy = RolePolicy(central: identity.central)
        self.cache = CaseStateCache(capacity: cacheCapacity)
    }

    deinit {
        // Before the pool closes: no connection of this store may outlive it.
        checkpointer.stop()
    }

    /// Opens (creating if needed) the store at `configuration.path` for `identity`.
    ///
    /// Runs pending migrations, checks that the file belongs to this node, starts a new
    /// incarnation if the file was restored from a backup, projects the ops a crash left
    /// unprojected, and rebuilds projections that are missing. Blocks while it does so: call
    /// it at start-up, not from a hot async path.
    /// - Throws: ``StoreError`` naming the file and what to do: not a database, another
    ///   program's database, a newer schema, a read-only location, a full disk, or a database
    ///   that belongs to another node.
    public static func open(_ configuration: StoreConfiguration, identity: NodeIdentity) throws(StoreError) -> Store {
        _ = sqliteTuned
        let path = configuration.path
        guard StoreConfiguration.isPossiblePageSize(configuration.pageSize) else {
            throw StoreError(
                .invalidArgument,
                path: path,
                message: "page size \(configuration.pageSize) is not a power of two from 512 to 65536"
            )
        }
        try checkLocation(path)
        var config = Configuration()
        config.busyMode = .timeout(
            TimeInterval(configuration.busyTimeout.components.seconds)
                + TimeInterval(configuration.busyTimeout.components.attoseconds) / 1e18
        )
        config.foreignKeysEnabled = true
        let pageLimit = configuration.maximumPageCount
        let cacheKibibytes = max(2, configuration.pageCacheMebibytes) * 1024
        let checkpointer = WalCheckpointer(path: path, busyMode: config.busyMode)
        let pageSize = configuration.pageSize
        config.prepareDatabase { db in
            // Only the pool's writer commits; its readers are opened read-only.
            if !db.configuration.readonly {
                // Before anything is written: a new file takes it, an existing one ignores it.
                try db.execute(sql: "PRAGMA page_size = \(pageSize)")
                try checkpointer.install(on: db)
            }
            // Every commit may precede an ACK to a peer: make each one durable. (GRDB turns
            // the writer back to NORMAL when it sets up WAL mode; see after the pool opens.)
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // A negative cache_size is in KiB.
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKibibytes)")
            if let pageLimit, !db.configuration.readonly {
                try db.execute(sql: "PRAGMA max_page_count = \(pageLimit)")
            }
        }
        // Another process of this node may be opening the same file right now.
        let openingLock = OpeningLock(database: path)
        defer { withExtendedLifetime(openingLock) {} }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB sets the writer to synchronous=NORMAL when it turns WAL mode on, after
            // `prepareDatabase` ran: with NORMAL a commit is not on disk when it returns, and a
            // power cut loses what was acknowledged. The readers keep FULL; they never commit.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw translate(error, path: path)
        }
        let store = Store(
            path: path,
            identity: identity,
            pool: pool,
            cacheCapacity: configuration.caseCacheCapacity,
            deadlines: configuration.deadlines,
            projectionDelay: configuration.projectionDelay,
            projectionQuiet: configuration.projectionQuiet,
            projectionBacklog: configuration.projectionBacklog,
            foldLaneBatchOps: configuration.foldLaneBatchOps,
            foldLaneSlots: configuration.foldLaneSlots,
            checkpointer: checkpointer
        )
        do {
            try store.prepareSchema()
            try store.claim(now: Timestamp.now)
            // Ops a crash left committed but not projected come first: the rebuild check below
            // compares the projection with the log. (Looked for first, so an open that finds
            // nothing pending does not take the write lock.)
            if try store.pool.read(ProjectionJournal.holdsRows) {
                try store.pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try store.projectPending(db)
                        return .commit
                    }
                }
            }
            if try store.rebuildProjectionsIfNeeded() { store.rebuiltOnOpen.store(true, ordering: .relaxed) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw translate(error, path: path)
        }
        return store
    }

    /// SQLite's process-wide settings, made once, before the first connection opens.
    ///
    /// Memory statistics go: Debian's SQLite has no lookaside allocator, so a statement step
    /// allocates and frees a few dozen times, and with statistics on each allocation and free
    /// takes one process-wide mutex, which the writer and every reader share. That was 14 %
    /// of the instructions of a remote apply at the mayor (callgrind, `sambat bench store --at
    /// mayor`). A process that opened SQLite some other way first keeps them (sqlite3_config
    /// then refuses), which costs speed only.
    private static let sqliteTuned: Void = {
        _ = sambat_sqlite_disable_memory_statistics()
    }()

    /// Whether SQLite counts the memory it allocates in this process.
    ///
    /// False once a store opened first. For the tests and benchmarks.
    public static var sqliteCountsMemory: Bool { sambat_sqlite_memory_counted() != 0 }

    /// Whether a commit is on disk when it returns: the writer's `synchronous` is FULL.
    ///
    /// For the tests: always true for a store this build opened.
    public func commitsAreDurable() async throws(StoreError) -> Bool {
        do {
            return try await pool.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2
            }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// The origin this store authors under (node and current incarnation).
    public func currentOrigin() async throws(StoreError) -> Origin {
        try await read { db in try self.loadMeta(db).origin }
    }

    /// Metadata of this store: incarnation, next seq and Lamport clock.
    public func meta() async throws(StoreError) -> StoreMeta {
        try await read { db in try self.loadMeta(db) }
    }

    /// The highest seq this node has authored under its current origin (0 when none).
    ///
    /// Cheap enough to poll: the sync layer calls it to notice ops the office CLI wrote.
    public func localHead() async throws(StoreError) -> UInt64 {
        try await read { db in try self.loadMeta(db).nextSeq - 1 }
    }

    /// Yields after each local op this process commits (``append(_:actor:at:)``), from now
    /// until the caller stops iterating; signals that come while it is busy merge into one.
    ///
    /// For the sync link, which uploads at once instead of waiting for its next poll.
    public func localWrites() -> AsyncStream<Void> {
        localWriteSignal.stream()
    }

    // MARK: - Opening

    private static func checkLocation(_ path: String) throws(StoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError(
                .cannotOpen,
                path: path,
                message: "the data directory \(folder) does not exist; create it or fix the configured path"
            )
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw StoreError(
                .readOnly,
                path: path,
                message: "the data directory \(folder) is not writable; SQLite needs to create its journal files there"
            )
        }
        if FileManager.default.fileExists(atPath: path), !FileManager.default.isWritableFile(atPath: path) {
            throw StoreError(.readOnly, path: path, message: "the database file is read-only; check its permissions")
        }
    }

    private func prepareSchema() throws {
        let migrator = StoreSchema.migrator
        try pool.read { db in
            let tables = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if !tables.isEmpty && !tables.contains("grdb_migrations") {
                throw StoreError(
                    .foreignDatabase,
                    path: self.path,
                    message: "this SQLite file belongs to another program; point the node at its own data directory"
                )
            }
            // Schema v13 drops columns (`ALTER TABLE … DROP COLUMN`, SQLite 3.35, 2021): an
            // older system SQLite would fail that migration with a bare syntax error.
            let version = try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? ""
            guard Self.isRecentEnough(sqliteVersion: version) else {
                throw StoreError(
                    .cannotOpen,
                    path: self.path,
                    message: "the system SQLite is \(version); Sambat needs 3.35 or newer (Debian 12 or later)"
                )
            }
            if try migrator.hasBeenSuperseded(db) {
                throw StoreError(
                    .newerSchema,
                    path: self.path,
                    message: "written by a newer Sambat (unknown migrations); upgrade this node's sambat binary"
                )
            }
        }
        try migrator.migrate(pool)
    }

    /// Whether an SQLite version string ("3.40.1") is 3.35 or newer.
    static func isRecentEnough(sqliteVersion: String) -> Bool {
        let parts = sqliteVersion.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return false }
        return parts[0] > 3 || (parts[0] == 3 && parts[1] >= 35)
    }

    /// Writes the node identity into a new database, or checks it in an existing one.
    private func claim(now: Timestamp) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                guard let row = try Row.fetchOne(db, sql: "SELECT node, role, central, restorePending FROM nodeMeta")
                else {
                    try db.execute(
                        sql: """
                            INSERT INTO nodeMeta (id, node, role, central, incarnation, nextSeq, lamport, createdAt)
                            VALUES (1, ?, ?, ?, 1, 1, 0, ?)
                            """,
                        arguments: [
                            identity.node.rawValue, identity.role.rawValue, identity.central.rawValue,
                            now.millisecondsSinceEpoch,
                        ]
                    )
                    return .commit
                }
                let node: String = row["node"]
                let role: String = row["role"]
                let central: String = row["central"]
                guard node == identity.node.rawValue, role == identity.role.rawValue,
                    central == identity.central.rawValue
                else {
                    throw StoreError(
                        .wrongNode,
                        path: path,
                        message: "this data directory belongs to node \(node) (\(role), central \(central)), "
                            + "not \(identity); use the data directory configured for that node"
                    )
                }
                if row["restorePending"] as Int64 != 0 {
                    try startNewIncarnation(db)
                }
                return .commit
            }
        }
    }

    /// Moves to a fresh origin: a restored or rebuilt store must never reuse a seq a peer holds.
    func startNewIncarnation(_ db: Database) throws {
        try db.execute(
            sql: "UPDATE nodeMeta SET incarnation = incarnation + 1, nextSeq = 1, restorePending = 0 WHERE id = 1"
        )
        cache.removeAll()
    }

    // MARK: - Transactions

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction on the writer connection.
    ///
    /// The case cache is cleared first if another process committed since our last write,
    /// and cleared again if this transaction fails, so it only ever holds committed state.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                do {
                    try db.inTransaction(.immediate) {
                        let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
                        if self.cache.synchronize(dataVersion: version) {
                            self.pendingProjection.withLock { $0.forgetStates() }
                        }
                        result = try body(db)
                        return .commit
                    }
                } catch {
                    // Writes fold into cached states in place. Cleared on any failure, not
                    // through GRDB's rollback hook: when SQLite rolls the transaction back by
                    // itself (an I/O error, a full disk, RAISE(ROLLBACK)) that hook never runs.
                    self.cache.removeAll()
                    self.pendingProjection.withLock { $0.forgetStates() }
                    throw error
                }
                guard let result else { preconditionFailure("a committed transaction always produced its result") }
                self.writeActivity.withLock { $0.commits &+= 1 }
                return result
            }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs `body` on a reader connection (a consistent snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    static func translate(_ error: any Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PolicyRefusal {
            return StoreError(.policyRefused, path: path, message: error.message, refusal: error)
        }
        guard let error = error as? DatabaseError else {
            // Not a SQLite error: say which kind, never its description (it may quote data).
            return StoreError(.sqlite, path: path, message: "unexpected \(type(of: error)) while using the database")
        }
        switch error.resultCode {
        case .SQLITE_FULL:
            return StoreError(
                .diskFull,
                path: path,
                message: "the disk is full; nothing was written. Free space, then retry"
            )
        case .SQLITE_READONLY:
            return StoreError(
                .readOnly,
                path: path,
                message: "the database is read-only; check file and directory permissions"
            )
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError(
                .notADatabase,
                path: path,
                message: "not a Sambat database or corrupt; restore it from a backup or move it aside"
            )
        case .SQLITE_CANTOPEN:
            return StoreError(.cannotOpen, path: path, message: "cannot open the file; check the path and permissions")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.sqlite, path: path, message: "the database stayed locked by another process; retry")
        default:
            return StoreError(
                .sqlite,
                path: path,
                message: "SQLite error \(error.resultCode.rawValue); nothing was written"
            )
        }
    }
}

/// A snapshot of the store's metadata row.
public struct StoreMeta: Hashable, Sendable {
    /// The current origin (node and incarnation).
    public let origin: Origin
    /// The seq the next local op gets.
    public let nextSeq: UInt64
    /// The highest Lamport time seen.
    public let lamport: UInt64
}

extension Store {
    func loadMeta(_ db: Database) throws -> StoreMeta {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT incarnation, nextSeq, lamport FROM nodeMeta WHERE id = 1")
            )
        else {
            throw StoreError(.corruptOp, path: path, message: "the node metadata row is missing; restore from a backup")
        }
        let incarnation: Int64 = row["incarnation"]
        let nextSeq: Int64 = row["nextSeq"]
        let lamport: Int64 = row["lamport"]
        guard let origin = try? Origin(node: identity.node, incarnation: UInt32(clamping: incarnation)) else {
            throw StoreError(.corruptOp, path: path, message: "the node metadata row is invalid; restore from a backup")
        }
        return StoreMeta(origin: origin, nextSeq: UInt64(max(1, nextSeq)), lamport: UInt64(max(0, lamport)))
    }
}

extension Timestamp {
    /// The current wall time.
    ///
    /// Only the I/O layers read the clock; Core takes timestamps in.
    public static var now: Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }
}
