import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a data directory, held for as long as a node runs, so that a second
/// node started on the same directory is refused instead of writing beside the first.
///
/// An advisory `flock` on `sambat.lock`: the kernel drops it when the process dies, so a
/// killed node never leaves a stale lock behind.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    /// Why the lock was not taken.
    public struct Failure: Error, CustomStringConvertible {
        /// What happened, in Bahasa Indonesia.
        public let description: String
    }

    /// Takes the lock or throws, naming the process that holds it.
    public init(path: String) throws(Failure) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "berkas kunci \(path) tidak dapat dibuka: errno \(errno)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines
            )
            close(fd)
            throw Failure(
                description:
                    "direktori data ini sedang dipakai node lain (pid \(holder ?? "?")); hentikan node itu atau pakai node.data_dir lain"
            )
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
