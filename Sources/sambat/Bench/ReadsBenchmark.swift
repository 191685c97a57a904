import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore
import SambatWeb

/// `sambat bench reads`: the mayor's reads on a year of a city, through the projection.
struct ReadsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reads",
        abstract: "Ukur kecepatan baca node mayor (daftar, detail, laporan, rekap) pada data setahun.",
        discussion: """
            Builds (or reuses, with --directory) a mayor's store holding a year of history: by
            default 1,000,000 cases and 10,000,000 ops from central and 60 offices, applied as
            central's feed. Most cases are closed; the last weeks' are still open, many past a
            deadline. Then times, each several times over: the first page of `case list
            --overdue`, an office's first overdue page, a case's detail (the one read that
            folds), `report` and `recap` of the last day. Build with `swift build -c release`.
            """
    )

    @Option(help: "Cases in the store.") var cases = 1_000_000
    @Option(help: "Ops per case (at least 6).") var opsPerCase = 10
    @Option(help: "Offices the cases are dispatched to.") var offices = 60
    @Option(help: "Ops per applied batch.") var batch = 2_000
    @Option(help: "Times each read is repeated.") var repeats = 7
    @Option(help: "Keep the store here and reuse it on the next run (a temporary one by default).")
    var directory: String?
    @Option(
        name: .customLong("config"),
        help: """
            Read the store of the mayor this configuration is for, with its reference data, as it \
            is (as `make scale` leaves it) instead of building one. The node must be stopped.
            """
    )
    var configPath: String?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard cases > 0, opsPerCase >= 6, offices > 0, batch > 0, repeats > 0 else {
            throw ValidationError(
                "--cases, --offices, --batch and --repeats must be positive, --ops-per-case at least 6"
            )
        }
    }

    func run() async throws {
        let folder =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sambat-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: folder) } }
        // A node's store is read with the node's own reference data: another deadline policy
        // would have the store recompute every due time when it opens.
        var node: NodeConfig?
        if let configPath { node = try await NodeConfigLoader.load(path: configPath) }
        let reference =
            try node.map { try ReferenceData.load($0.reference) }
            ?? ReferenceData(
                offices: try (0..<offices).map { Office(code: try Self.office($0), name: "OPD \($0)") },
                calendar: WorkingCalendar(),
                targets: ServiceTargets(),
                routing: RoutingRules(rules: [])
            )
        let central = try NodeID("central")
        var configuration = StoreConfiguration(
            path: node?.storePath ?? folder + "/mayor.sqlite",
            caseCacheCapacity: 1_000
        )
        configuration.deadlines = reference.deadlinePolicy
        let store = try Store.open(
            configuration,
            identity: NodeIdentity(node: try NodeID("mayor"), role: .mayor, central: central)
        )
        let history = try YearOfCases(cases: cases, opsPerCase: opsPerCase, offices: offices)
        let held = try await store.caseIDs().count
        let clock = ContinuousClock()
        var buildSeconds: Double?
        if held != cases {
            if let node {
                throw ValidationError(
                    "\(node.storePath) holds \(held) cases, not \(cases): pass the --cases it was built with"
                )
            }
            guard held == 0 else {
                throw ValidationError("\(folder) holds \(held) cases, not \(cases): use an empty directory")
            }
            let start = clock.now
            try await history.apply(to: store, batch: batch) { applied in
                if applied % 1_000_000 < batch { FileHandle.standardError.write(Data("  \(applied) ops\n".utf8)) }
            }
            buildSeconds = (clock.now - start).seconds
        }
        let book = CaseBook(store: store, reference: reference)
        let now = history.end
        // The last whole day of the year.
        let lastDay = reference.calendar.localDate(
            of: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 86_400_000)
        )
        let sample = history.caseID(cases / 2)
        let slowOffice = try Self.office(offices - 1)
        func time(_ body: () async throws -> Void) async throws -> (median: Double, worst: Double) {
            var samples: [Double] = []
            for _ in 0..<repeats {
                let start = clock.now
                try await body()
                samples.append((clock.now - start).seconds * 1_000)
            }
            samples.sort()
            return (samples[samples.count / 2], samples[samples.count - 1])
        }
        var overdueCount = 0
        let list = try await time {
            overdueCount = try await book.list(CaseListFilter(overdueOnly: true), at: now, limit: 50).count
        }
        let officeList = try await time {
            _ = try await book.list(CaseListFilter(office: slowOffice, overdueOnly: true), at: now, limit: 50)
        }
        let detail = try await time { _ = try await book.detail(sample) }
        var lines = 0
        let report = try await time { lines = try await book.report(at: now).lines.count }
        var recapped = 0
        let recap = try await time { recapped = try await book.recap(of: lastDay).newCases.count }
        // The mayor's dashboard's first page, rendered as `GET /` renders it.
        var accounts = StaffAccounts(store: store)
        accounts.hashCost = 4
        let dashboard = WebConsoleConfiguration(
            book: book,
            accounts: accounts,
            node: try NodeID("mayor"),
            now: { now }
        )
        var pageBytes = 0
        let firstPage = try await time { pageBytes = try await WebServer.dashboardFirstPage(dashboard).count }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: configuration.path)[.size] as? Int) ?? 0

        let figures: [(String, String)] = [
            ("case_list_overdue_first_page_ms", Self.format(list)),
            ("office_list_overdue_first_page_ms", Self.format(officeList)),
            ("case_detail_ms", Self.format(detail)),
            ("report_ms", Self.format(report)),
            ("recap_ms", Self.format(recap)),
            ("dashboard_first_page_ms", Self.format(firstPage)),
            ("cases", "\(cases)"), ("ops", "\(cases * opsPerCase)"), ("offices", "\(offices)"),
            ("overdue_page_rows", "\(overdueCount)"), ("report_lines", "\(lines)"),
            ("recap_new_cases", "\(recapped)"), ("dashboard_page_kib", "\(pageBytes >> 10)"),
            ("store_mib", "\(bytes >> 20)"),
            ("build_s", buildSeconds.map { String(format: "%.0f", $0) } ?? "reused"),
        ]
        if json {
            print("{" + figures.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}")
        } else {
            for (name, value) in figures {
                print("\(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(value)")
            }
        }
    }

    static func format(_ figure: (median: Double, worst: Double)) -> String {
        String(format: "%.1f (worst %.1f)", figure.median, figure.worst)
    }

    static func office(_ index: Int) throws -> NodeID { try NodeID("opd\(index)") }
}

/// A year of a city's complaints, generated case by case as central's feed delivers them.
///
/// Case `i` arrives at an even step through the year. It is verified within the hour, sent to
/// office `i mod offices`, acknowledged, started, noted, resolved after a few working days
/// (later the higher the office's number) and closed. Half of the last five weeks' cases stop
/// before their follow-up, so many are past a deadline at the end.
struct YearOfCases {
    let cases: Int
    let opsPerCase: Int
    let offices: [NodeID]
    let start = Timestamp(millisecondsSinceEpoch: 1_764_547_200_000)  // 1 December 2025, 07:00 WIB
    var end: Timestamp { Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Self.year) }
    static let year: Int64 = 365 * 86_400_000
    static let hour: Int64 = 3_600_000

    init(cases: Int, opsPerCase: Int, offices: Int) throws {
        self.cases = cases
        self.opsPerCase = opsPerCase
        self.offices = try (0..<offices).map(ReadsBenchmark.office)
    }

    func arrival(_ index: Int) -> Int64 {
        start.millisecondsSinceEpoch + Self.year * Int64(index) / Int64(cases)
    }

    func caseID(_ index: Int) -> CaseID {
        let day = WorkingCalendar().localDate(of: Timestamp(millisecondsSinceEpoch: arrival(index)))
        let perDay = max(1, cases / 365 + 1)
        guard
            let id = try? CaseID(
                prefix: "MJK",
                year: day.year,
                month: day.month,
                day: day.day,
                serial: 1 + index % perDay
            )
        else { preconditionFailure("a generated case id is valid") }
        return id
    }

    /// Applies the whole history to `store` (a mayor's) in feed batches of `batch` ops.
    func apply(to store: Store, batch: Int, progress: (Int) -> Void) async throws {
        var position: UInt64 = 0
        try await generate(batch: batch) { pending, _ in
            position += UInt64(pending.count)
            _ = try await store.applyRemote(
                pending,
                from: .feed(from: try NodeID("central")),
                receivedAt: .now,
                feedPosition: position
            )
            progress(Int(position))
        }
    }

    /// The whole history in order, `batch` ops at a time (whole cases), each op with the index
    /// of the office its case is dispatched to.
    func generate(batch: Int, emit: ([RemoteOp], [Int]) async throws -> Void) async throws {
        let central = try Origin(node: NodeID("central"), incarnation: 1)
        let officeOrigins = try offices.map { try Origin(node: $0, incarnation: 1) }
        let staff = try ActorID("op.rina")
        let officers = try offices.map { try ActorID("\($0.rawValue).petugas") }
        var centralSeq: UInt64 = 0
        var officeSeqs = [UInt64](repeating: 0, count: offices.count)
        var lamport: UInt64 = 0
        var pending: [RemoteOp] = []
        pending.reserveCapacity(batch + opsPerCase)
        var officeOfOp: [Int] = []
        officeOfOp.reserveCapacity(batch + opsPerCase)
        let openFrom = cases - cases * 35 / 365
        for index in 0..<cases {
            let caseID = caseID(index)
            let officeIndex = index % offices.count
            let office = offices[officeIndex]
            let arrived = arrival(index)
            var vector = VersionVector()
            func add(_ body: OpBody, byOffice: Bool, at offset: Int64) throws {
                lamport += 1
                let id: OpID
                if byOffice {
                    officeSeqs[officeIndex] += 1
                    id = try OpID(origin: officeOrigins[officeIndex], seq: officeSeqs[officeIndex])
                } else {
                    centralSeq += 1
                    id = try OpID(origin: central, seq: centralSeq)
                }
                let time = Timestamp(millisecondsSinceEpoch: arrived + offset)
                let op = Op(
                    id: id,
                    lamport: lamport,
                    caseID: caseID,
                    epoch: byOffice ? 1 : 0,
                    context: vector,
                    actor: byOffice ? officers[officeIndex] : staff,
                    at: time,
                    body: body
                )
                vector.record(op.id)
                pending.append(RemoteOp(try SealedOp(sealing: op), centralReceivedAt: time))
                officeOfOp.append(officeIndex)
            }
            try add(
                .opened(
                    .init(channel: .whatsapp, reporterRef: "rpt-\(index)", text: "Lampu jalan mati, gang \(index)")
                ),
                byOffice: false,
                at: 0
            )
            try add(.verified(.init(tier: .normatif, topic: "lampu jalan")), byOffice: false, at: Self.hour / 3)
            try add(.dispatched(.init(office: office, epoch: 1)), byOffice: false, at: Self.hour)
            try add(.acknowledged, byOffice: true, at: 3 * Self.hour)
            try add(.started, byOffice: true, at: 20 * Self.hour)
            // Half of the last weeks' cases are still open.
            let open = index >= openFrom && index % 2 == 0
            let notes = opsPerCase - (open ? 5 : 7)
            for note in 0..<notes {
                try add(
                    .noted(.init(text: "Pantau \(note)", visibility: .internal)),
                    byOffice: true,
                    at: 24 * Self.hour
                )
            }
            if !open {
                // Slower offices take longer: from one to about ten days.
                let resolved = (24 + Int64(officeIndex % 10) * 24 + Int64(index % 7) * 4) * Self.hour
                try add(.resolved(.init(summary: "Sudah diperbaiki")), byOffice: true, at: resolved)
                try add(.closed(.init(reason: .confirmedByReporter)), byOffice: false, at: resolved + 24 * Self.hour)
            }
            if pending.count >= batch || index == cases - 1 {
                try await emit(pending, officeOfOp)
                pending.removeAll(keepingCapacity: true)
                officeOfOp.removeAll(keepingCapacity: true)
            }
        }
    }
}
