public import Logging
public import SambatCore
public import SambatDesk
import SambatStore
public import ServiceLifecycle

/// Central's Service that takes SMS in from Gammu and sends queued SMS replies out.
///
/// Each round: join the inbox's unprocessed parts into messages, store each through intake
/// (a message already stored is a no-op), and only then mark its parts processed in Gammu's
/// database; queue due SMS replies into Gammu's outbox; read back what Gammu reports of sent
/// ones. A round that fails is logged and retried; nothing is marked before it is stored.
public struct SMSPoller: Service {
    private let gateway: GammuGateway
    private let desk: IntakeDesk
    private let interval: Duration
    private let orphanTimeout: Duration
    private let logger: Logger

    /// A poller between `gateway` and `desk`.
    public init(
        gateway: GammuGateway,
        desk: IntakeDesk,
        interval: Duration = .seconds(1),
        orphanTimeout: Duration = .seconds(600),
        logger: Logger
    ) {
        self.gateway = gateway
        self.desk = desk
        self.interval = interval
        self.orphanTimeout = orphanTimeout
        self.logger = logger
    }

    /// Polls until graceful shutdown.
    public func run() async {
        await PollingLoop.run(every: interval, logger: logger, failure: "sms round failed") {
            try await round(at: Timestamp.now)
        }
    }

    /// One round: inbound, outbound, delivery results.
    public func round(at now: Timestamp) async throws {
        let parts = try await gateway.unprocessedParts()
        let assembled = SMSAssembly.assemble(parts, now: now, orphanTimeout: orphanTimeout)
        for message in assembled.messages {
            if message.isIncomplete || message.hadUndecodableText {
                logger.notice(
                    "sms stored with gaps",
                    metadata: [
                        "sms.parts": "\(message.partIDs.count)", "sms.incomplete": "\(message.isIncomplete)",
                        "sms.undecodable": "\(message.hadUndecodableText)",
                    ]
                )
            }
            _ = try await desk.accept(
                InboundMessage(
                    channel: .sms,
                    externalID: message.externalID,
                    sender: message.sender,
                    text: message.text
                ),
                at: now
            )
            try await gateway.markProcessed(message.partIDs)
        }
        for reply in try await desk.dueReplies(on: .sms, at: now) {
            let reference = UInt8(truncatingIfNeeded: reply.id)
            let outboxID = try await gateway.send(reply.body, to: reply.recipient, reference: reference)
            try await desk.markReplySent(reply, providerID: Self.providerID(outboxID), at: now)
        }
        let waiting = try await desk.repliesAwaitingReport(on: .sms)
        let ids = waiting.compactMap { $0.providerID.flatMap(Self.outboxID) }
        let states = try await gateway.deliveryStates(of: ids)
        for (outboxID, state) in states {
            _ = try await desk.recordDelivery(
                providerID: Self.providerID(outboxID),
                state: state == .delivered ? .delivered : state == .failed ? .failed : .sent,
                errorCode: nil,
                at: now
            )
        }
    }

    static func providerID(_ outboxID: Int64) -> String { "gammu-outbox-\(outboxID)" }

    static func outboxID(_ providerID: String) -> Int64? {
        guard providerID.hasPrefix("gammu-outbox-") else { return nil }
        return Int64(providerID.dropFirst("gammu-outbox-".count))
    }
}
