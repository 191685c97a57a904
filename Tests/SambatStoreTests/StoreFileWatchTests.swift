import Foundation
import SambatCore
import Synchronization
import Testing

@testable import SambatStore

/// The watch a quiet sync link keeps on its store's files, to find another process's commit.
@Suite struct StoreFileWatchTests {
    /// A commit through another connection to the file is reported within a second.
    ///
    /// The office CLI commits so. The fallback's polling interval is ten minutes, so only the
    /// kernel's report can be this quick. The watch may still be starting when the first
    /// commit comes, so the test commits again until one is seen.
    @Test func aCommitOfAnotherConnectionIsReportedAtOnce() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let other = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let reports = Mutex(0)
        let watcher = Task {
            for await _ in node.fileChanges(every: .seconds(600)) { reports.withLock { $0 += 1 } }
        }
        defer { watcher.cancel() }
        var seen = false
        for serial in 1...5 where !seen {
            _ = try await StoreFixtures.dispatchedCase(other, serial: serial)
            let deadline = ContinuousClock.now + .seconds(1)
            while !seen, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                seen = reports.withLock { $0 } > 0
            }
        }
        #expect(seen, "no commit of the other connection was reported")
    }

    /// When the folder cannot be watched, the caller is told why, once.
    ///
    /// A folder moved away after the open stands in for inotify's per-user limit, which a
    /// test cannot reach without starving its neighbours.
    @Test func aStoreThatCannotBeWatchedFallsBackAndSaysWhy() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let moved = directory + "-moved"
        try FileManager.default.moveItem(atPath: directory, toPath: moved)
        defer { try? FileManager.default.removeItem(atPath: moved) }
        let reasons = Mutex<[String]>([])
        let changes = store.fileChanges(every: .milliseconds(20)) { reason in
            reasons.withLock { $0.append(reason) }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while reasons.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // Time for a second report, which must not come.
        try await Task.sleep(for: .milliseconds(200))
        let said = reasons.withLock { $0 }
        #expect(said.count == 1)
        #expect(said.first?.hasPrefix("inotify_add_watch: ") == true, "\(said)")
        withExtendedLifetime(changes) {}
    }

    /// The events in a buffer as the kernel lays them out (names padded with NULs to a
    /// multiple of the 16-byte header, or none).
    @Test func inotifyEventsAreReadAsTheKernelLaysThemOut() {
        func event(_ name: String) -> [UInt8] {
            var padded = Array(name.utf8)
            if !padded.isEmpty { padded += [UInt8](repeating: 0, count: 16 - padded.count % 16) }
            var bytes: [UInt8] = []
            for field in [UInt32(1), UInt32(IN_MODIFY), 0, UInt32(padded.count)] {
                withUnsafeBytes(of: field) { bytes += $0 }
            }
            return bytes + padded
        }
        let buffer = event("sambat.sqlite-wal") + event("") + event("status.json")
        let events = FileWriteWatch.events(in: buffer[...])
        #expect(events.map(\.name) == ["sambat.sqlite-wal", "", "status.json"])
        #expect(events.allSatisfy { $0.mask == UInt32(IN_MODIFY) })
        // A buffer cut short is read as far as it goes, never past its end.
        #expect(FileWriteWatch.events(in: buffer.prefix(20)).map(\.name) == ["samb"])
    }
}
