public import SambatCore
public import SambatDesk
import SambatStore

/// Hands a verified webhook's events to central's intake: each message is stored durably
/// (so the webhook can answer 200), delivery states update our outbound messages.
///
/// Processing happens after, in ``IntakeProcessor``. Safe from any task.
public struct WhatsAppIntake: Sendable {
    /// Central's intake desk.
    public let desk: IntakeDesk

    /// An intake over `desk`.
    public init(desk: IntakeDesk) { self.desk = desk }

    /// What one webhook call stored.
    public struct Accepted: Hashable, Sendable {
        /// Messages stored for processing.
        public var stored = 0
        /// Retried deliveries of messages stored before.
        public var duplicates = 0
        /// Delivery states applied to our messages.
        public var deliveries = 0
    }

    /// Stores every message and applies every delivery state.
    ///
    /// - Throws: ``StoreError`` when storing fails: the webhook must then answer 5xx so Meta
    ///   retries; what was stored before the failure is deduplicated on the retry.
    public func accept(_ events: WhatsAppEvents, at now: Timestamp) async throws -> Accepted {
        var accepted = Accepted()
        for message in events.messages {
            if try await desk.accept(Self.inbound(message), at: now) {
                accepted.stored += 1
            } else {
                accepted.duplicates += 1
            }
        }
        for delivery in events.deliveries
        where try await desk.recordDelivery(
            providerID: delivery.messageID,
            state: Self.state(delivery.state),
            errorCode: delivery.errorCode,
            at: now
        ) {
            accepted.deliveries += 1
        }
        return accepted
    }

    /// The message as intake takes it: media and replies as text, a location as the place.
    static func inbound(_ message: WhatsAppMessage) -> InboundMessage {
        var text = ""
        var location = ""
        var attachment: InboundMedia?
        switch message.content {
        case .text(let body): text = body
        case .media(let media):
            text = media.caption.isEmpty ? "[\(media.kind)]" : media.caption
            attachment = InboundMedia(
                kind: media.kind,
                mediaID: media.mediaID,
                mimeType: media.mimeType,
                sha256: media.sha256 ?? ""
            )
        case .location(let place):
            location = [place.name, place.address, "\(place.latitude),\(place.longitude)"]
                .filter { !$0.isEmpty }.joined(separator: ", ")
            text = "[lokasi] " + location
        case .reply(_, let title): text = title
        case .unsupported: text = ""
        }
        return InboundMessage(
            channel: .whatsapp,
            externalID: message.id,
            sender: message.from,
            text: text,
            location: location,
            profileName: message.profileName ?? "",
            media: attachment
        )
    }

    static func state(_ state: WhatsAppDelivery.State) -> OutboundMessage.State {
        switch state {
        case .sent: .sent
        case .delivered: .delivered
        case .read: .read
        case .failed: .failed
        }
    }
}
