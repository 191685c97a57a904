import Foundation
import GRDB
public import SambatCore

/// An inbound message as central stored it, opened for processing.
public struct InboundRecord: Hashable, Sendable {
    /// Central's row id.
    public let id: Int64
    /// The channel.
    public let channel: IntakeChannel
    /// The channel's message id (WhatsApp `wamid`, Gammu's first part id).
    public let externalID: String
    /// The sender's pseudonymous reference.
    public let reporterRef: String?
    /// The raw body, opened.
    public let body: [UInt8]
    /// When central stored it.
    public let receivedAt: Timestamp
}

/// One of a reporter's cases, as central's intake tables know it.
public struct ReporterCaseRow: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// When it was opened.
    public let openedAt: Timestamp
    /// It waits for the reporter's name and NIK.
    public let awaitsIdentity: Bool
}

/// A message to a reporter and its delivery state.
public struct OutboundMessage: Hashable, Sendable {
    /// Where a message stands.
    public enum State: String, Hashable, Sendable {
        /// Waiting to be sent (or to be retried at ``OutboundMessage/nextAttemptAt``).
        case queued
        /// Handed to WhatsApp or the SMS gateway.
        case sent
        /// The phone received it.
        case delivered
        /// The reporter read it (WhatsApp only).
        case read
        /// Given up on.
        case failed
    }

    /// Central's row id.
    public let id: Int64
    /// The event it is for, such as `ack:MJK-261203-0001`: each key is sent at most once.
    public let idempotencyKey: String
    /// The case, if any.
    public let caseID: CaseID?
    /// The channel it goes out on.
    public let channel: IntakeChannel
    /// The reporter's number, opened.
    public let recipient: String
    /// The text, in Bahasa Indonesia; never holds the reporter's identity.
    public let body: String
    /// Where it stands.
    public let state: State
    /// How many sends were tried.
    public let attempts: Int
    /// When the next try is due, for a queued message.
    public let nextAttemptAt: Timestamp
    /// The gateway's id for it (`wamid.…` or Gammu's outbox id).
    public let providerID: String?
    /// The last failure, in English, with no personal data.
    public let lastError: String?
    /// When it was queued.
    public let createdAt: Timestamp
    /// The approved WhatsApp template (`name:language`) it goes out as, outside the 24-hour
    /// window; `nil` for free text.
    public var template: String? = nil
}

/// One opening of a reporter's identity by staff.
public struct IdentityAuditEntry: Hashable, Sendable {
    /// The staff account.
    public let actor: String
    /// Why, as they wrote it.
    public let reason: String
    /// When.
    public let at: Timestamp
}

extension Store {
    /// Stores an inbound message (sealed) once per channel message id, with its sender's
    /// reference, before anything else is done with it.
    ///
    /// - Returns: the new row's id, or `nil` for a duplicate (WhatsApp retries for days).
    public func recordInbound(
        channel: IntakeChannel,
        externalID: String,
        reporterRef: String,
        body: [UInt8],
        cipher: IdentityCipher,
        at time: Timestamp
    ) async throws(StoreError) -> Int64? {
        try requireCentralStore()
        let sealed: [UInt8]
        do {
            sealed = try cipher.seal(body, context: "intake:\(channel.rawValue):\(externalID)")
        } catch {
            throw StoreError(.invalidOp, path: path, message: "cannot seal the message: \(error)")
        }
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO intakeMessage (channel, externalId, receivedAt, sealedBody, reporterRef)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [String(channel.rawValue), externalID, at(time), Data(sealed), reporterRef]
            )
            return db.changesCount > 0 ? db.lastInsertedRowID : nil
        }
    }

    /// Inbound messages stored but not yet processed, oldest first: what a restart takes up.
    public func unprocessedInbound(
        cipher: IdentityCipher,
        limit: Int = 100
    ) async throws(StoreError)
        -> [InboundRecord]
    {
        try requireCentralStore()
        struct Stored: Sendable {
            let id: Int64
            let channel: String
            let externalID: String
            let reporterRef: String?
            let sealed: Data
            let receivedAt: Int64
        }
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, channel, externalId, reporterRef, sealedBody, receivedAt FROM intakeMessage
                    WHERE processedAt IS NULL ORDER BY id LIMIT ?
                    """,
                arguments: [limit]
            ).map { row in
                Stored(
                    id: row["id"],
                    channel: row["channel"],
                    externalID: row["externalId"],
                    reporterRef: row["reporterRef"],
                    sealed: row["sealedBody"],
                    receivedAt: row["receivedAt"]
                )
            }
        }
        var records: [InboundRecord] = []
        for row in rows {
            guard let code = UInt8(row.channel), let channel = IntakeChannel(rawValue: code) else { continue }
            guard let body = try? cipher.open(Array(row.sealed), context: "intake:\(code):\(row.externalID)") else {
                throw StoreError(
                    .corruptOp,
                    path: path,
                    message: "an inbound message cannot be decrypted: wrong identity key, or the row was altered"
                )
            }
            records.append(
                InboundRecord(
                    id: row.id,
                    channel: channel,
                    externalID: row.externalID,
                    reporterRef: row.reporterRef,
                    body: body,
                    receivedAt: Timestamp(millisecondsSinceEpoch: row.receivedAt)
                )
            )
        }
        return records
    }

    /// Marks an inbound message processed, with the case it opened or joined.
    public func markInboundProcessed(
        _ id: Int64,
        caseID: CaseID?,
        media: InboundMedia? = nil,
        at time: Timestamp
    ) async throws(StoreError) {
        try requireCentralStore()
        try await write { db in
            try db.execute(
                sql: "UPDATE intakeMessage SET processedAt = ?, caseId = COALESCE(?, caseId) WHERE id = ?",
                arguments: [at(time), caseID?.rawValue, id]
            )
            // In the same transaction: a processed message's media is never forgotten.
            if let media, let caseID {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO mediaFetch (messageId, caseId, kind, mediaId, mimeType, expectedSha256,
                            state, nextAttemptAt, updatedAt)
                        VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                        """,
                    arguments: [
                        id, caseID.rawValue, media.kind, media.mediaID, media.mimeType, media.sha256, at(time),
                        at(time),
                    ]
                )
            }
        }
    }

    /// How many messages the reporter sent on any channel since `time`.
    public func inboundCount(from reporterRef: String, since time: Timestamp) async throws(StoreError) -> Int {
        try requireCentralStore()
        return try await read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM intakeMessage WHERE reporterRef = ? AND receivedAt >= ?",
                arguments: [reporterRef, at(time)]
            ) ?? 0
        }
    }

    /// When the reporter last wrote on `channel` (WhatsApp's 24-hour window counts from it).
    public func lastInbound(from reporterRef: String, on channel: IntakeChannel) async throws(StoreError) -> Timestamp?
    {
        try requireCentralStore()
        return try await read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT MAX(receivedAt) FROM intakeMessage WHERE reporterRef = ? AND channel = ?",
                arguments: [reporterRef, String(channel.rawValue)]
            ).map { Timestamp(millisecondsSinceEpoch: $0) }
        }
    }

    /// Records that `reporterRef` opened `caseID`.
    public func linkReporterCase(
        _ reporterRef: String,
        caseID: CaseID,
        awaitsIdentity: Bool,
        at time: Timestamp
    ) async throws(StoreError) {
        try requireCentralStore()
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO reporterCase (ref, caseId, openedAt, awaitsIdentity) VALUES (?, ?, ?, ?)
                    ON CONFLICT (ref, caseId) DO UPDATE SET awaitsIdentity = excluded.awaitsIdentity
                    """,
                arguments: [reporterRef, caseID.rawValue, at(time), awaitsIdentity]
            )
        }
    }

    /// The cases `reporterRef` opened, newest first.
    public func reporterCases(_ reporterRef: String, limit: Int = 20) async throws(StoreError) -> [ReporterCaseRow] {
        try requireCentralStore()
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT caseId, openedAt, awaitsIdentity FROM reporterCase WHERE ref = ?
                    ORDER BY openedAt DESC, caseId DESC LIMIT ?
                    """,
                arguments: [reporterRef, limit]
            ).compactMap { row in
                guard let caseID = try? CaseID(row["caseId"] as String) else { return nil }
                return ReporterCaseRow(
                    caseID: caseID,
                    openedAt: Timestamp(millisecondsSinceEpoch: row["openedAt"]),
                    awaitsIdentity: row["awaitsIdentity"]
                )
            }
        }
    }

    /// Opens the identity of the reporter of `caseID` for `actor`, writing the audit entry
    /// first, in the same transaction as the read.
    ///
    /// - Returns: the identity, or `nil` when the case or its reporter is unknown (an audit
    ///   entry is written all the same: the attempt is what is audited).
    public func revealReporter(
        of caseID: CaseID,
        reporterRef: String,
        actor: ActorID,
        reason: String,
        cipher: IdentityCipher,
        at time: Timestamp
    ) async throws(StoreError) -> ReporterIdentity? {
        try requireCentralStore()
        let sealed = try await write { db in
            try db.execute(
                sql: "INSERT INTO identityAudit (caseId, actor, reason, at) VALUES (?, ?, ?, ?)",
                arguments: [caseID.rawValue, actor.rawValue, reason, at(time)]
            )
            return try Data.fetchOne(
                db,
                sql: "SELECT sealedIdentity FROM reporter WHERE ref = ?",
                arguments: [reporterRef]
            )
        }
        guard let sealed else { return nil }
        return try openIdentity(sealed, ref: reporterRef, cipher: cipher)
    }

    /// The identity audit of `caseID`, oldest first: who opened it, when and why.
    public func identityAudit(of caseID: CaseID) async throws(StoreError) -> [IdentityAuditEntry] {
        try requireCentralStore()
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT actor, reason, at FROM identityAudit WHERE caseId = ? ORDER BY id",
                arguments: [caseID.rawValue]
            ).map { row in
                IdentityAuditEntry(
                    actor: row["actor"],
                    reason: row["reason"],
                    at: Timestamp(millisecondsSinceEpoch: row["at"])
                )
            }
        }
    }

    /// Reporters' cases with changes their notices were not yet derived from, at most `limit`.
    ///
    /// A change is an op other than a note or evidence (`caseView.changeCount`): notices
    /// follow dispatches, resolutions, closes and archives, never notes. Reads only cases still
    /// watched (not closed or archived and notified), so the cost follows the open cases, not
    /// the history. With `allowingProjectionLag`, changes that peers' batches brought within
    /// the projection delay may not be counted yet: for the notifier's poll, which counts them
    /// at a later round.
    public func casesToNotify(
        limit: Int = 200,
        allowingProjectionLag: Bool = false
    ) async throws(StoreError) -> [(ref: String, caseID: CaseID, changes: Int)] {
        try requireCentralStore()
        let body: @Sendable (Database) throws -> [(ref: String, caseID: CaseID, changes: Int)] = { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT reporterCase.ref, reporterCase.caseId, caseView.changeCount FROM reporterCase
                    JOIN caseView ON caseView.caseId = reporterCase.caseId
                    WHERE reporterCase.done = 0 AND caseView.changeCount > reporterCase.notifiedChanges
                    LIMIT ?
                    """,
                arguments: [limit]
            ).compactMap { row in
                guard let caseID = try? CaseID(row[1] as String) else { return nil }
                return (row[0] as String, caseID, row[2] as Int)
            }
        }
        return try await allowingProjectionLag ? readProjectedWithinDelay(body) : readProjected(body)
    }

    /// Records that notices were derived from the case's first `changes` changes; `done`
    /// stops watching it.
    public func markNotified(_ ref: String, caseID: CaseID, changes: Int, done: Bool) async throws(StoreError) {
        try requireCentralStore()
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE reporterCase SET notifiedChanges = MAX(notifiedChanges, ?), done = ?
                    WHERE ref = ? AND caseId = ?
                    """,
                arguments: [changes, done, ref, caseID.rawValue]
            )
        }
    }

    /// Queues a message to a reporter unless one with the same key was queued before.
    ///
    /// - Returns: `false` when the key exists: the notice was already queued (or sent).
    public func enqueueOutbound(
        key: String,
        caseID: CaseID?,
        channel: IntakeChannel,
        recipient: String,
        body: String,
        template: String? = nil,
        cipher: IdentityCipher,
        at time: Timestamp
    ) async throws(StoreError) -> Bool {
        try requireCentralStore()
        let sealed: [UInt8]
        do {
            sealed = try cipher.seal(Array(recipient.utf8), context: "outbound:" + key)
        } catch {
            throw StoreError(.invalidOp, path: path, message: "cannot seal the recipient: \(error)")
        }
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO outboundMessage (idempotencyKey, caseId, channel, sealedRecipient, body, state,
                        nextAttemptAt, createdAt, updatedAt, template)
                    VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)
                    """,
                arguments: [
                    key, caseID?.rawValue, Int64(channel.rawValue), Data(sealed), body, at(time), at(time), at(time),
                    template,
                ]
            )
            return db.changesCount > 0
        }
    }

    /// Queued messages whose next try is due at `now`, oldest first.
    public func dueOutbound(
        at now: Timestamp,
        cipher: IdentityCipher,
        limit: Int = 50
    ) async throws(StoreError)
        -> [OutboundMessage]
    {
        try await outbound(
            where: "state = 'queued' AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?",
            arguments: [at(now), limit],
            cipher: cipher
        )
    }

    /// Messages in `state` on `channel`, oldest first, at most `limit`.
    public func outbound(
        inState state: OutboundMessage.State,
        on channel: IntakeChannel,
        cipher: IdentityCipher,
        limit: Int = 200
    ) async throws(StoreError) -> [OutboundMessage] {
        try await outbound(
            where: "state = ? AND channel = ? ORDER BY id LIMIT ?",
            arguments: [state.rawValue, Int64(channel.rawValue), limit],
            cipher: cipher
        )
    }

    /// Every message to the reporter of `caseID`, oldest first, for `case show` at central.
    public func outbound(ofCase caseID: CaseID, cipher: IdentityCipher) async throws(StoreError) -> [OutboundMessage] {
        try await outbound(where: "caseId = ? ORDER BY id", arguments: [caseID.rawValue], cipher: cipher)
    }

    /// The message the gateway knows as `providerID`.
    public func outbound(providerID: String, cipher: IdentityCipher) async throws(StoreError) -> OutboundMessage? {
        try await outbound(where: "providerId = ? LIMIT 1", arguments: [providerID], cipher: cipher).first
    }

    /// Records a send attempt or a delivery report.
    ///
    /// A state never moves backwards (a late "sent" after "read" is ignored); a queued message
    /// takes any state.
    public func updateOutbound(
        _ id: Int64,
        state: OutboundMessage.State,
        providerID: String? = nil,
        error: String? = nil,
        nextAttemptAt: Timestamp? = nil,
        countAttempt: Bool = false,
        at time: Timestamp
    ) async throws(StoreError) {
        try requireCentralStore()
        let rank: [OutboundMessage.State: Int] = [.queued: 0, .failed: 1, .sent: 2, .delivered: 3, .read: 4]
        try await write { db in
            guard
                let current = try String.fetchOne(
                    db,
                    sql: "SELECT state FROM outboundMessage WHERE id = ?",
                    arguments: [id]
                ).flatMap(OutboundMessage.State.init(rawValue:))
            else { return }
            let forward = (rank[state] ?? 0) >= (rank[current] ?? 0) || current == .queued
            try db.execute(
                sql: """
                    UPDATE outboundMessage SET state = ?, providerId = COALESCE(?, providerId),
                        lastError = COALESCE(?, lastError), nextAttemptAt = COALESCE(?, nextAttemptAt),
                        attempts = attempts + ?, updatedAt = ?
                    WHERE id = ?
                    """,
                arguments: [
                    forward ? state.rawValue : current.rawValue, providerID, error,
                    nextAttemptAt.map(at), countAttempt ? 1 : 0, at(time), id,
                ]
            )
        }
    }

    private func outbound(
        where clause: String,
        arguments: StatementArguments,
        cipher: IdentityCipher
    ) async throws(StoreError) -> [OutboundMessage] {
        try requireCentralStore()
        struct Stored: Sendable {
            let id: Int64
            let key: String
            let caseID: String?
            let channel: Int64
            let sealed: Data
            let body: String
            let state: String
            let attempts: Int
            let nextAttemptAt: Int64
            let providerID: String?
            let lastError: String?
            let createdAt: Int64
            let template: String?
        }
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, idempotencyKey, caseId, channel, sealedRecipient, body, state, attempts, nextAttemptAt,
                        providerId, lastError, createdAt, template
                    FROM outboundMessage WHERE \(clause)
                    """,
                arguments: arguments
            ).map { row in
                Stored(
                    id: row["id"],
                    key: row["idempotencyKey"],
                    caseID: row["caseId"],
                    channel: row["channel"],
                    sealed: row["sealedRecipient"],
                    body: row["body"],
                    state: row["state"],
                    attempts: row["attempts"],
                    nextAttemptAt: row["nextAttemptAt"],
                    providerID: row["providerId"],
                    lastError: row["lastError"],
                    createdAt: row["createdAt"],
                    template: row["template"]
                )
            }
        }
        var messages: [OutboundMessage] = []
        for row in rows {
            guard let recipient = try? cipher.open(Array(row.sealed), context: "outbound:" + row.key),
                let channel = IntakeChannel(rawValue: UInt8(clamping: row.channel)),
                let state = OutboundMessage.State(rawValue: row.state)
            else {
                throw StoreError(
                    .corruptOp,
                    path: path,
                    message: "an outbound message cannot be opened: wrong identity key, or the row was altered"
                )
            }
            messages.append(
                OutboundMessage(
                    id: row.id,
                    idempotencyKey: row.key,
                    caseID: row.caseID.flatMap { try? CaseID($0) },
                    channel: channel,
                    recipient: String(decoding: recipient, as: UTF8.self),
                    body: row.body,
                    state: state,
                    attempts: row.attempts,
                    nextAttemptAt: Timestamp(millisecondsSinceEpoch: row.nextAttemptAt),
                    providerID: row.providerID,
                    lastError: row.lastError,
                    createdAt: Timestamp(millisecondsSinceEpoch: row.createdAt),
                    template: row.template
                )
            )
        }
        return messages
    }

    func requireCentralStore() throws(StoreError) {
        guard identity.role == .central else {
            throw StoreError(
                .wrongNode,
                path: path,
                message: "reporter identities, raw messages and replies are kept only at central"
            )
        }
    }
}
