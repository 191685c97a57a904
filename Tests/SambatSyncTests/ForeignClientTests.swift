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

    @Test func aPythonOfficeSaysHelloUploadsAnOpAndGetsItsAck() async throws {
        let world = try SyncWorld()
        let central = try await world.openCentral()
        let caseID = try await SyncWorld.dispatch(central, serial: 42)
        let hub = try await world.startCentral(central)
        defer { hub.task.cancel() }
        let state = try #require(try await central.caseState(caseID))
        let context = state.vector.entries.map { "\($0.origin):\($0.seq)" }.joined(separator: ",")
        let keys = world.key(SyncWorld.dpupr)
        let script = Self.repository.appendingPathComponent("Tests/ForeignClient/foreign_client.py").path
        let proto = Self.repository.appendingPathComponent("Sources/SambatSync/Proto/sambat_sync.proto").path

        let selfTest = try await Self.run("/usr/bin/python3", [script, "--self-test"])
        #expect(selfTest.0 == 0, "self-test: \(selfTest.1) \(selfTest.2)")

        let (status, stdout, stderr) = try await Self.run(
            "/usr/bin/python3",
            [
                // Z85 keys may start with "-": pass them as --option=value so no parser takes
                // them for an option.
                script, "--endpoint", hub.endpoint, "--server-key=\(world.centralKeys.publicKey)",
                "--secret-key=\(keys.secretKey)", "--public-key=\(keys.publicKey)", "--node", "dpupr",
                "--case", caseID.rawValue, "--epoch", "1", "--context=\(context)",
                "--lamport", "\(state.lamport + 1)", "--proto", proto, "--timeout", "20",
            ]
        )
        #expect(status == 0, "foreign client failed (\(status)): \(stderr)")
        let line = try #require(stdout.split(separator: "\n").last.map(String.init))
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(reply["welcome_frontier"] as? Int == 0)
        #expect(reply["ack_frontier"] as? Int == 1)
        #expect((reply["refused"] as? [Any])?.isEmpty == true)
        // Central holds the op, with the very hash the client computed over its own encoding.
        #expect(try await central.caseState(caseID)?.status == .acknowledged)
        let hashes = try await SyncWorld.hashes(central, caseID)
        #expect(hashes.contains(try #require(reply["op_sha256"] as? String)))
    }
}
