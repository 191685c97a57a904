public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import SambatCore
public import SambatDesk
import SambatStore
public import ServiceLifecycle

/// Central's Service that fetches the photos, voice notes and documents reporters send on
/// WhatsApp, and keeps each as evidence of its case.
///
/// For each processed message with media: `GET {graph}/{media id}` (bearer token) gives a
/// short-lived URL, its size and hash; `GET` of that URL (the same token) gives the bytes. A
/// file over the size limit, or bytes that do not match the announced size or SHA-256, are
/// refused for good (logged without personal data). The network or a 5xx is retried with
/// backoff. Kept media become an `evidence_added` op, so the blob follows the case to its
/// office.
public struct WhatsAppMediaFetcher: Service {
    private let configuration: WhatsAppSenderConfiguration
    private let desk: IntakeDesk
    private let client: HTTPClient
    private let maximumBytes: Int
    private let interval: Duration
    private let logger: Logger

    /// A fetcher with the sender's Graph API base and token.
    ///
    /// - Parameters:
    ///   - configuration: the Graph API base and the access token (the sender's).
    ///   - desk: central's intake desk, which keeps what is fetched.
    ///   - client: the HTTP client.
    ///   - maximumBytes: the largest file kept (`whatsapp.media_max_bytes`).
    ///   - interval: how often due fetches are looked for.
    ///   - logger: where refusals and failures are logged, without personal data.
    public init(
        configuration: WhatsAppSenderConfiguration,
        desk: IntakeDesk,
        client: HTTPClient = .shared,
        maximumBytes: Int = IntakeDesk.defaultMediaBytes,
        interval: Duration = .seconds(1),
        logger: Logger
    ) {
        self.configuration = configuration
        self.desk = desk
        self.client = client
        self.maximumBytes = maximumBytes
        self.interval = interval
        self.logger = logger
    }

    /// Fetches until graceful shutdown.
    public func run() async {
        await PollingLoop.run(every: interval, logger: logger, failure: "whatsapp media round failed") {
            try await round(at: Timestamp.now)
        }
    }

    /// One round: every due fetch is tried once.
    public func round(at now: Timestamp) async throws {
        for fetch in try await desk.dueMedia(at: now) {
            let metadata: Logger.Metadata = ["message.id": "\(fetch.messageID)", "case": "\(fetch.caseID)"]
            switch await self.fetch(fetch.media) {
            case .fetched(let bytes):
                do {
                    try await desk.keepMedia(fetch, bytes: bytes, at: now)
                } catch {
                    // A full disk or a busy store: the fetch waits its backoff, not a second.
                    logger.error(
                        "reporter media fetched but not kept; will retry",
                        metadata: metadata.merging(["error": "\(PollingLoop.describe(error))"]) { $1 }
                    )
                    try await desk.retryMedia(fetch, error: "not kept: \(PollingLoop.describe(error))", at: now)
                    continue
                }
                logger.info(
                    "reporter media kept as evidence",
                    metadata: metadata.merging(["bytes": "\(bytes.count)"]) { $1 }
                )
            case .refused(let reason):
                logger.warning("reporter media refused", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
                try await desk.refuseMedia(fetch, reason: reason, at: now)
            case .failed(let reason):
                logger.notice(
                    "reporter media not fetched; will retry",
                    metadata: metadata.merging(["reason": "\(reason)"]) { $1 }
                )
                try await desk.retryMedia(fetch, error: reason, at: now)
            }
        }
    }

    enum Outcome: Equatable {
        /// The bytes, checked.
        case fetched([UInt8])
        /// Never right: too large, wrong size or hash, unknown media.
        case refused(String)
        /// May pass: the network, a 5xx, a token problem.
        case failed(String)
    }

    func fetch(_ media: InboundMedia) async -> Outcome {
        guard Self.isMediaID(media.mediaID) else { return .refused("malformed media id") }
        let base = configuration.base
        let info: [String: Any]
        switch await get("\(base)/\(media.mediaID)", limit: 1 << 16) {
        case .success(let body):
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                return .failed("media metadata is not JSON")
            }
            info = object
        case .failure(let failure):
            return failure.outcome
        }
        guard let url = info["url"] as? String, Self.mayFetch(url, graphBase: base) else {
            return .refused("media metadata has no usable url")
        }
        let announcedSize = (info["file_size"] as? Int) ?? (info["file_size"] as? String).flatMap { Int($0) }
        if let announcedSize, announcedSize > maximumBytes {
            return .refused("media of \(announcedSize) bytes is over the limit of \(maximumBytes)")
        }
        let bytes: [UInt8]
        switch await get(url, limit: maximumBytes) {
        case .success(let body): bytes = body
        case .failure(let failure): return failure.outcome
        }
        if let announcedSize, announcedSize != bytes.count {
            return .refused("media has \(bytes.count) bytes, \(announcedSize) announced")
        }
        let expected = media.sha256.isEmpty ? (info["sha256"] as? String ?? "") : media.sha256
        guard IntakeDesk.media(bytes, matches: expected) else {
            return .refused("media bytes do not match the announced sha256")
        }
        return .fetched(bytes)
    }

    /// Meta's media ids are digits; letters, `.`, `_` and `-` are let through, nothing that
    /// could change the request's path.
    static func isMediaID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
            }
    }

    /// Only HTTPS, or the Graph base's own host (a stand-in on this machine in tests and the
    /// demo): the token is sent with the request.
    static func mayFetch(_ url: String, graphBase: String) -> Bool {
        guard let target = URL(string: url), let scheme = target.scheme else { return false }
        if scheme == "https" { return true }
        guard scheme == "http", let base = URL(string: graphBase) else { return false }
        return target.host == base.host && target.port == base.port
    }

    enum GetFailure: Error {
        case tooLarge
        case status(Int)
        case transport(String)

        var outcome: Outcome {
            switch self {
            case .tooLarge: .refused("media is over the size limit")
            case .status(let code) where code == 404 || code == 400: .refused("the Graph API answered \(code)")
            case .status(let code): .failed("the Graph API answered \(code)")
            case .transport(let reason): .failed(reason)
            }
        }
    }

    private func get(_ url: String, limit: Int) async -> Result<[UInt8], GetFailure> {
        let request = configuration.request(url, method: .GET)
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            guard (200..<300).contains(response.status.code) else {
                return .failure(.status(Int(response.status.code)))
            }
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                return .failure(.tooLarge)
            }
            do {
                let body = try await response.body.collect(upTo: limit)
                return .success(Array(body.readableBytesView))
            } catch is NIOTooManyBytesError {
                return .failure(.tooLarge)
            }
        } catch {
            return .failure(.transport("\(type(of: error))"))
        }
    }
}
