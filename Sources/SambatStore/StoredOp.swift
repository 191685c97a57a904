import Foundation
import GRDB
public import SambatCore

/// An op as held in a store: its sealed form and the time central received it.
public struct StoredOp: Hashable, Sendable {
    /// The op with its canonical bytes and hash.
    public let sealed: SealedOp
    /// Central's receive time: deadlines and "who is slow" are measured from it.
    public let receivedAt: Timestamp

    /// Pairs a sealed op with its receive time.
    public init(sealed: SealedOp, receivedAt: Timestamp) {
        self.sealed = sealed
        self.receivedAt = receivedAt
    }
}

extension Store {
    /// Decodes a row with `bytes`, `hash` and `receivedAt` columns, checking the hash.
    func decodeStored(_ row: Row) throws -> StoredOp {
        let bytes: Data = row["bytes"]
        let hash: Data = row["hash"]
        guard let digest = OpHash(storedBytes: Array(hash)),
            let sealed = try? SealedOp(stored: Array(bytes), hash: digest)
        else {
            throw StoreError(
                .corruptOp,
                path: path,
                message:
                    "a stored op no longer matches its hash; run 'PRAGMA integrity_check' and restore from a backup"
            )
        }
        return StoredOp(sealed: sealed, receivedAt: Timestamp(millisecondsSinceEpoch: row["receivedAt"]))
    }
}
