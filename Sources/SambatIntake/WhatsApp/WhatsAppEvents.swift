import Foundation
public import SambatCore

/// What one WhatsApp Cloud API webhook POST carries: messages from reporters and delivery
/// states of our own messages.
///
/// Parsed only after ``WhatsAppSignature`` accepted the body. Unknown message types are kept
/// as ``WhatsAppMessage/Content/unsupported(type:)`` (so the reporter can be told), never
/// dropped silently; unknown fields are ignored. Pure; safe from any task.
public struct WhatsAppEvents: Hashable, Sendable {
    /// Messages reporters sent, in payload order (Meta may deliver them out of order).
    public var messages: [WhatsAppMessage] = []
    /// Delivery states of messages we sent.
    public var deliveries: [WhatsAppDelivery] = []

    /// The most messages and states one payload may carry; Meta batches far fewer.
    public static let maximumEvents = 1_000

    /// Parses a webhook body.
    ///
    /// - Throws: ``WhatsAppPayloadError`` for a body that is not JSON, not a WhatsApp business
    ///   account payload, or larger than ``maximumBytes`` or ``maximumEvents``.
    public static func parse(
        _ body: [UInt8],
        maximumBytes: Int = 3 << 20
    ) throws(WhatsAppPayloadError)
        -> WhatsAppEvents
    {
        guard body.count <= maximumBytes else { throw WhatsAppPayloadError(.tooLarge) }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
        } catch {
            throw WhatsAppPayloadError(.notJSON)
        }
        guard envelope.object == "whatsapp_business_account" else { throw WhatsAppPayloadError(.notWhatsApp) }
        var events = WhatsAppEvents()
        for change in (envelope.entry ?? []).flatMap({ $0.changes ?? [] }) where change.field == "messages" {
            guard let value = change.value else { continue }
            let names = Dictionary(
                (value.contacts ?? []).compactMap { contact in contact.waId.map { ($0, contact.profile?.name) } },
                uniquingKeysWith: { first, _ in first }
            )
            for message in value.messages ?? [] {
                guard let parsed = WhatsAppMessage(message, profileName: message.from.flatMap { names[$0] } ?? nil)
                else { continue }
                events.messages.append(parsed)
            }
            for status in value.statuses ?? [] {
                if let delivery = WhatsAppDelivery(status) { events.deliveries.append(delivery) }
            }
            guard events.messages.count + events.deliveries.count <= maximumEvents else {
                throw WhatsAppPayloadError(.tooManyEvents)
            }
        }
        return events
    }

    // The wire shapes, lenient: every field optional, so one odd field never loses a message.
    struct Envelope: Decodable {
        var object: String?
        var entry: [Entry]?
    }
    struct Entry: Decodable {
        var changes: [Change]?
    }
    struct Change: Decodable {
        var field: String?
        var value: Value?
    }
    struct Value: Decodable {
        var contacts: [Contact]?
        var messages: [Message]?
        var statuses: [Status]?
    }
    struct Contact: Decodable {
        struct Profile: Decodable {
            var name: String?
        }
        var profile: Profile?
        var waId: String?
        enum CodingKeys: String, CodingKey {
            case profile
            case waId = "wa_id"
        }
    }
    struct Message: Decodable {
        struct Text: Decodable {
            var body: String?
        }
        struct Media: Decodable {
            var id: String?
            var mimeType: String?
            var sha256: String?
            var caption: String?
            var filename: String?
            enum CodingKeys: String, CodingKey {
                case id, sha256, caption, filename
                case mimeType = "mime_type"
            }
        }
        struct Location: Decodable {
            var latitude: Double?
            var longitude: Double?
            var name: String?
            var address: String?
        }
        struct Button: Decodable {
            var text: String?
            var payload: String?
        }
        struct Reply: Decodable {
            var id: String?
            var title: String?
        }
        struct Interactive: Decodable {
            var type: String?
            var buttonReply: Reply?
            var listReply: Reply?
            enum CodingKeys: String, CodingKey {
                case type
                case buttonReply = "button_reply"
                case listReply = "list_reply"
            }
        }
        var from: String?
        var id: String?
        var timestamp: String?
        var type: String?
        var text: Text?
        var image: Media?
        var video: Media?
        var audio: Media?
        var document: Media?
        var sticker: Media?
        var location: Location?
        var button: Button?
        var interactive: Interactive?
    }
    struct Status: Decodable {
        struct Failure: Decodable {
            var code: Int?
        }
        var id: String?
        var status: String?
        var timestamp: String?
        var errors: [Failure]?
    }
}

/// One message a reporter sent.
public struct WhatsAppMessage: Hashable, Sendable {
    /// What it holds.
    public enum Content: Hashable, Sendable {
        /// A text.
        case text(String)
        /// A photo, video, voice note, document or sticker, to fetch by its media id.
        case media(WhatsAppMedia)
        /// A shared location.
        case location(WhatsAppLocation)
        /// A tap on a button or list entry we sent: its id and the title shown.
        case reply(id: String, title: String)
        /// A type Sambat does not take (reaction, contacts, system, unsupported…).
        case unsupported(type: String)
    }

    /// Meta's message id (`wamid.…`): the dedupe key, since Meta retries for days.
    public let id: String
    /// The sender: usually the phone number in international form, sometimes a user id.
    public let from: String
    /// The sender's clock, as Meta reports it; deadlines use Sambat's own arrival time.
    public let sentAt: Timestamp?
    /// The profile name WhatsApp shows; personal data, kept at central only.
    public let profileName: String?
    /// The content.
    public let content: Content

    /// The longest id or sender accepted.
    static let maximumIdentifierBytes = 256

    init?(_ message: WhatsAppEvents.Message, profileName: String?) {
        guard let id = message.id, let from = message.from, !id.isEmpty, !from.isEmpty,
            id.utf8.count <= Self.maximumIdentifierBytes, from.utf8.count <= Self.maximumIdentifierBytes
        else { return nil }
        self.id = id
        self.from = from
        self.profileName = profileName
        sentAt = message.timestamp.flatMap(Int64.init).map { Timestamp(millisecondsSinceEpoch: $0 * 1_000) }
        let type = message.type ?? "unknown"
        switch type {
        case "text":
            content = .text(message.text?.body ?? "")
        case "image", "video", "audio", "document", "sticker":
            let media = [message.image, message.video, message.audio, message.document, message.sticker]
                .compactMap { $0 }.first
            if let media, let mediaID = media.id {
                content = .media(
                    WhatsAppMedia(
                        kind: type,
                        mediaID: mediaID,
                        mimeType: media.mimeType ?? "application/octet-stream",
                        sha256: media.sha256,
                        caption: media.caption ?? "",
                        filename: media.filename
                    )
                )
            } else {
                content = .unsupported(type: type)
            }
        case "location":
            if let location = message.location, let latitude = location.latitude, let longitude = location.longitude,
                (-90...90).contains(latitude), (-180...180).contains(longitude)
            {
                content = .location(
                    WhatsAppLocation(
                        latitude: latitude,
                        longitude: longitude,
                        name: location.name ?? "",
                        address: location.address ?? ""
                    )
                )
            } else {
                content = .unsupported(type: type)
            }
        case "button":
            content = .reply(id: message.button?.payload ?? "", title: message.button?.text ?? "")
        case "interactive":
            let reply = message.interactive?.buttonReply ?? message.interactive?.listReply
            content = .reply(id: reply?.id ?? "", title: reply?.title ?? "")
        default:
            content = .unsupported(type: String(type.prefix(40)))
        }
    }
}

/// A media attachment, fetched by id through the Graph API and checked against its hash.
public struct WhatsAppMedia: Hashable, Sendable {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    public let kind: String
    /// Meta's media id.
    public let mediaID: String
    /// The MIME type Meta reports.
    public let mimeType: String
    /// The SHA-256 Meta reports for the bytes, if any.
    public let sha256: String?
    /// The caption the reporter wrote.
    public let caption: String
    /// A document's file name.
    public let filename: String?
}

/// A location the reporter shared.
public struct WhatsAppLocation: Hashable, Sendable {
    /// Degrees north.
    public let latitude: Double
    /// Degrees east.
    public let longitude: Double
    /// The place's name, if the reporter picked one.
    public let name: String
    /// Its address, if given.
    public let address: String

    /// A location.
    public init(latitude: Double, longitude: Double, name: String, address: String) {
        self.latitude = latitude
        self.longitude = longitude
        self.name = name
        self.address = address
    }
}

/// The delivery state of a message we sent.
public struct WhatsAppDelivery: Hashable, Sendable {
    /// The states Meta reports, in the order they normally come.
    public enum State: String, Hashable, Sendable {
        case sent, delivered, read, failed
    }

    /// Our message's id, as Meta returned it when we sent it.
    public let messageID: String
    /// The new state.
    public let state: State
    /// When, by Meta's clock.
    public let at: Timestamp?
    /// Meta's error code for a failure (131047: outside the 24-hour window).
    public let errorCode: Int?

    init?(_ status: WhatsAppEvents.Status) {
        guard let id = status.id, !id.isEmpty, id.utf8.count <= WhatsAppMessage.maximumIdentifierBytes,
            let state = status.status.flatMap(State.init(rawValue:))
        else { return nil }
        messageID = id
        self.state = state
        at = status.timestamp.flatMap(Int64.init).map { Timestamp(millisecondsSinceEpoch: $0 * 1_000) }
        errorCode = status.errors?.first?.code
    }
}

/// Why a webhook body was refused; carries no content of the body.
public struct WhatsAppPayloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of refusal.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notJSON = "not_json"
            case notWhatsApp = "not_whatsapp"
            case tooLarge = "too_large"
            case tooManyEvents = "too_many_events"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The body is not JSON of the expected shape.
        public static let notJSON = Code(.notJSON)
        /// The `object` is not `whatsapp_business_account`.
        public static let notWhatsApp = Code(.notWhatsApp)
        /// The body is over the size limit.
        public static let tooLarge = Code(.tooLarge)
        /// More messages and states than one payload may carry.
        public static let tooManyEvents = Code(.tooManyEvents)

        /// The snake_case name.
        public var description: String { base.rawValue }
    }

    /// The class of refusal.
    public let code: Code

    /// A refusal.
    public init(_ code: Code) { self.code = code }

    /// `whatsapp payload refused: not_json`.
    public var description: String { "whatsapp payload refused: \(code)" }
}
