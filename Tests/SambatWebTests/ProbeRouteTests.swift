import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import SambatWeb
import Synchronization
import Testing

/// `/healthz`, `/readyz` and `/metrics` as a load balancer and Prometheus meet them.
@Suite struct ProbeRouteTests {
    struct Failing: Error {}

    static func application(_ probe: NodeProbe) -> Application<RouterResponder<WebContext>> {
        Application(
            router: WebServer.router(
                configuration: WebConfiguration(port: 0),
                whatsApp: nil,
                probe: probe,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
        )
    }

    @Test func metricsCarryTheCountersAndTheFiguresOfTheMomentUntilShutdownBegins() async throws {
        let registry = PrometheusCollectorRegistry()
        let intake = MetricNameDescriptor(metricName: "sambat_intake_messages", unitName: "total", helpText: "")
        registry.makeCounter(descriptor: intake, labels: [("channel", "whatsapp")]).increment(by: Int64(3))
        let overdue = Mutex(2.0)
        let probe = NodeProbe(
            registry: registry,
            readings: {
                [
                    MetricReading(
                        "sambat_overdue_cases",
                        overdue.withLock { $0 },
                        labels: [("office", "dpupr")],
                        help: "Open assignments past a deadline now, per office"
                    ),
                    MetricReading("sambat_peers_connected", 4, help: "Peers with a session at central"),
                ]
            },
            ready: { true }
        )
        try await Self.application(probe).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ready\n")
            }
            let first = try await client.execute(uri: "/metrics", method: .get)
            #expect(first.status == .ok)
            #expect(first.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: first.body)
            #expect(text.contains("sambat_intake_messages_total{channel=\"whatsapp\"} 3"), "\(text)")
            #expect(text.contains("# HELP sambat_overdue_cases Open assignments past a deadline now, per office"))
            #expect(text.contains("sambat_overdue_cases{office=\"dpupr\"} 2"), "\(text)")
            #expect(text.contains("sambat_peers_connected 4"), "\(text)")

            // Figures are read at each scrape.
            overdue.withLock { $0 = 0 }
            let second = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(second.contains("sambat_overdue_cases{office=\"dpupr\"} 0"), "\(second)")

            // Once graceful shutdown begins, both answer 503 and say why.
            probe.markStopping()
            for path in ["/readyz", "/metrics"] {
                let answer = try await client.execute(uri: path, method: .get)
                #expect(answer.status == .serviceUnavailable)
                #expect(String(buffer: answer.body) == "stopping\n")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func aStoreThatDoesNotAnswerMakesTheNodeNotReadyAndTheScrapeFail() async throws {
        let probe = NodeProbe(
            registry: PrometheusCollectorRegistry(),
            readings: { throw Failing() },
            ready: { false }
        )
        try await Self.application(probe).test(.router) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(String(buffer: ready.body).contains("store"))
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .serviceUnavailable)
        }
    }
}
