public import Prometheus
import Synchronization

/// One figure of the moment for `/metrics`, read when Prometheus scrapes.
public struct MetricReading: Sendable {
    /// The metric's name, `sambat_…`.
    public var name: String
    /// What it measures, for the `# HELP` line.
    public var help: String
    /// Its labels; never a person's data (node ids and office codes only).
    public var labels: [(String, String)]
    /// The value.
    public var value: Double

    /// A gauge reading.
    public init(_ name: String, _ value: Double, labels: [(String, String)] = [], help: String) {
        self.name = name
        self.value = value
        self.labels = labels
        self.help = help
    }
}

/// What `/readyz` and `/metrics` read: whether the node is stopping, the counters kept since it
/// started, and the figures of the moment.
///
/// Owned by the node runtime, which makes one per process, hands it to the HTTP server and
/// marks it stopping when graceful shutdown begins. The counters (`sambat_ops_applied_total`,
/// `sambat_intake_messages_total`, `sambat_outbound_failures_total`) reach `registry` through
/// swift-metrics, bootstrapped by `sambat run`; the gauges are read at each scrape, so a
/// revoked node's series disappears with it.
public final class NodeProbe: Sendable {
    /// Where swift-metrics' counters are kept.
    public let registry: PrometheusCollectorRegistry
    private let readings: @Sendable () async throws -> [MetricReading]
    private let ready: @Sendable () async -> Bool
    private let stopping = Mutex(false)

    /// A probe over `registry`.
    /// - Parameters:
    ///   - registry: where the counters are kept.
    ///   - readings: the figures of the moment; a throw answers the scrape with 503.
    ///   - ready: whether the node can serve (its store answers).
    public init(
        registry: PrometheusCollectorRegistry,
        readings: @escaping @Sendable () async throws -> [MetricReading],
        ready: @escaping @Sendable () async -> Bool
    ) {
        self.registry = registry
        self.readings = readings
        self.ready = ready
    }

    /// Graceful shutdown has begun: `/readyz` and `/metrics` answer 503 from now on, so a load
    /// balancer stops sending and a scrape does not read a half-stopped node.
    public func markStopping() { stopping.withLock { $0 = true } }

    /// Whether graceful shutdown has begun.
    public var isStopping: Bool { stopping.withLock { $0 } }

    /// Whether the node serves: not stopping, and its store answers.
    public func isReady() async -> Bool { !isStopping ? await ready() : false }

    /// The Prometheus text exposition: the counters, then the figures of the moment.
    ///
    /// - Throws: whatever reading the figures throws.
    public func exposition() async throws -> [UInt8] {
        var buffer = registry.emitToBuffer()
        let moment = PrometheusCollectorRegistry()
        for reading in try await readings() {
            // The unit is part of each name already (`_bytes`, `_seconds`, `_ops`).
            let descriptor = MetricNameDescriptor(metricName: reading.name, unitName: "", helpText: reading.help)
            moment.makeGauge(descriptor: descriptor, labels: reading.labels).set(reading.value)
        }
        moment.emit(into: &buffer)
        return buffer
    }
}
