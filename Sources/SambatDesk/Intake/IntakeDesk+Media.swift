import Crypto
import Foundation
public import SambatCore
public import SambatStore

extension IntakeDesk {
    /// The most bytes of one reporter's media central keeps by default (WhatsApp's own limit
    /// for audio and video; photos are smaller).
    public static let defaultMediaBytes = 16 << 20

    /// Reporters' media whose fetch is due at `now`.
    public func dueMedia(at now: Timestamp) async throws(StoreError) -> [MediaFetch] {
        try await store.dueMediaFetches(at: now)
    }

    /// A case's media fetches, for `case show` at central.
    public func media(of caseID: CaseID) async throws(StoreError) -> [MediaFetch] {
        try await store.mediaFetches(ofCase: caseID)
    }

    /// Whether fetched bytes are the ones the channel announced: `expected` is the SHA-256 in
    /// hex (the Graph API's media endpoint) or base64 (webhook payloads).
    public static func media(_ bytes: [UInt8], matches expected: String) -> Bool {
        let digest = Array(SHA256.hash(data: bytes))
        let trimmed = expected.trimmingCharacters(in: .whitespaces)
        if trimmed.count == 64, trimmed.lowercased() == Hex.encode(digest) { return true }
        return Data(base64Encoded: trimmed).map { Array($0) == digest } ?? false
    }

    /// Keeps fetched and checked media as evidence of its case: stored content-addressed, and an
    /// `evidence_added` op that the case's office receives with the blob.
    ///
    /// The evidence is named by kind only (never the reporter's file name, which may name
    /// them). Run again after a crash, it adds no second op for the same bytes.
    /// - Throws: ``StoreError`` or a blob-store failure; the fetch stays pending.
    public func keepMedia(_ fetch: MediaFetch, bytes: [UInt8], at now: Timestamp) async throws {
        let sha256 = try await store.blobs.put(bytes)
        let held = try await store.caseState(fetch.caseID)?.evidence.contains { $0.sha256 == sha256 } ?? false
        if !held {
            _ = try await store.append(
                .evidenceAdded(
                    .init(
                        sha256: sha256,
                        size: UInt64(bytes.count),
                        mimeType: fetch.media.mimeType,
                        name: Presentation.mediaName(kind: fetch.media.kind, mimeType: fetch.media.mimeType)
                    )
                ),
                to: fetch.caseID,
                actor: Self.intakeActor,
                at: now
            )
        }
        try await store.updateMediaFetch(
            fetch.messageID,
            state: .stored,
            sha256: sha256,
            size: UInt64(bytes.count),
            at: now
        )
    }

    /// Schedules another fetch after a failure that may pass (the network, a 5xx): 30 s after
    /// the first, doubling, until ``maximumSendAttempts``; then the fetch is marked failed.
    public func retryMedia(_ fetch: MediaFetch, error: String, at now: Timestamp) async throws(StoreError) {
        guard let next = Self.nextAttempt(afterFailures: fetch.attempts + 1, at: now) else {
            try await store.updateMediaFetch(fetch.messageID, state: .failed, error: error, at: now)
            return
        }
        try await store.updateMediaFetch(fetch.messageID, state: .pending, error: error, nextAttemptAt: next, at: now)
    }

    /// Gives up on media that will never be right: too large, or not the bytes announced.
    public func refuseMedia(_ fetch: MediaFetch, reason: String, at now: Timestamp) async throws(StoreError) {
        try await store.updateMediaFetch(fetch.messageID, state: .failed, error: reason, at: now)
    }
}
