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
        await run(every: interval, logger: logger, failure: message) { () async throws -> Bool in
            try await round()
            return false
        }
    }

    /// The same loop, for a round that may leave work waiting (it took up a full batch): it
    /// returns `true` then, and the next round starts at once instead of after `interval`.
    static func run(
        every interval: Duration,
        logger: Logger,
        failure message: Logger.Message,
        _ round: () async throws -> Bool
    ) async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var moreWaiting = false
            do {
                moreWaiting = try await round()
            } catch {
                logger.error(message, metadata: ["error": "\(describe(error))"])
            }
            if !moreWaiting { try? await Task.sleep(for: interval) }
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
