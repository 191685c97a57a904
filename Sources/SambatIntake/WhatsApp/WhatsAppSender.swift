public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import SambatCore
public import SambatDesk
import SambatStore
public import ServiceLifecycle

/// Where and as whom central sends WhatsApp messages (the Cloud API's messages endpoint).
public struct WhatsAppSenderConfiguration: Hashable, Sendable {
    /// The Graph API base, such as `https://graph.facebook.com/v21.0` (`whatsapp.graph_base_url`).
    public var graphBaseURL: String
    /// The business phone number's id (`whatsapp.phone_number_id`).
    public var phoneNumberID: String
    /// The access token (`whatsapp.access_token_file`).
    public var accessToken: [UInt8]

    /// A configuration.
    public init(graphBaseURL: String, phoneNumberID: String, accessToken: [UInt8]) {
        self.graphBaseURL = graphBaseURL
        self.phoneNumberID = phoneNumberID
        self.accessToken = accessToken
    }
}

extension WhatsAppSenderConfiguration {
    /// The Graph API base without a trailing `/`.
    var base: String { graphBaseURL.hasSuffix("/") ? String(graphBaseURL.dropLast()) : graphBaseURL }

    /// A request to `url` carrying the access token, as every Graph API call (and the media
    /// download it points to) must.
    func request(_ url: String, method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer " + String(decoding: accessToken, as: UTF8.self))
        return request
    }
}

/// Central's Service that sends queued WhatsApp replies through the Cloud API.
///
/// A reply accepted by the API is recorded as sent under its `wamid`, which later delivery
/// states name. A refused or failed send is retried with backoff (30 s, doubling, six tries),
/// then marked failed; a reply refused because the 24-hour window has closed (error 131047) is
/// sent by SMS instead. A notice queued with a template (outside the window) is sent as that
/// template, its text the one parameter; a refused template also falls back to SMS. Nothing
/// is sent twice: each reply row is one event's notice.
public struct WhatsAppSender: Service {
    private let configuration: WhatsAppSenderConfiguration
    private let desk: IntakeDesk
    private let client: HTTPClient
    private let interval: Duration
    private let logger: Logger

    /// The error code the Cloud API gives for free text outside the 24-hour window.
    public static let windowClosedCode = 131_047

    /// A sender.
    public init(
        configuration: WhatsAppSenderConfiguration,
        desk: IntakeDesk,
        client: HTTPClient = .shared,
        interval: Duration = .seconds(1),
        logger: Logger
    ) {
        self.configuration = configuration
        self.desk = desk
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    /// Sends until graceful shutdown.
    public func run() async {
        await PollingLoop.run(every: interval, logger: logger, failure: "whatsapp send round failed") {
            try await round(at: Timestamp.now)
        }
    }

    /// One round: every due WhatsApp reply is tried once.
    public func round(at now: Timestamp) async throws {
        for reply in try await desk.dueReplies(on: .whatsapp, at: now) {
            switch await send(reply) {
            case .accepted(let messageID):
                try await desk.markReplySent(reply, providerID: messageID, at: now)
            case .refused(let code) where code == Self.windowClosedCode:
                logger.notice("whatsapp window closed; reply goes by sms", metadata: ["reply.id": "\(reply.id)"])
                try await desk.sendBySMSInstead(reply, error: "whatsapp \(code): outside the 24-hour window", at: now)
            case .refused(let code) where reply.template != nil:
                // A template refused (not approved, paused, wrong parameters) will be refused
                // again: the notice goes by SMS.
                logger.warning(
                    "whatsapp template refused; reply goes by sms",
                    metadata: ["reply.id": "\(reply.id)", "code": "\(code)"]
                )
                try await desk.sendBySMSInstead(reply, error: "whatsapp \(code): template refused", at: now)
            case .refused(let code):
                try await desk.retryReply(reply, error: "whatsapp error \(code)", at: now)
            case .failed(let reason):
                try await desk.retryReply(reply, error: reason, at: now)
            }
        }
    }

    enum Outcome {
        case accepted(String)
        case refused(Int)
        case failed(String)
    }

    func send(_ reply: OutboundMessage) async -> Outcome {
        var request = configuration.request(
            "\(configuration.base)/\(configuration.phoneNumberID)/messages",
            method: .POST
        )
        request.headers.add(name: "Content-Type", value: "application/json")
        let payload: [String: Any]
        if let template = reply.template.flatMap(WhatsAppTemplate.init(stored:)) {
            // A template parameter may hold no newline or tab, nor more than four spaces in a row.
            let parameter = reply.body.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            payload = [
                "messaging_product": "whatsapp", "to": reply.recipient, "type": "template",
                "template": [
                    "name": template.name, "language": ["code": template.language],
                    "components": [
                        ["type": "body", "parameters": [["type": "text", "text": String(parameter.prefix(1_024))]]]
                    ],
                ],
            ]
        } else {
            payload = [
                "messaging_product": "whatsapp", "to": reply.recipient, "type": "text",
                "text": ["body": String(reply.body.prefix(4_096))],
            ]
        }
        guard let body = try? JSONSerialization.data(withJSONObject: payload) else { return .failed("encoding") }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let object = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
            if (200..<300).contains(response.status.code),
                let id = (object?["messages"] as? [[String: Any]])?.first?["id"] as? String
            {
                return .accepted(id)
            }
            let code = (object?["error"] as? [String: Any])?["code"] as? Int
            return code.map(Outcome.refused) ?? .failed("http \(response.status.code)")
        } catch {
            return .failed("\(type(of: error))")
        }
    }
}
