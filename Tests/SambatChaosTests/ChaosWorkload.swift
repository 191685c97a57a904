import Foundation
import SambatCore
import SambatStore
import SambatTestKit

/// The steady stream of changes and faults of a chaos run, all through the real CLI and
/// real signals, and the convergence probe.
enum ChaosWorkload {
    /// One demo complaint, as its JSON line plus what the operator decides for it.
    struct Complaint: Sendable {
        let index: Int
        let line: String
        let tier: String
        let topic: String
    }

    /// The demo complaints (`Config/demo/complaints.jsonl`).
    static func complaints() throws -> [Complaint] {
        let file = ProcessTestKit.repositoryRoot.appendingPathComponent("Config/demo/complaints.jsonl")
        var complaints: [Complaint] = []
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let tier = object["tier"] as? String, let topic = object["topic"] as? String
            else { continue }
            complaints.append(Complaint(index: complaints.count, line: String(line), tier: tier, topic: topic))
        }
        return complaints
    }

    /// Registers a complaint at central, verifies it and dispatches it to an office (round
    /// robin over the three offices), each step a CLI command that must succeed whether or
    /// not central's node process is alive.
    static func intakeAndDispatch(_ complaint: Complaint, cluster: ChaosCluster, ledger: ChaosLedger) async throws {
        let file = "\(cluster.directory)/complaint-\(complaint.index).jsonl"
        try (complaint.line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let output = try await cluster.checked("central", ["intake", "--batch", file])
        guard let caseID = output.split(separator: "\n").first?.split(separator: " ").first.map(String.init) else {
            throw ProcessTestKit.Failure("intake printed no case: \(output)")
        }
        let office = ChaosCluster.offices[complaint.index % ChaosCluster.offices.count]
        try await cluster.checked(
            "central",
            ["case", "verify", caseID, "--tier", complaint.tier, "--topic", complaint.topic]
        )
        try await cluster.checked(
            "central",
            ["case", "dispatch", caseID, "--office", office, "--instructions", "Mohon ditindaklanjuti sesuai SOP."]
        )
        await ledger.dispatch(caseID, to: office)
    }

    /// Central's operator: notes on dispatched cases, and every sixth step a new complaint
    /// registered, verified and dispatched.
    static func centralWrites(
        until end: ContinuousClock.Instant,
        complaints: [Complaint],
        cluster: ChaosCluster,
        ledger: ChaosLedger
    ) async throws {
        var pending = complaints[...]
        var step = 0
        while ContinuousClock.now < end {
            step += 1
            if step % 6 == 0, let complaint = pending.popFirst() {
                try await intakeAndDispatch(complaint, cluster: cluster, ledger: ledger)
                continue
            }
            let cases = await ledger.dispatched.values.flatMap { $0 }
            if let caseID = cases.randomElement() {
                let token = await ledger.token("central")
                try await write(
                    "central",
                    caseID,
                    ["case", "note", caseID, "--text", "Operator memantau tindak lanjut (\(token))."],
                    token: token,
                    cluster: cluster,
                    ledger: ledger
                )
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...400)))
        }
    }

    /// An office's liaison officer: mostly notes, sometimes acknowledging or starting a case,
    /// on the cases dispatched to the office; through the CLI, online or not.
    static func officeWrites(
        _ office: String,
        until end: ContinuousClock.Instant,
        cluster: ChaosCluster,
        ledger: ChaosLedger
    ) async throws {
        while ContinuousClock.now < end {
            if let caseID = await ledger.dispatched[office]?.randomElement() {
                switch Int.random(in: 0..<10) {
                case 0:
                    try await write(
                        office,
                        caseID,
                        ["case", "ack", caseID],
                        token: nil,
                        cluster: cluster,
                        ledger: ledger
                    )
                case 1:
                    try await write(
                        office,
                        caseID,
                        ["case", "start", caseID],
                        token: nil,
                        cluster: cluster,
                        ledger: ledger
                    )
                default:
                    let token = await ledger.token(office)
                    try await write(
                        office,
                        caseID,
                        ["case", "note", caseID, "--text", "Petugas sudah mengecek lokasi (\(token))."],
                        token: token,
                        cluster: cluster,
                        ledger: ledger
                    )
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...350)))
        }
    }

    /// Runs one write; a change counts as written only when the command exits 0.
    ///
    /// The refusals this workload provokes (the case has not reached the office yet, or is
    /// already acknowledged or started) are counted; any other failure — a crash, a storage
    /// error — is recorded as a problem.
    private static func write(
        _ node: String,
        _ caseID: String,
        _ arguments: [String],
        token: String?,
        cluster: ChaosCluster,
        ledger: ChaosLedger
    ) async throws {
        let outcome = try await cluster.sambat(node, arguments)
        if outcome.status == 0 {
            await ledger.record(.init(node: node, caseID: caseID, token: token))
        } else if expectedRefusals.contains(where: outcome.errors.contains) {
            await ledger.recordRefusal()
        } else {
            let said = (outcome.errors + outcome.output).split(separator: "\n").first.map(String.init) ?? ""
            let command = arguments.prefix(2).joined(separator: " ")
            await ledger.recordFailure("\(node): sambat \(command) exited \(outcome.status): \(said)")
        }
    }

    /// What the CLI says when it refuses a write this workload may ask for: a case not yet
    /// at the office, and a transition already made.
    static let expectedRefusals = ["tidak ada di node", "tidak diizinkan saat kasus"]

    /// The monkey: every 1.5-4.5 s one random node (central included) is killed with SIGKILL
    /// and restarted 0.2-3 s later.
    static func killAndRestart(
        until end: ContinuousClock.Instant,
        seed: UInt64,
        cluster: ChaosCluster,
        ledger: ChaosLedger
    )
        async throws
    {
        // Which node dies and for how long follows from the seed; when is real time.
        var random = SplitMix64(seed: seed)
        while ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(Int.random(in: 1500...4500, using: &random)))
            guard ContinuousClock.now < end, let node = ChaosCluster.nodes.randomElement(using: &random) else { break }
            if await cluster.kill(node) { await ledger.recordKill(node) }
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...3000, using: &random)))
            try await cluster.start(node)
        }
    }

    /// Whether every node holds central's canonical digest of every case it shares with
    /// central: the mayor all of them, each office those dispatched to it.
    static func converged(cluster: ChaosCluster, dispatched: [String: [String]]) async throws -> Bool {
        let central = try await cluster.digests("central")
        guard !central.isEmpty, try await cluster.digests("mayor") == central else { return false }
        for office in ChaosCluster.offices {
            let digests = try await cluster.digests(office)
            for caseID in dispatched[office] ?? [] where central[caseID] == nil || digests[caseID] != central[caseID] {
                return false
            }
        }
        return true
    }
}

/// The checks after a chaos run, made by opening every store directly.
struct ChaosVerdict {
    var problems: [String] = []
    var cases = 0
    var opsAtCentral = 0
    var filesScanned = 0

    static func open(_ directory: String, _ node: String) throws -> Store {
        let role: NodeRole = node == "central" ? .central : node == "mayor" ? .mayor : .office
        return try Store.open(
            StoreConfiguration(path: "\(directory)/data/\(node)/sambat.sqlite"),
            identity: NodeIdentity(node: try NodeID(node), role: role, central: try NodeID("central"))
        )
    }

    /// Convergence by op hashes, every written change present, no lost op per origin, no
    /// quarantine or integrity alarm, intact SQLite files, and no personal data outside
    /// central's sealed store.
    static func check(directory: String, ledger: ChaosLedger) async throws -> ChaosVerdict {
        var verdict = ChaosVerdict()
        var stores: [String: Store] = [:]
        for node in ChaosCluster.nodes { stores[node] = try open(directory, node) }
        guard let central = stores["central"], let mayor = stores["mayor"] else { return verdict }
        let dispatched = await ledger.dispatched

        // Identical op sets for every shared case.
        var opsByCase: [String: [StoredOp]] = [:]
        for caseID in try await central.caseIDs() {
            let ops = try await central.ops(ofCase: caseID)
            opsByCase[caseID.rawValue] = ops
            verdict.opsAtCentral += ops.count
            let reference = Set(ops.map(\.sealed.hash))
            if Set(try await mayor.ops(ofCase: caseID).map(\.sealed.hash)) != reference {
                verdict.problems.append("the mayor differs from central on \(caseID)")
            }
            for office in ChaosCluster.offices where dispatched[office]?.contains(caseID.rawValue) == true {
                let held = Set(try await stores[office]?.ops(ofCase: caseID).map(\.sealed.hash) ?? [])
                if held != reference { verdict.problems.append("\(office) differs from central on \(caseID)") }
            }
        }
        verdict.cases = opsByCase.count
        let casesAtMayor = try await mayor.caseIDs().count
        if casesAtMayor != verdict.cases {
            verdict.problems.append("the mayor holds \(casesAtMayor) cases, central \(verdict.cases)")
        }
        if verdict.cases != dispatched.values.map(\.count).reduce(0, +) {
            verdict.problems.append(
                "central holds \(verdict.cases) cases, \(dispatched.values.joined().count) were dispatched"
            )
        }

        // Every change a command reported as written is at central (and so, by the hashes
        // above, at the mayor and at its office).
        for failure in await ledger.failures { verdict.problems.append("unexpected failure: \(failure)") }
        for write in await ledger.writes {
            guard let token = write.token else { continue }
            // In brackets, as the note writes it: chaos-dlh-4 must not be found in chaos-dlh-41.
            let needle = Array("(\(token))".utf8)
            let present = opsByCase[write.caseID]?.contains { $0.sealed.bytes.contains(needle) } ?? false
            if !present { verdict.problems.append("\(write.node)'s change \(token) on \(write.caseID) is missing") }
        }

        // No lost op: every op of every incarnation of each office is at central; every op
        // of central's is at the mayor.
        for office in ChaosCluster.offices {
            guard let store = stores[office] else { continue }
            var origins = [try await store.currentOrigin()]
            origins += try await store.earlierOwnOrigins().map(\.origin)
            for origin in origins {
                let own = Set(try await store.ops(of: origin, after: 0, limit: 1_000_000).map(\.sealed.hash))
                let atCentral = Set(try await central.ops(of: origin, after: 0, limit: 1_000_000).map(\.sealed.hash))
                if !own.isSubset(of: atCentral) {
                    verdict.problems.append("\(own.subtracting(atCentral).count) of \(origin)'s ops are not at central")
                }
            }
        }
        let centralOrigin = try await central.currentOrigin()
        let centralOwn = Set(try await central.ops(of: centralOrigin, after: 0, limit: 1_000_000).map(\.sealed.hash))
        let atMayor = Set(try await mayor.ops(of: centralOrigin, after: 0, limit: 1_000_000).map(\.sealed.hash))
        if centralOwn != atMayor { verdict.problems.append("the mayor lacks some of central's own ops") }

        for node in ChaosCluster.nodes {
            guard let store = stores[node] else { continue }
            let integrity = try await store.integrityCheck()
            if integrity != ["ok"] { verdict.problems.append("\(node)'s database: \(integrity.prefix(3))") }
            let alarms = try await store.integrityAlarmCount()
            if alarms != 0 { verdict.problems.append("\(node) recorded \(alarms) integrity alarms") }
        }
        let quarantined = try await central.quarantine()
        if !quarantined.isEmpty {
            verdict.problems.append(
                "central quarantined \(quarantined.count) ops: \(quarantined.prefix(3).map(\.reason))"
            )
        }

        // No reporter's name, NIK or phone number in any office or mayor file, in central's
        // database (identities are sealed there), or in any log line.
        let scan = ProcessTestKit.scan(directory, for: try ProcessTestKit.demoReporterSecrets()) { relative in
            relative.hasPrefix("logs/") || (relative.hasPrefix("data/") && !relative.hasSuffix(".key"))
        }
        verdict.filesScanned = scan.scanned
        if scan.scanned < 15 { verdict.problems.append("only \(scan.scanned) files were scanned for personal data") }
        for leak in scan.leaks { verdict.problems.append("\(leak) holds a reporter's personal data") }
        return verdict
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs as a contiguous run.
    fileprivate func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { start in
            self[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}
