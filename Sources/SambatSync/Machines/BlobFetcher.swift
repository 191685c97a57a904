import Foundation
import SambatCore
public import SambatStore

/// Fetches from central the evidence blobs an office's store references but does not hold.
///
/// One blob at a time, in chunks, with a few requests outstanding, resuming from what a
/// cut-off transfer left behind. A value-type state machine owned by ``NodeSyncService``.
public struct BlobFetcher: Sendable {
    /// What happened.
    public enum Event: Sendable {
        /// Blobs the store misses (from a poll); ones already queued are ignored.
        case wanted([MissingBlob])
        /// How many bytes of the current blob were already held (the `.part` file's size).
        case resumed(sha256: [UInt8], at: UInt64)
        /// A chunk arrived from central.
        case chunk(Sambat_Sync_V1_BlobChunk)
        /// A chunk was appended; the part now holds `size` bytes.
        case stored(sha256: [UInt8], size: UInt64)
        /// The blob was verified and stored (or failed verification and was discarded).
        case finished(sha256: [UInt8], verified: Bool)
        /// Time passed: a transfer that made no progress for `stallTimeout` asks again.
        case tick(ContinuousClock.Instant)
        /// The session ended: forget what is in flight (the part on disk stays).
        case reset
    }

    /// What the service must do.
    public enum Action: Sendable, Equatable {
        /// Look up how much of the blob is held, then report ``Event/resumed(sha256:at:)``.
        case resume(sha256: [UInt8])
        /// Send a message to central.
        case send(SyncMessage)
        /// Append the chunk to the blob's part, then report ``Event/stored(sha256:size:)``.
        case store(Sambat_Sync_V1_BlobChunk)
        /// Verify and finish the blob, then report ``Event/finished(sha256:verified:)``.
        case finish(sha256: [UInt8], size: UInt64)
        /// Write a log line.
        case log(SyncLogLevel, String)
    }

    /// Bytes asked for per request (at most 256 KiB).
    public let chunkBytes: Int
    /// Requests outstanding at once.
    public let window: Int
    /// How long a transfer may go without a stored chunk before the window is asked again
    /// (a request or chunk was lost, or a peer sent a short chunk).
    public let stallTimeout: Duration
    private var lastProgress: ContinuousClock.Instant?

    private var queue: [MissingBlob] = []
    private var current: MissingBlob?
    private var resumed = false
    private var requestedUpTo: UInt64 = 0
    private var received: UInt64 = 0
    private var outstanding = 0
    /// Blobs central could not give (or that failed verification), with when to ask again.
    private var unavailable: [[UInt8]: ContinuousClock.Instant] = [:]
    /// The latest tick, for retry times.
    private var now = ContinuousClock.now
    /// How long a blob central could not give is left alone before it is asked for again.
    public let retryAfter: Duration

    /// A fetcher asking for `chunkBytes` at a time with `window` requests outstanding.
    public init(
        chunkBytes: Int = 256 * 1024,
        window: Int = 4,
        stallTimeout: Duration = .seconds(5),
        retryAfter: Duration = .seconds(120)
    ) {
        self.chunkBytes = max(1, min(chunkBytes, 256 * 1024))
        self.window = max(1, window)
        self.stallTimeout = stallTimeout
        self.retryAfter = retryAfter
    }

    /// Whether a blob is being left alone for now (central could not give it).
    public func isDeferred(_ sha256: [UInt8]) -> Bool { unavailable[sha256] != nil }

    /// Whether nothing is being fetched or waiting.
    public var isIdle: Bool { current == nil && queue.isEmpty }

    /// Handles one event and returns what to do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .wanted(let blobs):
            for blob in blobs
            where blob.sha256 != current?.sha256 && unavailable[blob.sha256] == nil
                && !queue.contains(where: { $0.sha256 == blob.sha256 })
            {
                queue.append(blob)
            }
            if current == nil { startNext(into: &actions) }
        case .resumed(let sha256, let offset):
            guard let blob = current, blob.sha256 == sha256, !resumed else { break }
            resumed = true
            received = min(offset, blob.size)
            requestedUpTo = received
            if received >= blob.size {
                actions.append(.finish(sha256: sha256, size: blob.size))
            } else {
                request(into: &actions)
            }
        case .chunk(let chunk):
            guard let blob = current, resumed, Array(chunk.sha256) == blob.sha256, chunk.offset == received,
                outstanding > 0
            else { break }
            if chunk.unavailable || chunk.totalSize != blob.size || chunk.data.isEmpty {
                actions.append(.log(.warning, "central cannot give evidence blob \(Hex.encode(blob.sha256)) now"))
                unavailable[blob.sha256] = now + retryAfter
                current = nil
                startNext(into: &actions)
                break
            }
            actions.append(.store(chunk))
        case .stored(let sha256, let size):
            guard let blob = current, blob.sha256 == sha256 else { break }
            received = size
            lastProgress = nil
            outstanding -= 1
            if received >= blob.size {
                actions.append(.finish(sha256: sha256, size: blob.size))
            } else {
                request(into: &actions)
            }
        case .finished(let sha256, let verified):
            guard current?.sha256 == sha256 else { break }
            if !verified {
                actions.append(.log(.error, "evidence blob \(Hex.encode(sha256)) failed verification; retrying later"))
                unavailable[sha256] = now + retryAfter
            }
            current = nil
            startNext(into: &actions)
        case .tick(let now):
            self.now = now
            unavailable = unavailable.filter { $0.value > now }
            guard let blob = current, resumed, received < blob.size else { break }
            guard let since = lastProgress else {
                lastProgress = now
                break
            }
            if now - since >= stallTimeout {
                // Ask again from what is held; late answers to the old requests are ignored.
                actions.append(
                    .log(.notice, "evidence blob \(Hex.encode(blob.sha256)) stalled at \(received) bytes; asking again")
                )
                lastProgress = now
                outstanding = 0
                requestedUpTo = received
                request(into: &actions)
            }
        case .reset:
            lastProgress = nil
            queue.removeAll()
            current = nil
            outstanding = 0
        }
        return actions
    }

    private mutating func startNext(into actions: inout [Action]) {
        guard !queue.isEmpty else { return }
        let blob = queue.removeFirst()
        current = blob
        resumed = false
        outstanding = 0
        lastProgress = nil
        actions.append(.resume(sha256: blob.sha256))
    }

    private mutating func request(into actions: inout [Action]) {
        guard let blob = current else { return }
        while outstanding < window, requestedUpTo < blob.size {
            let length = min(UInt64(chunkBytes), blob.size - requestedUpTo)
            var ask = Sambat_Sync_V1_BlobRequest()
            ask.sha256 = Data(blob.sha256)
            ask.offset = requestedUpTo
            ask.length = UInt32(length)
            actions.append(.send(.blobRequest(ask)))
            requestedUpTo += length
            outstanding += 1
        }
    }
}
