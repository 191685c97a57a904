import Crypto
import Foundation
import GRDB
import Glibc
public import SambatCore

/// Evidence blobs (photos, documents), content-addressed by SHA-256, beside a node's store.
///
/// Owned by a ``Store`` (`sambat.blobs/` beside `sambat.sqlite`). A blob arrives in parts into `<hex>.part`; it is
/// only renamed to `<hex>` after its size and SHA-256 are verified and the file is synced, so
/// a blob under its final name is always complete and correct, and a transfer cut off midway
/// resumes from the part's size. File work runs on a private queue, off the cooperative pool.
public final class BlobStore: Sendable {
    /// Why a blob operation failed; the message names the blob by hash, never its content.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The folder the blobs live in.
    public let directory: String
    private let queue = DispatchQueue(label: "sambat.blobs")

    /// The blob folder of the store file `storePath`: `sambat.sqlite` keeps its blobs in
    /// `sambat.blobs/` beside it (created when the first blob arrives), so stores that share
    /// a directory never share blobs.
    public init(besideStore storePath: String) {
        let base = storePath.hasSuffix(".sqlite") ? String(storePath.dropLast(".sqlite".count)) : storePath
        directory = base + ".blobs"
    }

    /// Whether the complete blob is held.
    public func contains(_ sha256: [UInt8]) async -> Bool {
        await run { FileManager.default.fileExists(atPath: self.path(sha256)) }
    }

    /// How many bytes of an incomplete blob are held (0 when none).
    public func partialSize(_ sha256: [UInt8]) async -> UInt64 {
        await run {
            let attributes = try? FileManager.default.attributesOfItem(atPath: self.path(sha256) + ".part")
            return (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
        }
    }

    /// Appends a part at `offset`, which must be the part's current size.
    /// - Returns: the part's size afterwards.
    public func append(_ sha256: [UInt8], offset: UInt64, data: [UInt8]) async throws(Failure) -> UInt64 {
        try await attempt {
            try self.ensureDirectory()
            let partial = self.path(sha256) + ".part"
            if !FileManager.default.fileExists(atPath: partial) {
                guard FileManager.default.createFile(atPath: partial, contents: nil) else {
                    throw Failure(description: "cannot create \(partial)")
                }
            }
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: partial))
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            guard size == offset else {
                throw Failure(
                    description: "a part of blob \(Hex.encode(sha256)) at \(offset) does not follow its \(size) bytes"
                )
            }
            try handle.write(contentsOf: data)
            return size + UInt64(data.count)
        }
    }

    /// Verifies a complete part (size and SHA-256), syncs it and gives it its final name.
    ///
    /// A part that fails verification is deleted, so the blob is fetched again from scratch.
    public func complete(_ sha256: [UInt8], size: UInt64) async throws(Failure) {
        try await attempt {
            let partial = self.path(sha256) + ".part"
            if size == 0, !FileManager.default.fileExists(atPath: partial) {
                // An empty blob has no parts to append.
                try self.ensureDirectory()
                _ = FileManager.default.createFile(atPath: partial, contents: nil)
            }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: partial))
            var hasher = SHA256()
            var total: UInt64 = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                total += UInt64(chunk.count)
            }
            try handle.synchronize()
            try handle.close()
            guard total == size, Array(hasher.finalize()) == sha256 else {
                try? FileManager.default.removeItem(atPath: partial)
                throw Failure(
                    description:
                        "blob \(Hex.encode(sha256)) failed verification (\(total) of \(size) bytes); fetching it again"
                )
            }
            if FileManager.default.fileExists(atPath: self.path(sha256)) {
                // Already complete (stored by another path): the part is not needed.
                try FileManager.default.removeItem(atPath: partial)
            } else {
                try FileManager.default.moveItem(atPath: partial, toPath: self.path(sha256))
            }
            self.syncDirectory()
        }
    }

    /// Reads up to `count` bytes of a complete blob from `offset`.
    /// - Returns: the bytes and the blob's size, or `nil` when the blob is not held.
    public func read(
        _ sha256: [UInt8],
        offset: UInt64,
        count: Int
    ) async throws(Failure) -> (data: [UInt8], size: UInt64)? {
        try await attempt {
            let file = self.path(sha256)
            guard FileManager.default.fileExists(atPath: file) else { return nil }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            guard offset <= size else { return ([], size) }
            try handle.seek(toOffset: offset)
            let data = try handle.read(upToCount: count) ?? Data()
            return (Array(data), size)
        }
    }

    /// Stores a whole blob held in memory (a file a user attached) and returns its SHA-256.
    public func put(_ data: [UInt8]) async throws(Failure) -> [UInt8] {
        try await attempt {
            // Hashed here, on the blob queue: a large file must not hold a cooperative thread.
            let sha256 = Array(SHA256.hash(data: data))
            try self.ensureDirectory()
            let file = self.path(sha256)
            guard !FileManager.default.fileExists(atPath: file) else { return sha256 }
            let partial = file + ".put"
            try Data(data).write(to: URL(fileURLWithPath: partial))
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: partial))
            try handle.synchronize()
            try handle.close()
            try FileManager.default.moveItem(atPath: partial, toPath: file)
            self.syncDirectory()
            return sha256
        }
    }

    private func path(_ sha256: [UInt8]) -> String { directory + "/" + Hex.encode(sha256) }

    /// Makes a rename durable: the directory entry is synced too.
    private func syncDirectory() {
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private func ensureDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { done in queue.async { done.resume(returning: body()) } }
    }

    private func attempt<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(Failure) -> T {
        let result: Result<T, Failure> = await run {
            do {
                return .success(try body())
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(Failure(description: "blob storage: \(error.localizedDescription)"))
            }
        }
        return try result.get()
    }
}

/// An evidence blob a store references but does not hold yet.
public struct MissingBlob: Hashable, Sendable {
    /// SHA-256 of the blob.
    public let sha256: [UInt8]
    /// Its size in bytes.
    public let size: UInt64

    /// A blob by hash and size.
    public init(sha256: [UInt8], size: UInt64) {
        self.sha256 = sha256
        self.size = size
    }
}

extension Store {
    /// Evidence blobs referenced by this store's cases and not yet held, in hash order after
    /// `after` (at most `limit`), so a caller can page through all of them.
    ///
    /// With `allowingProjectionLag`, the evidence of peers' ops committed within the
    /// projection delay may not be listed yet: for the blob fetcher, which polls and finds it
    /// at a later poll.
    public func missingBlobs(
        after: [UInt8]? = nil,
        limit: Int = 100,
        allowingProjectionLag: Bool = false
    ) async throws(StoreError) -> [MissingBlob] {
        let body: @Sendable (Database) throws -> [MissingBlob] = { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sha256, MAX(size) AS size FROM evidence
                    WHERE stored = 0 AND sha256 > ? GROUP BY sha256 ORDER BY sha256 LIMIT ?
                    """,
                arguments: [Data(after ?? []), limit]
            ).map { MissingBlob(sha256: Array($0["sha256"] as Data), size: UInt64($0["size"] as Int64)) }
        }
        return try await allowingProjectionLag ? readProjectedWithinDelay(body) : readProjected(body)
    }

    /// Records that a blob is now held by every evidence row that references it.
    public func markBlobStored(_ sha256: [UInt8]) async throws(StoreError) {
        try await write { db in
            // The evidence rows of ops still waiting for their projection must exist first.
            try self.projectPending(db)
            try db.execute(sql: "UPDATE evidence SET stored = 1 WHERE sha256 = ?", arguments: [Data(sha256)])
        }
    }

    /// Whether `peer` may receive the blob: the mayor any, an office those of cases ever
    /// assigned to it.
    public func blob(_ sha256: [UInt8], isVisibleTo peer: NodeID, role: NodeRole) async throws(StoreError) -> Bool {
        try await readProjected { db in
            switch role {
            case .mayor, .central:
                return try Bool.fetchOne(
                    db,
                    sql: "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?)",
                    arguments: [Data(sha256)]
                ) ?? false
            case .office:
                return try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT EXISTS (
                            SELECT 1 FROM evidence JOIN assignment ON assignment.caseId = evidence.caseId
                            WHERE evidence.sha256 = ? AND assignment.office = ?
                        )
                        """,
                    arguments: [Data(sha256), peer.rawValue]
                ) ?? false
            }
        }
    }
}
