import Foundation
import GRDB
public import SambatCore
import Synchronization

/// What a backup file holds, as ``Store/checkBackup(at:for:)`` found it before a restore.
public struct BackupSummary: Hashable, Sendable {
    /// The node the backup belongs to.
    public let node: NodeID
    /// The incarnation the node was in when the backup was taken.
    public let incarnation: UInt64
    /// Ops in its log.
    public let opCount: Int
    /// Cases in it.
    public let caseCount: Int
}

extension Store {
    /// Writes a consistent online copy of the database to `destination` (SQLite backup API).
    ///
    /// The copy is marked as restored: a store opened from it starts a new incarnation (a new
    /// origin) before it writes anything, so it can never reuse a seq that peers already hold
    /// from the original.
    /// - Throws: ``StoreError`` when the destination exists or cannot be written.
    public func backup(to destination: String) async throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.cannotOpen, path: destination, message: "refusing to overwrite an existing file")
        }
        // A copy with journal rows is whole (opening it projects them), but its summary would
        // count fewer cases than it holds.
        try await projectPendingOps()
        do {
            let copy = try DatabaseQueue(path: destination)
            try await pool.read { db in
                try copy.writeWithoutTransaction { copyDB in try db.backup(to: copyDB) }
            }
            try await copy.write { db in
                try db.execute(sql: "UPDATE nodeMeta SET restorePending = 1 WHERE id = 1")
            }
            try copy.close()
        } catch {
            throw Self.translate(error, path: destination)
        }
    }

    /// Checks that `path` is a whole, readable backup of the node `identity` names, written by
    /// this release or an older one, without changing it.
    ///
    /// - Returns: what the backup holds.
    /// - Throws: ``StoreError``: ``StoreError/Code/cannotOpen`` when it is missing,
    ///   ``StoreError/Code/notADatabase`` when it is truncated or damaged,
    ///   ``StoreError/Code/foreignDatabase`` when it is not a Sambat store,
    ///   ``StoreError/Code/newerSchema`` when a newer release wrote it, and
    ///   ``StoreError/Code/wrongNode`` when it belongs to another node.
    public static func checkBackup(at path: String, for identity: NodeIdentity) throws(StoreError) -> BackupSummary {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.cannotOpen, path: path, message: "the backup file does not exist")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else { throw Self.damagedBackup(path) }
                let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                guard tables.isSuperset(of: ["grdb_migrations", "nodeMeta", "op"]) else {
                    throw StoreError(.foreignDatabase, path: path, message: "this file is not a Sambat backup")
                }
                if try StoreSchema.migrator.hasBeenSuperseded(db) {
                    throw StoreError(
                        .newerSchema,
                        path: path,
                        message: "the backup was written by a newer Sambat (unknown migrations); "
                            + "restore it with that release or a newer one"
                    )
                }
                guard let row = try Row.fetchOne(db, sql: "SELECT node, role, central, incarnation FROM nodeMeta"),
                    let node = try? NodeID(row["node"] as String)
                else {
                    throw StoreError(.foreignDatabase, path: path, message: "the backup names no node")
                }
                let role: String = row["role"]
                let central: String = row["central"]
                guard node == identity.node, role == identity.role.rawValue, central == identity.central.rawValue
                else {
                    throw StoreError(
                        .wrongNode,
                        path: path,
                        message: "the backup belongs to node \(node) (\(role), central \(central)), not \(identity)"
                    )
                }
                let cases = tables.contains("caseView") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caseView") : 0
                return BackupSummary(
                    node: node,
                    incarnation: UInt64(max(1, row["incarnation"] as Int64)),
                    opCount: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM op") ?? 0,
                    caseCount: cases ?? 0
                )
            }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw Self.damagedBackup(path)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    private static func damagedBackup(_ path: String) -> StoreError {
        StoreError(
            .notADatabase,
            path: path,
            message: "the backup is damaged (truncated or altered); take a new one or use an older one"
        )
    }

    /// Puts a backup in place of a node's database; the node must be stopped.
    ///
    /// The backup is copied beside the database and marked restored first, so the next
    /// ``open(_:identity:)`` starts a new incarnation (also for a plain copy of a database
    /// file, which would otherwise reuse the seqs written since). Its incarnation is raised to
    /// the replaced store's when that is higher: restoring one backup twice, or one older than
    /// an earlier restore, must still yield an origin never used. Only then is the old
    /// database moved aside (or removed) with its `-wal` and `-shm` files, since a stale WAL
    /// beside the restored file would be replayed onto it, and the copy moved into place; if
    /// that fails, the old database is put back.
    /// - Parameters:
    ///   - backup: the backup file, checked with ``checkBackup(at:for:)`` first.
    ///   - path: the node's database.
    ///   - setAside: where to move the old database and its journal files instead of removing
    ///     them (the same name with `-wal` and `-shm` added); `nil` removes them.
    ///   - incarnationAbove: an incarnation the restored store must move past, when the old
    ///     database is lost and central holds a later origin of this node than the backup knows.
    /// - Throws: ``StoreError`` when the backup is missing or is the database itself, or the
    ///   files cannot be replaced (the old database is then where it was).
    public static func restore(
        backup: String,
        to path: String,
        settingAsideTo setAside: String? = nil,
        incarnationAbove: UInt64 = 0
    )
        throws(StoreError)
    {
        let files = FileManager.default
        guard files.fileExists(atPath: backup) else {
            throw StoreError(.cannotOpen, path: backup, message: "the backup file does not exist")
        }
        func resolved(_ file: String) -> String { URL(fileURLWithPath: file).resolvingSymlinksInPath().path }
        guard resolved(backup) != resolved(path) else {
            throw StoreError(.invalidArgument, path: backup, message: "this is the node's own database, not a backup")
        }
        let replaced = max(
            files.fileExists(atPath: path) ? (try? incarnation(of: path)) ?? 0 : 0,
            Int64(clamping: incarnationAbove)
        )
        let staging = path + ".restoring"
        func removeStaging() {
            for suffix in ["", "-wal", "-shm"] { try? files.removeItem(atPath: staging + suffix) }
        }
        removeStaging()
        do {
            try files.copyItem(atPath: backup, toPath: staging)
            let copy = try DatabaseQueue(path: staging)
            // A rollback journal, so the staged file is whole on its own when it is moved.
            try copy.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                try db.execute(
                    sql: "UPDATE nodeMeta SET restorePending = 1, incarnation = MAX(incarnation, ?) WHERE id = 1",
                    arguments: [replaced]
                )
            }
            try copy.close()
        } catch {
            removeStaging()
            if let error = error as? DatabaseError { throw Self.translate(error, path: staging) }
            throw StoreError(
                .cannotOpen,
                path: staging,
                message: "cannot copy the backup beside the database: \(error)"
            )
        }
        var movedAside: [String] = []
        do {
            for suffix in ["", "-wal", "-shm"] where files.fileExists(atPath: path + suffix) {
                if let setAside {
                    try files.moveItem(atPath: path + suffix, toPath: setAside + suffix)
                    movedAside.append(suffix)
                } else {
                    try files.removeItem(atPath: path + suffix)
                }
            }
            try files.moveItem(atPath: staging, toPath: path)
        } catch {
            if let setAside {
                for suffix in movedAside { try? files.moveItem(atPath: setAside + suffix, toPath: path + suffix) }
            }
            removeStaging()
            throw StoreError(
                .cannotOpen,
                path: path,
                message: "cannot put the backup in place; the database is left as it was: \(error)"
            )
        }
    }

    /// The incarnation recorded in the database at `path`.
    static func incarnation(of path: String) throws -> Int64 {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int64.fetchOne(db, sql: "SELECT incarnation FROM nodeMeta") ?? 0 }
    }

    /// Moves this store to a new incarnation now (for a store rebuilt from peers).
    public func beginNewIncarnation() async throws(StoreError) {
        try await write { db in try self.startNewIncarnation(db) }
    }

    /// Runs SQLite's `PRAGMA integrity_check`; returns its messages (`["ok"]` when sound).
    public func integrityCheck() async throws(StoreError) -> [String] {
        try await read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Rebuilds the case projections from the op log when they are missing (the log holds
    /// ops and the case table is empty: a store from before the projections, or one whose
    /// projection tables were cleared), or when their due times were computed with another
    /// deadline policy than this store was opened with.
    ///
    /// Opened without a policy, the store marks its due times stale instead: its writes will
    /// not keep them, so the next open with a policy computes them again.
    ///
    /// The open does not count the log's cases against the case rows: at a year of a city that
    /// scans ten million index entries (2.7 s from a cold disk), at every start, for a loss no
    /// write path can cause (a peer's batch journals its projection, a local write projects in
    /// its own transaction, a rebuild is one transaction).
    /// - Returns: whether it rebuilt them.
    func rebuildProjectionsIfNeeded() throws -> Bool {
        let (empty, noCaseRows, fingerprint) = try pool.read { db in
            (
                try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM op)") ?? true,
                try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM caseView)") ?? true,
                try String.fetchOne(db, sql: "SELECT deadlines FROM nodeMeta WHERE id = 1")
            )
        }
        let missing = !empty && noCaseRows
        guard let deadlines else {
            if fingerprint != nil {
                try pool.write { db in try db.execute(sql: "UPDATE nodeMeta SET deadlines = NULL WHERE id = 1") }
            }
            if missing { try rebuildProjections(fingerprint: nil) }
            return missing
        }
        guard missing || fingerprint != deadlines.fingerprint else { return false }
        try rebuildProjections(fingerprint: deadlines.fingerprint)
        // A new store only records the policy: there was nothing to write.
        return !empty
    }

    /// Writes every case's projection rows again from the op log, in one transaction.
    private func rebuildProjections(fingerprint: String?) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(
                    sql: """
                        DELETE FROM caseView; DELETE FROM assignment; DELETE FROM caseConflict; DELETE FROM caseStage;
                        DELETE FROM officeStats; DELETE FROM officeWork; DELETE FROM officeWorkHour;
                        DELETE FROM projectionJournal;
                        """
                )
                // The rebuild writes every case from its whole log: nothing stays pending.
                self.pendingProjection.withLock { $0 = PendingProjection() }
                // In ticket order, as before the log was keyed by integers.
                let ids = try Int64.fetchAll(db, sql: "SELECT DISTINCT caseKey FROM op").compactMap(CaseKey.caseID)
                let session = WriteSession(store: self, db: db)
                let projection = CaseProjection(
                    db: db,
                    statements: session.statements,
                    receivedAt: [:],
                    deadlines: deadlines
                )
                for caseID in ids.sorted() {
                    try projection.write(before: nil, after: session.foldFromDisk(caseID))
                }
                try projection.finish()
                try db.execute(sql: "UPDATE nodeMeta SET deadlines = ? WHERE id = 1", arguments: [fingerprint])
                // Cached cases remember the rows they last wrote; these rows are new.
                cache.removeAll()
                return .commit
            }
        }
    }
}
