import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SambatCore
import SambatDesk
import SambatIntake
import SambatStore
import SambatWeb
import ServiceLifecycle
import Synchronization

/// `sambat bench webhook`: a flood day at central's WhatsApp webhook, from a load generator on
/// loopback.
///
/// A steady stream (100 a second for a minute by default), then a burst (2,000 a second for 10
/// seconds), sent open-loop: each request leaves at its planned time whether or not earlier
/// ones were answered, and its answer time counts from that planned time, so a stalled server
/// cannot hide its backlog. Some deliveries repeat an earlier one (Meta retries) and some carry
/// a forged signature. Central's intake processor runs beside the webhook, as in a real
/// central. At the end every valid message must be stored exactly once and no forged one.
struct WebhookBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Ukur webhook WhatsApp saat banjir pesan (a burst of webhooks on loopback).",
        discussion: """
            Central's webhook (the real routes, store and intake processor, in this process) and
            an HTTP/1.1 load generator with keep-alive connections, on 127.0.0.1. Prints the
            answer times per phase (p50, p99, max, from each request's planned start), the
            answers by status, and whether every valid message was stored exactly once. Exits
            non-zero when a valid message was lost, a row other than one per valid message was stored
            (a forged one, say), or a message was still unprocessed after 10 minutes. Build with
            `swift build -c release` for meaningful figures.
            """
    )

    @Option(help: "Webhooks a second in the steady phase.") var steadyRate = 100
    @Option(help: "Seconds of the steady phase.") var steadySeconds = 60
    @Option(help: "Webhooks a second in the burst.") var burstRate = 2_000
    @Option(help: "Seconds of the burst.") var burstSeconds = 10
    @Option(help: "Distinct reporters' numbers the messages come from.") var senders = 5_000
    @Option(help: "Of every 1,000 webhooks, how many repeat an earlier delivery.") var retriesPerMille = 20
    @Option(help: "Of every 1,000 webhooks, how many carry a forged signature.") var forgedPerMille = 10
    @Option(help: "Most keep-alive connections the load generator opens.") var connections = 128
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard steadyRate > 0, steadySeconds >= 0, burstRate > 0, burstSeconds >= 0, steadySeconds + burstSeconds > 0
        else { throw ValidationError("rates must be positive and the phases last at least a second in all") }
        guard senders > 0, connections > 0, (0...500).contains(retriesPerMille), (0...500).contains(forgedPerMille)
        else { throw ValidationError("--senders and --connections must be positive, the per-mille shares 0–500") }
    }

    /// One planned webhook delivery.
    struct Planned: Sendable {
        enum Kind: Sendable { case new, retry, forged }
        let offset: Duration
        let phase: Int
        let kind: Kind
        let messageID: String
        let body: [UInt8]
        let signature: String
    }

    /// What became of one delivery.
    struct Outcome: Sendable {
        let index: Int
        let status: Int
        let latency: Duration
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sambat-bench-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let centralID = try NodeID("central")
        let store = try Store.open(
            StoreConfiguration(path: "\(folder)/central.sqlite"),
            identity: NodeIdentity(node: centralID, role: .central, central: centralID)
        )
        let identityKey = (0..<32).map { _ in UInt8.random(in: .min ... .max) }
        let desk = try IntakeDesk(store: store, identityKey: identityKey, calendar: WorkingCalendar())
        let appSecret = Array(UUID().uuidString.utf8)
        let router = WebServer.router(
            configuration: WebConfiguration(port: 0),
            whatsApp: (
                WhatsAppWebhookConfiguration(verifyToken: "bench", appSecret: appSecret), WhatsAppIntake(desk: desk)
            ),
            logger: quiet
        )
        let port = Mutex<Int?>(nil)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "sambat"),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: quiet
        )
        let processor = IntakeProcessor(desk: desk, policy: IntakePolicy(), logger: quiet)
        let services = ServiceGroup(
            configuration: .init(services: [.init(service: application), .init(service: processor)], logger: quiet)
        )
        let plan = makePlan(appSecret: appSecret)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            let clock = ContinuousClock()
            let startedAt = clock.now
            var bound: Int?
            while bound == nil {
                guard clock.now - startedAt < .seconds(10) else { throw ValidationError("the webhook did not start") }
                try await Task.sleep(for: .milliseconds(10))
                bound = port.withLock { $0 }
            }
            let url = "http://127.0.0.1:\(bound ?? 0)/webhooks/whatsapp"
            let outcomes = try await send(plan, to: url)

            // Wait (not timed) until the processor has taken up every stored message.
            let drainStart = clock.now
            var tally = try await store.inboundTally(channel: .whatsapp)
            while tally.unprocessed > 0, clock.now - drainStart < .seconds(600) {
                try await Task.sleep(for: .milliseconds(200))
                tally = try await store.inboundTally(channel: .whatsapp)
            }
            let drained = clock.now - drainStart
            await services.triggerGracefulShutdown()
            try await group.waitForAll()

            let report = Report(plan: plan, outcomes: outcomes, storedIDs: tally.ids, unprocessed: tally.unprocessed)
            print(
                json
                    ? report.json(rates: [steadyRate, burstRate], drainSeconds: drained.fractionalSeconds)
                    : report.table(rates: [steadyRate, burstRate], drainSeconds: drained.fractionalSeconds)
            )
            guard report.lost == 0, report.extraRows == 0, report.unexpectedAnswers == 0, report.unprocessed == 0 else {
                throw ExitCode(1)
            }
        }
    }

    /// The deliveries, in order: steady phase then burst, messages from `senders` numbers.
    func makePlan(appSecret: [UInt8]) -> [Planned] {
        let signer = WhatsAppSignature(appSecret: appSecret)
        let forger = WhatsAppSignature(appSecret: Array("not-the-app-secret".utf8))
        var generator = SystemRandomNumberGenerator()
        let texts = [
            "Lampu jalan mati di gang", "Sampah menumpuk di pasar", "Jalan berlubang dekat sekolah",
            "Saluran air tersumbat di RT", "Pohon tumbang di jalan",
        ]
        var plan: [Planned] = []
        var sent: [Int] = []
        let phases = [(rate: steadyRate, seconds: steadySeconds), (rate: burstRate, seconds: burstSeconds)]
        var phaseStart = Duration.zero
        var serial = 0
        for (phase, shape) in phases.enumerated() {
            let count = shape.rate * shape.seconds
            for slot in 0..<count {
                let offset = phaseStart + .seconds(Double(slot) / Double(shape.rate))
                let draw = Int.random(in: 0..<1_000, using: &generator)
                if draw < retriesPerMille, let earlier = sent.randomElement(using: &generator) {
                    let first = plan[earlier]
                    plan.append(
                        Planned(
                            offset: offset,
                            phase: phase,
                            kind: .retry,
                            messageID: first.messageID,
                            body: first.body,
                            signature: first.signature
                        )
                    )
                    continue
                }
                serial += 1
                let sender = 628_120_000_000 + serial % senders
                let messageID = "wamid.bench.\(serial)"
                let text = "\(texts[serial % texts.count]) \(serial % 97), mohon segera ditangani"
                let body = Array(
                    """
                    {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{\
                    "messaging_product":"whatsapp","contacts":[{"profile":{"name":"Warga"},"wa_id":"\(sender)"}],\
                    "messages":[{"from":"\(sender)","id":"\(messageID)","timestamp":"1764400000","type":"text",\
                    "text":{"body":"\(text)"}}]}}]}]}
                    """.utf8
                )
                let forged = draw >= 1_000 - forgedPerMille
                plan.append(
                    Planned(
                        offset: offset,
                        phase: phase,
                        kind: forged ? .forged : .new,
                        messageID: messageID,
                        body: body,
                        signature: (forged ? forger : signer).header(for: body)
                    )
                )
                if !forged { sent.append(plan.count - 1) }
            }
            phaseStart += .seconds(shape.seconds)
        }
        return plan
    }

    /// Sends the plan open-loop and returns each delivery's status and answer time.
    func send(_ plan: [Planned], to url: String) async throws -> [Outcome] {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: connections
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(200)
        let outcomes = await withTaskGroup(of: Outcome.self, returning: [Outcome].self) { group in
            var next = 0
            while next < plan.count {
                let due = start + plan[next].offset
                if clock.now < due { try? await clock.sleep(until: due, tolerance: .microseconds(200)) }
                // Everything due by now leaves now, however late the loop woke.
                let now = clock.now
                while next < plan.count, start + plan[next].offset <= now {
                    let index = next
                    let planned = plan[index]
                    let plannedAt = start + planned.offset
                    group.addTask {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "X-Hub-Signature-256", value: planned.signature)
                        request.body = .bytes(ByteBuffer(bytes: planned.body))
                        var status = 0
                        do {
                            let response = try await client.execute(request, timeout: .seconds(60))
                            _ = try await response.body.collect(upTo: 1 << 16)
                            status = Int(response.status.code)
                        } catch {
                            status = -1
                        }
                        return Outcome(index: index, status: status, latency: clock.now - plannedAt)
                    }
                    next += 1
                }
            }
            var outcomes: [Outcome] = []
            outcomes.reserveCapacity(plan.count)
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        try await client.shutdown()
        return outcomes
    }

    /// The figures of a run.
    struct Report {
        struct Phase {
            var sent = 0
            var latencies: [Duration] = []
            var statuses: [Int: Int] = [:]
        }

        var phases = [Phase(), Phase()]
        let validMessages: Int
        let retries: Int
        let forged: Int
        let lost: Int
        /// Rows beyond one per valid message (the table's unique key makes a second row of a
        /// message impossible; a forged or unknown message would show here).
        let extraRows: Int
        let forgedStored: Int
        let unexpectedAnswers: Int
        let unprocessed: Int

        init(plan: [Planned], outcomes: [Outcome], storedIDs: [String], unprocessed: Int) {
            var unexpected = 0
            for outcome in outcomes {
                let planned = plan[outcome.index]
                phases[planned.phase].sent += 1
                phases[planned.phase].latencies.append(outcome.latency)
                phases[planned.phase].statuses[outcome.status, default: 0] += 1
                let expected = planned.kind == .forged ? 401 : 200
                if outcome.status != expected { unexpected += 1 }
            }
            for index in phases.indices { phases[index].latencies.sort() }
            let valid = Set(plan.filter { $0.kind != .forged }.map(\.messageID))
            let forgedIDs = Set(plan.filter { $0.kind == .forged }.map(\.messageID))
            let stored = Set(storedIDs)
            validMessages = valid.count
            retries = plan.filter { $0.kind == .retry }.count
            forged = forgedIDs.count
            lost = valid.subtracting(stored).count
            extraRows = storedIDs.count - valid.intersection(stored).count
            forgedStored = forgedIDs.intersection(stored).count
            unexpectedAnswers = unexpected
            self.unprocessed = unprocessed
        }

        static func percentile(_ sorted: [Duration], _ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
            return sorted[max(0, index)].fractionalMilliseconds
        }

        func table(rates: [Int], drainSeconds: Double) -> String {
            var lines = ["phase     rate/s    sent   p50 ms   p99 ms   max ms   answers"]
            for (index, phase) in phases.enumerated() where phase.sent > 0 {
                let answers = phase.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                    .joined(separator: ", ")
                lines.append(
                    [
                        (index == 0 ? "steady" : "burst").padding(toLength: 8, withPad: " ", startingAt: 0),
                        String(rates[index]).leftPadded(8), String(phase.sent).leftPadded(7),
                        Self.format(Self.percentile(phase.latencies, 0.5)).leftPadded(8),
                        Self.format(Self.percentile(phase.latencies, 0.99)).leftPadded(8),
                        Self.format(phase.latencies.last?.fractionalMilliseconds ?? 0).leftPadded(8), "  " + answers,
                    ].joined(separator: " ")
                )
            }
            lines.append(
                "valid messages \(validMessages) (plus \(retries) repeated deliveries), forged \(forged): "
                    + "lost \(lost), rows beyond one per valid message \(extraRows), forged stored \(forgedStored), "
                    + "unexpected answers \(unexpectedAnswers)"
            )
            lines.append(
                "intake processor: every stored message processed \(Self.format(drainSeconds * 1_000)) ms "
                    + "after the last answer (\(unprocessed) left)"
            )
            return lines.joined(separator: "\n")
        }

        func json(rates: [Int], drainSeconds: Double) -> String {
            var object: [String: Any] = [
                "valid_messages": validMessages, "repeated_deliveries": retries, "forged": forged, "lost": lost,
                "extra_rows": extraRows, "forged_stored": forgedStored, "unexpected_answers": unexpectedAnswers,
                "processor_drain_ms": (drainSeconds * 1_000).rounded(), "unprocessed": unprocessed,
            ]
            for (index, phase) in phases.enumerated() {
                let name = index == 0 ? "steady" : "burst"
                object[name] = [
                    "rate_per_s": rates[index], "sent": phase.sent,
                    "p50_ms": Self.percentile(phase.latencies, 0.5), "p99_ms": Self.percentile(phase.latencies, 0.99),
                    "max_ms": phase.latencies.last?.fractionalMilliseconds ?? 0,
                    "answers": Dictionary(uniqueKeysWithValues: phase.statuses.map { ("\($0.key)", $0.value) }),
                ]
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }

        static func format(_ milliseconds: Double) -> String { String(format: "%.1f", milliseconds) }
    }
}

extension Duration {
    /// Milliseconds as a fraction.
    fileprivate var fractionalMilliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }

    /// Seconds as a fraction.
    fileprivate var fractionalSeconds: Double { fractionalMilliseconds / 1_000 }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
