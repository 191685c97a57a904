import Foundation

/// The tunables of the sync protocol, with the defaults of design.md §4.
///
/// Owned by a node's configuration; the same values on both ends are not required (central
/// tells a node its credit and batch limits in WELCOME).
public struct SyncSettings: Hashable, Sendable {
    /// How many parts a received batch of ops is decoded in: one per core.
    ///
    /// Used with ``SealedOp/decodeBatch(_:parallelism:)``. Not a tunable: decoding is pure
    /// work, and more parts than cores only cost.
    public static let decodingParallelism = ProcessInfo.processInfo.activeProcessorCount

    /// Most ops in one BATCH (default 5,000, the most `sync.batch_ops` allows; design.md's
    /// 500 until the scale issue).
    ///
    /// A batch is applied in one durable transaction at its receiver (a node puts two feed
    /// batches that waited together in one), and a commit costs by the pages it writes, not
    /// by its ops: in a back-fill the mayor's transactions spent 2.7 ms each
    /// outside the apply's own work (begin, commit, WAL), a quarter of a 500-op batch's turn.
    /// With 2,000 the mayor's back-fill ran at 55,000-57,000 ops/s instead of 35,000-38,000 (a
    /// 50,000-case `make scale`); with 5,000, 15-25 % faster again than with 2,000 at 250,000
    /// cases. The byte limit still bounds a batch, and live changes go in small batches
    /// either way; what a large batch costs is the writer's time (80-100 ms for 5,000 ops,
    /// twice that for two in a node's catch-up), which a staff write at the receiver may wait
    /// behind.
    public var maximumBatchOps = 5_000
    /// Most bytes of op encodings in one BATCH (default 1 MiB).
    public var maximumBatchBytes = 1 << 20
    /// Unacknowledged BATCHes allowed per direction and peer (default 4).
    public var credit = 4
    /// How often a node pings central when the link is quiet (default 5 s).
    public var pingInterval: Duration = .seconds(5)
    /// Silence after which a node treats the link as down and says HELLO again (default 15 s).
    public var linkTimeout: Duration = .seconds(15)
    /// How long a node waits for WELCOME before logging the wrong-key hint (default 10 s).
    public var helloTimeout: Duration = .seconds(10)
    /// How often a node looks for new local ops, and central for new feed entries (default 20 ms).
    public var pollInterval: Duration = .milliseconds(20)
    /// How often a node whose link is quiet (``NodeSync/isQuiet``) ticks when its store's
    /// files have not changed (default 250 ms).
    ///
    /// Such a tick runs the link's timers. An op written in the node's own process wakes the
    /// link at once; one written by another process (the office CLI) wakes it when the
    /// kernel reports the write to the store's files (inotify; where that is not to be had,
    /// the files are compared every ``pollInterval``). Sixty idle offices reading their
    /// stores every 20 ms took a core of the scale run's two, half the mayor's back-fill.
    public var idlePollInterval: Duration = .milliseconds(250)
    /// TCP keepalive interval, in whole seconds rounded up (default 2 s): a probe after this
    /// long idle, then one each as long, and the connection drops after three unanswered.
    ///
    /// The name and the `sync.heartbeat_interval` key are from when this was the ZMTP
    /// heartbeat interval; see ``linkSocketOptions`` for why it no longer is.
    public var heartbeatInterval: Duration = .seconds(2)
    /// Bytes an office asks for per evidence blob request (default and most: 256 KiB).
    public var blobChunkBytes = 256 * 1024
    /// Whether this side offers packed ops and packs its batches for a peer that accepts them.
    ///
    /// Default on (docs/protocol.md, "Packed ops"). Off, it speaks as a peer from before
    /// packing: the benchmark's yardstick and the interoperability tests use it.
    public var packsOps = true
    /// Reconnect backoff of the node's socket: first and longest wait (1 s → 2 s).
    ///
    /// The longest wait is short because it is how late a node sees central again after a
    /// restart: with 30 s (libzmq's habit) a central down for 9 s was found 6 s after it came
    /// back (`make scale`). A refused connect costs one TCP round trip.
    public var reconnectInitial: Duration = .seconds(1)
    public var reconnectMaximum: Duration = .seconds(2)

    /// The defaults of design.md §4.
    public init() {}

    /// Whether `batch` carries no more ops and op bytes than a BATCH may.
    public func admits(_ batch: Sambat_Sync_V1_Batch) -> Bool {
        batch.ops.count <= maximumBatchOps && batch.ops.reduce(0) { $0 + $1.count } <= maximumBatchBytes
    }
}
