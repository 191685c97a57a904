import ArgumentParser
import Foundation
import Logging
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Synchronization

/// `sambat bench sync`: an office's backlog through central to the mayor, over CURVE on loopback.
struct SyncBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Ukur kecepatan sinkronisasi (office → central → mayor over CURVE on loopback).",
        discussion: """
            An office with a backlog of status ops over many cases syncs to central (tcp on
            127.0.0.1, CURVE on); then the mayor catches up from nothing; then live status
            changes are timed from the office's store to the mayor's. In the same run: raw ZeroMQ
            messages of the same size over the same kind of link, and plain SQLite inserts.
            By default the three nodes' sync services run in this process (with a 5 ms poll);
            --processes runs each as a `sambat run` process with its own configuration, as
            deployed: the office node learns of the benchmark's writes as of the office CLI's,
            from the kernel's file notifications, and the live changes start once every node
            has projected the catch-up. Build with `swift build -c release` for meaningful
            figures.
            """
    )

    @Option(help: "Status ops in the office's backlog.") var ops = 100_000
    @Option(help: "Cases they are spread over.") var cases = 10_000
    @Option(help: "Live status changes to time.") var samples = 200
    @Flag(help: "Send every batch's ops plain, as a node from before packed ops does.") var plainOps = false
    @Flag(help: "Run central, the office and the mayor as separate `sambat run` processes, as deployed.")
    var processes = false
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Flag(help: "Report each stage on standard error, and log the sync layer's warnings.") var verbose = false

    func validate() throws {
        guard !(processes && plainOps) else {
            throw ValidationError("--plain-ops applies to the run in one process; nodes started by --processes pack")
        }
        guard ops >= cases, cases > 0, samples > 0 else {
            throw ValidationError("--ops must be at least --cases, and both and --samples positive")
        }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sambat-bench-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var logger = Logger(label: "bench")
        logger.logLevel = verbose ? .info : .error
        let verbose = self.verbose
        func stage(_ text: String) {
            if verbose { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }
        }
        if processes {
            try await runAsProcesses(in: folder, stage: stage)
            return
        }
        let centralID = try NodeID("central")
        let officeID = try NodeID("dpupr")
        let mayorID = try NodeID("mayor")
        func open(_ node: NodeID, _ role: NodeRole) throws -> Store {
            try Self.open(node, role, at: "\(folder)/\(node).sqlite", cases: cases)
        }
        let centralKeys = try CurveKeyPair.generate()
        let officeKeys = try CurveKeyPair.generate()
        let mayorKeys = try CurveKeyPair.generate()
        let central = try open(centralID, .central)
        let office = try open(officeID, .office)
        let (caseIDs, officer) = try await prepare(central: central, office: office, officeKey: officeKeys.publicKey)

        var settings = SyncSettings()
        settings.pollInterval = .milliseconds(5)
        settings.packsOps = !plainOps
        let bound = Mutex<String?>(nil)
        let hub = CentralSyncService(
            store: central,
            configuration: .init(bindEndpoint: "tcp://127.0.0.1:*", keyPair: centralKeys, settings: settings),
            logger: logger
        )
        // The benchmark drives the services the way a node does, but must stop and restart
        // the office's link between measurements, so it holds their tasks itself; each is
        // cancelled and awaited before the figures are printed.
        let hubTask = Task { try await hub.run { address in bound.withLock { $0 = address } } }
        var endpoint: String?
        while endpoint == nil {
            try await Task.sleep(for: .milliseconds(5))
            endpoint = bound.withLock { $0 }
        }
        guard let endpoint else { return }
        func node(_ store: Store, _ keys: CurveKeyPair) -> (Task<Void, any Error>, NodeSyncService) {
            let service = NodeSyncService(
                store: store,
                configuration: .init(
                    centralEndpoint: endpoint,
                    centralPublicKey: centralKeys.publicKey,
                    keyPair: keys,
                    settings: settings
                ),
                logger: logger
            )
            return (Task { try await service.run() }, service)
        }

        stage("setup done: \(ops) ops in the office's backlog")
        // 1. The backlog, end to end: durably applied at central and acknowledged to the office.
        let clock = ContinuousClock()
        let officeOrigin = try await office.currentOrigin()
        var start = clock.now
        var (officeTask, officeLink) = node(office, officeKeys)
        while try await central.frontier(of: officeOrigin) < UInt64(ops) || officeLink.status.unsent > 0 {
            try await Task.sleep(for: .milliseconds(2))
            if verbose, Int.random(in: 0..<500) == 0 {
                stage(
                    "central frontier \(try await central.frontier(of: officeOrigin)), unsent \(officeLink.status.unsent)"
                )
            }
        }
        stage("backlog synced")
        let endToEnd = Double(ops) / (clock.now - start).seconds
        let uploadBytes = officeLink.status.bytesSent

        // 2. The mayor enrolled now catches up on every op central holds.
        let mayor = try open(mayorID, .mayor)
        try await central.enrolPeer(mayorID, role: .mayor, publicKey: mayorKeys.publicKey, at: .now)
        let mayorFeed = try await central.feedHead(for: mayorID)
        // Central admits newly enrolled keys within a second.
        try await Task.sleep(for: .milliseconds(1_200))
        start = clock.now
        let (mayorTask, _) = node(mayor, mayorKeys)
        while try await mayor.checkpoint(for: centralID) < mayorFeed {
            try await Task.sleep(for: .milliseconds(2))
        }
        let catchUpSeconds = (clock.now - start).seconds
        stage("mayor caught up on \(mayorFeed) ops")

        // 3. Live: a status change at the office until it is in the mayor's store.
        let latencies = try await liveLatencies(office: office, mayor: mayor, caseIDs: caseIDs, officer: officer)
        stage("live samples done")

        // 4. A reconnect with nothing missing: everything the office's link says and hears.
        officeTask.cancel()
        _ = await officeTask.result
        try await Task.sleep(for: .milliseconds(200))
        (officeTask, officeLink) = node(office, officeKeys)
        while !officeLink.status.linkUp { try await Task.sleep(for: .milliseconds(2)) }
        try await Task.sleep(for: .milliseconds(300))
        let reconnectBytes = officeLink.status.bytesSent + officeLink.status.bytesReceived
        for task in [officeTask, mayorTask, hubTask] {
            task.cancel()
            _ = await task.result
        }

        try await report(
            Measured(
                endToEnd: endToEnd,
                uploadBytes: uploadBytes,
                catchUpSeconds: catchUpSeconds,
                mayorFeed: mayorFeed,
                latencies: latencies,
                reconnectBytes: reconnectBytes
            ),
            central: central
        )
    }

    /// Notes appended one at a time to the office's store, each timed until the mayor's store
    /// holds it, in milliseconds.
    func liveLatencies(office: Store, mayor: Store, caseIDs: [CaseID], officer: ActorID) async throws -> [Double] {
        let clock = ContinuousClock()
        let officeOrigin = try await office.currentOrigin()
        var latencies: [Double] = []
        for index in 0..<samples {
            let caseID = caseIDs[index % caseIDs.count]
            let sent = clock.now
            let authored = try await office.append(
                .noted(.init(text: "Pantau \(index)", visibility: .internal)),
                to: caseID,
                actor: officer,
                at: .now
            )
            while try await mayor.frontier(of: officeOrigin) < authored.sealed.op.id.seq {
                try await Task.sleep(for: .microseconds(500))
            }
            latencies.append((clock.now - sent).seconds * 1_000)
            try await Task.sleep(for: .milliseconds(5))
        }
        return latencies
    }

    /// What one run measured, before the yardsticks.
    struct Measured {
        /// Backlog ops per second, office to central, durably applied.
        let endToEnd: Double
        /// Every byte of sync frames the office sent during the backlog.
        let uploadBytes: Int
        /// The mayor's catch-up on `mayorFeed` entries.
        let catchUpSeconds: Double
        let mayorFeed: UInt64
        /// Live changes, office store to mayor store, in milliseconds.
        let latencies: [Double]
        /// Everything the office's link said and heard on a reconnect with nothing missing.
        let reconnectBytes: Int
    }

    /// Measures the yardsticks (raw ZeroMQ messages of the upload batches' size, plain inserts
    /// into central's store) and prints every figure.
    func report(_ measured: Measured, central: Store) async throws {
        let batchOps = SyncSettings().maximumBatchOps
        let bytesPerOp = Double(measured.uploadBytes) / Double(ops)
        let batchBytes = max(1, measured.uploadBytes / max(1, (ops + batchOps - 1) / batchOps))
        let rawPerSecond = try await Self.rawMessagesPerSecond(size: batchBytes, count: 2_000)
        let plain = try await central.measurePlainInsert(
            rows: ops,
            bytesPerRow: max(1, Int(bytesPerOp)),
            batchSize: 500
        )
        let plainRate = Double(ops) / plain.seconds
        let latencies = measured.latencies.sorted()
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]

        let figures: [(String, String)] = [
            ("end_to_end_ops_per_s", "\(Int(measured.endToEnd))"),
            ("wire_bytes_per_op", String(format: "%.1f", bytesPerOp)),
            ("catch_up_10k_s", String(format: "%.3f", measured.catchUpSeconds * 10_000 / Double(measured.mayorFeed))),
            ("live_p50_ms", String(format: "%.2f", p50)),
            ("live_p99_ms", String(format: "%.2f", p99)),
            ("live_max_ms", String(format: "%.2f", latencies.last ?? 0)),
            ("reconnect_bytes", "\(measured.reconnectBytes)"),
            ("raw_zmq_msgs_per_s", "\(Int(rawPerSecond))"),
            ("raw_zmq_ops_per_s", "\(Int(rawPerSecond * Double(batchOps)))"),
            ("plain_sqlite_rows_per_s", "\(Int(plainRate))"),
            ("ops", "\(ops)"), ("cases", "\(cases)"), ("mayor_ops", "\(measured.mayorFeed)"),
            ("packed", plainOps ? "false" : "true"), ("processes", processes ? "true" : "false"),
        ]
        if json {
            print("{" + figures.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            for (name, value) in figures {
                print("\(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(value)")
            }
        }
    }

    static func open(_ node: NodeID, _ role: NodeRole, at path: String, cases: Int) throws -> Store {
        try Store.open(
            StoreConfiguration(path: path, caseCacheCapacity: cases + 1_000),
            identity: NodeIdentity(node: node, role: role, central: try NodeID("central"))
        )
    }

    /// The set-up, not measured: the office enrolled at central, the cases dispatched at
    /// central and already at the office, and the office's backlog authored in its own store.
    /// - Returns: the cases the backlog is spread over, and the officer who authored it.
    func prepare(central: Store, office: Store, officeKey: String) async throws -> ([CaseID], ActorID) {
        let centralID = try NodeID("central")
        let officeID = try NodeID("dpupr")
        try await central.enrolPeer(officeID, role: .office, publicKey: officeKey, at: .now)
        let workload = try BenchWorkload(cases: cases, ops: ops, office: officeID)
        for chunk in workload.setup.chunked(into: 500) {
            _ = try await central.applyRemote(
                chunk.map { RemoteOp($0) },
                from: .feed(from: centralID),
                receivedAt: .now
            )
            _ = try await office.applyRemote(chunk.map { RemoteOp($0) }, from: .feed(from: centralID), receivedAt: .now)
        }
        let caseIDs = stride(from: 0, to: workload.setup.count, by: 3).map { workload.setup[$0].op.caseID }
        let perCase = ops / cases
        var edits: [LocalEdit] = []
        edits.reserveCapacity(ops)
        for step in 0..<perCase {
            let body = BenchWorkload.statusBody(step: step, of: perCase)
            for caseID in caseIDs { edits.append(LocalEdit(body, to: caseID)) }
        }
        let officer = try ActorID("dpupr.budi")
        for chunk in edits.chunked(into: 2_000) {
            _ = try await office.append(Array(chunk), actor: officer, at: .now)
        }
        // The office's feed at central already holds the setup; let it be acknowledged up front.
        // The position must carry central's feed epoch (its incarnation), as one saved from a
        // real feed batch does, or central would replay the whole setup inside the measurement.
        let setupHead = try await central.feedHead(for: officeID)
        let feedEpoch = UInt64(try await central.currentOrigin().incarnation)
        try await office.resetCheckpoint(setupHead, epoch: feedEpoch, for: centralID)
        try await central.saveCheckpoint(setupHead, for: officeID)

        return (caseIDs, officer)
    }

    /// Messages per second from a CURVE DEALER to a CURVE ROUTER on loopback, `size` bytes each.
    static func rawMessagesPerSecond(size: Int, count: Int) async throws -> Double {
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        var serverOptions = ZMQSocket.Options()
        serverOptions.curve = .server(serverKeys)
        var clientOptions = ZMQSocket.Options()
        clientOptions.curve = .client(clientKeys, serverPublicKey: serverKeys.publicKey)
        let payload = [UInt8](repeating: 0x5A, count: size)
        return try await ZMQContext.withContext { context in
            try await ZAPHandler.serving(context: context, authorize: { $0 == clientKeys.publicKey ? "client" : nil }) {
                try await ZMQSocket.withSocket(
                    .router,
                    context: context,
                    bind: "tcp://127.0.0.1:*",
                    options: serverOptions
                ) {
                    router in
                    try await ZMQSocket.withSocket(
                        .dealer,
                        context: context,
                        connect: router.endpoint,
                        options: clientOptions
                    ) { dealer in
                        var inbox = router.messages.makeAsyncIterator()
                        try await dealer.send([[1, 6], []])
                        _ = await inbox.next()
                        let clock = ContinuousClock()
                        let start = clock.now
                        async let sent: Void = {
                            for _ in 0..<count { try await dealer.send([[1, 3], payload]) }
                        }()
                        for _ in 0..<count { _ = await inbox.next() }
                        let elapsed = (clock.now - start).seconds
                        try await sent
                        return Double(count) / elapsed
                    }
                }
            }
        }
    }
}
