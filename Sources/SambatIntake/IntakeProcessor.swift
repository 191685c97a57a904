public import Logging
public import SambatCore
public import SambatDesk
import SambatStore
public import ServiceLifecycle

/// Central's Service that processes stored inbound messages: threading, ops, replies.
///
/// Webhooks and the SMS poller only store messages (so they answer fast and lose nothing);
/// this takes them up in arrival order, also those left unprocessed by a crash, and queues
/// the notices reporters are owed for what happened to their cases. Polls every `interval`
/// until graceful shutdown, and without a pause while full batches keep coming.
public struct IntakeProcessor: Service {
    private let desk: IntakeDesk
    private let policy: IntakePolicy
    private let interval: Duration
    private let officeNames: [NodeID: String]
    private let logger: Logger

    /// A processor over `desk`; `officeNames` are what reporters are told an office is called.
    public init(
        desk: IntakeDesk,
        policy: IntakePolicy,
        officeNames: [NodeID: String] = [:],
        interval: Duration = .milliseconds(200),
        logger: Logger
    ) {
        self.desk = desk
        self.policy = policy
        self.officeNames = officeNames
        self.interval = interval
        self.logger = logger
    }

    /// Processes until graceful shutdown; a failed round is logged and retried.
    public func run() async {
        await PollingLoop.run(every: interval, logger: logger, failure: "intake processing failed") { () -> Bool in
            let round = try await desk.processPending(policy: policy, at: Timestamp.now)
            if round.processed > 0 {
                logger.debug("intake processed", metadata: ["intake.count": "\(round.processed)"])
            }
            let names = officeNames
            // It polls: a change still waiting for its projection is noticed at a later round.
            _ = try await desk.notifyReporters(
                officeName: { names[$0] ?? $0.rawValue },
                at: Timestamp.now,
                allowingProjectionLag: true
            )
            // A full batch (a flood day) goes on at once: the interval is for an idle intake.
            return round.batchWasFull
        }
    }
}
