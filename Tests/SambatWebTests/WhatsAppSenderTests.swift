import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SambatCore
import SambatDesk
import SambatIntake
import SambatStore
import SambatTestKit
import Testing

/// Central's WhatsApp sender against a stand-in for the Cloud API's messages endpoint.
@Suite struct WhatsAppSenderTests {
    static let key = Array(repeating: UInt8(4), count: 32)

    /// The stand-in: accepts `62811…`, refuses `62899…` as outside the 24-hour window, fails
    /// `62855…` with a server error; every request must carry the bearer token.
    static func graph(received: Recorder<[String]>) -> Application<RouterResponder<BasicRequestContext>> {
        let router = Router()
        router.post("v21.0/12345/messages") { request, _ -> Response in
            guard request.headers.first(where: { $0.name.canonicalName == "authorization" })?.value == "Bearer tok-9"
            else { return Response(status: .unauthorized) }
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            let to = object?["to"] as? String ?? ""
            received.withLock { $0.append(to) }
            if object?["type"] as? String == "template" {
                let template = object?["template"] as? [String: Any]
                let components = template?["components"] as? [[String: Any]]
                let parameter = (components?.first?["parameters"] as? [[String: Any]])?.first?["text"] as? String
                received.withLock {
                    $0.append("template \(template?["name"] as? String ?? "?") \(parameter ?? "?")")
                }
                // 132001: the template does not exist in this language.
                if to.hasPrefix("62877") { return json(.badRequest, #"{"error":{"code":132001}}"#) }
            }
            func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
                Response(status: status, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            if to.hasPrefix("62811") { return json(.ok, #"{"messages":[{"id":"wamid.OUT-\#(to)"}]}"#) }
            if to.hasPrefix("62899") { return json(.badRequest, #"{"error":{"code":131047}}"#) }
            return json(.internalServerError, "{}")
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func accepted_refusedOutsideTheWindow_andFailedRepliesEachGoTheirWay() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (store, desk, cipher) = try CentralDesk.open(in: scratch, key: Self.key)
        let now = Timestamp.now
        for recipient in ["6281100000001", "6289900000002", "6285500000003"] {
            _ = try await store.enqueueOutbound(
                key: "test:\(recipient)",
                caseID: nil,
                channel: .whatsapp,
                recipient: recipient,
                body: "Tiket MJK-261203-0001 sudah diteruskan.",
                cipher: cipher,
                at: now
            )
        }
        let received = Recorder<[String]>([])
        try await Self.graph(received: received).test(.live) { client in
            let port = try #require(client.port)
            let sender = WhatsAppSender(
                configuration: .init(
                    graphBaseURL: "http://127.0.0.1:\(port)/v21.0",
                    phoneNumberID: "12345",
                    accessToken: Array("tok-9".utf8)
                ),
                desk: desk,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            try await sender.round(at: now)
            // Nothing is due again at once: the failure waits for its backoff.
            try await sender.round(at: now)
        }
        #expect(received.withLock { $0 }.count == 3, "one request per reply, no resend within the backoff")
        let accepted = try #require(try await store.outbound(providerID: "wamid.OUT-6281100000001", cipher: cipher))
        #expect(accepted.state == .sent && accepted.attempts == 1)
        let sms = try await desk.dueReplies(on: .sms, at: now)
        #expect(sms.map(\.idempotencyKey) == ["test:6289900000002:sms"], "outside the window: the same text by SMS")
        let retried = try await store.outbound(inState: .queued, on: .whatsapp, cipher: cipher)
        #expect(retried.map(\.recipient) == ["6285500000003"])
        #expect(retried.first?.attempts == 1 && retried.first?.lastError == "http 500")
        #expect((retried.first?.nextAttemptAt.millisecondsSinceEpoch ?? 0) == now.millisecondsSinceEpoch + 30_000)
        #expect(
            try await store.outbound(inState: .failed, on: .whatsapp, cipher: cipher).map(\.recipient) == [
                "6289900000002"
            ]
        )
    }
}

extension WhatsAppSenderTests {
    @Test func aTemplateNoticeGoesAsTheTemplateAndARefusedTemplateGoesBySMS() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (store, desk, cipher) = try CentralDesk.open(in: scratch, key: Self.key)
        let now = Timestamp.now
        for recipient in ["6281100000004", "6287700000005"] {
            _ = try await store.enqueueOutbound(
                key: "test:\(recipient)",
                caseID: nil,
                channel: .whatsapp,
                recipient: recipient,
                body: "Laporan MJK-261203-0001\nsudah selesai.",
                template: "sambat_pembaruan:id",
                cipher: cipher,
                at: now
            )
        }
        let received = Recorder<[String]>([])
        try await Self.graph(received: received).test(.live) { client in
            let sender = WhatsAppSender(
                configuration: .init(
                    graphBaseURL: "http://127.0.0.1:\(try #require(client.port))/v21.0",
                    phoneNumberID: "12345",
                    accessToken: Array("tok-9".utf8)
                ),
                desk: desk,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            try await sender.round(at: now)
        }
        // One line, as a template parameter must be.
        #expect(
            received.withLock { $0 }.filter { $0.hasPrefix("template") } == [
                "template sambat_pembaruan Laporan MJK-261203-0001 sudah selesai.",
                "template sambat_pembaruan Laporan MJK-261203-0001 sudah selesai.",
            ]
        )
        let sent = try #require(try await store.outbound(providerID: "wamid.OUT-6281100000004", cipher: cipher))
        #expect(sent.state == .sent && sent.template == "sambat_pembaruan:id")
        let sms = try await desk.dueReplies(on: .sms, at: now)
        #expect(sms.map(\.idempotencyKey) == ["test:6287700000005:sms"], "a refused template: the same text by SMS")
        #expect(sms.first?.template == nil)
    }
}

/// Central's store, intake desk and identity cipher in a scratch directory.
enum CentralDesk {
    static func open(in scratch: Scratch, key: [UInt8]) throws -> (Store, IntakeDesk, IdentityCipher) {
        let central = try NodeID("central")
        let store = try Store.open(
            StoreConfiguration(path: scratch.file("central.sqlite")),
            identity: NodeIdentity(node: central, role: .central, central: central)
        )
        return (
            store, try IntakeDesk(store: store, identityKey: key, calendar: WorkingCalendar()),
            try IdentityCipher(keyBytes: key)
        )
    }
}

/// A value behind a lock, for a test route handler to record into (safe: every access goes through the lock).
final class Recorder<Value: Sendable>: @unchecked Sendable {
    // NSLock guards `value`; every access goes through withLock.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { lock.withLock { body(&value) } }
}
