import Foundation
import GRDB
public import SambatCore

/// A photo, voice note or document a reporter sent, as intake hands it to the store: what is
/// needed to fetch it later (no file name: it may name the reporter).
public struct InboundMedia: Hashable, Sendable {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    public var kind: String
    /// The channel's media id (WhatsApp's, fetched through the Graph API).
    public var mediaID: String
    /// The MIME type the channel gave.
    public var mimeType: String
    /// The SHA-256 the channel gave (hex or base64), to check the fetched bytes against.
    public var sha256: String

    /// Media to fetch.
    public init(kind: String, mediaID: String, mimeType: String, sha256: String) {
        self.kind = kind
        self.mediaID = mediaID
        self.mimeType = mimeType
        self.sha256 = sha256
    }
}

/// A reporter's media waiting to be fetched, or fetched, at central.
public struct MediaFetch: Hashable, Sendable {
    /// Where the fetch stands.
    public enum State: String, Hashable, Sendable {
        /// Waiting for its (next) try.
        case pending
        /// Fetched, checked and kept as evidence of its case.
        case stored
        /// Given up on: refused as too large or not matching its hash, or failed too often.
        case failed
    }

    /// The inbound message it came with (central's row id).
    public let messageID: Int64
    /// The case it is evidence of.
    public let caseID: CaseID
    /// What was sent, and how to fetch it.
    public let media: InboundMedia
    /// Where it stands.
    public let state: State
    /// How many fetches were tried.
    public let attempts: Int
    /// When the next try is due.
    public let nextAttemptAt: Timestamp
    /// The last failure, in English, with no personal data.
    public let lastError: String?
    /// The stored blob's SHA-256, once stored.
    public let sha256: [UInt8]?
}

extension Store {
    /// Media whose fetch is due at `now`, oldest first.
    public func dueMediaFetches(at now: Timestamp, limit: Int = 20) async throws(StoreError) -> [MediaFetch] {
        try await mediaFetches(
            where: "state = 'pending' AND nextAttemptAt <= ? ORDER BY nextAttemptAt, messageId LIMIT ?",
            arguments: [at(now), limit]
        )
    }

    /// Every media fetch of a case, for `case show` at central.
    public func mediaFetches(ofCase caseID: CaseID) async throws(StoreError) -> [MediaFetch] {
        try await mediaFetches(where: "caseId = ? ORDER BY messageId", arguments: [caseID.rawValue])
    }

    /// Records a fetch's outcome; a fetch no longer pending is left as it is.
    ///
    /// - Parameters:
    ///   - messageID: the fetch's message.
    ///   - state: `pending` again (with `nextAttemptAt`), `stored` (with `sha256` and `size`)
    ///     or `failed`.
    ///   - error: why it failed, in English, with no personal data.
    ///   - nextAttemptAt: when a pending fetch is tried again.
    ///   - sha256: the stored blob's hash.
    ///   - size: the stored blob's size.
    ///   - time: now.
    /// - Throws: ``StoreError`` away from central or on a storage failure.
    public func updateMediaFetch(
        _ messageID: Int64,
        state: MediaFetch.State,
        error: String? = nil,
        nextAttemptAt: Timestamp? = nil,
        sha256: [UInt8]? = nil,
        size: UInt64? = nil,
        at time: Timestamp
    ) async throws(StoreError) {
        guard identity.role == .central else {
            throw StoreError(.wrongNode, path: path, message: "reporters' media are fetched only at central")
        }
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE mediaFetch SET state = ?, attempts = attempts + 1, lastError = COALESCE(?, lastError),
                        nextAttemptAt = COALESCE(?, nextAttemptAt), sha256 = COALESCE(?, sha256),
                        size = COALESCE(?, size), updatedAt = ?
                    WHERE messageId = ? AND state = 'pending'
                    """,
                arguments: [
                    state.rawValue, error, nextAttemptAt.map(at), sha256.map { Data($0) }, size.map { Int64($0) },
                    at(time), messageID,
                ]
            )
        }
    }

    private func mediaFetches(
        where clause: String,
        arguments: StatementArguments
    ) async throws(StoreError)
        -> [MediaFetch]
    {
        guard identity.role == .central else { return [] }
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT messageId, caseId, kind, mediaId, mimeType, expectedSha256, state, attempts, nextAttemptAt,
                        lastError, sha256
                    FROM mediaFetch WHERE \(clause)
                    """,
                arguments: arguments
            ).compactMap { row -> MediaFetch? in
                guard let caseID = try? CaseID(row["caseId"] as String),
                    let state = MediaFetch.State(rawValue: row["state"])
                else { return nil }
                return MediaFetch(
                    messageID: row["messageId"],
                    caseID: caseID,
                    media: InboundMedia(
                        kind: row["kind"],
                        mediaID: row["mediaId"],
                        mimeType: row["mimeType"],
                        sha256: row["expectedSha256"]
                    ),
                    state: state,
                    attempts: row["attempts"],
                    nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["nextAttemptAt"]),
                    lastError: row["lastError"],
                    sha256: (row["sha256"] as Data?).map { Array($0) }
                )
            }
        }
    }
}
