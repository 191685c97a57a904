import Foundation
import SambatCore
import SambatIntake
import SambatStore
import SambatTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A reporter's whole journey through real processes: a WhatsApp message becomes a case, the
/// operator dispatches it, the office resolves it, the reporter is told; then every byte of the
/// office's and the mayor's data, every log line and every status file is searched for the
/// reporter's number, NIK and name.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ReporterJourneyTests {
    static let phone = "6281298765432"
    static let name = "Wulandari Kusumawati"
    static let nik = "3576024103870007"

    @Test func aWhatsAppComplaintTravelsToTheOfficeAndBackWithoutTheIdentity() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let binary = try ProcessTestKit.sambatBinary()
        func sambat(_ arguments: [String], as actor: String = "op.rina") throws -> (status: Int32, output: String) {
            try ProcessTestKit.runBlocking(
                binary,
                arguments,
                environment: ["SAMBAT_ACTOR": actor],
                removing: ["SAMBAT_CONFIG"]
            )
        }
        for node in ["central", "dpupr", "mayor"] {
            try FileManager.default.createDirectory(
                atPath: scratch.file("data/\(node)"),
                withIntermediateDirectories: true
            )
            _ = try sambat(["keys", "generate", "--out", scratch.file("data/\(node)/curve.key"), "--node", node])
        }
        try FileManager.default.createDirectory(atPath: scratch.file("keys"), withIntermediateDirectories: true)
        _ = try sambat(["keys", "identity", "--out", scratch.file("keys/identity.key")])
        let secret = try scratch.write("keys/app-secret", "journey-secret\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        let centralKey = try sambat(["keys", "public", "--key", scratch.file("data/central/curve.key")]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let httpPort = try ProcessTestKit.freePort()
        let syncPort = try ProcessTestKit.freePort()
        let config = ProcessTestKit.repositoryRoot.appendingPathComponent("Config").path
        let reference = """
            reference:
              directory: \(config)/opd-directory.yaml
              deadlines: \(config)/deadlines.yaml
              holidays: \(config)/holidays.yaml

            """
        func node(_ id: String, _ role: String) -> String {
            let sync =
                role == "central"
                ? "sync: {bind: \"tcp://127.0.0.1:\(syncPort)\", ping_interval: 500ms}\n"
                : "sync: {ping_interval: 500ms, link_timeout: 2s, hello_timeout: 1s, reconnect_initial: 100ms, "
                    + "reconnect_max: 1s}\n"
            return "node: {id: \(id), role: \(role), data_dir: \(scratch.file("data/\(id)")), "
                + "key_file: \(scratch.file("data/\(id)/curve.key"))}\n" + sync
        }
        _ = try scratch.write(
            "central.yaml",
            node("central", "central")
                + """
                identity: {key_file: \(scratch.file("keys/identity.key"))}
                http: {port: \(httpPort)}
                whatsapp: {verify_token: tok, app_secret_file: \(secret)}
                intake: {require_identity: true}

                """
                + reference.replacingOccurrences(
                    of: "reference:\n",
                    with: "reference:\n  routing: \(config)/routing.yaml\n"
                )
        )
        for (id, role) in [("dpupr", "office"), ("mayor", "mayor")] {
            _ = try scratch.write(
                "\(id).yaml",
                node(id, role) + "central: {endpoint: \"tcp://127.0.0.1:\(syncPort)\", public_key: \"\(centralKey)\"}\n"
                    + reference
            )
        }
        var processes: [Process] = []
        defer { for process in processes where process.isRunning { process.killAndWait() } }
        func start(_ id: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["run", "--config", scratch.file("\(id).yaml")]
            _ = FileManager.default.createFile(atPath: scratch.file("\(id).log"), contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("\(id).log")))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            processes.append(process)
        }
        func eventually(_ condition: () throws -> Bool) async throws -> Bool {
            for _ in 0..<300 {
                if try condition() { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        try start("central")
        for (id, role) in [("dpupr", "office"), ("mayor", "mayor")] {
            let key = try sambat(["keys", "public", "--key", scratch.file("data/\(id)/curve.key")]).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(
                try sambat([
                    "node", "enrol", id, "--role", role, "--public-key=\(key)", "--config",
                    scratch.file("central.yaml"),
                ]).status == 0
            )
            try start(id)
        }

        // The message and the identity reply, as Meta would post them.
        func post(_ id: String, _ text: String) throws -> String {
            let body = """
                {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
                "contacts":[{"profile":{"name":"\(Self.name)"},"wa_id":"\(Self.phone)"}],
                "messages":[{"from":"\(Self.phone)","id":"\(id)","timestamp":"1764400000","type":"text","text":{"body":"\(text)"}}]}}]}]}
                """
            let file = try scratch.write("\(id).json", body)
            let header = WhatsAppSignature(appSecret: Array("journey-secret".utf8)).header(for: Array(body.utf8))
            let arguments = [
                "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                "X-Hub-Signature-256: \(header)", "--data-binary", "@\(file)",
                "http://127.0.0.1:\(httpPort)/webhooks/whatsapp",
            ]
            let result = try ProcessTestKit.runBlocking("/usr/bin/curl", arguments)
            return result.output
        }
        #expect(
            try await eventually {
                (try? post(
                    "wamid.J1",
                    "Jalan berlubang besar di depan SDN Balongsari, sudah 2 motor jatuh. Saya \(Self.name)"
                )) == "200"
            }
        )
        let list = { try sambat(["case", "list", "--all", "--config", scratch.file("central.yaml")]).output }
        #expect(try await eventually { try list().contains("TERTUNDA") })
        #expect(try post("wamid.J2", "Nama: \(Self.name), NIK: 3576.0241.0387.0007") == "200")
        #expect(try await eventually { try list().contains("DITERIMA") })
        let caseID = try #require(
            try list().split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("MJK-") }.map(String.init)
        )

        // The operator verifies and dispatches; the office acknowledges, starts and resolves.
        let central = scratch.file("central.yaml")
        #expect(
            try sambat(["case", "verify", caseID, "--tier", "ringan", "--topic", "jalan rusak", "--config", central])
                .status == 0
        )
        #expect(try sambat(["case", "dispatch", caseID, "--office", "dpupr", "--config", central]).status == 0)
        let office = scratch.file("dpupr.yaml")
        #expect(try await eventually { try sambat(["case", "list", "--config", office]).output.contains(caseID) })
        for step in [["ack"], ["start"], ["resolve", "--summary", "Lubang ditambal"]] {
            #expect(
                try sambat(["case"] + [step[0], caseID] + step.dropFirst() + ["--config", office], as: "dpupr.budi")
                    .status == 0
            )
        }
        // Central learns of the follow-up, and the reporter is told (queued for WhatsApp).
        #expect(
            try await eventually {
                let show = try sambat(["case", "show", caseID, "--config", central]).output
                return show.contains("SELESAI_OPD") && show.contains("sudah ditindaklanjuti")
            }
        )
        let show = try sambat(["case", "show", caseID, "--config", central]).output
        #expect(show.contains("diteruskan ke Dinas Pekerjaan Umum"), "\(show)")
        #expect(
            try await eventually {
                try sambat(["case", "show", caseID, "--config", scratch.file("mayor.yaml")]).output.contains(
                    "SELESAI_OPD"
                )
            }
        )

        for process in processes { kill(process.processIdentifier, SIGTERM) }
        #expect(try await eventually { processes.allSatisfy { !$0.isRunning } })

        // Not one byte of the identity outside central: office and mayor stores (and their
        // WAL files), every log and status file.
        let secrets: Set<String> = [
            Self.phone, "081298765432", "81298765432", Self.nik, "3576.0241.0387.0007", Self.name, "Wulandari",
            "Kusumawati",
        ]
        let scan = ProcessTestKit.scan(scratch.path, for: secrets) { path in
            path.hasPrefix("data/dpupr/") || path.hasPrefix("data/mayor/") || path.hasSuffix(".log")
                || path.hasSuffix("status.json")
        }
        #expect(scan.scanned >= 6, "scanned \(scan.scanned) files")
        #expect(scan.leaks.isEmpty, "personal data in \(scan.leaks)")
    }
}
