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
import SambatWeb
import Testing

/// The WhatsApp webhook over HTTP: a message is stored before 200, a retry opens no second
/// case, and every bad request gets its status and changes nothing.
@Suite struct WhatsAppWebhookRouteTests {
    static let appSecret = Array("app_secret".utf8)
    static let key = Array(repeating: UInt8(3), count: 32)

    struct Central {
        let store: Store
        let desk: IntakeDesk
        let application: Application<RouterResponder<WebContext>>

        init(_ scratch: Scratch, bodyLimit: Int = 3 << 20) throws {
            let central = try NodeID("central")
            store = try Store.open(
                StoreConfiguration(path: scratch.file("central.sqlite")),
                identity: NodeIdentity(node: central, role: .central, central: central)
            )
            desk = try IntakeDesk(store: store, identityKey: WhatsAppWebhookRouteTests.key, calendar: WorkingCalendar())
            let configuration = WebConfiguration(port: 0, bodyLimit: bodyLimit)
            let router = WebServer.router(
                configuration: configuration,
                whatsApp: (
                    WhatsAppWebhookConfiguration(
                        verifyToken: "tok-123",
                        appSecret: WhatsAppWebhookRouteTests.appSecret
                    ),
                    WhatsAppIntake(desk: desk)
                ),
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            application = Application(router: router)
        }
    }

    static func body(_ id: String, _ text: String, from: String = "6281234560104") -> String {
        """
        {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
          "messaging_product":"whatsapp","contacts":[{"profile":{"name":"Budi"},"wa_id":"\(from)"}],
          "messages":[{"from":"\(from)","id":"\(id)","timestamp":"1764400000","type":"text","text":{"body":"\(text)"}}]}}]}]}
        """
    }

    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")

    static func signed(_ body: String, secret: [UInt8] = appSecret) -> HTTPFields {
        var fields = HTTPFields()
        if let name = signatureHeader {
            fields[name] = WhatsAppSignature(appSecret: secret).header(for: Array(body.utf8))
        }
        return fields
    }

    @Test func healthAndTheSubscribeHandshake() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        try await central.application.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=tok-123&hub.challenge=98765",
                method: .get
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "98765")
            }
            try await client.execute(
                uri: "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=98765",
                method: .get
            ) { #expect($0.status == .forbidden) }
        }
    }

    @Test func aSignedMessageIsStoredOnceAndProcessedIntoACase() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let body = Self.body("wamid.A1", "Air PDAM mati sejak pagi di Perum Griya Permata Meri")
        try await central.application.test(.router) { client in
            for _ in 0..<2 {  // Meta's retry of the same message
                try await client.execute(
                    uri: "/webhooks/whatsapp",
                    method: .post,
                    headers: Self.signed(body),
                    body: ByteBuffer(string: body)
                ) { #expect($0.status == .ok) }
            }
        }
        // Stored, not yet processed: the webhook answered before any case work.
        #expect(try await central.store.caseIDs().isEmpty)
        #expect(try await central.desk.processPending(policy: IntakePolicy(), at: Timestamp.now).processed == 1)
        let cases = try await central.store.caseIDs()
        #expect(cases.count == 1)
        let caseID = try #require(cases.first)
        let state = try #require(try await central.store.caseState(caseID))
        #expect(state.complaint?.channel == .whatsapp)
        #expect(state.complaint?.text.contains("Griya Permata") == true)
        #expect(try await central.desk.processPending(policy: IntakePolicy(), at: Timestamp.now).processed == 0)
    }

    @Test func badRequestsGetTheirStatusAndStoreNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch, bodyLimit: 4_096)
        let body = Self.body("wamid.B1", "Jalan rusak")
        try await central.application.test(.router) { client in
            // Signed with another secret, unsigned, or signed over other bytes.
            for headers in [Self.signed(body, secret: Array("other".utf8)), [:], Self.signed(body + " ")] {
                try await client.execute(
                    uri: "/webhooks/whatsapp",
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(string: body)
                ) { #expect($0.status == .unauthorized) }
            }
            let broken = "{\"object\": \"whatsapp_business_account\", \"entry\": [ {"
            try await client.execute(
                uri: "/webhooks/whatsapp",
                method: .post,
                headers: Self.signed(broken),
                body: ByteBuffer(string: broken)
            ) { #expect($0.status == .badRequest) }
            let huge = Self.body("wamid.B2", String(repeating: "x", count: 5_000))
            try await client.execute(
                uri: "/webhooks/whatsapp",
                method: .post,
                headers: Self.signed(huge),
                body: ByteBuffer(string: huge)
            ) { #expect($0.status == .contentTooLarge) }
        }
        #expect(try await central.desk.processPending(policy: IntakePolicy(), at: Timestamp.now).processed == 0)
        #expect(try await central.store.caseIDs().isEmpty)
    }

    @Test func deliveryStatesUpdateOurReplies() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let outcome = try await central.desk.receive(
            InboundMessage(
                channel: .whatsapp,
                externalID: "wamid.C1",
                sender: "6281234560104",
                text: "Lampu jalan mati"
            ),
            policy: IntakePolicy(requireIdentity: false),
            at: Timestamp.now
        )
        let caseID = try #require(outcome.caseID)
        let cipher = try IdentityCipher(keyBytes: Self.key)
        let reply = try #require(try await central.store.outbound(ofCase: caseID, cipher: cipher).first)
        try await central.store.updateOutbound(
            reply.id,
            state: .sent,
            providerID: "wamid.OUT1",
            countAttempt: true,
            at: .now
        )
        let statuses = """
            {"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{
              "statuses":[{"id":"wamid.OUT1","status":"read","timestamp":"1764400100"},
                          {"id":"wamid.OUT1","status":"delivered","timestamp":"1764400090"}]}}]}]}
            """
        try await central.application.test(.router) { client in
            try await client.execute(
                uri: "/webhooks/whatsapp",
                method: .post,
                headers: Self.signed(statuses),
                body: ByteBuffer(string: statuses)
            ) { #expect($0.status == .ok) }
        }
        // "delivered" arrived after "read": the state does not move back.
        #expect(try await central.store.outbound(ofCase: caseID, cipher: cipher).first?.state == .read)
    }
}
