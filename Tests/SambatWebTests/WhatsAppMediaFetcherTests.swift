import Crypto
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

/// Central's media fetcher against a stand-in for the Graph API's media endpoints: a photo is
/// kept as evidence, while one too large, with the wrong bytes, or behind a failing server is
/// refused or retried, and nothing is kept for them.
@Suite struct WhatsAppMediaFetcherTests {
    static let key = Array(repeating: UInt8(6), count: 32)
    static let photo = Array(repeating: UInt8(0xAB), count: 3_000)

    /// The stand-in for the Graph API.
    ///
    /// Media `good` is the photo; `tampered` announces the photo's hash but
    /// serves other bytes; `huge` announces 50 MB; `flaky` fails with 503; `gone` is 404. Every
    /// request must carry the bearer token.
    static func graph(
        port: Recorder<Int>,
        requests: Recorder<[String]>
    ) -> Application<
        RouterResponder<BasicRequestContext>
    > {
        let router = Router()
        @Sendable func authorized(_ request: Request) -> Bool {
            request.headers.first(where: { $0.name.canonicalName == "authorization" })?.value == "Bearer tok-media"
        }
        let digest = Hex.encode(Array(SHA256.hash(data: photo)))
        router.get("v21.0/:id") { request, context -> Response in
            guard authorized(request) else { return Response(status: .unauthorized) }
            let id = context.parameters.get("id") ?? ""
            requests.withLock { $0.append("meta:\(id)") }
            let base = "http://127.0.0.1:\(port.withLock { $0 })"
            let json: String
            switch id {
            case "good", "tampered":
                json =
                    #"{"url":"\#(base)/files/\#(id)","mime_type":"image/jpeg","sha256":"\#(digest)","file_size":\#(photo.count),"id":"\#(id)"}"#
            case "huge":
                json =
                    #"{"url":"\#(base)/files/huge","mime_type":"video/mp4","sha256":"\#(digest)","file_size":50000000}"#
            case "flaky": return Response(status: .serviceUnavailable)
            default: return Response(status: .notFound)
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        router.get("files/:id") { request, context -> Response in
            guard authorized(request) else { return Response(status: .unauthorized) }
            let id = context.parameters.get("id") ?? ""
            requests.withLock { $0.append("file:\(id)") }
            let bytes = id == "good" ? photo : Array(repeating: UInt8(0x00), count: photo.count)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func aPhotoIsKeptAndBadMediaAreRefusedOrRetried() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (store, desk, _) = try CentralDesk.open(in: scratch, key: Self.key)
        let now = Timestamp.now
        var cases: [String: CaseID] = [:]
        for (index, id) in ["good", "tampered", "huge", "flaky", "gone", "../v21.0/me"].enumerated() {
            var message = InboundMessage(
                channel: .whatsapp,
                externalID: "wamid.\(index)",
                sender: "62812000000\(index)",
                text: "Foto jalan berlubang"
            )
            message.media = InboundMedia(kind: "image", mediaID: id, mimeType: "image/jpeg", sha256: "")
            let outcome = try await desk.receive(message, policy: IntakePolicy(requireIdentity: false), at: now)
            let caseID = try #require(outcome.caseID)
            cases[id] = caseID
        }
        let port = Recorder(0)
        let requests = Recorder<[String]>([])
        try await Self.graph(port: port, requests: requests).test(.live) { client in
            port.withLock { $0 = client.port ?? 0 }
            let fetcher = WhatsAppMediaFetcher(
                configuration: .init(
                    graphBaseURL: "http://127.0.0.1:\(client.port ?? 0)/v21.0",
                    phoneNumberID: "12345",
                    accessToken: Array("tok-media".utf8)
                ),
                desk: desk,
                maximumBytes: 1 << 20,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            try await fetcher.round(at: now)
            // Nothing is due again at once: the 503 waits for its backoff.
            try await fetcher.round(at: now)
        }
        func state(_ id: String) async throws -> MediaFetch? {
            try await desk.media(of: try #require(cases[id])).first
        }
        func evidence(_ id: String) async throws -> [EvidenceRef] {
            try await store.caseState(try #require(cases[id]))?.evidence ?? []
        }
        #expect(try await state("good")?.state == .stored)
        let kept = try await evidence("good")
        #expect(kept.map(\.sha256) == [Array(SHA256.hash(data: Self.photo))])
        #expect(await store.blobs.contains(Array(SHA256.hash(data: Self.photo))))
        for id in ["tampered", "huge", "gone", "../v21.0/me"] {
            #expect(try await state(id)?.state == .failed, "\(id) is refused for good")
            #expect(try await evidence(id).isEmpty)
        }
        #expect(try await state("tampered")?.lastError == "media bytes do not match the announced sha256")
        #expect(try await state("huge")?.lastError == "media of 50000000 bytes is over the limit of 1048576")
        #expect(try await state("../v21.0/me")?.lastError == "malformed media id")
        let flaky = try #require(try await state("flaky"))
        #expect(flaky.state == .pending && flaky.attempts == 1)
        #expect(flaky.nextAttemptAt.millisecondsSinceEpoch == now.millisecondsSinceEpoch + 30_000)
        let made = requests.withLock { $0 }
        #expect(!made.contains("file:huge"), "a file announced over the limit is never downloaded")
        #expect(made.filter { $0 == "meta:flaky" }.count == 1, "no retry within the backoff")
        // The malformed id is never requested: nothing outside the media endpoints is asked for.
        #expect(
            made.sorted() == [
                "file:good", "file:tampered", "meta:flaky", "meta:gone", "meta:good", "meta:huge", "meta:tampered",
            ]
        )
    }
}
