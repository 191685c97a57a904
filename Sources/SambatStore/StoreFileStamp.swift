import Foundation
import Synchronization

/// What the store's files look like on disk: sizes and modification times of the database
/// and its write-ahead log.
///
/// Made by ``Store/fileStamp()`` for the sync link, which compares two stamps to learn
/// whether anyone (the office CLI in another process too) committed in between, at the cost
/// of two `stat` calls instead of a read of the store. Every commit appends to the WAL and a
/// checkpoint rewrites the database, so a commit always changes the stamp; other changes
/// (the node's own contact times) change it too, which costs one needless look.
public struct StoreFileStamp: Hashable, Sendable {
    private let database: FileState
    private let writeAheadLog: FileState

    private struct FileState: Hashable {
        var size: Int64 = -1
        var seconds: Int = 0
        var nanoseconds: Int = 0

        init(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return }
            size = Int64(info.st_size)
            seconds = info.st_mtim.tv_sec
            nanoseconds = info.st_mtim.tv_nsec
        }
    }

    init(databasePath: String) {
        database = FileState(path: databasePath)
        writeAheadLog = FileState(path: databasePath + "-wal")
    }
}

extension Store {
    /// The store's files as they are now; see ``StoreFileStamp``.
    public func fileStamp() -> StoreFileStamp {
        StoreFileStamp(databasePath: path)
    }

    /// A stream that yields when the store's files changed, looked at every `interval`,
    /// until the caller stops iterating it.
    ///
    /// For the sync link, to find a commit of another process (the office CLI) soon without
    /// reading the store. The looking is done by a thread of its own, asleep in between: a
    /// task sleeping 20 ms at a time on the cooperative pool cost sixty idle offices half a
    /// core (`make scale`), a thread's sleep next to nothing. Changes that come while the
    /// caller is busy merge into one.
    public func fileChanges(every interval: Duration) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let stopped = Mutex(false)
        continuation.onTermination = { _ in stopped.withLock { $0 = true } }
        let path = path
        let microseconds = UInt32(
            clamping: max(
                1_000,
                interval.components.seconds * 1_000_000
                    + interval.components.attoseconds / 1_000_000_000_000
            )
        )
        let thread = Thread {
            var last = StoreFileStamp(databasePath: path)
            while !stopped.withLock({ $0 }) {
                usleep(microseconds)
                let now = StoreFileStamp(databasePath: path)
                if now != last {
                    last = now
                    continuation.yield()
                }
            }
        }
        thread.name = "sambat-store-watch"
        thread.start()
        return stream
    }
}
