import Crypto
import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// A reporter's photo at central's desk, and notices outside WhatsApp's window.
///
/// The photo is queued for fetching with its case in the same write as the message's
/// processing, kept as evidence once (named by kind, never by the reporter's file name), and
/// checked against the announced hash. Notices outside the window take the template.
@Suite struct IntakeMediaTests {
    typealias Central = IntakeFlowTests.Central
    static let photo = Array("JPEG bytes of a broken street light".utf8)

    static func photoMessage(_ central: Central, id: String = "wamid.P1") -> InboundMessage {
        var message = central.message(id, "Lampu jalan mati di depan SD")
        message.media = InboundMedia(
            kind: "image",
            mediaID: "1234567890",
            mimeType: "image/jpeg",
            sha256: Data(SHA256.hash(data: photo)).base64EncodedString()
        )
        return message
    }

    @Test func aPhotoIsQueuedWithItsCaseAndKeptOnceAsEvidence() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false)
        // Stored by the webhook, processed later (the photo's details survive the envelope).
        #expect(try await central.desk.accept(Self.photoMessage(central), at: IntakeFlowTests.start))
        #expect(try await central.desk.processPending(policy: policy, at: IntakeFlowTests.time(1)).processed == 1)
        let caseID = try #require(try await central.store.caseIDs().first)
        let due = try await central.desk.dueMedia(at: IntakeFlowTests.time(1))
        #expect(due.map(\.caseID) == [caseID])
        let fetch = try #require(due.first)
        #expect(fetch.media.mediaID == "1234567890" && fetch.media.mimeType == "image/jpeg")
        #expect(IntakeDesk.media(Self.photo, matches: fetch.media.sha256))
        #expect(!IntakeDesk.media(Array("other".utf8), matches: fetch.media.sha256))
        #expect(IntakeDesk.media(Self.photo, matches: Hex.encode(Array(SHA256.hash(data: Self.photo)))))

        try await central.desk.keepMedia(fetch, bytes: Self.photo, at: IntakeFlowTests.time(2))
        // A crash before the fetch was marked: keeping it again adds no second evidence op.
        try await central.desk.keepMedia(fetch, bytes: Self.photo, at: IntakeFlowTests.time(3))
        let state = try #require(try await central.store.caseState(caseID))
        #expect(state.evidence.count == 1)
        let evidence = try #require(state.evidence.first)
        #expect(evidence.name == "foto dari pelapor (image/jpeg)" && evidence.size == UInt64(Self.photo.count))
        #expect(await central.store.blobs.contains(evidence.sha256))
        #expect(try await central.desk.dueMedia(at: IntakeFlowTests.time(4)).isEmpty)
        #expect(try await central.desk.media(of: caseID).map(\.state) == [.stored])
    }

    @Test func aFetchThatKeepsFailingIsRetriedWithBackoffThenGivenUp() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        _ = try await central.desk.receive(
            Self.photoMessage(central),
            policy: IntakePolicy(requireIdentity: false),
            at: IntakeFlowTests.start
        )
        var now = IntakeFlowTests.time(1)
        var delays: [Int64] = []
        while let fetch = try await central.desk.dueMedia(at: now).first {
            try await central.desk.retryMedia(fetch, error: "http 503", at: now)
            guard let next = try await central.desk.media(of: fetch.caseID).first, next.state == .pending else { break }
            delays.append((next.nextAttemptAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 1_000)
            now = next.nextAttemptAt
        }
        #expect(delays == [30, 60, 120, 240, 480])
        let caseID = try #require(try await central.store.caseIDs().first)
        let given = try #require(try await central.desk.media(of: caseID).first)
        #expect(given.state == .failed && given.attempts == 6 && given.lastError == "http 503")
    }

    @Test func aRateLimitedMessagesMediaIsNotFetched() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false, maximumMessagesPerHour: 1)
        _ = try await central.desk.receive(
            central.message("m1", "Sampah menumpuk"),
            policy: policy,
            at: IntakeFlowTests.start
        )
        _ = try await central.desk.receive(central.message("m2", "lagi"), policy: policy, at: IntakeFlowTests.time(1))
        let outcome = try await central.desk.receive(
            Self.photoMessage(central, id: "m3"),
            policy: policy,
            at: IntakeFlowTests.time(2)
        )
        #expect(outcome == .rateLimited)
        #expect(try await central.desk.dueMedia(at: IntakeFlowTests.time(3)).isEmpty)
    }

    @Test func separatorsTypedIntoAMessageDoNotBreakItsStoredForm() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        #expect(
            try await central.desk.accept(central.message("w1", "Got\u{1F}ong\u{1E} royong"), at: IntakeFlowTests.start)
        )
        #expect(
            try await central.desk.processPending(
                policy: IntakePolicy(requireIdentity: false),
                at: IntakeFlowTests.time(1)
            ).processed == 1
        )
        let caseID = try #require(try await central.store.caseIDs().first)
        #expect(try await central.store.caseState(caseID)?.complaint?.text == "Got ong  royong")
    }

    @Test func outsideTheWindowANoticeGoesAsTheConfiguredTemplate() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var central = try Central(scratch)
        let outcome = try await central.desk.receive(
            central.message("w1", "Pohon tumbang menutup jalan"),
            policy: IntakePolicy(requireIdentity: false),
            at: IntakeFlowTests.start
        )
        let caseID = try #require(outcome.caseID)
        let actions = CaseActions(
            store: central.store,
            reference: ReferenceData(
                offices: [],
                calendar: WorkingCalendar(),
                targets: ServiceTargets(),
                routing: RoutingRules(rules: [])
            )
        )
        _ = try await actions.perform(
            .archive(reason: .duplicate, note: ""),
            on: caseID,
            actor: try ActorID("op.rina"),
            at: IntakeFlowTests.time(1)
        )
        central.desk.whatsAppTemplate = WhatsAppTemplate(name: "sambat_pembaruan")
        let twoDaysLater = Timestamp(
            millisecondsSinceEpoch: IntakeFlowTests.start.millisecondsSinceEpoch + 48 * 3_600_000
        )
        _ = try await central.desk.notifyReporters(officeName: { $0.rawValue }, at: twoDaysLater)
        let notice = try #require(
            try await central.store.outbound(ofCase: caseID, cipher: central.cipher)
                .first { $0.idempotencyKey == "archived:\(caseID)" }
        )
        #expect(notice.channel == .whatsapp && notice.template == "sambat_pembaruan:id")
        #expect(WhatsAppTemplate(stored: "sambat_pembaruan:id") == WhatsAppTemplate(name: "sambat_pembaruan"))
    }
}
