import Foundation
public import SambatCore
public import SambatStore

/// A message as a channel delivers it: all a citizen gives is a number and some text.
public struct InboundMessage: Hashable, Sendable {
    /// The channel.
    public var channel: IntakeChannel
    /// The channel's message id: the dedupe key (WhatsApp retries for days).
    public var externalID: String
    /// The sender's number.
    public var sender: String
    /// The text as sent.
    public var text: String
    /// A place the reporter gave, if any.
    public var location: String
    /// The name the channel shows for the sender (WhatsApp's profile name): never stored in
    /// an op, but masked wherever the text repeats it.
    public var profileName: String
    /// A photo, voice note or document sent with it, fetched later as evidence of the case.
    public var media: InboundMedia?

    /// A message.
    public init(
        channel: IntakeChannel,
        externalID: String,
        sender: String,
        text: String,
        location: String = "",
        profileName: String = "",
        media: InboundMedia? = nil
    ) {
        self.channel = channel
        self.externalID = externalID
        self.sender = sender
        self.text = text
        self.location = location
        self.profileName = profileName
        self.media = media
    }
}

/// What a message did.
public enum IntakeOutcome: Hashable, Sendable {
    /// The same message was stored before: nothing was done again.
    case duplicate
    /// A new case; it waits for the reporter's identity when the city requires one.
    case opened(CaseID, awaitsIdentity: Bool)
    /// Added to the reporter's open case.
    case joined(CaseID)
    /// The name and NIK the case waited for were recorded.
    case identityRecorded(CaseID)
    /// An identity reply that could not be used; the reporter was asked again.
    case identityAgain(CaseID)
    /// The reporter confirmed the office's follow-up; the case was closed.
    case confirmed(CaseID)
    /// The reporter disputed it; the case was reopened.
    case disputed(CaseID)
    /// Nothing could be done with it (empty text): the reporter was told.
    case unusable
    /// The sender went over the hourly limit: the message is kept, not made into ops.
    case rateLimited

    /// The case concerned, if any.
    public var caseID: CaseID? {
        switch self {
        case .opened(let id, _), .joined(let id), .identityRecorded(let id), .identityAgain(let id),
            .confirmed(let id), .disputed(let id):
            id
        case .duplicate, .unusable, .rateLimited: nil
        }
    }
}

/// How central takes messages in.
public struct IntakePolicy: Hashable, Sendable {
    /// A new case waits as pending until the reporter's name and NIK are known.
    public var requireIdentity: Bool
    /// Categories whose complaints need no name and NIK (`intake.identity_optional_for`).
    ///
    /// A category is an office the routing rules suggest, such as perkim for a broken street
    /// light. A complaint suggesting several offices is exempt only when every one of them is.
    public var identityOptionalFor: Set<NodeID> = []
    /// The routing rules that tell a complaint's category; none by default.
    public var routing = RoutingRules(rules: [])
    /// The words threading listens for.
    public var words: ThreadingWords
    /// The most messages one sender's messages become case work in an hour; more are kept
    /// but not acted on (a flood from one number), and the sender is told once an hour.
    public var maximumMessagesPerHour: Int

    /// A policy; identity required by default, as the city's rules say.
    public init(
        requireIdentity: Bool = true,
        words: ThreadingWords = ThreadingWords(),
        maximumMessagesPerHour: Int = 30
    ) {
        self.requireIdentity = requireIdentity
        self.words = words
        self.maximumMessagesPerHour = maximumMessagesPerHour
    }

    /// Whether a new complaint with this masked text waits for the reporter's identity.
    public func requiresIdentity(forComplaint maskedText: String) -> Bool {
        guard requireIdentity else { return false }
        guard !identityOptionalFor.isEmpty else { return true }
        let suggested = routing.suggest(for: maskedText).map(\.office)
        return suggested.isEmpty || !suggested.allSatisfy(identityOptionalFor.contains)
    }
}

extension IntakeDesk {
    /// The actor of ops intake authors on a reporter's behalf.
    public static let intakeActor = ActorID.system

    /// Takes one message in: stores it (sealed) before anything else, decides with
    /// ``Threading`` what it does, authors the ops, queues the reply, and marks it processed.
    ///
    /// A duplicate of a stored message does nothing. A message stored but not processed (a
    /// crash in between) is taken up by ``processPending(policy:at:limit:)``.
    ///
    /// - Throws: ``StoreError`` on a storage failure; the message stays stored.
    public func receive(
        _ message: InboundMessage,
        policy: IntakePolicy,
        at now: Timestamp
    ) async throws
        -> IntakeOutcome
    {
        let reference = ReporterReference.make(phone: message.sender, secret: referenceSecret)
        let envelope = Self.envelope(message)
        guard
            let id = try await store.recordInbound(
                channel: message.channel,
                externalID: message.externalID,
                reporterRef: reference,
                body: envelope,
                cipher: cipher,
                at: now
            )
        else { return .duplicate }
        let outcome = try await process(message, reference: reference, policy: policy, at: now)
        try await store.markInboundProcessed(id, caseID: outcome.caseID, media: message.media, at: now)
        return outcome
    }

    /// Stores a message for processing and nothing more.
    ///
    /// What a webhook does before it answers 200; ``processPending(policy:at:limit:)`` does the rest.
    ///
    /// - Returns: `false` for a duplicate of a stored message.
    public func accept(_ message: InboundMessage, at now: Timestamp) async throws(StoreError) -> Bool {
        let reference = ReporterReference.make(phone: message.sender, secret: referenceSecret)
        let stored =
            try await store.recordInbound(
                channel: message.channel,
                externalID: message.externalID,
                reporterRef: reference,
                body: Self.envelope(message),
                cipher: cipher,
                at: now
            ) != nil
        if stored { IntakeMetrics.received(on: message.channel) }
        return stored
    }

    /// Applies a gateway's delivery report to the message it names.
    ///
    /// - Returns: `false` when no message of ours has that provider id.
    public func recordDelivery(
        providerID: String,
        state: OutboundMessage.State,
        errorCode: Int?,
        at now: Timestamp
    ) async throws(StoreError) -> Bool {
        guard let message = try await store.outbound(providerID: providerID, cipher: cipher) else { return false }
        try await store.updateOutbound(
            message.id,
            state: state,
            error: errorCode.map { "provider error \($0)" },
            at: now
        )
        return true
    }

    /// The reporter's identity for staff at central, behind an audit entry (who, when, which
    /// case, why; never the identity itself) written before it is read.
    ///
    /// - Throws: ``DeskError`` when the reason is empty or the case unknown.
    public func revealIdentity(
        of caseID: CaseID,
        actor: ActorID,
        reason: String,
        at now: Timestamp
    ) async throws -> ReporterIdentity? {
        let reason = try StaffInput.text(reason, field: .reason)
        guard let reference = try await store.caseState(caseID)?.complaint?.reporterRef else {
            throw DeskError.caseNotFound(caseID, on: store.identity.node)
        }
        return try await store.revealReporter(
            of: caseID,
            reporterRef: reference,
            actor: actor,
            reason: reason,
            cipher: cipher,
            at: now
        )
    }

    /// Messages sent (or queued) to the reporter of `caseID`, oldest first.
    public func replies(of caseID: CaseID) async throws(StoreError) -> [OutboundMessage] {
        try await store.outbound(ofCase: caseID, cipher: cipher)
    }

    /// Queues the notices reporters are owed for what happened to their cases since the last
    /// call: dispatched to an office, resolved by the offices, closed, archived (with a polite
    /// reason per code).
    ///
    /// Each notice has an idempotency key (event, case, and the op or epoch it is about), so
    /// it is queued at most once, however often this runs or restarts. A WhatsApp reporter is
    /// answered on WhatsApp within 24 hours of their last message, by SMS after.
    ///
    /// - Parameters:
    ///   - officeName: the name to tell the reporter for an office.
    ///   - now: the time the notices are queued at.
    ///   - allowingProjectionLag: leave the changes of peers' batches committed within the
    ///     store's projection delay to a later call (for a caller that polls; see
    ///     ``Store/casesToNotify(limit:allowingProjectionLag:)``).
    /// - Returns: how many cases were looked at.
    /// - Throws: ``StoreError`` on a storage failure; what was queued stays queued.
    public func notifyReporters(
        officeName: (NodeID) -> String,
        at now: Timestamp,
        allowingProjectionLag: Bool = false
    ) async throws -> Int {
        let pending = try await store.casesToNotify(allowingProjectionLag: allowingProjectionLag)
        for entry in pending {
            guard let state = try await store.caseState(entry.caseID), let complaint = state.complaint,
                let identity = try await store.reporter(ref: entry.ref, cipher: cipher), !identity.phone.isEmpty
            else {
                try await store.markNotified(entry.ref, caseID: entry.caseID, changes: entry.changes, done: true)
                continue
            }
            let caseID = state.caseID
            var notices: [(key: String, text: String)] = []
            for assignment in state.assignments {
                notices.append(
                    (
                        "dispatched:\(caseID):\(assignment.office):\(assignment.epoch)",
                        ReporterNotices.dispatched(caseID, officeName: officeName(assignment.office))
                    )
                )
            }
            if state.status == .resolved,
                let latest = state.assignments.compactMap(\.resolved).max(by: { $0.at < $1.at })
            {
                notices.append(("resolved:\(caseID):\(latest.op)", ReporterNotices.resolved(caseID)))
            }
            if state.status == .closed, state.closeReason != .confirmedByReporter, let closed = state.milestones.closed
            {
                notices.append(("closed:\(caseID):\(closed.op)", ReporterNotices.closed(caseID)))
            }
            if state.status == .archived, let reason = state.archiveReason {
                notices.append(("archived:\(caseID)", ReporterNotices.archived(caseID, reason: reason)))
            }
            let route = try await noticeRoute(for: complaint.channel, reference: entry.ref, at: now)
            for notice in notices {
                _ = try await store.enqueueOutbound(
                    key: notice.key,
                    caseID: caseID,
                    channel: route.channel,
                    recipient: identity.phone,
                    body: notice.text,
                    template: route.template?.stored,
                    cipher: cipher,
                    at: now
                )
            }
            let finished = state.status == .closed || state.status == .archived
            try await store.markNotified(entry.ref, caseID: caseID, changes: entry.changes, done: finished)
        }
        return pending.count
    }

    /// How a notice reaches a reporter: free text on WhatsApp within 24 hours of their last
    /// WhatsApp message (the Cloud API's window), the configured template on WhatsApp after,
    /// and SMS when no template is configured or the reporter wrote by SMS.
    func noticeRoute(
        for channel: IntakeChannel,
        reference: String,
        at now: Timestamp
    ) async throws(StoreError)
        -> (channel: IntakeChannel, template: WhatsAppTemplate?)
    {
        guard channel == .whatsapp else { return (.sms, nil) }
        if let last = try await store.lastInbound(from: reference, on: .whatsapp),
            now.millisecondsSinceEpoch - last.millisecondsSinceEpoch < 24 * 3_600_000
        {
            return (.whatsapp, nil)
        }
        guard let template = whatsAppTemplate else { return (.sms, nil) }
        return (.whatsapp, template)
    }

    /// The channel a notice on `caseID` would take at `now`, for tests of the 24-hour window.
    package func noticeChannelForTests(ofCase caseID: CaseID, at now: Timestamp) async throws -> IntakeChannel? {
        guard let complaint = try await store.caseState(caseID)?.complaint else { return nil }
        return try await noticeRoute(for: complaint.channel, reference: complaint.reporterRef, at: now).channel
    }

    /// Replies due to go out on `channel`, oldest first.
    public func dueReplies(on channel: IntakeChannel, at now: Timestamp) async throws(StoreError) -> [OutboundMessage] {
        try await store.dueOutbound(at: now, cipher: cipher).filter { $0.channel == channel }
    }

    /// Records that a gateway took a reply, under the gateway's id for it.
    public func markReplySent(_ reply: OutboundMessage, providerID: String, at now: Timestamp) async throws(StoreError)
    {
        try await store.updateOutbound(reply.id, state: .sent, providerID: providerID, countAttempt: true, at: now)
    }

    /// The most tries a reply gets before it is marked failed.
    public static let maximumSendAttempts = 6

    /// Schedules another try of a reply that could not be sent: 30 s after the first failure,
    /// doubling, until ``maximumSendAttempts``; then it is marked failed.
    public func retryReply(_ reply: OutboundMessage, error: String, at now: Timestamp) async throws(StoreError) {
        IntakeMetrics.sendFailed(on: reply.channel)
        guard let next = Self.nextAttempt(afterFailures: reply.attempts + 1, at: now) else {
            try await store.updateOutbound(reply.id, state: .failed, error: error, countAttempt: true, at: now)
            return
        }
        try await store.updateOutbound(
            reply.id,
            state: .queued,
            error: error,
            nextAttemptAt: next,
            countAttempt: true,
            at: now
        )
    }

    /// When to try again after `failures` failed tries, or `nil` to give up.
    ///
    /// 30 s after the first failure, doubling, until ``maximumSendAttempts`` tries have failed.
    /// Replies and media fetches both wait so.
    static func nextAttempt(afterFailures failures: Int, at now: Timestamp) -> Timestamp? {
        guard failures < maximumSendAttempts else { return nil }
        return Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + (Int64(30_000) << Int64(failures - 1)))
    }

    /// Marks a WhatsApp reply failed and queues the same text by SMS, once.
    public func sendBySMSInstead(_ reply: OutboundMessage, error: String, at now: Timestamp) async throws(StoreError) {
        IntakeMetrics.sendFailed(on: reply.channel)
        try await store.updateOutbound(reply.id, state: .failed, error: error, countAttempt: true, at: now)
        _ = try await store.enqueueOutbound(
            key: reply.idempotencyKey + ":sms",
            caseID: reply.caseID,
            channel: .sms,
            recipient: reply.recipient,
            body: reply.body,
            cipher: cipher,
            at: now
        )
    }

    /// Replies sent on `channel` whose delivery is not yet known.
    public func repliesAwaitingReport(on channel: IntakeChannel) async throws(StoreError) -> [OutboundMessage] {
        try await store.outbound(inState: .sent, on: channel, cipher: cipher)
    }

    /// Processes stored messages not yet processed (new ones, and those a restart left),
    /// oldest first, at most `limit` of them.
    ///
    /// - Returns: how many were processed, and whether `limit` messages were taken up (then
    ///   more may be waiting).
    public func processPending(
        policy: IntakePolicy,
        at now: Timestamp,
        limit: Int = 100
    ) async throws -> (processed: Int, batchWasFull: Bool) {
        var count = 0
        let records = try await store.unprocessedInbound(cipher: cipher, limit: limit)
        for record in records {
            guard let message = Self.message(fromEnvelope: record.body, channel: record.channel, id: record.externalID)
            else {
                try await store.markInboundProcessed(record.id, caseID: nil, at: now)
                continue
            }
            let reference = ReporterReference.make(phone: message.sender, secret: referenceSecret)
            let outcome = try await process(message, reference: reference, policy: policy, at: now)
            try await store.markInboundProcessed(record.id, caseID: outcome.caseID, media: message.media, at: now)
            count += 1
        }
        return (count, records.count >= limit)
    }

    private func process(
        _ message: InboundMessage,
        reference: String,
        policy: IntakePolicy,
        at now: Timestamp
    ) async throws -> IntakeOutcome {
        let hourAgo = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 3_600_000)
        if try await store.inboundCount(from: reference, since: hourAgo) > policy.maximumMessagesPerHour {
            let hour = now.millisecondsSinceEpoch / 3_600_000
            try await reply(message, key: "flood:\(reference):\(hour)", caseID: nil, ReporterNotices.slowDown(), now)
            return .rateLimited
        }
        let known = try await store.reporter(ref: reference, cipher: cipher)
        let knownNames = ([known?.name ?? "", message.profileName]).filter { !$0.isEmpty }
        let text = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
        var cases: [ReporterCase] = []
        for row in try await store.reporterCases(reference) {
            guard let state = try await store.caseState(row.caseID) else { continue }
            cases.append(ReporterCase(caseID: row.caseID, status: state.status, awaitsIdentity: row.awaitsIdentity))
        }
        let decision = Threading.decide(text, cases: cases, words: policy.words)
        switch decision {
        case .open:
            guard !text.isEmpty else {
                try await reply(
                    message,
                    key: "unusable:\(message.externalID)",
                    caseID: nil,
                    ReporterNotices.unsupported(),
                    now
                )
                return .unusable
            }
            let masked = Self.bounded(PIIMasker.mask(text, names: knownNames), OpLimits.maximumLongText)
            let location = Self.bounded(PIIMasker.mask(message.location, names: knownNames), OpLimits.maximumShortText)
            let hasIdentity = known.map { !$0.name.isEmpty && !$0.nik.isEmpty } ?? false
            if known == nil {
                try await store.saveReporter(
                    ReporterIdentity(name: "", nik: "", phone: message.sender),
                    ref: reference,
                    cipher: cipher,
                    at: now
                )
            }
            let opened = OpBody.opened(
                .init(channel: message.channel, reporterRef: reference, text: masked, location: location)
            )
            let caseID = try await openCase(opened, actor: Self.intakeActor, at: now)
            let awaits = policy.requiresIdentity(forComplaint: masked) && !hasIdentity
            if awaits {
                _ = try await store.append(
                    .pended(.init(request: "identitas pelapor: nama lengkap dan NIK")),
                    to: caseID,
                    actor: Self.intakeActor,
                    at: now
                )
            }
            try await store.linkReporterCase(reference, caseID: caseID, awaitsIdentity: awaits, at: now)
            try await reply(
                message,
                key: "received:\(caseID)",
                caseID: caseID,
                ReporterNotices.received(caseID, needsIdentity: awaits),
                now
            )
            return .opened(caseID, awaitsIdentity: awaits)
        case .join(let caseID):
            let masked = Self.bounded(PIIMasker.mask(text, names: knownNames), OpLimits.maximumShortText)
            _ = try await store.append(
                .reporterWrote(.init(channel: message.channel, text: masked)),
                to: caseID,
                actor: Self.intakeActor,
                at: now
            )
            try await reply(
                message,
                key: "joined:\(message.externalID)",
                caseID: caseID,
                ReporterNotices.joined(caseID),
                now
            )
            return .joined(caseID)
        case .supplyIdentity(let caseID, let identity):
            guard let nik = identity.nik, let name = identity.name else {
                try await reply(
                    message,
                    key: "identity-again:\(message.externalID)",
                    caseID: caseID,
                    ReporterNotices.identityAgain(
                        caseID,
                        problem: identity.invalidNIK,
                        nameMissing: identity.name == nil
                    ),
                    now
                )
                return .identityAgain(caseID)
            }
            try await store.saveReporter(
                ReporterIdentity(name: name, nik: nik, phone: message.sender),
                ref: reference,
                cipher: cipher,
                at: now
            )
            try await store.linkReporterCase(reference, caseID: caseID, awaitsIdentity: false, at: now)
            // The reply itself is personal: the case only learns that it arrived.
            _ = try await store.append(
                .reporterWrote(.init(channel: message.channel, text: "[identitas pelapor diterima dan dirahasiakan]")),
                to: caseID,
                actor: Self.intakeActor,
                at: now
            )
            try await reply(
                message,
                key: "identity:\(caseID)",
                caseID: caseID,
                ReporterNotices.identityRecorded(caseID),
                now
            )
            return .identityRecorded(caseID)
        case .confirm(let caseID):
            _ = try await store.append(
                .closed(.init(reason: .confirmedByReporter)),
                to: caseID,
                actor: Self.intakeActor,
                at: now
            )
            try await reply(
                message,
                key: "confirmed:\(message.externalID)",
                caseID: caseID,
                ReporterNotices.confirmed(caseID),
                now
            )
            return .confirmed(caseID)
        case .dispute(let caseID):
            let masked = Self.bounded(PIIMasker.mask(text, names: knownNames), OpLimits.maximumShortText)
            _ = try await store.append(
                .reopened(.init(reason: masked.isEmpty ? "pelapor menyatakan belum selesai" : masked)),
                to: caseID,
                actor: Self.intakeActor,
                at: now
            )
            try await reply(
                message,
                key: "disputed:\(message.externalID)",
                caseID: caseID,
                ReporterNotices.disputed(caseID),
                now
            )
            return .disputed(caseID)
        }
    }

    /// Queues a reply on the channel the reporter used.
    private func reply(
        _ message: InboundMessage,
        key: String,
        caseID: CaseID?,
        _ body: String,
        _ now: Timestamp
    ) async throws {
        _ = try await store.enqueueOutbound(
            key: key,
            caseID: caseID,
            channel: Self.replyChannel(for: message.channel),
            recipient: message.sender,
            body: body,
            cipher: cipher,
            at: now
        )
    }

    /// Where a reply goes: back on WhatsApp or SMS; a complaint taken by phone, at the desk, on
    /// the web or by Open311 is answered by SMS to the number given.
    static func replyChannel(for channel: IntakeChannel) -> IntakeChannel {
        channel == .whatsapp ? .whatsapp : .sms
    }

    /// The stored form of a message: its fields joined by U+001F, which channels never deliver
    /// inside a field (a field holding it would be read back as more fields: the message is
    /// then marked processed unread rather than misread).
    static func envelope(_ message: InboundMessage) -> [UInt8] {
        // The separators are control characters no one types; one sent anyway becomes a space,
        // so a message always opens again.
        func clean(_ field: String) -> String {
            String(field.unicodeScalars.map { $0 == "\u{1F}" || $0 == "\u{1E}" ? " " : Character($0) })
        }
        var fields = [message.sender, message.text, message.location, message.profileName].map(clean)
        if let media = message.media {
            fields.append(
                [media.kind, media.mediaID, media.mimeType, media.sha256].map(clean).joined(separator: "\u{1E}")
            )
        }
        return Array(fields.joined(separator: "\u{1F}").utf8)
    }

    static func message(fromEnvelope bytes: [UInt8], channel: IntakeChannel, id: String) -> InboundMessage? {
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\u{1F}", omittingEmptySubsequences: false)
        // Three fields in messages stored before the profile name was kept, five with media.
        guard (3...5).contains(fields.count) else { return nil }
        var media: InboundMedia?
        if fields.count == 5 {
            let parts = fields[4].split(separator: "\u{1E}", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4 else { return nil }
            media = InboundMedia(kind: parts[0], mediaID: parts[1], mimeType: parts[2], sha256: parts[3])
        }
        return InboundMessage(
            channel: channel,
            externalID: id,
            sender: String(fields[0]),
            text: String(fields[1]),
            location: String(fields[2]),
            profileName: fields.count >= 4 ? String(fields[3]) : "",
            media: media
        )
    }

    /// `text` cut to at most `limit` UTF-8 bytes on a character boundary, with "…".
    static func bounded(_ text: String, _ limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count + "…".utf8.count > limit { break }
            result.append(character)
        }
        return result + "…"
    }
}
