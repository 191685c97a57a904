public import Foundation

/// Helpers for tests that run the built `sambat` binary as separate processes: finding it,
/// running a command off the cooperative pool, and scanning files for reporters' personal data.
///
/// Shared by the integration tests (the demo's story) and the chaos test.
public enum ProcessTestKit {
    /// The repository's root directory.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A failure of the test harness itself (not of the product).
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String

        /// A failure described in a sentence.
        public init(_ description: String) { self.description = description }
    }

    /// The built `sambat` next to the test bundle, or in `.build/debug`.
    ///
    /// - Returns: the binary's path.
    /// - Throws: ``Failure`` when it has not been built.
    public static func sambatBinary() throws -> String { try binary("sambat") }

    /// The built product `name` (`sambat`, `sambat-store-churn`) next to the test bundle, or
    /// in `.build/debug`.
    ///
    /// - Returns: the binary's path.
    /// - Throws: ``Failure`` when it has not been built.
    public static func binary(_ name: String) throws -> String {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(repositoryRoot.appendingPathComponent(".build/debug"))
        for directory in candidates {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        throw Failure("\(name) not found next to the test bundle; run 'swift build --build-tests' first")
    }

    /// Runs a program to completion, blocking the calling thread: for short commands in
    /// synchronous tests (a long one belongs in ``run(_:_:environment:removing:)``).
    ///
    /// `environment` is added to this process's; the keys in `removing` are taken out.
    /// - Returns: the exit status and stdout and stderr, interleaved.
    /// - Throws: when the program cannot be started.
    public static func runBlocking(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        removing: [String] = []
    ) throws -> (status: Int32, output: String) {
        let process = child(program, arguments, environment: environment, removing: removing)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A child process not yet started: `environment` added to this process's, the keys in
    /// `removing` taken out.
    private static func child(
        _ program: String,
        _ arguments: [String],
        environment: [String: String],
        removing: [String]
    ) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var combined = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        for key in removing { combined.removeValue(forKey: key) }
        process.environment = combined
        return process
    }

    /// What a finished child process left behind.
    public struct Outcome: Sendable {
        /// Its exit status.
        public let status: Int32
        /// Everything it wrote to stdout.
        public let output: String
        /// Everything it wrote to stderr.
        public let errors: String
    }

    /// Runs a program to completion on threads of its own, so no cooperative thread waits for it.
    ///
    /// The test run shares as many cooperative threads as the machine has cores (two): a test
    /// that waited minutes for a child on one of them would hold it for the whole wait.
    /// `environment` is added to this process's; the keys in `removing` are taken out.
    /// - Returns: its exit status, stdout and stderr.
    /// - Throws: when the program cannot be started.
    public static func run(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        removing: [String] = []
    ) async throws -> Outcome {
        let process = child(program, arguments, environment: environment, removing: removing)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return await withCheckedContinuation { done in
            Thread {
                // stderr is drained on a second thread so a chatty child never blocks on a full pipe.
                let errorText = LockedText()
                let errorReader = Thread {
                    errorText.set(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
                }
                errorReader.start()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                while !errorReader.isFinished { Thread.sleep(forTimeInterval: 0.005) }
                done.resume(
                    returning: Outcome(
                        status: process.terminationStatus,
                        output: String(decoding: data, as: UTF8.self),
                        errors: errorText.value
                    )
                )
            }.start()
        }
    }

    /// A string written by one thread and read by another.
    private final class LockedText: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        var value: String { lock.withLock { text } }
        func set(_ value: String) { lock.withLock { text = value } }
    }

    /// Every name, NIK and phone number (in its usual spellings) of the demo complaints
    /// (`Config/demo/complaints.jsonl`).
    ///
    /// - Returns: the strings no office, mayor or log file may contain.
    /// - Throws: when the file cannot be read.
    public static func demoReporterSecrets() throws -> Set<String> {
        let file = repositoryRoot.appendingPathComponent("Config/demo/complaints.jsonl")
        var secrets: Set<String> = []
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = object["name"] as? String, let nik = object["nik"] as? String,
                let phone = object["phone"] as? String
            else { continue }
            secrets.insert(name)
            secrets.insert(nik)
            let digits = phone.filter(\.isNumber)
            let national =
                digits.hasPrefix("62")
                ? String(digits.dropFirst(2)) : digits.hasPrefix("0") ? String(digits.dropFirst()) : digits
            secrets.formUnion([phone, "62" + national, "0" + national, national])
        }
        return secrets
    }

    /// Searches every file under `directory` that `inScope` accepts (by its relative path)
    /// for any of `secrets`, byte for byte.
    ///
    /// - Returns: how many non-empty files were scanned, and the relative path of each file
    ///   that holds a secret.
    public static func scan(
        _ directory: String,
        for secrets: Set<String>,
        inScope: (String) -> Bool
    ) -> (scanned: Int, leaks: [String]) {
        var scanned = 0
        var leaks: [String] = []
        let needles = secrets.map { Data($0.utf8) }
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            guard inScope(relative), let data = FileManager.default.contents(atPath: directory + "/" + relative),
                !data.isEmpty
            else { continue }
            scanned += 1
            if needles.contains(where: { data.range(of: $0) != nil }) { leaks.append(relative) }
        }
        return (scanned, leaks)
    }
}
