import Foundation
public import SambatCore
public import SambatStore
import Synchronization

/// The decoding stage of a sync pipeline: batches decoded (every op parsed and its hash
/// checked) as they arrive, ahead of the writer.
///
/// Owned by ``NodeStoreWork`` for central's feed and by ``CentralStoreWork`` for the peers'
/// uploads. The socket reader (``NodeSyncService``'s, ``CentralSyncService``'s) decodes each
/// batch here before it hands the message on, so while the writer commits one batch the
/// reader decodes the next ones on the other core; ``take(_:)`` then finds the batch done.
/// Order is kept because the writer still applies batches one at a time, as the machine
/// asks. A batch is found only with its id and the very same bytes, so batches of two peers
/// that share an id cannot be mistaken for each other. Holds at most ``capacity`` batches,
/// so a batch the machine never applies (refused, or from a session since replaced) costs
/// memory only until later ones push it out.
///
/// A batch comes out as the store takes it, each op paired with central's receive time when
/// the batch carries them: wrapping five thousand ops took a millisecond of each batch's turn
/// while the writer waited for it (`sambat bench store`, timed between commits).
public final class DecodedBatches: Sendable {
    /// A batch's ops decoded, or the first op that does not decode.
    public typealias Decoded = Result<[RemoteOp], BatchDecodingError>

    /// Whether the batches' ops come with central's receive times.
    public enum ReceiveTimes: Sendable {
        /// Uploads: central stamps the ops itself.
        case none
        /// Central's feed: `receivedAtMs` holds one time per op, paired with it in order.
        case central
    }

    private struct Entry {
        let batchID: UInt64
        let encoded: [Data]
        let decoded: Decoded
    }

    /// Most batches kept: twice the default credit, so a peer's full window fits.
    public static let capacity = 8

    private let entries = Mutex<[Entry]>([])
    private let receiveTimes: ReceiveTimes

    /// An empty stage for batches that carry `receiveTimes`.
    public init(receiveTimes: ReceiveTimes = .none) {
        self.receiveTimes = receiveTimes
    }

    /// How many decoded batches wait to be taken.
    public var waiting: Int { entries.withLock { $0.count } }

    /// How many parts a batch decoded ahead is decoded in: one core fewer than the machine
    /// has (at least one), so the writer, which this stage works beside, keeps a core.
    ///
    /// On two cores, one part and two could not be told apart in `sambat bench sync
    /// --processes` (docs/benchmarks.md, sixth session); the rule stands on its reason.
    static let aheadParallelism = max(1, SyncSettings.decodingParallelism - 1)

    /// Decodes the ops of `batch` and keeps them for ``take(_:)``.
    public func decodeAhead(_ batch: Sambat_Sync_V1_Batch) async {
        let decoded = await decode(batch, parallelism: Self.aheadParallelism)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeFirst() }
            entries.append(Entry(batchID: batch.batchID, encoded: batch.ops, decoded: decoded))
        }
    }

    /// The ops of `batch`, decoded: as decoded ahead if they were (the same batch id and the
    /// same bytes), else now.
    ///
    /// Batches decoded ahead of it and not taken are let go: the machine applies in order,
    /// so it has passed them by.
    public func take(_ batch: Sambat_Sync_V1_Batch) async -> Decoded {
        let ahead = entries.withLock { entries -> Decoded? in
            guard
                let index = entries.firstIndex(where: { $0.batchID == batch.batchID && $0.encoded == batch.ops })
            else { return nil }
            let decoded = entries[index].decoded
            entries.removeFirst(index + 1)
            return decoded
        }
        if let ahead { return ahead }
        // The writer waits for this one: every core.
        return await decode(batch, parallelism: SyncSettings.decodingParallelism)
    }

    /// The batch's ops decoded and paired with their receive times; a feed batch without one
    /// time per op fails at the first op without its time.
    private func decode(_ batch: Sambat_Sync_V1_Batch, parallelism: Int) async -> Decoded {
        let times = batch.receivedAtMs
        if receiveTimes == .central, times.count != batch.ops.count {
            let missing = CodingError(.invalidValue, field: "receivedAtMs", offset: 0)
            return .failure(BatchDecodingError(index: min(times.count, batch.ops.count), error: missing))
        }
        let sealed: [SealedOp]
        do throws(BatchDecodingError) {
            sealed = try await SealedOp.decodeBatch(batch.ops.map { Array($0) }, parallelism: parallelism)
        } catch {
            return .failure(error)
        }
        switch receiveTimes {
        case .none:
            return .success(sealed.map { RemoteOp($0) })
        case .central:
            return .success(
                sealed.indices.map { index in
                    RemoteOp(sealed[index], centralReceivedAt: Timestamp(millisecondsSinceEpoch: times[index]))
                }
            )
        }
    }
}
