import Foundation
import SambatCore
import SambatStore
import SambatTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM in the middle of a sync: the node stops within seconds, keeps every op it
/// committed, and the sync finishes after a restart with nothing lost or doubled.
@Suite(.serialized, .timeLimit(.minutes(3))) struct GracefulShutdownTests {
    static let cases = 3_000
    static let opsPerCase = 3
    static let linkBytesPerSecond = 80_000

    @Test func aNodeStoppedMidSyncExitsQuicklyAndLosesNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let binary = try ProcessTestKit.sambatBinary()
        func sambat(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try ProcessTestKit.runBlocking(binary, arguments, environment: [:], removing: ["SAMBAT_CONFIG"])
        }
        var keys: [String: String] = [:]
        for node in ["central", "dpupr"] {
            try FileManager.default.createDirectory(
                atPath: scratch.file("data/\(node)"),
                withIntermediateDirectories: true
            )
            _ = try sambat(["keys", "generate", "--out", scratch.file("data/\(node)/curve.key"), "--node", node])
            keys[node] = try sambat(["keys", "public", "--key", scratch.file("data/\(node)/curve.key")]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: scratch.file("keys"), withIntermediateDirectories: true)
        _ = try sambat(["keys", "identity", "--out", scratch.file("keys/identity.key")])
        let syncPort = try ProcessTestKit.freePort()
        // The office reaches central over a slow link, so the feed lasts seconds however fast
        // the machine is, and the test can stop a node while it flows.
        let link = try await ChaosProxy(
            target: syncPort,
            links: ["dpupr"],
            seed: 1,
            bytesPerSecond: Self.linkBytesPerSecond,
            directory: scratch.file("proxy")
        )
        let config = ProcessTestKit.repositoryRoot.appendingPathComponent("Config").path
        let reference = """
            reference:
              directory: \(config)/opd-directory.yaml
              deadlines: \(config)/deadlines.yaml
              holidays: \(config)/holidays.yaml

            """
        func node(_ id: String, _ role: String) -> String {
            "node: {id: \(id), role: \(role), data_dir: \(scratch.file("data/\(id)")), "
                + "key_file: \(scratch.file("data/\(id)/curve.key"))}\n"
        }
        // Small feed batches and one in flight, so the feed takes long enough to be cut.
        _ = try scratch.write(
            "central.yaml",
            node("central", "central")
                + "sync: {bind: \"tcp://127.0.0.1:\(syncPort)\", batch_ops: 20, credit: 1}\n"
                + "identity: {key_file: \(scratch.file("keys/identity.key"))}\n" + reference
                + "  routing: \(config)/routing.yaml\n"
        )
        _ = try scratch.write(
            "dpupr.yaml",
            node("dpupr", "office")
                + "sync: {reconnect_initial: 100ms, reconnect_max: 1s}\n"
                + "central: {endpoint: \"tcp://127.0.0.1:\(link.ports["dpupr"]!)\", public_key: \"\(keys["central"]!)\"}\n"
                + reference
        )
        let total = try await Self.prepareCentral(
            at: scratch.file("data/central/sambat.sqlite"),
            enrolling: keys["dpupr"]!
        )

        var processes: [String: Process] = [:]
        defer { for process in processes.values where process.isRunning { process.killAndWait() } }
        func start(_ id: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["run", "--config", scratch.file("\(id).yaml")]
            let logPath = scratch.file("\(id).log")
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            log.seekToEndOfFile()
            process.standardOutput = log
            process.standardError = log
            try process.run()
            processes[id] = process
        }
        let officeStore = scratch.file("data/dpupr/sambat.sqlite")
        func officeOps() async throws -> Int { try await Self.count("SELECT count(*) FROM op", in: officeStore) }
        /// Waits until the office holds more than `floor` ops and fewer than all of them.
        func waitMidSync(above floor: Int) async throws -> Int {
            for _ in 0..<2_000 {
                if FileManager.default.fileExists(atPath: officeStore), let held = try? await officeOps(),
                    held > floor
                {
                    #expect(held < total, "the feed finished before the node could be stopped mid-sync")
                    return held
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("the office never started receiving the feed")
            return floor
        }
        /// Sends SIGTERM and returns how long the process took to exit, and its status.
        func terminate(_ id: String) async throws -> (seconds: Double, status: Int32) {
            let process = try #require(processes[id])
            let clock = ContinuousClock()
            let sent = clock.now
            kill(process.processIdentifier, SIGTERM)
            while process.isRunning, clock.now - sent < .seconds(20) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let elapsed = clock.now - sent
            #expect(!process.isRunning, "\(id) did not exit after SIGTERM")
            return (
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                process.isRunning ? -1 : process.terminationStatus
            )
        }

        try start("central")
        try start("dpupr")

        // 1. The office is stopped while it receives the feed.
        let before = try await waitMidSync(above: 0)
        let officeStop = try await terminate("dpupr")
        #expect(officeStop.seconds < 5, "the office took \(officeStop.seconds) s to stop")
        #expect(officeStop.status == 0, "the office exited with \(officeStop.status) on SIGTERM")
        let kept = try await officeOps()
        #expect(kept >= before, "the office lost committed ops: \(before) before SIGTERM, \(kept) after")
        try await Self.expectWhole(officeStore)

        // 2. Central is stopped while the restarted office receives the rest.
        try start("dpupr")
        _ = try await waitMidSync(above: kept)
        let centralStop = try await terminate("central")
        #expect(centralStop.seconds < 5, "central took \(centralStop.seconds) s to stop")
        #expect(centralStop.status == 0, "central exited with \(centralStop.status) on SIGTERM")
        #expect(
            try await Self.count("SELECT count(*) FROM op", in: scratch.file("data/central/sambat.sqlite")) == total
        )

        // 3. Central comes back: the office ends up with every op exactly once.
        try start("central")
        let clock = ContinuousClock()
        let restarted = clock.now
        while clock.now - restarted < .seconds(90), try await officeOps() < total {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await officeOps() == total)
        try await Self.expectWhole(officeStore)
        for id in ["dpupr", "central"] {
            let stop = try await terminate(id)
            #expect(stop.seconds < 5 && stop.status == 0, "\(id): \(stop)")
        }
        let forwarded = await link.counters()["bytes_forwarded"] ?? 0
        print("graceful shutdown: \(forwarded) bytes through the slow link, \(clock.now - restarted) for the rest")
        await link.quit()
    }

    /// Central's store with `cases` cases dispatched to dpupr, and dpupr enrolled; returns the
    /// number of ops.
    static func prepareCentral(at path: String, enrolling officeKey: String) async throws -> Int {
        let central = try NodeID("central")
        let dpupr = try NodeID("dpupr")
        let store = try Store.open(
            StoreConfiguration(path: path),
            identity: NodeIdentity(node: central, role: .central, central: central)
        )
        try await store.enrolPeer(dpupr, role: .office, publicKey: officeKey, at: .now)
        let operatorActor = try ActorID("op.rina")
        for first in stride(from: 1, through: cases, by: 500) {
            var edits: [LocalEdit] = []
            for serial in first..<min(first + 500, cases + 1) {
                let caseID = try CaseID(prefix: "MJK", year: 2026, month: 12, day: 4, serial: serial)
                edits.append(
                    LocalEdit(
                        .opened(.init(channel: .sms, reporterRef: "rpt-\(serial)", text: "Lampu jalan mati \(serial)")),
                        to: caseID
                    )
                )
                edits.append(LocalEdit(.verified(.init(tier: .normatif)), to: caseID))
                edits.append(LocalEdit(.dispatched(.init(office: dpupr, epoch: 1)), to: caseID))
            }
            _ = try await store.append(edits, actor: operatorActor, at: .now)
        }
        return cases * opsPerCase
    }

    /// One number from a read-only query with the sqlite3 shell (the node may be writing).
    static func count(_ query: String, in database: String) async throws -> Int {
        let result = try await ProcessTestKit.run(
            "/usr/bin/sqlite3",
            ["-readonly", "-cmd", ".timeout 5000", database, query]
        )
        guard result.status == 0, let value = Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw CountFailed(output: result.output + result.errors) }
        return value
    }

    struct CountFailed: Error { let output: String }

    /// Every origin's ops in the store are a gap-free run from seq 1, held once each.
    static func expectWhole(_ database: String) async throws {
        let gaps = try await count(
            "SELECT count(*) FROM (SELECT originKey, count(*) AS n, max(seq) AS top FROM op GROUP BY originKey) WHERE n != top",
            in: database
        )
        #expect(gaps == 0, "an origin's ops have a gap or a duplicate")
    }
}
