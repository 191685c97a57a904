import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serialises the opening of one database file across processes.
///
/// A node creating its store and a CLI command of the same node can open a new file at the
/// same moment; two processes running the first migrations at once fail in SQLite. Held by
/// ``Store/open(_:identity:)`` only while it creates, migrates and claims the file: an
/// exclusive `flock` on `<database>.open-lock`, which the kernel drops if the process dies.
final class OpeningLock {
    private let descriptor: Int32

    /// Waits for the lock; `nil` when the lock file cannot be created (a read-only
    /// directory), in which case opening goes on unserialised and reports its own error.
    init?(database path: String) {
        let fd = open(path + ".open-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                return nil
            }
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
