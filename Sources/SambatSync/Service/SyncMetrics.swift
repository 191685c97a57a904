import Metrics

/// The sync layer's counters, through swift-metrics (a no-op until `sambat run` bootstraps
/// the Prometheus backend, which `/metrics` exposes).
enum SyncMetrics {
    /// Counts ops stored for the first time: `source` is `upload` at central, `feed` at a node.
    static func applied(_ count: Int, source: String) {
        guard count > 0 else { return }
        Counter(label: "sambat_ops_applied_total", dimensions: [("source", source)]).increment(by: count)
    }
}
