import Foundation
import SambatCore
import SambatStore
import SambatSync
import SambatTestKit
import SambatWire
import Testing

/// A node written in Python from docs/protocol.md alone talks to our central.
@Suite(.timeLimit(.minutes(1))) struct ForeignClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ program: String, _ arguments: [String]) async throws -> (Int32, String, String) {
        let outcome = try await ProcessTestKit.run(program, arguments)
        return (outcome.status, outcome.output, outcome.errors)
    }

    /// What one run of the Python office against a fresh central left behind.
    struct ClientRun {
        let central: Store
        let caseID: CaseID
        /// Central's op hashes of the case before the client ran: what its feed must carry.
        let hashesBefore: [String]
        /// The JSON line the client printed.
        let reply: [String: Any]
    }

    /// Runs the Python office against a central holding one case dispatched to it.
    static func runClient(serial: Int, _ extraArguments: [String] = []) async throws -> ClientRun {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: serial)
        let hashesBefore = try await SyncWorld.hashes(central, caseID)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let state = try #require(try await central.caseState(caseID))
        let context = state.vector.entries.map { "\($0.origin):\($0.seq)" }.joined(separator: ",")
        let keys = world.key(SyncWorld.dpupr)
        let (status, stdout, stderr) = try await Self.run(
            "/usr/bin/python3",
            [
                // Z85 keys may start with "-": pass them as --option=value so no parser takes
                // them for an option.
                script, "--endpoint", hub.endpoint, "--server-key=\(world.centralKeys.publicKey)",
                "--secret-key=\(keys.secretKey)", "--public-key=\(keys.publicKey)", "--node", "dpupr",
                "--case", caseID.rawValue, "--epoch", "1", "--context=\(context)",
                "--lamport", "\(state.lamport + 1)", "--proto", proto, "--timeout", "20",
            ] + extraArguments
        )
        #expect(status == 0, "foreign client failed (\(status)): \(stderr)")
        let line = try #require(stdout.split(separator: "\n").last.map(String.init))
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return ClientRun(central: central, caseID: caseID, hashesBefore: hashesBefore, reply: reply)
    }

    static let script = repository.appendingPathComponent("Tests/ForeignClient/foreign_client.py").path
    static let proto = repository.appendingPathComponent("Sources/SambatSync/Proto/sambat_sync.proto").path

    @Test func aPythonOfficeSaysHelloUploadsAnOpAndGetsItsAck() async throws {
        let selfTest = try await Self.run("/usr/bin/python3", [Self.script, "--self-test"])
        #expect(selfTest.0 == 0, "self-test: \(selfTest.1) \(selfTest.2)")

        let run = try await Self.runClient(serial: 42)
        #expect(run.reply["welcome_frontier"] as? Int == 0)
        #expect(run.reply["ack_frontier"] as? Int == 1)
        #expect((run.reply["refused"] as? [Any])?.isEmpty == true)
        #expect(run.reply["feed"] == nil)
        // Central holds the op, with the very hash the client computed over its own encoding.
        #expect(try await run.central.caseState(run.caseID)?.status == .acknowledged)
        let hashes = try await SyncWorld.hashes(run.central, run.caseID)
        #expect(hashes.contains(try #require(run.reply["op_sha256"] as? String)))
    }

    /// The same office speaking packed ops (docs/protocol.md, "Packed ops"): its upload is
    /// packed by Python's zlib and unpacked by central, and central's packed feed is unpacked
    /// by Python into the very bytes central holds.
    @Test func aPythonOfficeUploadsPackedAndUnpacksCentralsFeed() async throws {
        let run = try await Self.runClient(serial: 43, ["--packed"])
        #expect(run.reply["welcome_packed_ops"] as? Bool == true)
        #expect(run.reply["ack_frontier"] as? Int == 1)
        #expect((run.reply["refused"] as? [Any])?.isEmpty == true)
        #expect(try await run.central.caseState(run.caseID)?.status == .acknowledged)
        let hashes = try await SyncWorld.hashes(run.central, run.caseID)
        #expect(hashes.contains(try #require(run.reply["op_sha256"] as? String)))
        // The feed: central's ops of the case, and central packed them.
        let feed = try #require(run.reply["feed"] as? [[String: Any]])
        #expect(feed.compactMap { $0["sha256"] as? String }.sorted() == run.hashesBefore)
        #expect(feed.allSatisfy { $0["packed"] as? Bool == true })
    }
}
