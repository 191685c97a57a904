import ArgumentParser
import Foundation
import SambatCore
import SambatNode
import SambatStore
import SambatWire

/// The nodes of `sambat bench sync --processes`: central, the office and the mayor, each a
/// `sambat run` process with its own configuration, keys and store, as deployed.
///
/// The benchmark prepares the stores before it starts the processes, and reads them
/// afterwards from its own process (SQLite in WAL mode lets it read while a node writes);
/// the live changes are appended to the office's store from the benchmark's process too, as
/// `sambat case` commands do while a node runs. Owned by one benchmark run.
struct SyncProcesses {
    let folder: String
    let port: Int
    let centralKey: String
    private var running: [String: Process] = [:]

    static let nodes = ["central", "dpupr", "mayor"]

    /// Writes keys and configurations for the three nodes under `folder`.
    init(folder: String, repository: String) throws {
        self.folder = folder
        port = try Self.freePort()
        for node in Self.nodes {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(node)", withIntermediateDirectories: true)
            try CurveKeyFile.write(try CurveKeyPair.generate(), to: "\(folder)/\(node)/curve.key", node: node)
        }
        try IdentityKeyFile.generate(at: "\(folder)/identity.key")
        centralKey = try CurveKeyFile.read(from: "\(folder)/central/curve.key").publicKey
        let reference = """
            reference:
              directory: \(repository)/Config/opd-directory.yaml
              deadlines: \(repository)/Config/deadlines.yaml
              holidays: \(repository)/Config/holidays.yaml

            """
        for node in Self.nodes {
            let role = node == "central" ? "central" : node == "mayor" ? "mayor" : "office"
            var text = """
                node:
                  id: \(node)
                  role: \(role)
                  data_dir: \(folder)/\(node)
                  key_file: \(folder)/\(node)/curve.key
                  log_level: notice

                """
            if role == "central" {
                text += """
                    sync:
                      bind: tcp://127.0.0.1:\(port)
                    identity:
                      key_file: \(folder)/identity.key

                    """
                text += reference.replacingOccurrences(
                    of: "reference:\n",
                    with: "reference:\n  routing: \(repository)/Config/routing.yaml\n"
                )
            } else {
                text += """
                    central:
                      id: central
                      endpoint: tcp://127.0.0.1:\(port)
                      public_key: "\(centralKey)"

                    """
            }
            if role != "central" { text += reference }
            try text.write(toFile: config(node), atomically: true, encoding: .utf8)
        }
    }

    func config(_ node: String) -> String { "\(folder)/\(node).yaml" }
    func storePath(_ node: String) -> String { "\(folder)/\(node)/sambat.sqlite" }
    func publicKey(_ node: String) throws -> String {
        try CurveKeyFile.read(from: "\(folder)/\(node)/curve.key").publicKey
    }
    func status(_ node: String) -> NodeStatus? { NodeStatus.read(from: "\(folder)/\(node)/status.json") }

    /// Starts `sambat run` for `node`, its output appended to `<node>.log`.
    mutating func start(_ node: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.sambatExecutable())
        process.arguments = ["run", "--config", config(node)]
        // Appended to: a node started again keeps what its earlier run said.
        let path = "\(folder)/\(node).log"
        let files = FileManager.default
        guard files.fileExists(atPath: path) || files.createFile(atPath: path, contents: nil) else {
            throw ValidationError("cannot write \(path)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        running[node] = process
    }

    /// Stops `node` as systemd would (SIGTERM) and waits for it.
    mutating func stop(_ node: String) async {
        guard let process = running.removeValue(forKey: node) else { return }
        process.terminate()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    mutating func stopAll() async {
        for node in running.keys { await stop(node) }
    }

    /// Fails when a node process ended by itself (its log says why).
    func checkRunning() throws {
        for (node, process) in running where !process.isRunning {
            let log = (try? String(contentsOfFile: "\(folder)/\(node).log", encoding: .utf8)) ?? ""
            throw ValidationError("\(node) exited (\(process.terminationStatus)):\n\(log.suffix(1_500))")
        }
    }

    /// Fails when a node's log says it rebuilt its projection rows at its start: the figures
    /// would then time that rebuild, which a deployed node does once after a change of its
    /// deadline files, as part of the work measured.
    func checkNoProjectionRebuild() throws {
        for node in Self.nodes {
            let log = (try? String(contentsOfFile: "\(folder)/\(node).log", encoding: .utf8)) ?? ""
            guard !log.contains(NodeRuntime.projectionRebuildNotice) else {
                throw ValidationError("\(node) rebuilt its projection rows at its start (log in \(folder)/\(node).log)")
            }
        }
    }

    /// Waits until `condition` holds, up to `seconds`, polling every `interval`.
    func wait(
        _ what: String,
        seconds: Double = 120,
        interval: Duration = .milliseconds(2),
        until condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try await !condition() {
            try checkRunning()
            guard ContinuousClock.now < deadline else {
                throw ValidationError("\(what) did not happen within \(Int(seconds)) s (logs in \(folder))")
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Waits until none of `stores` holds ops whose projection rows its node has not yet
    /// written (the nodes' projection followers write them within the projection delay).
    func waitUntilProjected(_ what: String, _ stores: [Store]) async throws {
        try await wait(what, interval: .milliseconds(20)) {
            for store in stores where try await store.holdsUnprojectedOps() { return false }
            return true
        }
    }

    /// This program's own executable, which the node processes run.
    static func sambatExecutable() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ValidationError("no socket for a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw ValidationError("no free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension SyncBenchmark {
    /// The benchmark with central, the office and the mayor as `sambat run` processes.
    func runAsProcesses(in folder: String, stage: (String) -> Void) async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        var nodes = try SyncProcesses(folder: folder, repository: repository)
        let centralID = try NodeID("central")
        let mayorID = try NodeID("mayor")
        // As each node opens its store: with another deadline policy, the office node would
        // rebuild every case's projection rows at its start, inside the end-to-end time.
        let central = try await NodeStoreOpening.open(configAt: nodes.config("central"))
        let office = try await NodeStoreOpening.open(configAt: nodes.config("dpupr"))
        let mayor = try await NodeStoreOpening.open(configAt: nodes.config("mayor"))
        let (caseIDs, officer) = try await prepare(
            central: central,
            office: office,
            officeKey: try nodes.publicKey("dpupr")
        )
        let officeOrigin = try await office.currentOrigin()
        stage("setup done: \(ops) ops in the office's backlog; nodes in \(folder)")
        do {
            try nodes.start("central")
            try await nodes.wait("central's start", interval: .milliseconds(20)) {
                nodes.status("central")?.running == true
            }
            // 1. The backlog, from the office process's start until central holds all of it.
            let clock = ContinuousClock()
            var start = clock.now
            try nodes.start("dpupr")
            try await nodes.wait("the backlog at central") {
                try await central.frontier(of: officeOrigin) >= UInt64(ops)
            }
            let endToEnd = Double(ops) / (clock.now - start).seconds
            stage("backlog synced")
            // The office's status file, rewritten each second, counts its sync bytes.
            let synced = Timestamp.now.millisecondsSinceEpoch
            try await nodes.wait("the office's status", interval: .milliseconds(50)) {
                (nodes.status("dpupr")?.updatedAt ?? 0) > synced + 100
            }
            let uploadBytes = nodes.status("dpupr")?.syncBytesSent ?? 0

            // 2. The mayor, enrolled now, catches up on every op central holds: once central
            // and the office have written the backlog's projection rows (within the projection
            // delay after its last batch), which would otherwise share the two cores with it.
            try await nodes.waitUntilProjected("the backlog's projection", [central, office])
            try await central.enrolPeer(mayorID, role: .mayor, publicKey: try nodes.publicKey("mayor"), at: .now)
            let mayorFeed = try await central.feedHead(for: mayorID)
            start = clock.now
            try nodes.start("mayor")
            try await nodes.wait("the mayor's catch-up") { try await mayor.checkpoint(for: centralID) >= mayorFeed }
            let catchUpSeconds = (clock.now - start).seconds
            stage("mayor caught up on \(mayorFeed) ops")
            // The catch-up leaves up to 100,000 ops' projection rows to the nodes' projection
            // followers, within the projection delay: a write of thousands of cases that
            // holds the mayor's writer for up to half a second (0.42 s seen), which a live
            // change meeting it waits out. Live traffic is what comes after it.
            try await nodes.waitUntilProjected("the catch-up's projection", [mayor, central, office])
            stage("the catch-up projected after \(String(format: "%.2f", (clock.now - start).seconds)) s")

            // 3. Live: appended to the office's store while its node runs, as `sambat case`
            // commands do.
            let latencies = try await liveLatencies(office: office, mayor: mayor, caseIDs: caseIDs, officer: officer)
            stage("live samples done")

            // 4. A reconnect with nothing missing: the new office process's link, all of it.
            await nodes.stop("dpupr")
            let restarted = Timestamp.now.millisecondsSinceEpoch
            try nodes.start("dpupr")
            try await nodes.wait("the office's link", interval: .milliseconds(20)) {
                guard let status = nodes.status("dpupr") else { return false }
                return status.linkUp && status.updatedAt > restarted + 300
            }
            let status = nodes.status("dpupr")
            let reconnectBytes = (status?.syncBytesSent ?? 0) + (status?.syncBytesReceived ?? 0)
            await nodes.stopAll()
            try nodes.checkNoProjectionRebuild()
            try await report(
                Measured(
                    endToEnd: endToEnd,
                    uploadBytes: uploadBytes,
                    catchUpSeconds: catchUpSeconds,
                    mayorFeed: mayorFeed,
                    latencies: latencies,
                    reconnectBytes: reconnectBytes
                ),
                central: central
            )
        } catch {
            await nodes.stopAll()
            throw error
        }
    }
}
