import Logging
import SambatStore
import ServiceLifecycle

/// The loop intake's Services share: a round every `interval` until graceful shutdown; a failed
/// round is logged (without any message content) and the next one tries again.
enum PollingLoop {
    static func run(
        every interval: Duration,
        logger: Logger,
        failure message: Logger.Message,
        _ round: () async throws -> Void
    ) async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await round()
            } catch {
                logger.error(message, metadata: ["error": "\(describe(error))"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// An error for the log: the layers' own errors carry no personal data; anything else is
    /// named by its type only.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as StoreError: error.description
        case let error as GammuError: error.description
        default: "\(type(of: error))"
        }
    }
}
