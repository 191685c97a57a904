import Logging
import SambatStore
import ServiceLifecycle

/// Keeps a node's projection rows (listings, reports) close behind its op log while batches
/// from peers arrive; owned by the node's service group.
///
/// A peer's batch commits to the op log first and leaves its projection rows for later
/// (``Store/applyRemote(_:from:receivedAt:feedPosition:)``). Reads never see that lag, but
/// the rows on disk would trail the log until the next read or local write: this bounds it,
/// and with it what a restart after a crash must redo. Looking costs no I/O while nothing is
/// pending.
struct ProjectionFollower: Service {
    let store: Store
    let logger: Logger
    /// How often it looks: a fraction of the pause after which the store projects (1 s by
    /// default), so a live change's rows follow it within about that pause.
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                try await store.projectPendingOpsIfDue()
            } catch {
                // The journal stays; the next look, read, write or start projects it.
                logger.error("could not bring the projection up to date", metadata: ["error": "\(error)"])
            }
        }
    }
}
