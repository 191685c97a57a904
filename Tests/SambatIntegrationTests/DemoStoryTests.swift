import Foundation
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// The demo's story with real processes.
///
/// Central, four offices and the mayor, each a `sambat run` with its own keys and store, driven by the CLI (`scripts/demo.sh --exit`).
/// Afterwards every store is opened and checked independently of the script.
@Suite(.serialized) struct DemoStoryTests {
    static let root = ProcessTestKit.repositoryRoot
    static let offices = ["dpupr", "dlh", "perkim", "dishub"]

    static func open(_ directory: String, _ node: String) throws -> Store {
        let role: NodeRole = node == "central" ? .central : node == "mayor" ? .mayor : .office
        return try Store.open(
            StoreConfiguration(path: "\(directory)/data/\(node)/sambat.sqlite"),
            identity: NodeIdentity(node: try NodeID(node), role: role, central: try NodeID("central"))
        )
    }

    static func hashes(_ store: Store, _ caseID: CaseID) async throws -> [String] {
        try await store.ops(ofCase: caseID).map { $0.sealed.hash.description }.sorted()
    }

    @Test(.timeLimit(.minutes(6)))
    func theDemoStoryConvergesLosesNothingAndLeaksNothing() async throws {
        let directory = NSTemporaryDirectory() + "sambat-demo-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The demo runs for minutes: it is waited for on threads of its own, not on one of the
        // two cooperative threads the whole parallel test run shares.
        let demo = try await ProcessTestKit.run(
            "/bin/bash",
            [Self.root.appendingPathComponent("scripts/demo.sh").path, "--exit", "--dir=\(directory)"],
            environment: [
                "SAMBAT_BIN": try ProcessTestKit.sambatBinary(),
                // The dashboard is used in headless Chromium; its screenshots are the README's.
                "SAMBAT_DEMO_SCREENSHOTS": Self.root.appendingPathComponent("docs/screenshots").path,
            ]
        )
        let text = demo.output
        #expect(demo.status == 0, "demo failed:\n\(text.suffix(4000))\n\(demo.errors.suffix(2000))")
        #expect(text.contains("semua node konvergen (converged)"), "\(text.suffix(2000))")
        guard demo.status == 0 else { return }

        let central = try Self.open(directory, "central")
        let mayor = try Self.open(directory, "mayor")
        let caseIDs = try await central.caseIDs()
        #expect(caseIDs.count == 36)
        // Through the real doors: signed WhatsApp posts, SMS through Gammu's dummy phone (make
        // test installs gammu-smsd), phone calls typed in by the operator.
        var channels: [IntakeChannel: Int] = [:]
        for caseID in caseIDs {
            if let channel = try await central.caseState(caseID)?.complaint?.channel {
                channels[channel, default: 0] += 1
            }
        }
        #expect(channels == [.whatsapp: 18, .sms: 11, .phone: 7])
        // The reporter was told at each step, and their SUDAH closed the case.
        #expect(text.contains("sudah diteruskan ke Dinas Pekerjaan Umum dan Penataan Ruang"))
        #expect(text.contains("Terima kasih atas konfirmasinya."))

        // Convergence: the mayor holds every case exactly as central does; each office every
        // case currently assigned to it.
        var conflictCases: Set<CaseID> = []
        for caseID in caseIDs {
            let reference = try await Self.hashes(central, caseID)
            #expect(try await Self.hashes(mayor, caseID) == reference, "mayor differs on \(caseID)")
            let state = try #require(try await central.caseState(caseID))
            for assignment in state.activeAssignments {
                let office = try Self.open(directory, assignment.office.rawValue)
                #expect(try await Self.hashes(office, caseID) == reference, "\(assignment.office) differs on \(caseID)")
            }
            if !state.conflicts.isEmpty { conflictCases.insert(caseID) }
        }

        // The conflict is visible on central, on the office that caused it and on the mayor.
        #expect(conflictCases.count == 1)
        let conflictCase = try #require(conflictCases.first)
        let conflictID = try #require(try await central.caseState(conflictCase)?.conflicts.first?.id)
        for store in [mayor, try Self.open(directory, "dlh")] {
            #expect(try await store.caseState(conflictCase)?.conflicts.map(\.id) == [conflictID])
        }
        #expect(try await mayor.caseState(conflictCase)?.openConflicts.isEmpty == true)  // resolved at central

        // No lost op: every op an office wrote (online and offline) is at central, and the
        // mayor holds every op central holds.
        var officeOps = 0
        for office in Self.offices {
            let store = try Self.open(directory, office)
            let origin = try await store.currentOrigin()
            let own = try await store.ops(of: origin, after: 0, limit: 100_000)
            officeOps += own.count
            let atCentral = try await central.ops(of: origin, after: 0, limit: 100_000)
            #expect(
                Set(own.map(\.sealed.hash)) == Set(atCentral.map(\.sealed.hash)),
                "\(office)'s ops missing at central"
            )
        }
        #expect(officeOps > 30)
        let centralOrigin = try await central.currentOrigin()
        let centralOps = try await central.ops(of: centralOrigin, after: 0, limit: 100_000).count
        #expect(try await mayor.ops(of: centralOrigin, after: 0, limit: 100_000).count == centralOps)

        // No reporter's phone number, NIK or name in any office or mayor file, in central's
        // database files, or in any node's log.
        let secrets = try ProcessTestKit.demoReporterSecrets()
        #expect(secrets.count > 100)
        let scan = ProcessTestKit.scan(directory, for: secrets) { relative in
            relative.hasPrefix("logs/") || (relative.hasPrefix("data/") && !relative.hasSuffix(".key"))
        }
        #expect(scan.scanned >= 12)
        #expect(scan.leaks.isEmpty, "files holding a reporter's personal data: \(scan.leaks)")

        try await Self.expectTheDashboardShowedWhatTheCLISays(directory: directory, caseCount: caseIDs.count)
    }

    /// What the mayor's dashboard showed in Chromium: a stranger was sent to sign in, the
    /// ranking, the trend chart, the overdue list and the day's recap say what the mayor's CLI
    /// says, and the recap prints without the navigation.
    static func expectTheDashboardShowedWhatTheCLISays(directory: String, caseCount: Int) async throws {
        var seen: [String: Any] = [:]
        for part in ["consoles", "dashboard"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/work/browser-\(part).json"))
            let values = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            seen.merge(values) { first, _ in first }
        }
        #expect(seen["error"] == nil, "\(seen)")
        #expect((seen["sign_in_url"] as? String)?.hasPrefix("/masuk") == true)
        #expect(seen["after_sign_in_url"] as? String == "/")
        #expect(seen["signed_in_as"] as? String == "Wakil Wali Kota (demo)")
        #expect(Set(seen["ranking"] as? [String] ?? []) == Set(offices))
        #expect(seen["chart_bars"] as? Int == 60, "30 days, a bar for cases in and one for cases closed")
        // The sync-health table lists every node central knows, the mayor's own node connected.
        let health = seen["sync_health"] as? [String: String] ?? [:]
        #expect(Set(health.keys) == Set(offices + ["mayor"]), "\(health)")
        #expect(health["mayor"] == "terhubung")
        #expect((seen["case_timeline_steps"] as? Int ?? 0) > 0)
        #expect(seen["recap_print_hides_navigation"] as? Bool == true)
        #expect((seen["recap_pdf_bytes"] as? Int ?? 0) > 1_000)

        let binary = try ProcessTestKit.sambatBinary()
        let config = "\(directory)/config/mayor.yaml"
        let overdue = try await ProcessTestKit.run(binary, ["case", "list", "--overdue", "--config", config])
        let tickets = overdue.output.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init).flatMap { $0.hasPrefix("MJK-") ? $0 : nil }
        }
        #expect(Set(seen["overdue"] as? [String] ?? []) == Set(tickets.prefix(20)))

        // The recap page counts what `sambat recap` counts, section by section.
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Jakarta")
        formatter.dateFormat = "yyyy-MM-dd"
        let today = formatter.string(from: Date())
        let recap = try await ProcessTestKit.run(binary, ["recap", "--date", today, "--config", config])
        var printed: [String: Int] = [:]
        for line in recap.output.split(separator: "\n") where !line.hasPrefix(" ") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let count = Int(parts[1].trimmingCharacters(in: .whitespaces)) {
                printed[String(parts[0])] = count
            }
        }
        let page = seen["recap"] as? [String: Int] ?? [:]
        #expect(!page.isEmpty && page == printed, "page \(page), CLI \(printed)")
        #expect(page["Pengaduan baru"] == caseCount)

        // DPUPR's console lists the cases assigned to it now, as its CLI does, and offers
        // the actions its assignments allow.
        let officeList = try await ProcessTestKit.run(
            binary,
            ["case", "list", "--config", "\(directory)/config/dpupr.yaml"]
        )
        let officeTickets = officeList.output.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init).flatMap { $0.hasPrefix("MJK-") ? $0 : nil }
        }
        #expect(!officeTickets.isEmpty)
        #expect(Set(seen["office_cases"] as? [String] ?? []) == Set(officeTickets))
        // The case the operator dispatched in Chromium reached DPUPR's console.
        let dispatched = try #require(seen["dispatched_case"] as? String, "the operator found nothing to dispatch")
        #expect((seen["operator_done"] as? String)?.contains("didisposisikan") == true)
        #expect((seen["office_cases"] as? [String] ?? []).contains(dispatched))
        #expect((seen["office_sync"] as? String)?.contains("central") == true)
        #expect((seen["office_case_forms"] as? [String] ?? []).contains("catatan"))
    }
}
