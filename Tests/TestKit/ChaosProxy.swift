public import Foundation

/// The fault-injecting loopback proxy (`chaos_proxy.py`) as a child process, driven by
/// commands on its stdin.
///
/// Owned by the test that starts it (the chaos cluster, the graceful-shutdown test); it
/// forwards each office's and the mayor's connection to central and, in chaos mode, cuts,
/// blackholes, delays, drops and duplicates their traffic. With a rate it is also a slow
/// link, chaos or not.
public final class ChaosProxy: Sendable {
    /// The listening port of each link, by link name.
    public let ports: [String: Int]
    private let process: Process
    private let commands: FileHandle
    private let directory: String

    /// The path of the proxy script, for tests that run its self-test.
    public static let script = ProcessTestKit.repositoryRoot.appendingPathComponent("Tests/TestKit/chaos_proxy.py")

    /// Starts the proxy and waits until it listens.
    ///
    /// - Parameters:
    ///   - target: central's sync port on 127.0.0.1.
    ///   - links: one name per node that connects through the proxy.
    ///   - seed: fixes each link's fault schedule.
    ///   - bytesPerSecond: when set, each direction of every connection carries at most this
    ///     many bytes a second.
    ///   - directory: where the ports file, the stats files and `logs/proxy.log` go.
    /// - Throws: ``ProcessTestKit/Failure`` when the proxy does not start within 30 s (a
    ///   loaded machine can take seconds to start Python).
    public init(
        target: Int,
        links: [String],
        seed: UInt64,
        bytesPerSecond: Int? = nil,
        directory: String
    ) async throws {
        self.directory = directory
        let portsFile = "\(directory)/proxy-ports.json"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [
                Self.script.path, "--target", "\(target)", "--links", links.joined(separator: ","), "--seed", "\(seed)",
                "--ports-file", portsFile,
            ] + (bytesPerSecond.map { ["--rate", "\($0)"] } ?? [])
        let input = Pipe()
        process.standardInput = input
        try FileManager.default.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        let log = "\(directory)/logs/proxy.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try? output?.close()
        self.process = process
        commands = input.fileHandleForWriting
        let deadline = ContinuousClock.now + .seconds(30)
        var ports: [String: Int]?
        while ports == nil, ContinuousClock.now < deadline, process.isRunning {
            if let data = FileManager.default.contents(atPath: portsFile) {
                ports = try? JSONSerialization.jsonObject(with: data) as? [String: Int]
            } else {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let ports, ports.count == links.count else {
            let exited = process.isRunning ? "still running" : "exited with \(process.terminationStatus)"
            process.terminate()
            // The log goes into the failure: the test's scratch folder is removed after it.
            let said = FileManager.default.contents(atPath: log).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw ProcessTestKit.Failure("the chaos proxy did not start (\(exited)); it said: \(said.suffix(2_000))")
        }
        self.ports = ports
    }

    /// A proxy nobody quit (a test that threw) does not outlive its test.
    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Starts injecting faults.
    public func chaos() { send("chaos") }

    /// Stops injecting faults; links heal.
    public func calm() { send("calm") }

    /// The proxy's counters: connections, cuts, blackholes, delay windows, chunks dropped,
    /// duplicated and delayed, bytes forwarded.
    ///
    /// - Returns: the counters by name, empty if the proxy does not answer within 5 s.
    public func counters() async -> [String: Int] {
        let file = "\(directory)/proxy-stats-\(UUID().uuidString).json"
        send("stats \(file)")
        for _ in 0..<100 {
            if let data = FileManager.default.contents(atPath: file),
                let counters = try? JSONSerialization.jsonObject(with: data) as? [String: Int]
            {
                try? FileManager.default.removeItem(atPath: file)
                return counters
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return [:]
    }

    /// Ends the proxy and waits for it.
    public func quit() async {
        send("quit")
        try? commands.close()
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
    }

    private func send(_ command: String) {
        try? commands.write(contentsOf: Data((command + "\n").utf8))
    }
}
