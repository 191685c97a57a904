import Foundation
import Metrics
public import Prometheus
import SambatCore
import SambatDesk
import SambatStore
import SambatSync
import SambatWeb
import ServiceLifecycle

extension NodeRuntime {
    /// Routes swift-metrics to a Prometheus registry for this process and returns it; call
    /// once per process, before ``run()`` (swift-metrics allows one bootstrap).
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// The probe behind `/readyz` and `/metrics`: the process's counters, and the figures of
    /// the moment read from the store and the running sync service at each scrape.
    static func probe(
        registry: PrometheusCollectorRegistry,
        config: NodeConfig,
        reference: ReferenceData,
        store: Store,
        central: CentralSyncService? = nil,
        node: NodeSyncService? = nil,
        status: StatusWriter
    ) -> NodeProbe {
        let book = CaseBook(store: store, reference: reference)
        return NodeProbe(
            registry: registry,
            readings: {
                let now = Timestamp.now
                var readings = [
                    MetricReading(
                        "sambat_store_bytes",
                        Double(Self.storeBytes(config)),
                        help: "Size of the node's SQLite store and its write-ahead log, in bytes"
                    )
                ]
                for line in try await book.report(at: now).lines {
                    readings.append(
                        MetricReading(
                            "sambat_overdue_cases",
                            Double(line.overdue),
                            labels: [("office", line.office.rawValue)],
                            help: "Open assignments past a deadline now, per office"
                        )
                    )
                }
                if let central {
                    readings += try await Self.peerReadings(store: store, central: central, now: now)
                }
                if let node {
                    let link = node.status
                    readings.append(
                        MetricReading("sambat_link_up", link.linkUp ? 1 : 0, help: "1 while the link to central is up")
                    )
                    readings.append(
                        MetricReading(
                            "sambat_unsent_ops",
                            Double(link.unsent),
                            help: "This node's ops central has not acknowledged yet"
                        )
                    )
                    if let last = status.lastContactAt {
                        readings.append(
                            MetricReading(
                                "sambat_last_sync_age_seconds",
                                Double(max(0, now.millisecondsSinceEpoch - last)) / 1_000,
                                help: "Seconds since the link to central was last seen up"
                            )
                        )
                    }
                }
                return readings
            },
            // A one-row read: a readiness probe every few seconds must not count a million cases.
            ready: { (try? await store.currentOrigin()) != nil }
        )
    }

    /// Central's view of each peer: connected (heard within the link timeout), ops behind both
    /// ways, age of the last contact.
    static func peerReadings(
        store: Store,
        central: CentralSyncService,
        now: Timestamp
    ) async throws
        -> [MetricReading]
    {
        let contacts = central.peerContacts(at: .now)
        let heard = contacts.silence.mapValues {
            Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - $0.milliseconds)
        }
        var readings = [
            MetricReading(
                "sambat_peers_connected",
                Double(contacts.live.count),
                help: "Peers with a session at central, heard from within the link timeout"
            )
        ]
        for health in try await store.syncHealth(heard: heard, connected: contacts.live) {
            let labels = [("node", health.node.rawValue)]
            readings.append(
                MetricReading(
                    "sambat_peer_connected",
                    health.connected ? 1 : 0,
                    labels: labels,
                    help: "1 while the peer has a session at central"
                )
            )
            readings.append(
                MetricReading(
                    "sambat_peer_feed_behind_ops",
                    Double(health.feedBehind),
                    labels: labels,
                    help: "Feed entries central holds for the peer that it has not acknowledged"
                )
            )
            readings.append(
                MetricReading(
                    "sambat_peer_upload_behind_ops",
                    Double(health.uploadBehind),
                    labels: labels,
                    help: "Ops the peer said it wrote that central does not hold, as of its last session"
                )
            )
            if let seen = health.lastSeenAt {
                let age = Double(max(0, now.millisecondsSinceEpoch - seen.millisecondsSinceEpoch))
                readings.append(
                    MetricReading(
                        "sambat_peer_last_seen_age_seconds",
                        age / 1_000,
                        labels: labels,
                        help: "Seconds since central last heard from the peer"
                    )
                )
            }
        }
        return readings
    }

    static func storeBytes(_ config: NodeConfig) -> Int {
        ["", "-wal"].reduce(0) { total, suffix in
            let size = try? FileManager.default.attributesOfItem(atPath: config.storePath + suffix)[.size] as? Int
            return total + (size ?? 0)
        }
    }
}

/// Marks the probe stopping as soon as graceful shutdown begins.
///
/// So `/readyz` and `/metrics` answer 503 while the other services wind down. It is last in
/// the group, so it is told first.
struct ShutdownWatcher: Service {
    let probe: NodeProbe

    func run() async throws {
        try? await gracefulShutdown()
        probe.markStopping()
    }
}
