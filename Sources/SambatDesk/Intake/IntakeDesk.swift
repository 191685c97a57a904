import Crypto
import Foundation
public import SambatCore
public import SambatStore

/// A complaint as the hotline operator types it: the reporter's identity and their words.
public struct IntakeComplaint: Hashable, Sendable {
    /// How it came in.
    public var channel: IntakeChannel
    /// The reporter's full name.
    public var name: String
    /// The reporter's 16-digit NIK.
    public var nik: String
    /// The reporter's phone or WhatsApp number.
    public var phone: String
    /// The complaint, as the reporter said it (masked before it enters an op).
    public var text: String
    /// Where; may be empty.
    public var location: String

    /// Creates a complaint.
    public init(channel: IntakeChannel, name: String, nik: String, phone: String, text: String, location: String = "") {
        self.channel = channel
        self.name = name
        self.nik = nik
        self.phone = phone
        self.text = text
        self.location = location
    }
}

/// An approved WhatsApp message template with one body parameter, which carries the notice.
///
/// Meta lets a business send free text only within 24 hours of the user's last message;
/// later, only a template it approved. Sambat's template is expected to read like
/// "Pembaruan laporan Anda: {{1}}".
public struct WhatsAppTemplate: Hashable, Sendable {
    /// The template's name, as approved (`whatsapp.template`).
    public var name: String
    /// Its language code (`whatsapp.template_language`, default `id`).
    public var language: String

    /// A template.
    public init(name: String, language: String = "id") {
        self.name = name
        self.language = language
    }

    /// As stored with a queued notice: `name:language`.
    public var stored: String { "\(name):\(language)" }

    /// A stored template, or `nil` when `text` is not one.
    public init?(stored text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(name: parts[0], language: parts[1])
    }
}

/// Central's intake: registers a complaint as a new case, keeping the identity at central.
///
/// The identity is sealed into central's reporter table; the `opened` op carries only the
/// pseudonymous reference and the masked text, so nothing personal reaches an office or the
/// mayor. Owned by central's CLI and its intake adapters.
public struct IntakeDesk: Sendable {
    /// Central's store.
    public let store: Store
    /// Seals identities and raw texts.
    let cipher: IdentityCipher
    /// Keys the reporter reference; derived from the identity key, never stored.
    let referenceSecret: [UInt8]
    /// The reference secret, for tests that store a message as a crashed intake would have.
    package var referenceSecretForTests: [UInt8] { referenceSecret }
    /// The city prefix of ticket numbers.
    public let casePrefix: String
    /// Used to date ticket numbers in WIB.
    public let calendar: WorkingCalendar
    /// The approved template WhatsApp notices go out as outside the 24-hour window
    /// (`whatsapp.template`); without one they go by SMS.
    public var whatsAppTemplate: WhatsAppTemplate?

    /// A desk over central's store, with the identity key from `identity.key_file`.
    public init(store: Store, identityKey: [UInt8], calendar: WorkingCalendar, casePrefix: String = "MJK") throws {
        self.store = store
        self.cipher = try IdentityCipher(keyBytes: identityKey)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("sambat reporter reference v1".utf8),
            using: SymmetricKey(data: identityKey)
        )
        self.referenceSecret = Array(mac)
        self.casePrefix = casePrefix
        self.calendar = calendar
    }

    /// The result of an intake.
    public struct Registered: Hashable, Sendable {
        /// The new ticket number, told to the reporter.
        public let caseID: CaseID
        /// The reporter's pseudonymous reference.
        public let reporterRef: String
        /// The complaint as it is stored in the op: masked.
        public let maskedText: String
    }

    /// Checks a complaint; the problems never repeat the identity itself.
    public static func problems(in complaint: IntakeComplaint) -> [IntakeProblem] {
        var problems: [IntakeProblem] = []
        let name = complaint.name.trimmingCharacters(in: .whitespaces)
        if name.count < 2 || name.count > 100 { problems.append(.init(.name, .invalid)) }
        do {
            _ = try NIK(parsing: complaint.nik)
        } catch {
            problems.append(.init(.nik, IntakeProblem.Code(error)))
        }
        let digits = ReporterReference.normalizedPhone(complaint.phone)
        if !(10...15).contains(digits.count) || !digits.hasPrefix("62") { problems.append(.init(.phone, .invalid)) }
        let text = complaint.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count < 10 { problems.append(.init(.text, .tooShort, limit: 10)) }
        if text.utf8.count > OpLimits.maximumLongText {
            problems.append(.init(.text, .tooLong, limit: OpLimits.maximumLongText))
        }
        if complaint.location.utf8.count > OpLimits.maximumShortText {
            problems.append(.init(.location, .tooLong, limit: OpLimits.maximumShortText))
        }
        return problems
    }

    /// Registers a complaint: seals the identity and raw text at central, then opens the case.
    ///
    /// - Throws: ``IntakeError`` for a bad complaint (nothing written), ``StoreError`` on a
    ///   storage failure.
    public func register(_ complaint: IntakeComplaint, actor: ActorID, at now: Timestamp) async throws -> Registered {
        let problems = Self.problems(in: complaint)
        guard problems.isEmpty else { throw IntakeError(problems: problems) }
        let name = complaint.name.trimmingCharacters(in: .whitespaces)
        let reference = ReporterReference.make(phone: complaint.phone, secret: referenceSecret)
        let masked = PIIMasker.mask(complaint.text.trimmingCharacters(in: .whitespacesAndNewlines), names: [name])
        let location = PIIMasker.mask(complaint.location, names: [name])
        // Masks are longer than what they hide.
        guard masked.utf8.count <= OpLimits.maximumLongText, location.utf8.count <= OpLimits.maximumShortText else {
            throw IntakeError(problems: [.init(.text, .tooLongWhenMasked, limit: OpLimits.maximumLongText)])
        }
        try await store.saveReporter(
            ReporterIdentity(
                name: name,
                nik: (try? NIK(parsing: complaint.nik))?.digits ?? complaint.nik,
                phone: complaint.phone
            ),
            ref: reference,
            cipher: cipher,
            at: now
        )
        let opened = OpBody.opened(
            .init(channel: complaint.channel, reporterRef: reference, text: masked, location: location)
        )
        let caseID = try await openCase(opened, actor: actor, at: now)
        try await store.linkReporterCase(reference, caseID: caseID, awaitsIdentity: false, at: now)
        _ = try await store.recordIntake(
            channel: complaint.channel,
            externalID: caseID.rawValue,
            body: Array(complaint.text.utf8),
            cipher: cipher,
            at: now
        )
        IntakeMetrics.received(on: complaint.channel)
        return Registered(caseID: caseID, reporterRef: reference, maskedText: masked)
    }

    /// Authors `opened` on the day's next free ticket number.
    ///
    /// - Throws: ``IntakeError`` when no number could be allocated, ``StoreError`` on a
    ///   storage failure.
    func openCase(_ opened: OpBody, actor: ActorID, at now: Timestamp) async throws -> CaseID {
        // Serials are per WIB day; a concurrent intake taking the same number makes the
        // `opened` op illegal on the now-existing case, so try the next one.
        let day = calendar.localDate(of: now)
        var serial = try await nextSerial(on: day)
        for _ in 0..<20 {
            let caseID = try CaseID(prefix: casePrefix, year: day.year, month: day.month, day: day.day, serial: serial)
            // The error is carried out of the catch rather than `catch where … { continue }`:
            // Swift 6.3.1's SIL optimizer hangs on that shape inside a loop of an async function.
            let failure: StoreError?
            do {
                _ = try await store.append(opened, to: caseID, actor: actor, at: now)
                failure = nil
            } catch {
                failure = error
            }
            if let failure {
                guard failure.code == .policyRefused else { throw failure }
                serial += 1
                continue
            }
            return caseID
        }
        throw IntakeError(problems: [.init(.ticket, .unavailable)])
    }

    private func nextSerial(on day: CivilDate) async throws(StoreError) -> Int {
        let prefix = try? CaseID(prefix: casePrefix, year: day.year, month: day.month, day: day.day, serial: 1)
        guard let stem = prefix?.rawValue.split(separator: "-").dropLast().joined(separator: "-") else { return 1 }
        let serials = try await store.caseIDs(withPrefix: stem + "-").compactMap { id -> Int? in
            let parts = id.rawValue.split(separator: "-")
            guard parts.count == 3, parts.dropLast().joined(separator: "-") == stem else { return nil }
            return Int(parts[2])
        }
        return (serials.max() ?? 0) + 1
    }
}
