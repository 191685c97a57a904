import Foundation
import SambatCore
import SambatIntake
import Testing

/// The WhatsApp Cloud API webhook's signature, handshake and payloads.
@Suite struct WhatsAppWebhookTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: [
        ("secret", "test", "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"),
        (
            "app_secret", #"{"object":"whatsapp_business_account","entry":[]}"#,
            "sha256=c236c758c9b2bd40b388a550eeca09eaca72384dd0aa5e7c31d19cddac5bba46"
        ),
    ])
    func theSignatureMatchesMetasVectors(secret: String, body: String, header: String) {
        let signature = WhatsAppSignature(appSecret: Self.bytes(secret))
        #expect(signature.header(for: Self.bytes(body)) == header)
        #expect(signature.isValid(header: header, body: Self.bytes(body)))
        #expect(
            signature.isValid(
                header: header.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="),
                body: Self.bytes(body)
            )
        )
    }

    @Test func aWrongMissingOrMalformedSignatureIsRefused() {
        let signature = WhatsAppSignature(appSecret: Self.bytes("secret"))
        let good = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        #expect(!signature.isValid(header: good, body: Self.bytes("test ")))  // one byte more
        #expect(!signature.isValid(header: nil, body: Self.bytes("test")))
        #expect(!signature.isValid(header: "sha1=" + good.dropFirst(7), body: Self.bytes("test")))
        #expect(!signature.isValid(header: String(good.dropLast(2)), body: Self.bytes("test")))
        #expect(!signature.isValid(header: "sha256=zz", body: Self.bytes("test")))
        #expect(!WhatsAppSignature(appSecret: Self.bytes("other")).isValid(header: good, body: Self.bytes("test")))
    }

    @Test func theSubscribeHandshakeEchoesTheChallengeOnlyForTheRightToken() {
        #expect(
            WhatsAppSubscription.answer(mode: "subscribe", token: "tok", challenge: "123", verifyToken: "tok") == "123"
        )
        #expect(
            WhatsAppSubscription.answer(mode: "subscribe", token: "tok2", challenge: "123", verifyToken: "tok") == nil
        )
        #expect(
            WhatsAppSubscription.answer(mode: "unsubscribe", token: "tok", challenge: "123", verifyToken: "tok") == nil
        )
        #expect(WhatsAppSubscription.answer(mode: "subscribe", token: nil, challenge: "123", verifyToken: "tok") == nil)
        #expect(WhatsAppSubscription.answer(mode: "subscribe", token: "", challenge: "1", verifyToken: "") == nil)
    }

    static func payload(messages: String = "", statuses: String = "") -> [UInt8] {
        bytes(
            """
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
              "messaging_product":"whatsapp","metadata":{"display_phone_number":"62321000","phone_number_id":"99"},
              "contacts":[{"profile":{"name":"Budi"},"wa_id":"6281234560104"}],
              "messages":[\(messages)], "statuses":[\(statuses)]}}]}]}
            """
        )
    }

    @Test func everyMessageTypeIsParsed() throws {
        let events = try WhatsAppEvents.parse(
            Self.payload(
                messages: """
                    {"from":"6281234560104","id":"wamid.1","timestamp":"1764400000","type":"text","text":{"body":"Air mati"}},
                    {"from":"6281234560104","id":"wamid.2","timestamp":"1764400001","type":"image",
                     "image":{"id":"m-1","mime_type":"image/jpeg","sha256":"abc","caption":"Foto jalan"}},
                    {"from":"6281234560104","id":"wamid.3","timestamp":"1764400002","type":"document",
                     "document":{"id":"m-2","mime_type":"application/pdf","filename":"surat.pdf"}},
                    {"from":"6281234560104","id":"wamid.4","timestamp":"1764400003","type":"location",
                     "location":{"latitude":-7.4706,"longitude":112.4401,"name":"Alun-alun","address":"Jl. A. Yani"}},
                    {"from":"6281234560104","id":"wamid.5","timestamp":"1764400004","type":"button",
                     "button":{"text":"Sudah","payload":"confirm"}},
                    {"from":"6281234560104","id":"wamid.6","timestamp":"1764400005","type":"interactive",
                     "interactive":{"type":"button_reply","button_reply":{"id":"reopen","title":"Belum"}}},
                    {"from":"6281234560104","id":"wamid.7","timestamp":"1764400006","type":"reaction","reaction":{}},
                    {"from":"6281234560104","id":"wamid.8","timestamp":"1764400007","type":"audio","audio":{"id":"m-3"}}
                    """
            )
        )
        #expect(events.messages.map(\.id) == (1...8).map { "wamid.\($0)" })
        #expect(events.messages.first?.content == .text("Air mati"))
        #expect(events.messages.first?.profileName == "Budi")
        #expect(events.messages.first?.sentAt == Timestamp(millisecondsSinceEpoch: 1_764_400_000_000))
        guard case .media(let image) = events.messages[1].content else {
            Issue.record("not media: \(events.messages[1].content)")
            return
        }
        #expect(
            image.kind == "image" && image.mediaID == "m-1" && image.caption == "Foto jalan" && image.sha256 == "abc"
        )
        guard case .media(let document) = events.messages[2].content else {
            Issue.record("not media")
            return
        }
        #expect(document.filename == "surat.pdf" && document.mimeType == "application/pdf")
        #expect(
            events.messages[3].content
                == .location(.init(latitude: -7.4706, longitude: 112.4401, name: "Alun-alun", address: "Jl. A. Yani"))
        )
        #expect(events.messages[4].content == .reply(id: "confirm", title: "Sudah"))
        #expect(events.messages[5].content == .reply(id: "reopen", title: "Belum"))
        #expect(events.messages[6].content == .unsupported(type: "reaction"))
        guard case .media(let audio) = events.messages[7].content else {
            Issue.record("not media")
            return
        }
        #expect(audio.mimeType == "application/octet-stream" && audio.sha256 == nil)
    }

    @Test func deliveryStatesOfOurMessagesAreParsed() throws {
        let events = try WhatsAppEvents.parse(
            Self.payload(
                statuses: """
                    {"id":"wamid.out1","status":"delivered","timestamp":"1764400100","recipient_id":"6281234560104"},
                    {"id":"wamid.out2","status":"failed","timestamp":"1764400101","errors":[{"code":131047}]},
                    {"id":"wamid.out3","status":"deleted"}
                    """
            )
        )
        #expect(events.messages.isEmpty)
        #expect(events.deliveries.map(\.messageID) == ["wamid.out1", "wamid.out2"])
        #expect(events.deliveries.map(\.state) == [.delivered, .failed])
        #expect(events.deliveries[1].errorCode == 131_047)
    }

    @Test func badBodiesAreRefusedWithACode() {
        #expect(throws: WhatsAppPayloadError(.notJSON)) { try WhatsAppEvents.parse(Self.bytes("{not json")) }
        #expect(throws: WhatsAppPayloadError(.notJSON)) { try WhatsAppEvents.parse([0xFF, 0xFE, 0x00]) }
        #expect(throws: WhatsAppPayloadError(.notWhatsApp)) {
            try WhatsAppEvents.parse(Self.bytes(#"{"object":"page","entry":[]}"#))
        }
        #expect(throws: WhatsAppPayloadError(.tooLarge)) {
            try WhatsAppEvents.parse(Self.payload(), maximumBytes: 64)
        }
        let many = (0..<1_001).map { #"{"from":"62812","id":"w\#($0)","type":"text","text":{"body":"x"}}"# }
        #expect(throws: WhatsAppPayloadError(.tooManyEvents)) {
            try WhatsAppEvents.parse(Self.payload(messages: many.joined(separator: ",")))
        }
        // A message without an id or sender cannot be deduplicated or answered: skipped.
        let events = try? WhatsAppEvents.parse(
            Self.payload(messages: #"{"type":"text","text":{"body":"x"}}, {"from":"62","id":"ok","type":"text"}"#)
        )
        #expect(events?.messages.map(\.id) == ["ok"])
        #expect(events?.messages.first?.content == .text(""))
    }
}
