import ArgumentParser
import Foundation
import SambatCore
import SambatStore
import SambatSync

/// `sambat bench store`: remote apply throughput of the store against plain SQLite inserts.
struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Ukur kecepatan penyimpanan (remote apply vs. plain SQLite insert).",
        discussion: """
            Central receives an office's backlog of status ops over many cases, in batches, with
            authorization, folding, projections and feeds — each batch one durable transaction —
            then inserts plain rows of the same size through the same connection. Last, a second
            store set up the same way receives only the apply's writes (no decoding or folding in
            the time): the ceiling for these writes. The whole is repeated `--rounds` times, each
            on fresh stores, and each figure is the median of the rounds (every round is
            printed too): one round is a second of work, which a shared machine's noise moves
            by a tenth. Build with `swift build -c release` for meaningful figures.
            """
    )

    @Option(help: "Status ops to apply.") var ops = 100_000
    @Option(help: "Cases they are spread over.") var cases = 10_000
    @Option(help: "Ops per batch (one transaction each; default: the sync batch limit).")
    var batch = SyncSettings().maximumBatchOps
    @Option(help: "Working directory (a temporary one by default); removed afterwards.") var directory: String?
    @Option(help: "Where to apply: central (an office's upload, authorized, feeds kept) or mayor (central's feed).")
    var at: String = "central"
    @Option(help: "Deferred ops that make the store project at once (default: the store's).")
    var projectionBacklog: Int?
    @Option(help: "Milliseconds after which the store projects deferred ops (default: the store's).")
    var projectionDelay: Int?
    @Option(help: "Page size in bytes of the stores it creates (default: the store's).") var pageSize: Int?
    @Option(help: "Rounds, each on fresh stores; each figure is their median.") var rounds = 3
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    /// A store as a node opens it: with a deadline policy, so the apply keeps due times.
    func configuration(path: String) -> StoreConfiguration {
        var configuration = StoreConfiguration(path: path, caseCacheCapacity: cases + 1_000)
        configuration.deadlines = DeadlinePolicy(targets: ServiceTargets(), calendar: WorkingCalendar())
        if let projectionBacklog { configuration.projectionBacklog = projectionBacklog }
        if let projectionDelay { configuration.projectionDelay = .milliseconds(projectionDelay) }
        if let pageSize { configuration.pageSize = pageSize }
        return configuration
    }

    func validate() throws {
        guard at == "central" || at == "mayor" else { throw ValidationError("--at takes central or mayor") }
        guard (projectionBacklog ?? 1) > 0, (projectionDelay ?? 1) > 0 else {
            throw ValidationError("--projection-backlog and --projection-delay must be positive")
        }
        if let pageSize, !StoreConfiguration.isPossiblePageSize(pageSize) {
            throw ValidationError("--page-size takes a power of two from 512 to 65536")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard ops > 0, cases > 0, batch > 0, ops >= cases else {
            throw ValidationError("--ops, --cases and --batch must be positive and --ops at least --cases")
        }
    }

    func run() async throws {
        let folder =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sambat-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let workload = try BenchWorkload(cases: cases, ops: ops, office: try NodeID("dpupr"))
        var measured: [Round] = []
        for round in 1...rounds {
            let roundFolder = folder + "/round-\(round)"
            try FileManager.default.createDirectory(atPath: roundFolder, withIntermediateDirectories: true)
            measured.append(try await measureRound(of: workload, in: roundFolder))
            // Each round's stores start from nothing, as the first one's did.
            try? FileManager.default.removeItem(atPath: roundFolder)
        }
        let applyRate = Round.median(measured.map(\.applyRate))
        let plainRate = Round.median(measured.map(\.plainRate))
        let writesRate = Round.median(measured.map(\.writesRate))
        let cpuPerOp = Round.median(measured.map(\.cpuSecondsPerOp))
        let rowsPerOp = Round.median(measured.map(\.rowsPerOp))
        let averageBytes = workload.averageStatusBytes
        let pageBytes = pageSize ?? StoreConfiguration(path: folder).pageSize
        func list(_ values: [Double]) -> String { "[" + values.map { String(Int($0)) }.joined(separator: ", ") + "]" }
        if json {
            let fields = [
                "\"remote_apply_ops_per_s\": \(Int(applyRate))",
                "\"plain_insert_rows_per_s\": \(Int(plainRate))",
                "\"ratio_to_plain_insert\": \((applyRate / plainRate * 1000).rounded() / 1000)",
                "\"ops\": \(ops)", "\"cases\": \(cases)", "\"batch\": \(batch)",
                "\"page_size\": \(pageBytes)",
                "\"average_op_bytes\": \(averageBytes)",
                "\"apply_cpu_us_per_op\": \((cpuPerOp * 1e7).rounded() / 10)",
                "\"rows_written_per_op\": \((rowsPerOp * 100).rounded() / 100)",
                "\"writes_alone_ops_per_s\": \(Int(writesRate))",
                "\"writes_alone_ratio_to_plain_insert\": \((writesRate / plainRate * 1000).rounded() / 1000)",
                "\"rounds\": \(rounds)",
                "\"remote_apply_rounds\": \(list(measured.map(\.applyRate)))",
                "\"writes_alone_rounds\": \(list(measured.map(\.writesRate)))",
                "\"plain_insert_rounds\": \(list(measured.map(\.plainRate)))",
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            for (index, round) in measured.enumerated() where rounds > 1 {
                print(
                    "round \(index + 1):       remote apply \(Int(round.applyRate)) ops/s, writes alone"
                        + " \(Int(round.writesRate)) ops/s, plain insert \(Int(round.plainRate)) rows/s"
                )
            }
            let median = rounds > 1 ? ", the median of \(rounds) rounds" : ""
            print(
                "remote apply:  \(Int(applyRate)) ops/s  (\(ops) status ops over \(cases) cases, batches of \(batch),"
                    + " \(pageBytes / 1_024) KiB pages\(median))"
            )
            print("plain insert:  \(Int(plainRate)) rows/s (\(averageBytes)-byte rows, same connection and batching)")
            print("ratio:         \(String(format: "%.3f", applyRate / plainRate))")
            print("apply CPU:     \(String(format: "%.1f", cpuPerOp * 1e6)) µs per op (all threads)")
            print("rows written:  \(String(format: "%.2f", rowsPerOp)) per op (SQLite's total_changes)")
            print(
                "writes alone:  \(Int(writesRate)) ops/s, ratio \(String(format: "%.3f", writesRate / plainRate))"
                    + " (the rows and commits the apply wrote, without its Swift work)"
            )
        }
    }

    /// One round's figures.
    struct Round {
        var applyRate: Double
        var plainRate: Double
        var writesRate: Double
        var cpuSecondsPerOp: Double
        var rowsPerOp: Double

        /// The middle value (the mean of the two middle ones for an even count).
        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    /// One round on fresh stores in `folder`: the apply, plain inserts through the same
    /// connection, then the writes alone on a second store.
    private func measureRound(of workload: BenchWorkload, in folder: String) async throws -> Round {
        let central = try NodeID("central")
        let office = try NodeID("dpupr")
        let role: NodeRole = at == "central" ? .central : .mayor
        let node = role == .central ? central : try NodeID("mayor")
        let store = try Store.open(
            configuration(path: folder + "/\(node).sqlite"),
            identity: NodeIdentity(node: node, role: role, central: central)
        )
        let source: RemoteSource = role == .central ? .peer(office, .office) : .feed(from: central)

        // Setup: central's own intake, verification and dispatch of every case (not measured).
        for chunk in workload.setup.chunked(into: batch) {
            _ = try await store.applyRemote(chunk.map { RemoteOp($0) }, from: .feed(from: central), receivedAt: .now)
        }
        try await store.projectPendingOps()

        // The batches as they come off the wire (at the mayor with central's receive times),
        // decoded as a node's sync service decodes them: its socket reader decodes each batch
        // ahead (`DecodedBatches`), on the other core while the writer applies the one before,
        // and the apply lets a batch go on a background queue, as the upload and feed paths
        // do. The first batch is decoded while the writer waits, on every core.
        let stage = DecodedBatches(receiveTimes: role == .central ? .none : .central)
        let receivedAtMs = Timestamp.now.millisecondsSinceEpoch
        let messages = workload.statusBytes.chunked(into: batch).enumerated().map { index, chunk in
            var message = Sambat_Sync_V1_Batch()
            message.batchID = UInt64(index + 1)
            message.ops = chunk.map { Data($0) }
            if role == .mayor { message.receivedAtMs = Array(repeating: receivedAtMs, count: chunk.count) }
            return message
        }
        let rowsBefore = try await store.rowsWrittenSinceOpen()
        let clock = ContinuousClock()
        let cpuStart = ProcessCPUTime.now()
        let start = clock.now
        var applied = 0
        var delivered = 0
        var ahead: Task<Void, Never>?
        for index in messages.indices {
            await ahead?.value
            var decoded = try await stage.take(messages[index]).get()
            if index + 1 < messages.count {
                let next = messages[index + 1]
                ahead = Task { await stage.decodeAhead(next) }
            }
            // At the mayor, each batch also saves its position in central's feed (set-up ops
            // included), as a node does.
            delivered += decoded.count
            let position = role == .central ? nil : UInt64(workload.setup.count + delivered)
            let result = try await store.applyRemote(decoded, from: source, receivedAt: .now, feedPosition: position)
            BackgroundRelease.release(emptying: &decoded)
            applied += result.inserted
        }
        // Until the projection rows of the last batch are written too.
        try await store.projectPendingOps()
        let applySeconds = (clock.now - start).seconds
        let applyCPUSeconds = ProcessCPUTime.now() - cpuStart
        let rowsPerOp = Double(try await store.rowsWrittenSinceOpen() - rowsBefore) / Double(ops)
        guard applied == ops else {
            throw ValidationError("only \(applied) of \(ops) ops were applied; the benchmark workload is wrong")
        }
        let plain = try await store.measurePlainInsert(
            rows: ops,
            bytesPerRow: workload.averageStatusBytes,
            batchSize: batch
        ).seconds
        let writes = try await measureWritesAlone(of: workload, in: folder, node: node, role: role, central: central)
        return Round(
            applyRate: Double(ops) / applySeconds,
            plainRate: Double(ops) / plain,
            writesRate: Double(ops) / writes,
            cpuSecondsPerOp: applyCPUSeconds / Double(ops),
            rowsPerOp: rowsPerOp
        )
    }

    /// The apply's writes with none of its Swift work, on a second store set up like the first.
    ///
    /// See `Store.measureApplyWrites`.
    private func measureWritesAlone(
        of workload: BenchWorkload,
        in folder: String,
        node: NodeID,
        role: NodeRole,
        central: NodeID
    ) async throws -> Double {
        let store = try Store.open(
            configuration(path: folder + "/\(node)-writes-alone.sqlite"),
            identity: NodeIdentity(node: node, role: role, central: central)
        )
        for chunk in workload.setup.chunked(into: batch) {
            _ = try await store.applyRemote(chunk.map { RemoteOp($0) }, from: .feed(from: central), receivedAt: .now)
        }
        try await store.projectPendingOps()
        let batches = try workload.statusBytes.chunked(into: batch).map { chunk in
            try chunk.map { try SealedOp(decoding: $0) }
        }
        let setupPosition = UInt64(workload.setup.count)
        return try await store.measureApplyWrites(of: batches, receivedAt: .now, feedPositionBefore: setupPosition)
            .seconds
    }
}

/// The ops of the store benchmark: setup ops by central, then an office's status ops.
struct BenchWorkload {
    let setup: [SealedOp]
    /// Canonical bytes, as they arrive on the wire: decoding is part of what is measured.
    let statusBytes: [[UInt8]]

    /// The status ops' average size, the size of the plain rows they are compared with.
    var averageStatusBytes: Int { statusBytes.reduce(0) { $0 + $1.count } / statusBytes.count }

    init(cases: Int, ops: Int, office: NodeID) throws {
        let central = try Origin(node: NodeID("central"), incarnation: 1)
        let officeOrigin = try Origin(node: office, incarnation: 1)
        let operatorID = try ActorID("op.rina")
        let officer = try ActorID("dpupr.budi")
        let base: Int64 = 1_764_000_000_000
        var lamport: UInt64 = 0
        var centralSeq: UInt64 = 0
        var vectors: [VersionVector] = []
        var setup: [SealedOp] = []
        vectors.reserveCapacity(cases)
        for index in 0..<cases {
            let caseID = try CaseID(
                prefix: "MJK",
                year: 2026,
                month: 11,
                day: 1 + index / 100_000 % 28,
                serial: 1 + index % 100_000
            )
            var vector = VersionVector()
            let bodies: [OpBody] = [
                .opened(
                    .init(channel: .whatsapp, reporterRef: "rpt-\(index)", text: "Lampu jalan mati di gang \(index)")
                ),
                .verified(.init(tier: .normatif)),
                .dispatched(.init(office: office, epoch: 1)),
            ]
            for body in bodies {
                centralSeq += 1
                lamport += 1
                let op = Op(
                    id: try OpID(origin: central, seq: centralSeq),
                    lamport: lamport,
                    caseID: caseID,
                    epoch: 0,
                    context: vector,
                    actor: operatorID,
                    at: Timestamp(millisecondsSinceEpoch: base),
                    body: body
                )
                vector.record(op.id)
                setup.append(try SealedOp(sealing: op))
            }
            vectors.append(vector)
        }
        var status: [[UInt8]] = []
        status.reserveCapacity(ops)
        let perCase = ops / cases
        var officeSeq: UInt64 = 0
        // Round-robin over cases: each batch touches as many cases as it has ops (the hard case).
        for step in 0..<perCase {
            for index in 0..<cases {
                let body = Self.statusBody(step: step, of: perCase)
                officeSeq += 1
                lamport += 1
                let caseID = setup[index * 3].op.caseID
                let op = Op(
                    id: try OpID(origin: officeOrigin, seq: officeSeq),
                    lamport: lamport,
                    caseID: caseID,
                    epoch: 1,
                    context: vectors[index],
                    actor: officer,
                    at: Timestamp(millisecondsSinceEpoch: base),
                    body: body
                )
                vectors[index].record(op.id)
                status.append(try SealedOp(sealing: op).bytes)
            }
        }
        self.setup = setup
        self.statusBytes = status
    }

    /// The office's op at `step` of a case's `steps`: acknowledge, start, notes, resolve.
    static func statusBody(step: Int, of steps: Int) -> OpBody {
        switch step {
        case 0: .acknowledged
        case 1: .started
        case steps - 1: .resolved(.init(summary: "Selesai"))
        default: .noted(.init(text: "Cek \(step)", visibility: .internal))
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// CPU time this process has used, user and system, over all threads.
///
/// Benchmarks report it beside wall-clock rates: on a shared machine it varies far less with
/// other tenants' load, so it is the better figure for comparing two builds.
enum ProcessCPUTime {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
