import Foundation
import GRDB
import SambatCore
import SambatStore
import Testing

/// The write-ahead log is copied into the file beside the writer, and stays bounded.
@Suite struct WalCheckpointTests {
    /// A writer that never pauses: 100 MB in transactions of 1 MB.
    ///
    /// The checkpointer's own connection copies the log while the writer goes on; the writer
    /// copies what is left once the log passes its limit, so the log starts over instead of
    /// growing with the stream. What the store held before is intact afterwards.
    @Test func aLongStreamOfWritesIsCheckpointedBesideTheWriterAndTheLogStaysBounded() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sambat.sqlite"
        var store: Store? = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(store!)
        #expect(store!.walCheckpoints.background == 0 && store!.walCheckpoints.writer == 0)

        _ = try await store!.measurePlainInsert(rows: 100_000, bytesPerRow: 1_000, batchSize: 1_000, keepingRows: true)
        let counts = store!.walCheckpoints
        // Whether the writer had to take over depends on how fast the background copied (on
        // a loaded machine it keeps up); the log's bound below holds either way.
        #expect(counts.background >= 1, "\(counts)")
        // The writer's limit is about 33 MB, and the log may pass it by what the writer
        // commits while a background pass still holds the lock. Without the writer's step
        // the log holds the whole stream (over 100 MB).
        let walBytes = try #require(
            try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
        )
        #expect(walBytes < 64_000_000, "the log grew to \(walBytes) bytes")

        // Releasing the store closes every connection it had, the checkpointer's too (a pass
        // still running is waited for): the last one copied the rest of the log and removed it.
        store = nil
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let queue = try DatabaseQueue(path: path)
        #expect(try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") } == ["ok"])
        #expect(try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM benchPlain") } == 100_000)
        try queue.close()
        let reopened = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        #expect(try await reopened.caseState(caseID)?.status == .dispatched)
    }
}

/// A commit is on disk when it returns.
@Suite struct DurableCommitTests {
    /// GRDB turns the pool's writer to `synchronous=NORMAL` when it sets up WAL mode, after the
    /// store's own setting: the store sets FULL again once the pool is open.
    @Test func theWriterCommitsWithSynchronousFull() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        #expect(try await store.commitsAreDurable())
        // And again after a restart on the same file.
        let reopened = try StoreFixtures.open(directory, StoreFixtures.central, .central, file: "sambat.sqlite")
        #expect(try await reopened.commitsAreDurable())
    }
}
