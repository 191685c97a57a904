import Foundation
import GRDB
public import SambatCore

/// A reporter's identity as typed at intake: it never leaves central and is stored sealed.
public struct ReporterIdentity: Hashable, Sendable {
    /// Full name.
    public var name: String
    /// The 16-digit NIK.
    public var nik: String
    /// Phone or WhatsApp number.
    public var phone: String

    /// Creates an identity.
    public init(name: String, nik: String, phone: String) {
        self.name = name
        self.nik = nik
        self.phone = phone
    }

    var encoded: [UInt8] { Array([name, nik, phone].joined(separator: "\u{1F}").utf8) }

    init?(decoding bytes: [UInt8]) {
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\u{1F}", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        self.init(name: String(fields[0]), nik: String(fields[1]), phone: String(fields[2]))
    }
}

extension Store {
    /// Stores (or replaces) a reporter's identity under its pseudonymous reference, sealed
    /// with AES-GCM; only central calls this.
    ///
    /// - Throws: ``StoreError`` when this store is not central's, or on a storage error.
    public func saveReporter(
        _ identity: ReporterIdentity,
        ref: String,
        cipher: IdentityCipher,
        at time: Timestamp
    ) async throws(StoreError) {
        try requireCentral()
        // The sealed form separates fields with U+001F; a field holding it could never be read back.
        guard ![identity.name, identity.nik, identity.phone].contains(where: { $0.contains("\u{1F}") }) else {
            throw StoreError(
                .invalidOp,
                path: path,
                message: "an identity field holds a control character; nothing saved"
            )
        }
        let sealed: [UInt8]
        do {
            sealed = try cipher.seal(identity.encoded, context: "reporter:" + ref)
        } catch {
            throw StoreError(.invalidOp, path: path, message: "cannot seal the reporter identity: \(error)")
        }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO reporter (ref, sealedIdentity, createdAt) VALUES (?, ?, ?)
                    ON CONFLICT (ref) DO UPDATE SET sealedIdentity = excluded.sealedIdentity
                    """,
                arguments: [ref, Data(sealed), at(time)]
            )
        }
    }

    /// The identity stored for a reporter reference, opened with `cipher`; `nil` when unknown.
    ///
    /// - Throws: ``StoreError`` when the key is wrong or the row was altered.
    public func reporter(ref: String, cipher: IdentityCipher) async throws(StoreError) -> ReporterIdentity? {
        try requireCentral()
        let stored = try await read { db in
            try Data.fetchOne(db, sql: "SELECT sealedIdentity FROM reporter WHERE ref = ?", arguments: [ref])
        }
        guard let stored else { return nil }
        return try openIdentity(stored, ref: ref, cipher: cipher)
    }

    /// A sealed identity opened.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/corruptOp`` for a wrong key or an
    ///   altered row.
    func openIdentity(_ sealed: Data, ref: String, cipher: IdentityCipher) throws(StoreError) -> ReporterIdentity {
        guard let bytes = try? cipher.open(Array(sealed), context: "reporter:" + ref),
            let identity = ReporterIdentity(decoding: bytes)
        else {
            throw StoreError(
                .corruptOp,
                path: path,
                message: "a reporter identity cannot be decrypted: wrong identity key, or the row was altered"
            )
        }
        return identity
    }

    /// Records a raw inbound message (sealed) once per channel message id.
    ///
    /// Returns `false` for a duplicate (WhatsApp retries for days; Gammu may replay): the
    /// caller then does nothing more.
    public func recordIntake(
        channel: IntakeChannel,
        externalID: String,
        body: [UInt8],
        cipher: IdentityCipher,
        at time: Timestamp
    ) async throws(StoreError) -> Bool {
        try requireCentral()
        let sealed: [UInt8]
        do {
            sealed = try cipher.seal(body, context: "intake:\(channel.rawValue):\(externalID)")
        } catch {
            throw StoreError(.invalidOp, path: path, message: "cannot seal the message: \(error)")
        }
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO intakeMessage (channel, externalId, receivedAt, sealedBody)
                    VALUES (?, ?, ?, ?)
                    """,
                arguments: [String(channel.rawValue), externalID, at(time), Data(sealed)]
            )
            return db.changesCount > 0
        }
    }

    private func requireCentral() throws(StoreError) {
        guard identity.role == .central else {
            throw StoreError(
                .wrongNode,
                path: path,
                message: "reporter identities and raw messages are kept only at central"
            )
        }
    }
}
