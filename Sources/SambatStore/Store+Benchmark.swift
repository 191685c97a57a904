import Foundation
import GRDB

extension Store {
    /// Inserts `rows` rows of `bytesPerRow` bytes into a scratch table through this store's
    /// writer connection, `batchSize` rows per transaction, and returns the time it took.
    ///
    /// The yardstick for `sambat bench store`: the same connection, pragmas (WAL,
    /// `synchronous=FULL`) and batching as a remote apply, with none of its work, bound through
    /// the same direct statement binding as the apply's hot statements. The scratch table is
    /// dropped afterwards.
    public func measurePlainInsert(rows: Int, bytesPerRow: Int, batchSize: Int) async throws(StoreError) -> Duration {
        let payload = [UInt8](repeating: 0x5A, count: bytesPerRow)
        try await write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS benchPlain (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var next = 0
        while next < rows {
            let first = next
            let count = min(batchSize, rows - next)
            try await write { db in
                let statement = try HotStatement(db, sql: "INSERT INTO benchPlain (id, payload) VALUES (?, ?)")
                for id in first..<first + count {
                    statement.bind(1, id)
                    statement.bind(2, blob: payload)
                    try statement.execute()
                }
            }
            next += count
        }
        let elapsed = clock.now - start
        try await write { db in try db.execute(sql: "DROP TABLE benchPlain") }
        return elapsed
    }
}
