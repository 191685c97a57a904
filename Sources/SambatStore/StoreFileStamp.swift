import Foundation
import Synchronization

/// What the store's files look like on disk: sizes and modification times of the database
/// and its write-ahead log.
///
/// Compared by ``Store/fileChanges(every:onFallback:)`` where inotify is not to be had, to learn
/// whether anyone (the office CLI in another process too) committed in between, at the cost
/// of two `stat` calls instead of a read of the store. Every commit appends to the WAL and a
/// checkpoint rewrites the database, so a commit always changes the stamp; other changes
/// (the node's own contact times) change it too, which costs one needless look.
struct StoreFileStamp: Hashable, Sendable {
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

    /// Compares stamps every `interval` until `stopped`, calling `onChange` when they differ.
    static func poll(
        path: String,
        every interval: Duration,
        until stopped: () -> Bool,
        onChange: () -> Void
    ) {
        let microseconds = UInt32(
            clamping: max(
                1_000,
                interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
            )
        )
        var last = StoreFileStamp(databasePath: path)
        while !stopped() {
            usleep(microseconds)
            let now = StoreFileStamp(databasePath: path)
            if now != last {
                last = now
                onChange()
            }
        }
    }
}

/// Waits for writes to a database file and its WAL through Linux's inotify, on the calling
/// thread; see ``Store/fileChanges(every:onFallback:)``.
enum FileWriteWatch {
    /// How often the wait wakes to look whether it should stop.
    static let stopCheckMilliseconds: Int32 = 250

    /// Watches the database's folder for writes to the database or its WAL until `stopped`,
    /// calling `onChange` after each burst of them.
    ///
    /// The folder, not the files: the WAL may not exist yet, or be made anew.
    /// - Returns: `nil` once stopped; why inotify could not be set up otherwise (nothing
    ///   was watched).
    static func run(path: String, until stopped: () -> Bool, onChange: () -> Void) -> String? {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let names: Set<String> = [url.lastPathComponent, url.lastPathComponent + "-wal"]
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else {
            let code = errno
            return failure("inotify_init1", code, limit: code == EMFILE ? "fs.inotify.max_user_instances" : nil)
        }
        defer { close(descriptor) }
        guard inotify_add_watch(descriptor, folder, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO)) >= 0 else {
            let code = errno
            return failure("inotify_add_watch", code, limit: code == ENOSPC ? "fs.inotify.max_user_watches" : nil)
        }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !stopped() {
            var wait = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&wait, 1, stopCheckMilliseconds) > 0 else { continue }
            var changed = false
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                if !changed {
                    // An overflowed queue lost events: it may have lost this one.
                    changed = events(in: buffer[0..<count]).contains {
                        names.contains($0.name) || $0.mask & UInt32(IN_Q_OVERFLOW) != 0
                    }
                }
            }
            guard changed else { continue }
            onChange()
            // A writer's commit is a burst of writes: one report for it is enough.
            usleep(coalescingMicroseconds)
        }
        return nil
    }

    /// Why a call failed, naming the kernel limit to raise when one was reached.
    private static func failure(_ call: String, _ code: Int32, limit: String?) -> String {
        let reason = "\(call): \(String(cString: strerror(code)))"
        guard let limit else { return reason }
        return reason + " (raise \(limit); see docs/operations.md)"
    }

    /// How long after a report further writes are left to gather into the next one.
    static let coalescingMicroseconds: UInt32 = 2_000

    /// The events in `bytes`, a series of `struct inotify_event` (four 32-bit fields in the
    /// host's byte order: watch, mask, cookie, and the length of the name after them).
    static func events(in bytes: ArraySlice<UInt8>) -> [(mask: UInt32, name: String)] {
        var events: [(mask: UInt32, name: String)] = []
        let header = 16
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + header <= raw.count {
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameEnd = min(raw.count, offset + header + length)
                let name = raw[(offset + header)..<nameEnd].prefix { $0 != 0 }
                events.append((mask, String(decoding: name, as: UTF8.self)))
                offset = nameEnd
            }
        }
        return events
    }
}

extension Store {
    /// A stream that yields when the store's files change, until the caller stops iterating
    /// it.
    ///
    /// For the sync link, to find a commit of another process (the office CLI) at once
    /// without reading the store. A thread of its own waits for the kernel to report a
    /// write to the database or its WAL (inotify); where inotify is not to be had (a
    /// per-user limit reached), it compares ``StoreFileStamp``s every `interval` instead.
    /// Sixty idle offices of a 50,000-case scale run took 20–22 % of a core together with
    /// it, 26 % comparing the files every 20 ms on a thread, and 48 % with a task waking as
    /// often on the cooperative pool. Changes that come while the caller is busy merge into
    /// one.
    /// - Parameters:
    ///   - interval: How often the files are compared where inotify cannot be had.
    ///   - onFallback: Called once, with the reason, when inotify cannot be set up and the
    ///     files are compared instead (the node logs it: it costs CPU).
    /// - Returns: One element per change, or per burst of changes.
    public func fileChanges(
        every interval: Duration,
        onFallback: @escaping @Sendable (String) -> Void = { _ in }
    ) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let stopped = Mutex(false)
        continuation.onTermination = { _ in stopped.withLock { $0 = true } }
        let path = path
        let thread = Thread {
            let isStopped = { stopped.withLock { $0 } }
            if let reason = FileWriteWatch.run(path: path, until: isStopped, onChange: { continuation.yield() }) {
                onFallback(reason)
                StoreFileStamp.poll(path: path, every: interval, until: isStopped) { continuation.yield() }
            }
        }
        thread.name = "sambat-store-watch"
        thread.start()
        return stream
    }
}
