import Metrics
import SambatCore

/// Intake's counters, through swift-metrics.
///
/// A no-op until `sambat run` bootstraps the Prometheus backend, which `/metrics` exposes.
/// Labels name channels only, never a person.
enum IntakeMetrics {
    /// A complaint or reply taken in (a duplicate delivery is not counted).
    static func received(on channel: IntakeChannel) {
        Counter(label: "sambat_intake_messages_total", dimensions: [("channel", "\(channel)")]).increment()
    }

    /// A try to send a reply failed (each failed try counts; the reply may still go later).
    static func sendFailed(on channel: IntakeChannel) {
        Counter(label: "sambat_outbound_failures_total", dimensions: [("channel", "\(channel)")]).increment()
    }
}
