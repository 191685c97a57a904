import Crypto
import Foundation
public import SambatCore
public import SambatStore

/// One Open311 service: an office the routing rules send complaints to.
public struct Open311Service: Hashable, Sendable {
    /// The office's code, such as `dpupr`.
    public let code: String
    /// The office's name.
    public let name: String
    /// What the service takes, in Bahasa.
    public let description: String
    /// The routing rules' words for it.
    public let keywords: [String]
}

/// A case as Open311 GeoReport v2 shows it: public facts only, never the reporter.
public struct Open311ServiceRequest: Hashable, Sendable {
    public let id: String
    /// `open` or `closed` (closed and archived cases).
    public let status: String
    /// The latest note an office or central made public, if any.
    public let statusNotes: String
    public let serviceCode: String
    public let serviceName: String
    /// The masked complaint.
    public let description: String
    /// The offices working it, by name.
    public let agencyResponsible: String
    public let requested: Timestamp?
    public let updated: Timestamp?
    /// The nearest open deadline.
    public let expected: Timestamp?
    /// The masked location.
    public let address: String
    public let latitude: Double?
    public let longitude: Double?
}

extension IntakeDesk {
    /// The services Open311 clients may post to: each office the routing rules name, with its
    /// directory name and the rules' words, by code.
    public static func open311Services(_ reference: ReferenceData) -> [Open311Service] {
        var words: [NodeID: [String]] = [:]
        for rule in reference.routing.rules { words[rule.office, default: []] += rule.keywords }
        return words.keys.sorted().compactMap { code in
            guard let office = reference.office(code) else { return nil }
            return Open311Service(
                code: code.rawValue,
                name: office.name,
                description: "Pengaduan untuk \(office.name)",
                keywords: words[code] ?? []
            )
        }
    }

    /// Makes an API key for an Open311 client; only its SHA-256 is kept.
    ///
    /// - Returns: the key, to hand to the client once.
    /// - Throws: ``StoreError`` when the name is taken or this is not central.
    public func newOpen311Key(name: String, at now: Timestamp) async throws(StoreError) -> String {
        let key = "s311_" + StaffAccounts.newToken()
        try await store.addOpen311Key(name: name, keyHash: Array(SHA256.hash(data: Data(key.utf8))), at: now)
        return key
    }

    /// The client an API key belongs to, when the key is active.
    public func open311Client(key: String) async throws(StoreError) -> String? {
        guard !key.isEmpty, key.utf8.count <= 128 else { return nil }
        return try await store.open311Client(keyHash: Array(SHA256.hash(data: Data(key.utf8))))
    }

    /// Opens a case from an Open311 request, as central's intake does for other channels.
    ///
    /// The text and location are masked; the raw text is sealed. A valid Indonesian phone
    /// number links the request to the reporter's pseudonym (so it joins their other
    /// complaints and notices reach them by SMS); the name and phone are kept, sealed, only
    /// when central holds no identity for that reporter yet, and never overwrite one. Email
    /// is not kept.
    /// - Throws: ``IntakeError`` for a bad request (nothing written), ``StoreError`` on a
    ///   storage failure.
    public func registerOpen311(
        text: String,
        location: String,
        serviceCode: String,
        client: String,
        name: String,
        phone: String,
        latitude: Double?,
        longitude: Double?,
        at now: Timestamp
    ) async throws -> CaseID {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var problems: [IntakeProblem] = []
        if trimmed.count < 10 { problems.append(.init(.text, .tooShort, limit: 10)) }
        if trimmed.utf8.count > OpLimits.maximumLongText {
            problems.append(.init(.text, .tooLong, limit: OpLimits.maximumLongText))
        }
        if location.utf8.count > OpLimits.maximumShortText {
            problems.append(.init(.location, .tooLong, limit: OpLimits.maximumShortText))
        }
        guard problems.isEmpty else { throw IntakeError(problems: problems) }
        let shownName = name.trimmingCharacters(in: .whitespaces)
        let names = shownName.count >= 2 ? [shownName] : []
        let masked = PIIMasker.mask(trimmed, names: names)
        let maskedLocation = PIIMasker.mask(location, names: names)
        guard masked.utf8.count <= OpLimits.maximumLongText, maskedLocation.utf8.count <= OpLimits.maximumShortText
        else { throw IntakeError(problems: [.init(.text, .tooLongWhenMasked, limit: OpLimits.maximumLongText)]) }
        let digits = ReporterReference.normalizedPhone(phone)
        let reference: String
        if (10...15).contains(digits.count), digits.hasPrefix("62") {
            reference = ReporterReference.make(phone: phone, secret: referenceSecret)
            if try await store.reporter(ref: reference, cipher: cipher) == nil {
                try await store.saveReporter(
                    ReporterIdentity(name: String(shownName.prefix(100)), nik: "", phone: phone),
                    ref: reference,
                    cipher: cipher,
                    at: now
                )
            }
        } else {
            // No number to link it by: a pseudonym of its own.
            var generator = SystemRandomNumberGenerator()
            reference = "p-" + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        let actor = (try? ActorID("open311." + client)) ?? ActorID.system
        let opened = OpBody.opened(
            .init(channel: .open311, reporterRef: reference, text: masked, location: maskedLocation)
        )
        let caseID = try await openCase(opened, actor: actor, at: now)
        try await store.linkReporterCase(reference, caseID: caseID, awaitsIdentity: false, at: now)
        _ = try await store.recordIntake(
            channel: .open311,
            externalID: caseID.rawValue,
            body: Array(trimmed.utf8),
            cipher: cipher,
            at: now
        )
        IntakeMetrics.received(on: .open311)
        try await store.recordOpen311Request(
            Open311RequestRecord(serviceCode: serviceCode, client: client, latitude: latitude, longitude: longitude),
            caseID: caseID,
            at: now
        )
        return caseID
    }

    /// A case as Open311 shows it; `nil` when this store holds no such case.
    public func open311Request(_ caseID: CaseID, book: CaseBook) async throws -> Open311ServiceRequest? {
        guard let record = try await book.record(caseID) else { return nil }
        let state = record.state
        let request = try await store.open311Request(of: caseID)
        let offices = state.activeAssignments.map(\.office)
        let code = request?.serviceCode ?? offices.first?.rawValue ?? ""
        let name = (try? NodeID(code)).flatMap { book.reference.office($0)?.name } ?? ""
        return Open311ServiceRequest(
            id: caseID.rawValue,
            status: state.status.isOpen ? "open" : "closed",
            statusNotes: state.notes.last { $0.visibility == .public }?.text ?? "",
            serviceCode: code,
            serviceName: name,
            description: state.complaint?.text ?? "",
            agencyResponsible: offices.compactMap { book.reference.office($0)?.name }.joined(separator: ", "),
            requested: state.milestones.received.flatMap { record.receivedAt[$0.op] },
            updated: state.history.last.map { record.receivedAt[$0.op] ?? $0.at },
            expected: record.nextDue(),
            address: state.complaint?.location ?? "",
            latitude: request?.latitude,
            longitude: request?.longitude
        )
    }
}
