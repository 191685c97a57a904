import Foundation
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// The staff commands against real stores: what they refuse, they refuse in Bahasa Indonesia,
/// with a non-zero exit code, and without writing anything.
@Suite struct CommandLineTests {
    /// A small deployment on disk: keys, configs and stores, no running node.
    struct Deployment {
        let directory: String
        let binary: String

        init() throws {
            directory = NSTemporaryDirectory() + "sambat-cli-" + UUID().uuidString
            binary = try ProcessTestKit.sambatBinary()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for node in ["central", "dpupr", "dlh", "mayor"] {
                try FileManager.default.createDirectory(
                    atPath: "\(directory)/\(node)",
                    withIntermediateDirectories: true
                )
                _ = try run(nil, ["keys", "generate", "--out", "\(directory)/\(node)/curve.key", "--node", node])
            }
            try FileManager.default.createDirectory(atPath: "\(directory)/keys", withIntermediateDirectories: true)
            _ = try run(nil, ["keys", "identity", "--out", "\(directory)/keys/identity.key"])
            let centralKey = try run(nil, ["keys", "public", "--key", "\(directory)/central/curve.key"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let config = ProcessTestKit.repositoryRoot.appendingPathComponent("Config").path
            for node in ["central", "dpupr", "dlh", "mayor"] {
                let role = node == "central" ? "central" : node == "mayor" ? "mayor" : "office"
                var text = """
                    node: {id: \(node), role: \(role), data_dir: \(directory)/\(node), key_file: \(directory)/\(node)/curve.key}
                    reference:
                      directory: \(config)/opd-directory.yaml
                      deadlines: \(config)/deadlines.yaml
                      holidays: \(config)/holidays.yaml

                    """
                if role == "central" {
                    text += """
                        sync: {bind: "tcp://127.0.0.1:1"}
                        identity: {key_file: \(directory)/keys/identity.key}

                        """
                    text = text.replacingOccurrences(
                        of: "reference:\n",
                        with: "reference:\n  routing: \(config)/routing.yaml\n"
                    )
                } else {
                    text += "central: {endpoint: \"tcp://127.0.0.1:1\", public_key: \"\(centralKey)\"}\n"
                }
                try text.write(toFile: "\(directory)/\(node).yaml", atomically: true, encoding: .utf8)
                _ = try store(node)
            }
        }

        func store(_ node: String) throws -> Store {
            let role: NodeRole = node == "central" ? .central : node == "mayor" ? .mayor : .office
            return try Store.open(
                StoreConfiguration(path: "\(directory)/\(node)/sambat.sqlite"),
                identity: NodeIdentity(node: try NodeID(node), role: role, central: try NodeID("central"))
            )
        }

        /// Runs `sambat ARGS --config NODE.yaml` as `petugas.NODE`.
        @discardableResult
        func run(_ node: String?, _ arguments: [String]) throws -> (status: Int32, output: String) {
            try ProcessTestKit.runBlocking(
                binary,
                arguments + (node.map { ["--config", "\(directory)/\($0).yaml"] } ?? []),
                environment: ["SAMBAT_ACTOR": "petugas.\(node ?? "it")"],
                removing: ["SAMBAT_CONFIG"]
            )
        }

        /// Delivers central's ops to a node's store, as its feed would.
        func feed(_ node: String) async throws {
            let central = try store("central")
            let target = try store(node)
            var batch: [RemoteOp] = []
            for caseID in try await central.caseIDs() {
                for op in try await central.ops(ofCase: caseID) {
                    batch.append(RemoteOp(op.sealed, centralReceivedAt: op.receivedAt))
                }
            }
            _ = try await target.applyRemote(batch, from: .feed(from: try NodeID("central")), receivedAt: Timestamp.now)
        }

        func opCount(_ node: String) async throws -> Int {
            let store = try store(node)
            return try await store.ops(of: try await store.currentOrigin(), after: 0, limit: 10_000).count
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `sambat bench store --json` on a small workload prints the figures the docs quote.
    ///
    /// At central and at the mayor; the command itself fails unless every op was applied.
    @Test(arguments: ["central", "mayor"])
    func storeBenchmarkReportsItsFiguresAsJSON(at role: String) async throws {
        let (object, line) = try await Self.benchmark(
            ["store", "--json", "--ops", "1200", "--cases", "120", "--batch", "100", "--at", role, "--rounds", "3"]
        )
        for field in [
            "remote_apply_ops_per_s", "plain_insert_rows_per_s", "ratio_to_plain_insert", "writes_alone_ops_per_s",
            "writes_alone_ratio_to_plain_insert", "rows_written_per_op",
        ] {
            let value = object?[field] as? Double ?? (object?[field] as? Int).map(Double.init)
            #expect((value ?? 0) > 0, "\(field) missing or not positive in \(line)")
        }
        #expect(object?["ops"] as? Int == 1200)
        // Each headline figure is the median of its rounds, every round printed.
        for (headline, rounds) in [
            ("remote_apply_ops_per_s", "remote_apply_rounds"), ("writes_alone_ops_per_s", "writes_alone_rounds"),
            ("plain_insert_rows_per_s", "plain_insert_rounds"),
        ] {
            let values = (object?[rounds] as? [Int] ?? []).sorted()
            #expect(values.count == 3, "\(rounds) in \(line)")
            #expect(values.count == 3 && object?[headline] as? Int == values[1], "\(headline) in \(line)")
        }
    }

    /// `sambat bench sync --processes --json` on a small backlog: three `sambat run` nodes,
    /// every figure printed, and none of them timing a projection rebuild.
    ///
    /// The benchmark prepares the stores from its own process and fails when a node's log says
    /// it rebuilt its projection rows at its start, as the office did while the benchmark
    /// opened the stores without the nodes' deadline policy (its end to end then timed the
    /// rebuild of every case).
    @Test func syncBenchmarkInProcessesTimesNoProjectionRebuild() async throws {
        let (object, line) = try await Self.benchmark(
            ["sync", "--processes", "--json", "--ops", "2000", "--cases", "200", "--samples", "5"]
        )
        for field in ["end_to_end_ops_per_s", "wire_bytes_per_op", "catch_up_10k_s", "live_p99_ms", "reconnect_bytes"] {
            let value = object?[field] as? Double ?? (object?[field] as? Int).map(Double.init)
            #expect((value ?? 0) > 0, "\(field) missing or not positive in \(line)")
        }
        #expect(object?["processes"] as? Bool == true)
    }

    /// `sambat bench webhook --json` on a short flood: every valid message stored once, no
    /// forged one, repeated deliveries answered 200 and forged ones 401.
    @Test func webhookBenchmarkStoresEveryValidMessageOnceAndReportsItsFigures() async throws {
        let (object, line) = try await Self.benchmark([
            "webhook", "--json", "--steady-rate", "40", "--steady-seconds", "1", "--burst-rate", "200",
            "--burst-seconds", "1", "--retries-per-mille", "100", "--forged-per-mille", "100",
        ])
        for field in ["lost", "extra_rows", "forged_stored", "unexpected_answers", "unprocessed"] {
            #expect(object?[field] as? Int == 0, "\(field) in \(line)")
        }
        #expect((object?["forged"] as? Int ?? 0) > 0)
        #expect((object?["repeated_deliveries"] as? Int ?? 0) > 0)
        let burst = object?["burst"] as? [String: Any]
        #expect(burst?["sent"] as? Int == 200)
        #expect((burst?["p99_ms"] as? Double ?? 0) > 0)
    }

    /// Runs `sambat bench ARGS` (with `--json`) and returns the JSON object of its last line,
    /// and the line; expects it to exit 0.
    static func benchmark(_ arguments: [String]) async throws -> (object: [String: Any]?, line: String) {
        let result = try await ProcessTestKit.run(
            try ProcessTestKit.sambatBinary(),
            ["bench"] + arguments,
            removing: ["SAMBAT_CONFIG"]
        )
        #expect(result.status == 0, "\(result.output)\n\(result.errors)")
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
    }

    /// Runs `sambat ARGS --config NODE.yaml` with `input` on its standard input.
    static func run(
        _ deployment: Deployment,
        input: String,
        _ node: String,
        _ arguments: [String]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: deployment.binary)
        process.arguments = arguments + ["--config", "\(deployment.directory)/\(node).yaml"]
        var environment = ProcessInfo.processInfo.environment
        environment["SAMBAT_CONFIG"] = nil
        process.environment = environment
        let standardInput = Pipe()
        let output = Pipe()
        process.standardInput = standardInput
        process.standardOutput = output
        process.standardError = output
        try process.run()
        standardInput.fileHandleForWriting.write(Data(input.utf8))
        try standardInput.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func accountsAndOpen311KeysAreManagedFromTheCommandLine() throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        let add = ["account", "add", "walikota.ani", "--display-name", "Ani", "--password-stdin"]
        let short = try Self.run(deployment, input: "pendek\n", "mayor", add)
        #expect(short.status != 0)
        #expect(short.output.contains("minimal 10 karakter"), "\(short.output)")
        let added = try Self.run(deployment, input: "rahasia-wali-kota\n", "mayor", add)
        #expect(added.status == 0, "\(added.output)")
        let again = try Self.run(deployment, input: "rahasia-wali-kota\n", "mayor", add)
        #expect(again.status != 0)
        #expect(again.output.contains("sudah ada"))
        #expect(try deployment.run("mayor", ["account", "disable", "walikota.ani"]).status == 0)
        let listed = try deployment.run("mayor", ["account", "list"])
        #expect(listed.output.contains("walikota.ani") && listed.output.contains("nonaktif"), "\(listed.output)")
        #expect(try deployment.run("mayor", ["account", "disable", "walikota.siapa"]).status != 0)

        let made = try deployment.run("central", ["apikey", "add", "lapor-app"])
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.split(separator: "\n").contains { $0.hasPrefix("s311_") })
        #expect(try deployment.run("dpupr", ["apikey", "add", "lapor-app"]).status != 0, "keys live at central only")
        #expect(try deployment.run("central", ["apikey", "revoke", "lapor-app"]).status == 0)
        let revokedAgain = try deployment.run("central", ["apikey", "revoke", "lapor-app"])
        #expect(revokedAgain.status != 0)
        #expect(revokedAgain.output.contains("Tidak ada kunci aktif"))
        #expect(try deployment.run("central", ["apikey", "list"]).output.contains("dicabut"))
    }

    /// `keys generate` and `keys identity` create the folders a key needs, private (0700).
    @Test func keysAreWrittenIntoFoldersTheCommandCreatesPrivate() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let binary = try ProcessTestKit.sambatBinary()
        // The guide's first commands, on a machine where no folder exists yet.
        let curve = scratch.file("data/dpupr/curve.key")
        let identity = scratch.file("keys/central/identity.key")
        let generated = try ProcessTestKit.runBlocking(binary, ["keys", "generate", "--out", curve, "--node", "dpupr"])
        #expect(generated.status == 0, "\(generated.output)")
        let created = try ProcessTestKit.runBlocking(binary, ["keys", "identity", "--out", identity])
        #expect(created.status == 0, "\(created.output)")
        func mode(_ path: String) throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
        }
        for folder in ["data", "data/dpupr", "keys", "keys/central"] {
            #expect(try mode(scratch.file(folder)) == 0o700, "\(folder)")
        }
        #expect(try mode(curve) == 0o600 && mode(identity) == 0o600)
        // A folder that exists keeps its mode.
        let shared = scratch.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shared)
        _ = try ProcessTestKit.runBlocking(binary, ["keys", "generate", "--out", shared + "/curve.key"])
        #expect(try mode(shared) == 0o755)
        #expect(FileManager.default.fileExists(atPath: shared + "/curve.key"))
    }

    /// `sambat status` at an office whose node has not heard from central for a while: after
    /// the link worked in this run it speaks of an outage; before, of keys and enrolment.
    @Test func statusTellsAnOutageFromAWrongKeyOrAddress() throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        func writeStatus(answeredBefore: Bool) throws {
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let json = """
                {"node": "dpupr", "role": "office", "pid": \(getpid()), "updatedAt": \(now), "running": true,
                 "linkUp": false, "centralFrontier": 0, "unsent": 0, "centralSilent": true,
                 "centralAnsweredBefore": \(answeredBefore), "connectedPeers": []}
                """
            try json.write(toFile: "\(deployment.directory)/dpupr/status.json", atomically: true, encoding: .utf8)
        }
        try writeStatus(answeredBefore: true)
        let outage = try deployment.run("dpupr", ["status"])
        #expect(outage.status == 3)
        #expect(outage.output.contains("sudah tersambung sebelumnya"), "\(outage.output)")
        #expect(!outage.output.contains("central.public_key"))
        try writeStatus(answeredBefore: false)
        let silent = try deployment.run("dpupr", ["status"])
        #expect(silent.status == 3)
        #expect(silent.output.contains("central.public_key"), "\(silent.output)")
    }

    @Test func backupAndRestoreRefuseWhatWouldLoseDataAndRestoreUnderANewIncarnation() async throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        let directory = deployment.directory
        let backup = "\(directory)/dpupr-backup.sqlite"
        let taken = try deployment.run("dpupr", ["backup", "--out", backup])
        #expect(taken.status == 0, "\(taken.output)")
        #expect(taken.output.contains("Cadangan node dpupr ditulis ke \(backup)"), "\(taken.output)")
        let again = try deployment.run("dpupr", ["backup", "--out", backup])
        #expect(again.status != 0 && again.output.contains("refusing to overwrite"), "\(again.output)")
        let other = "\(directory)/dlh-backup.sqlite"
        #expect(try deployment.run("dlh", ["backup", "--out", other]).status == 0)

        // Bad backups: cut short, another node's, a newer release's. Each is refused and the
        // store is left as it was.
        let store = "\(directory)/dpupr/sambat.sqlite"
        let truncated = "\(directory)/truncated.sqlite"
        let whole = try Data(contentsOf: URL(fileURLWithPath: backup))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        let newer = "\(directory)/newer.sqlite"
        try FileManager.default.copyItem(atPath: backup, toPath: newer)
        _ = try ProcessTestKit.runBlocking(
            "/usr/bin/sqlite3",
            [newer, "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')"]
        )
        let before = try Data(contentsOf: URL(fileURLWithPath: store))
        for (file, reason) in [
            (truncated, "damaged"), (other, "belongs to node dlh"), (newer, "newer Sambat"),
            ("\(directory)/missing.sqlite", "does not exist"),
        ] {
            let refused = try deployment.run("dpupr", ["restore", "--from", file])
            #expect(refused.status != 0, "\(file) was restored: \(refused.output)")
            #expect(refused.output.contains("ditolak"), "\(refused.output)")
            #expect(refused.output.contains(reason), "\(refused.output)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)

        // A running node (its data directory locked) is not restored over.
        let lock = open("\(directory)/dpupr/sambat.lock", O_RDWR | O_CREAT, 0o644)
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0)
        let running = try deployment.run("dpupr", ["restore", "--from", backup])
        #expect(running.status != 0 && running.output.contains("masih berjalan"), "\(running.output)")
        close(lock)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)

        // Stopped: restored under a new incarnation, the old store kept beside it.
        let restored = try deployment.run("dpupr", ["restore", "--from", backup])
        #expect(restored.status == 0, "\(restored.output)")
        #expect(restored.output.contains("dpupr#2"), "\(restored.output)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/dpupr")
            .filter { $0.hasPrefix("sambat.sqlite.before-restore-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        #expect(kept.count == 1)
        #expect(try await deployment.store("dpupr").currentOrigin().incarnation == 2)

        // The same backup once more: an origin never used, not dpupr#2 again (which would
        // reuse the seqs written as dpupr#2 since the first restore).
        let twice = try deployment.run("dpupr", ["restore", "--from", backup])
        #expect(twice.status == 0, "\(twice.output)")
        #expect(twice.output.contains("dpupr#3"), "\(twice.output)")
        #expect(try await deployment.store("dpupr").currentOrigin().incarnation == 3)
        // The node's own database is no backup.
        let own = try deployment.run("dpupr", ["restore", "--from", store])
        #expect(own.status != 0 && own.output.contains("not a backup"), "\(own.output)")
        #expect(try await deployment.store("dpupr").currentOrigin().incarnation == 3)
        // A lost disk, and central already holds dpupr#7: the restore starts above it.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        let above = try deployment.run("dpupr", ["restore", "--from", backup, "--incarnation-above", "7"])
        #expect(above.status == 0 && above.output.contains("dpupr#8"), "\(above.output)")
    }

    @Test func aConfigIsWrittenForEveryOfficeOfTheDirectoryAndChecked() throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        let directory = deployment.directory
        let centralKey = try deployment.run(nil, ["keys", "public", "--key", "\(directory)/central/curve.key"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let reference = ProcessTestKit.repositoryRoot.appendingPathComponent("Config").path
        let listing = try String(contentsOfFile: reference + "/opd-directory.yaml", encoding: .utf8)
        let codes = listing.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            return text.hasPrefix("- code: ") ? String(text.dropFirst("- code: ".count)) : nil
        }
        #expect(codes.count == 18)
        func generate(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try deployment.run(
                nil,
                ["config"] + arguments + [
                    "--central-endpoint", "tcp://10.20.0.5:7301", "--central-public-key=\(centralKey)",
                    "--reference-dir", reference,
                ]
            )
        }
        for code in codes {
            let out = "\(directory)/generated/office-\(code).yaml"
            try FileManager.default.createDirectory(
                atPath: "\(directory)/generated",
                withIntermediateDirectories: true
            )
            let written = try generate([
                "office", code, "--out", out, "--data-dir", "\(directory)/generated/\(code)",
                "--key-file", "\(directory)/generated/keys/\(code).key", "--http-port", "8082",
            ])
            #expect(written.status == 0, "\(code): \(written.output)")
            #expect(
                written.output.contains("sambat node enrol \(code) --role office --public-key "),
                "\(written.output)"
            )
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(text.contains("id: \(code)\n") && text.contains("role: office"))
            // The generated config is one `sambat` accepts as it stands.
            let status = try deployment.run(nil, ["status", "--config", out])
            // (Its store does not exist yet: the node never ran. A config problem would come first.)
            #expect(status.output.contains("belum ada"), "\(code): \(status.output)")
            #expect(!status.output.contains("ditolak"), "\(code): \(status.output)")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/generated/keys")[.posixPermissions]
        #expect(mode as? Int == 0o700)

        let unknown = try generate(["office", "dinas-rahasia", "--out", "\(directory)/x.yaml"])
        #expect(unknown.status != 0 && unknown.output.contains("tidak ada di direktori OPD"), "\(unknown.output)")
        #expect(unknown.output.contains("dpupr"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/x.yaml"))
        let again = try generate([
            "office", "dpupr", "--out", "\(directory)/generated/office-dpupr.yaml",
            "--key-file", "\(directory)/generated/keys/dpupr.key",
        ])
        #expect(again.status != 0 && again.output.contains("tidak ditimpa"), "\(again.output)")
        let mayor = try generate([
            "mayor", "--out", "\(directory)/generated/mayor.yaml", "--data-dir", "\(directory)/generated/mayor",
            "--key-file", "\(directory)/generated/keys/mayor.key", "--http-port", "8081",
        ])
        #expect(mayor.status == 0, "\(mayor.output)")
    }

    @Test func jsonLogsAreOneObjectPerLineWithTheLevelFromTheConfig() async throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        let path = "\(deployment.directory)/dpupr.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(
            of: "node: {id: dpupr,",
            with: "node: {log_format: json, log_level: debug, id: dpupr,"
        )
        .write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: deployment.binary)
        process.arguments = ["run", "--config", path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // SIGTERM once the node runs (its status file says so), not while it is still starting.
        var running = false
        for _ in 0..<300 where !running {
            try await Task.sleep(for: .milliseconds(100))
            running = try deployment.run("dpupr", ["status", "--json"]).output.contains("\"running\":true")
        }
        #expect(running)
        process.terminate()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count >= 2, "\(lines)")
        var levels: Set<String> = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["node"] == "dpupr", "\(line)")
            #expect(object?["time"]?.hasSuffix("Z") == true, "\(line)")
            #expect(object?["message"]?.isEmpty == false, "\(line)")
            if let level = object?["level"] { levels.insert(level) }
        }
        #expect(levels.contains("debug"), "log_level debug lets debug lines through: \(levels)")
        #expect(lines.contains { $0.contains("\"message\":\"node stopped\"") })

        // A format the node does not know is refused with the choices.
        try text.replacingOccurrences(of: "node: {id: dpupr,", with: "node: {log_format: xml, id: dpupr,")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try deployment.run(nil, ["run", "--config", path])
        #expect(refused.status != 0 && refused.output.contains("node.log_format"), "\(refused.output)")
    }

    /// Expects a refusal: non-zero exit, the message, and no new op on `node`.
    func expectRefused(
        _ deployment: Deployment,
        _ node: String,
        _ arguments: [String],
        saying message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let before = try await deployment.opCount(node)
        let result = try deployment.run(node, arguments)
        #expect(result.status != 0, "\(arguments) succeeded: \(result.output)", sourceLocation: sourceLocation)
        #expect(result.output.contains(message), "\(arguments): \(result.output)", sourceLocation: sourceLocation)
        #expect(
            try await deployment.opCount(node) == before,
            "\(arguments) wrote an op",
            sourceLocation: sourceLocation
        )
    }

    @Test func refusedCommandsExplainAndWriteNothing() async throws {
        let deployment = try Deployment()
        defer { deployment.remove() }
        for (node, role) in [("dpupr", "office"), ("mayor", "mayor")] {
            let key = try deployment.run(nil, ["keys", "public", "--key", "\(deployment.directory)/\(node)/curve.key"])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
            let enrolled = try deployment.run(
                "central",
                ["node", "enrol", node, "--role", role, "--public-key=\(key)"]
            )
            #expect(enrolled.status == 0, "\(enrolled.output)")
        }
        let intake = try deployment.run(
            "central",
            [
                "intake", "--name", "Rina Kartika", "--nik", "3576015203900003", "--phone", "081311112222", "--text",
                "Saluran di Jl. Majapahit mampet, air meluber ke jalan tiap hujan.",
            ]
        )
        #expect(intake.status == 0, "\(intake.output)")
        let caseID = String(intake.output.prefix { $0 != " " })
        #expect(intake.output.contains("saran OPD: dpupr"))

        // The identity only behind an audited command, and only at central.
        let revealed = try deployment.run("central", ["reporter", "show", caseID, "--reason", "menelepon balik"])
        #expect(revealed.status == 0 && revealed.output.contains("Rina Kartika"), "\(revealed.output)")
        let audited = try deployment.run("central", ["case", "show", caseID])
        #expect(audited.output.contains("dibuka 1 kali") && !audited.output.contains("Rina"), "\(audited.output)")

        // A number and a text are enough: the case waits for the reporter's name and NIK.
        let phoneOnly = try deployment.run(
            "central",
            ["intake", "--phone", "081399998888", "--text", "Lampu jalan di gang Melati mati tiga hari"]
        )
        #expect(phoneOnly.status == 0 && phoneOnly.output.contains("menunggu identitas"), "\(phoneOnly.output)")
        // A batch line with a missing field is named, and nothing of the batch is written.
        let batch = "\(deployment.directory)/batch.jsonl"
        try """
        {"phone": "081211112222", "text": "Saluran mampet di Jl. Kenanga"}
        {"phone": "081233334444", "txt": "typo"}
        """.write(toFile: batch, atomically: true, encoding: .utf8)
        try await expectRefused(
            deployment,
            "central",
            ["intake", "--batch", batch],
            saying: "baris 2: kolom 'text' wajib ada"
        )

        // Bad intake: nothing written, and the identity is not echoed.
        try await expectRefused(
            deployment,
            "central",
            ["intake", "--name", "X", "--nik", "3576015203900099", "--phone", "12", "--text", "pendek"],
            saying: "ditolak"
        )
        // Central: unknown and unenrolled offices, a transition the state forbids.
        #expect(try deployment.run("central", ["case", "verify", caseID, "--tier", "ringan"]).status == 0)
        try await expectRefused(
            deployment,
            "central",
            ["case", "dispatch", caseID, "--office", "nosuch"],
            saying: "tidak ada di direktori OPD"
        )
        try await expectRefused(
            deployment,
            "central",
            ["case", "dispatch", caseID, "--office", "dlh"],
            saying: "belum terdaftar"
        )
        try await expectRefused(deployment, "central", ["case", "close", caseID], saying: "tidak diizinkan")
        try await expectRefused(
            deployment,
            "central",
            ["case", "verify", "MJK-200101-0001"],
            saying: "tidak ada di node"
        )
        try await expectRefused(deployment, "central", ["case", "verify", "bukan-tiket"], saying: "tidak sah")
        #expect(try deployment.run("central", ["case", "dispatch", caseID, "--office", "dpupr"]).status == 0)

        // The office, with central's ops delivered.
        try await deployment.feed("dpupr")
        try await deployment.feed("mayor")
        #expect(try deployment.run("dpupr", ["case", "ack", caseID]).status == 0)
        try await expectRefused(deployment, "dpupr", ["case", "ack", caseID], saying: "tidak diizinkan")
        try await expectRefused(deployment, "dpupr", ["case", "verify", caseID], saying: "hanya untuk node central")
        try await expectRefused(
            deployment,
            "dpupr",
            ["reporter", "show", caseID, "--reason", "ingin tahu"],
            saying: "hanya untuk node central"
        )
        try await expectRefused(
            deployment,
            "dpupr",
            ["case", "return", caseID, "--reason", "entah"],
            saying: "tidak dikenal"
        )
        let list = try deployment.run("dpupr", ["case", "list"])
        #expect(list.output.contains(caseID) && list.output.contains("DITERIMA_OPD"), "\(list.output)")
        let show = try deployment.run("dpupr", ["case", "show", caseID])
        #expect(show.output.contains("[belum terkirim]"), "\(show.output)")  // no node has synced it
        #expect(!show.output.contains("Rina") && !show.output.contains("081311112222"))

        // The mayor writes nothing.
        try await expectRefused(
            deployment,
            "mayor",
            ["case", "note", caseID, "--text", "Tolong cepat"],
            saying: "hanya-baca"
        )

        // A case the office no longer owns: central moved it to another office meanwhile.
        let dlhKey = try deployment.run(nil, ["keys", "public", "--key", "\(deployment.directory)/dlh/curve.key"])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try deployment.run("central", ["node", "enrol", "dlh", "--role", "office", "--public-key=\(dlhKey)"]).status
                == 0
        )
        #expect(
            try deployment.run("central", ["case", "reassign", caseID, "--from", "dpupr", "--to", "dlh"]).status == 0
        )
        try await deployment.feed("dpupr")
        try await expectRefused(
            deployment,
            "dpupr",
            ["case", "start", caseID],
            saying: "tidak sedang ditugaskan ke dpupr"
        )

        // A configuration with problems is refused before anything starts.
        let bad = "\(deployment.directory)/bad.yaml"
        try "node: {id: Bad Id, role: boss}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try deployment.run(nil, ["run", "--config", bad])
        #expect(refused.status != 0)
        #expect(refused.output.contains("node.role harus central, office atau mayor"), "\(refused.output)")
        #expect(refused.output.contains("kunci wajib tidak ada: node.data_dir"), "\(refused.output)")
    }
}
