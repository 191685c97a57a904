import Foundation
import SambatTestKit

#if canImport(Glibc)
import Glibc
#endif

/// Central, three offices and the mayor as `sambat run` processes on loopback, each with its
/// own keys, config, store and log; offices and the mayor reach central through the chaos
/// proxy.
///
/// Owned by one chaos test; the layout under `directory` is the demo's (`config/`, `data/`,
/// `logs/`), so the same byte scan applies.
actor ChaosCluster {
    static let offices = ["dpupr", "dlh", "perkim"]
    static let nodes = ["central"] + offices + ["mayor"]
    /// The nodes that reach central through the proxy, one proxy link each.
    static let linkedNodes = offices + ["mayor"]

    let directory: String
    let binary: String
    let proxy: ChaosProxy
    private var running: [String: Process] = [:]
    /// What the processes did that they never should: exit on their own, ignore SIGTERM,
    /// exit non-zero after it.
    private(set) var problems: [String] = []

    /// Creates keys and configs and starts the proxy; no node runs yet (``launch()``).
    ///
    /// - Throws: ``ProcessTestKit/Failure`` when a key cannot be made or the proxy does not start.
    init(directory: String, proxySeed: UInt64) async throws {
        self.directory = directory
        binary = try ProcessTestKit.sambatBinary()
        for sub in ["config", "logs"] + Self.nodes.map({ "data/" + $0 }) {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true)
        }
        for node in Self.nodes {
            try await Self.check(
                binary,
                ["keys", "generate", "--out", "\(directory)/data/\(node)/curve.key", "--node", node]
            )
        }
        try FileManager.default.createDirectory(atPath: "\(directory)/keys/central", withIntermediateDirectories: true)
        try await Self.check(binary, ["keys", "identity", "--out", "\(directory)/keys/central/identity.key"])
        let centralKey = try await Self.check(
            binary,
            ["keys", "public", "--key", "\(directory)/data/central/curve.key"]
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let centralPort = try Self.freePort()
        proxy = try await ChaosProxy(
            target: centralPort,
            links: Self.linkedNodes,
            seed: proxySeed,
            directory: directory
        )
        do {
            try writeConfigs(centralPort: centralPort, centralKey: centralKey)
        } catch {
            await proxy.quit()
            throw error
        }
    }

    /// Starts central, enrols every other node, starts them, and returns once each has a
    /// live link.
    ///
    /// - Throws: ``ProcessTestKit/Failure`` when a step fails or a node does not link in time
    ///   (call ``shutdown()`` afterwards either way).
    func launch() async throws {
        try start("central")
        try await waitUntil(30, "central running") { try await self.status("central").contains("\"running\":true") }
        for node in Self.linkedNodes {
            let key = try await Self.check(binary, ["keys", "public", "--key", "\(directory)/data/\(node)/curve.key"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let role = node == "mayor" ? "mayor" : "office"
            try await checked("central", ["node", "enrol", node, "--role", role, "--public-key=\(key)"])
        }
        for node in Self.linkedNodes { try start(node) }
        for node in Self.linkedNodes {
            try await waitUntil(90, "\(node) linked") { try await self.status(node).contains("\"link_up\":true") }
        }
    }

    /// Stops every node and the proxy; safe to call in any state.
    func shutdown() async {
        await stopAll()
        await proxy.quit()
    }

    // MARK: Processes

    /// Starts `sambat run` for `node`, appending its output to `logs/<node>.log`.
    func start(_ node: String) throws {
        let log = "\(directory)/logs/\(node).log"
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: log) else { throw ProcessTestKit.Failure("cannot open \(log)") }
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", config(node)]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        running[node] = process
    }

    /// Kills `node` with SIGKILL (no chance to flush or say goodbye) and waits until it is gone.
    ///
    /// - Returns: whether it was killed; `false` when it was not running, and a problem is
    ///   recorded if it had exited on its own.
    func kill(_ node: String) async -> Bool {
        guard let process = running.removeValue(forKey: node) else { return false }
        guard process.isRunning else {
            noteUnexpectedExit(node, process)
            return false
        }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        _ = await Self.waitForExit(process, within: .seconds(10))
        return true
    }

    /// Stops every node with SIGTERM, as an operator would; a node that does not exit 0
    /// within 15 s is a problem (and is killed).
    func stopAll() async {
        for process in running.values where process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGTERM) }
        for (node, process) in running {
            if await !Self.waitForExit(process, within: .seconds(15)) {
                problems.append("\(node) did not stop within 15 s of SIGTERM")
                _ = Glibc.kill(process.processIdentifier, SIGKILL)
                _ = await Self.waitForExit(process, within: .seconds(5))
            } else if process.terminationReason != .exit || process.terminationStatus != 0 {
                problems.append("\(node) exited with status \(process.terminationStatus) after SIGTERM")
            }
        }
        running.removeAll()
    }

    /// Nodes that are not running now; one that exited on its own is recorded as a problem.
    func stopped() -> [String] {
        for (node, process) in running where !process.isRunning {
            noteUnexpectedExit(node, process)
            running[node] = nil
        }
        return Self.nodes.filter { running[$0] == nil }
    }

    private func noteUnexpectedExit(_ node: String, _ process: Process) {
        problems.append("\(node) exited on its own with status \(process.terminationStatus); see logs/\(node).log")
    }

    /// Waits until `process` has exited, at most `limit`; returns whether it did.
    private static func waitForExit(_ process: Process, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline {
            // Not `try?`: a cancelled test must not spin here.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
        }
        return !process.isRunning
    }

    // MARK: Commands

    nonisolated func config(_ node: String) -> String { "\(directory)/config/\(node).yaml" }

    /// Runs a `sambat` command on `node`'s store, as that node's staff account.
    ///
    /// - Returns: the exit status, stdout and stderr.
    /// - Throws: when the binary cannot be started.
    nonisolated func sambat(_ node: String, _ arguments: [String]) async throws -> ProcessTestKit.Outcome {
        try await ProcessTestKit.run(
            binary,
            arguments + ["--config", config(node)],
            environment: ["SAMBAT_ACTOR": "chaos.\(node)"]
        )
    }

    /// Runs a command that must succeed.
    ///
    /// - Returns: its stdout.
    /// - Throws: ``ProcessTestKit/Failure`` with its output when it exits non-zero.
    @discardableResult
    nonisolated func checked(_ node: String, _ arguments: [String]) async throws -> String {
        let outcome = try await sambat(node, arguments)
        guard outcome.status == 0 else {
            throw ProcessTestKit.Failure(
                "\(node): sambat \(arguments.joined(separator: " ")) exited \(outcome.status): \(outcome.output)\(outcome.errors)"
            )
        }
        return outcome.output
    }

    nonisolated func status(_ node: String) async throws -> String {
        try await sambat(node, ["status", "--json"]).output
    }

    /// Each case `node` holds and its canonical digest (`sambat inspect digests`).
    nonisolated func digests(_ node: String) async throws -> [String: String] {
        var digests: [String: String] = [:]
        for line in try await checked(node, ["inspect", "digests"]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 2 { digests[String(fields[0])] = String(fields[1]) }
        }
        return digests
    }

    /// Polls `condition` every 300 ms for up to `seconds`.
    ///
    /// - Throws: ``ProcessTestKit/Failure`` naming `what` on timeout, with the logs' tails.
    nonisolated func waitUntil(
        _ seconds: Double,
        _ what: String,
        _ condition: @Sendable () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw ProcessTestKit.Failure("waited more than \(seconds) s for \(what)\n\(logTails())")
    }

    /// The last lines of every node's log, for a failure message.
    nonisolated func logTails() -> String {
        Self.nodes.map { node in
            let text = (try? String(contentsOfFile: "\(directory)/logs/\(node).log", encoding: .utf8)) ?? ""
            return "--- \(node).log\n" + text.split(separator: "\n").suffix(8).joined(separator: "\n")
        }
        .joined(separator: "\n")
    }

    @discardableResult
    private static func check(_ binary: String, _ arguments: [String]) async throws -> String {
        let outcome = try await ProcessTestKit.run(binary, arguments)
        guard outcome.status == 0 else {
            throw ProcessTestKit.Failure("sambat \(arguments.first ?? "") failed: \(outcome.output)\(outcome.errors)")
        }
        return outcome.output
    }

    // MARK: Set-up

    /// The shipped configs with this run's directories, ports and central key; every node
    /// but central connects to its own proxy port.
    private func writeConfigs(centralPort: Int, centralKey: String) throws {
        let root = ProcessTestKit.repositoryRoot.path
        for node in Self.nodes {
            let name = node == "central" || node == "mayor" ? "\(node).yaml" : "office-\(node).yaml"
            var text = try String(contentsOfFile: "\(root)/Config/\(name)", encoding: .utf8)
            let port = node == "central" ? centralPort : proxy.ports[node] ?? 0
            text = text.replacingOccurrences(of: "data_dir: data/", with: "data_dir: \(directory)/data/")
                .replacingOccurrences(of: "key_file: data/", with: "key_file: \(directory)/data/")
                .replacingOccurrences(of: "key_file: keys/", with: "key_file: \(directory)/keys/")
                .replacingOccurrences(of: ": Config/", with: ": \(root)/Config/")
                .replacingOccurrences(of: "tcp://127.0.0.1:7301", with: "tcp://127.0.0.1:\(port)")
                .replacingOccurrences(of: "SET-ME-central-public-key-40-characters", with: centralKey)
            try text.write(toFile: config(node), atomically: true, encoding: .utf8)
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int { try ProcessTestKit.freePort() }
}
