import Foundation
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// `make scale` at a size a test can afford: the same script, the same processes and the same
/// measurements as the year-of-a-city run, on 600 cases and three offices.
///
/// Guards the scale run itself (it is never part of `make test` at full size), and what it
/// relies on: an office whose history was written for it is welcomed by central as the author
/// of that history, and the mayor back-fills a whole feed on an empty store.
@Suite(.serialized) struct ScaleRunTests {
    static func open(_ directory: String, _ node: String) throws -> Store {
        let role: NodeRole = node == "central" ? .central : node == "mayor" ? .mayor : .office
        return try Store.open(
            StoreConfiguration(path: "\(directory)/data/\(node)/sambat.sqlite"),
            identity: NodeIdentity(node: try NodeID(node), role: role, central: try NodeID("central"))
        )
    }

    @Test(.timeLimit(.minutes(4)))
    func aSmallScaleRunMeasuresEveryFigureAndLeavesConsistentStores() async throws {
        let directory = NSTemporaryDirectory() + "sambat-scale-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = ProcessTestKit.repositoryRoot.appendingPathComponent("scripts/scale.py").path
        let outcome = try await ProcessTestKit.run(
            "/usr/bin/python3",
            [
                script, "--dir", directory, "--cases", "600", "--offices", "3", "--idle-seconds", "1",
                "--bin", try ProcessTestKit.sambatBinary(),
            ]
        )
        #expect(outcome.status == 0, "scale run failed:\n\(outcome.errors.suffix(3000))")
        guard outcome.status == 0 else { return }
        let line = try #require(outcome.output.split(separator: "\n").last.map(String.init))
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(figures["ops"] as? Int == 6_000)
        for name in [
            "central_rss_mib", "office_rss_mib_max", "mayor_rss_mib", "mayor_backfill_s",
            "reconnect_all_after_restart_s",
        ] {
            #expect((figures[name] as? Double ?? 0) > 0, "\(name) missing from \(line)")
        }
        // A reconnect with nothing missing is a HELLO and a WELCOME (and perhaps a ping).
        let reconnect = try #require(figures["reconnect_bytes_max"] as? Int)
        #expect(reconnect > 0 && reconnect < 2_048)
        let reads = try #require(figures["mayor_reads"] as? [String: Any])
        #expect(reads["cases"] as? String == "600")

        // The stores, opened after the run: the mayor holds exactly central's ops; each office
        // holds its cases, and authors its next op after the history it was given.
        let central = try Self.open(directory, "central")
        let mayor = try Self.open(directory, "mayor")
        let caseIDs = try await central.caseIDs()
        #expect(caseIDs.count == 600)
        #expect(try await mayor.caseIDs().count == 600)
        for caseID in caseIDs.prefix(20) {
            let atCentral = try await central.ops(ofCase: caseID).map(\.sealed.hash)
            #expect(try await mayor.ops(ofCase: caseID).map(\.sealed.hash) == atCentral)
            // Received through the history's year, not during the run: otherwise no deadline
            // would ever pass at that size.
            for stored in try await mayor.ops(ofCase: caseID) {
                #expect(stored.receivedAt == stored.sealed.op.at)
            }
        }
        for index in 0..<3 {
            let office = try Self.open(directory, "opd\(index)")
            #expect(try await office.caseCount() == 200)
            let origin = try await office.currentOrigin()
            #expect(try await office.localHead() == (try await central.frontier(of: origin)))
            #expect(try await office.localHead() > 0)
        }
    }
}
