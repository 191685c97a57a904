import Foundation
import GRDB
import SambatCore

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

    /// Puts a backup in place of a node's database; the node must be stopped.
    ///
    /// Removes the old database together with its `-wal` and `-shm` files — a stale WAL left
    /// beside a restored file would be replayed onto it — then copies the backup in. The
    /// next ``open(_:identity:)`` starts a new incarnation.
    /// - Throws: ``StoreError`` when the backup is missing or the files cannot be replaced.
    public static func restore(backup: String, to path: String) throws(StoreError) {
        let files = FileManager.default
        guard files.fileExists(atPath: backup) else {
            throw StoreError(.cannotOpen, path: backup, message: "the backup file does not exist")
        }
        do {
            for suffix in ["", "-wal", "-shm"] where files.fileExists(atPath: path + suffix) {
                try files.removeItem(atPath: path + suffix)
            }
            try files.copyItem(atPath: backup, toPath: path)
        } catch {
            throw StoreError(.cannotOpen, path: path, message: "cannot replace the database with the backup: \(error)")
        }
    }

    /// Moves this store to a new incarnation now (for a store rebuilt from peers).
    public func beginNewIncarnation() async throws(StoreError) {
        try await write { db in try self.startNewIncarnation(db) }
    }

    /// Runs SQLite's `PRAGMA integrity_check`; returns its messages (`["ok"]` when sound).
    public func integrityCheck() async throws(StoreError) -> [String] {
        try await read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Rebuilds the case projections from the op log when they are missing or incomplete
    /// (after a projection migration, or if someone deleted rows), or when their due times
    /// were computed with another deadline policy than this store was opened with.
    ///
    /// Opened without a policy, the store marks its due times stale instead: its writes will
    /// not keep them, so the next open with a policy computes them again.
    func rebuildProjectionsIfNeeded() throws {
        let (cases, views, fingerprint) = try pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT caseId) FROM op") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caseView") ?? 0,
                try String.fetchOne(db, sql: "SELECT deadlines FROM nodeMeta WHERE id = 1")
            )
        }
        guard let deadlines else {
            if fingerprint != nil {
                try pool.write { db in try db.execute(sql: "UPDATE nodeMeta SET deadlines = NULL WHERE id = 1") }
            }
            if cases != views { try rebuildProjections(fingerprint: nil) }
            return
        }
        guard cases != views || fingerprint != deadlines.fingerprint else { return }
        try rebuildProjections(fingerprint: deadlines.fingerprint)
    }

    /// Writes every case's projection rows again from the op log, in one transaction.
    private func rebuildProjections(fingerprint: String?) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(
                    sql: """
                        DELETE FROM caseView; DELETE FROM assignment; DELETE FROM caseConflict; DELETE FROM caseStage;
                        DELETE FROM officeStats; DELETE FROM officeWork; DELETE FROM officeWorkHour;
                        """
                )
                let ids = try String.fetchAll(db, sql: "SELECT DISTINCT caseId FROM op ORDER BY caseId")
                let session = WriteSession(store: self, db: db)
                for text in ids {
                    guard let caseID = try? CaseID(text) else { continue }
                    let state = try session.foldFromDisk(caseID)
                    try CaseProjection(db: db, statements: session.statements, receivedAt: [:], deadlines: deadlines)
                        .write(before: nil, after: state)
                }
                try db.execute(sql: "UPDATE nodeMeta SET deadlines = ? WHERE id = 1", arguments: [fingerprint])
                return .commit
            }
        }
    }
}
