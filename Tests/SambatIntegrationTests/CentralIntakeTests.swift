import Foundation
import SambatCore
import SambatIntake
import SambatTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Central as a process with its front doors: the HTTP server answers health and the WhatsApp
/// webhook, the SMS poller reads a real gammu-smsd, and both messages become cases whose
/// replies are queued, the SMS one reaching Gammu's sentitems.
@Suite(.serialized, .timeLimit(.minutes(1))) struct CentralIntakeTests {
    @Test func aWhatsAppPostAndAnSMSBecomeCasesThroughTheRunningNode() async throws {
        let rig = try GammuRig()
        defer { rig.scratch.remove() }
        let binary = try ProcessTestKit.sambatBinary()
        let directory = rig.scratch.file("central")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func sambat(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try ProcessTestKit.runBlocking(binary, arguments, removing: ["SAMBAT_CONFIG"])
        }
        _ = try sambat(["keys", "generate", "--out", "\(directory)/curve.key", "--node", "central"])
        _ = try sambat(["keys", "identity", "--out", rig.scratch.file("identity.key")])
        let secret = rig.scratch.file("app-secret")
        try "s3cret-app\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        let httpPort = try ProcessTestKit.freePort()
        let syncPort = try ProcessTestKit.freePort()
        let config = ProcessTestKit.repositoryRoot.appendingPathComponent("Config").path
        let configPath = try rig.scratch.write(
            "central.yaml",
            """
            node: {id: central, role: central, data_dir: \(directory), key_file: \(directory)/curve.key}
            sync: {bind: "tcp://127.0.0.1:\(syncPort)"}
            identity: {key_file: \(rig.scratch.file("identity.key"))}
            http: {bind: 127.0.0.1, port: \(httpPort)}
            whatsapp: {verify_token: tok, app_secret_file: \(secret)}
            smsd: {database: \(rig.database)}
            intake: {require_identity: false}
            reference:
              directory: \(config)/opd-directory.yaml
              routing: \(config)/routing.yaml
              screening: \(config)/screening.yaml
              deadlines: \(config)/deadlines.yaml
              holidays: \(config)/holidays.yaml
            """
        )
        let daemon = try rig.start()
        defer { daemon.killAndWait() }
        let node = Process()
        node.executableURL = URL(fileURLWithPath: binary)
        node.arguments = ["run", "--config", configPath]
        node.standardOutput = FileHandle.nullDevice
        node.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try node.run()
        defer { node.killAndWait() }

        func curl(_ arguments: [String]) throws -> String {
            try ProcessTestKit.runBlocking("/usr/bin/curl", ["-s", "-m", "5"] + arguments).output
        }
        func eventually(_ condition: () throws -> Bool) async throws -> Bool {
            for _ in 0..<150 {
                if try condition() { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        let base = "http://127.0.0.1:\(httpPort)"
        #expect(try await eventually { try curl(["\(base)/healthz"]) == "ok\n" })

        let body = """
            {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
            "messages":[{"from":"6285712340102","id":"wamid.int1","timestamp":"1764400000","type":"text",
            "text":{"body":"Sampah di TPS Jl. Kenanga tidak diangkut 4 hari. Atas nama Dewi Lestari"}}]}}]}]}
            """
        let header = WhatsAppSignature(appSecret: Array("s3cret-app".utf8)).header(for: Array(body.utf8))
        let bodyFile = try rig.scratch.write("body.json", body)
        let status = try curl([
            "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "X-Hub-Signature-256: \(header)",
            "--data-binary", "@\(bodyFile)", "\(base)/webhooks/whatsapp",
        ])
        #expect(status == "200")
        let forged = try curl([
            "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "X-Hub-Signature-256: sha256=00",
            "--data-binary", "@\(bodyFile)", "\(base)/webhooks/whatsapp",
        ])
        #expect(forged == "401")
        let clock = ContinuousClock()
        let injected = clock.now
        try rig.inject("Lampu PJU Jl. Gajah Mada mati. Saya Hendro, 3576010808750001", from: "+6281334560103", slot: 1)

        // Both become cases, seen through the CLI beside the running node.
        #expect(
            try await eventually {
                try sambat(["case", "list", "--config", configPath]).output.contains("2 kasus.")
            }
        )
        let list = try sambat(["case", "list", "--config", configPath]).output
        #expect(!list.contains("Dewi") && !list.contains("Hendro"), "\(list)")
        // The SMS reporter's ticket reply goes out through Gammu.
        #expect(
            try await eventually {
                try ProcessTestKit.runBlocking(
                    "/usr/bin/sqlite3",
                    [rig.database, "SELECT DestinationNumber FROM sentitems"]
                )
                .output.contains("+6281334560103")
            }
        )
        // "Within seconds": from the SMS landing in the modem to the ticket reply leaving it,
        // through Gammu's polling both ways (a receive and a send frequency of 1 s here).
        let ticketDelay = clock.now - injected
        print("sms ticket reply after \(ticketDelay)")
        #expect(ticketDelay < .seconds(15), "the ticket reply took \(ticketDelay)")
        let modems = try sambat(["status", "--json", "--config", configPath]).output
        #expect(modems.contains("\"sms_modems\":[{"), "\(modems)")

        // What Prometheus scrapes: the intake counters, the figures of the moment.
        #expect(try curl(["\(base)/readyz"]) == "ready\n")
        let metrics = try curl(["\(base)/metrics"])
        #expect(metrics.contains("sambat_intake_messages_total{channel=\"whatsapp\"} 1"), "\(metrics)")
        #expect(metrics.contains("sambat_intake_messages_total{channel=\"sms\"} 1"), "\(metrics)")
        #expect(metrics.contains("sambat_peers_connected 0"), "\(metrics)")
        #expect(metrics.contains("sambat_store_bytes "), "\(metrics)")
        #expect(!metrics.contains("Dewi") && !metrics.contains("6285712340102"), "personal data in metrics")

        kill(node.processIdentifier, SIGTERM)
        // Scraped while it stops: an answer or a closed port, never a half-read node.
        var seen: Set<String> = []
        while node.isRunning {
            seen.insert(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/metrics"]))
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(seen.isSubset(of: ["200", "503", "000"]), "\(seen)")
        #expect(try await eventually { !node.isRunning }, "central did not stop on SIGTERM")
    }
}
