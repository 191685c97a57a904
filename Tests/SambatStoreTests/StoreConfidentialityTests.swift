import Foundation
import SambatCore
import SambatStore
import Testing

/// Reporter identities and raw texts are sealed at rest and kept only at central.
@Suite struct StoreConfidentialityTests {
    static let identity = ReporterIdentity(name: "Suparman Wibisono", nik: "3576012301800004", phone: "+6281234560101")

    @Test func identitiesAreSealedAtRestAndOpenOnlyWithTheKey() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let cipher = try IdentityCipher(keyBytes: IdentityCipher.generateKeyBytes())
        try await central.saveReporter(Self.identity, ref: "rpt-7f3a", cipher: cipher, at: StoreFixtures.now)
        let isNew = try await central.recordIntake(
            channel: .sms,
            externalID: "gammu-17",
            body: Array("Jalan rusak, saya Suparman 3576012301800004".utf8),
            cipher: cipher,
            at: StoreFixtures.now
        )
        #expect(isNew)
        #expect(try await central.reporter(ref: "rpt-7f3a", cipher: cipher) == Self.identity)
        #expect(try await central.reporter(ref: "rpt-unknown", cipher: cipher) == nil)

        // A redelivered message is recognised, not stored twice.
        let again = try await central.recordIntake(
            channel: .sms,
            externalID: "gammu-17",
            body: [1, 2, 3],
            cipher: cipher,
            at: StoreFixtures.now
        )
        #expect(!again)

        // No plaintext anywhere in the files.
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            for secret in ["3576012301800004", "6281234560101", "Suparman"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) found in \(file)")
            }
        }

        // A field that could not be read back is refused, and the stored identity is unchanged.
        let garbled = ReporterIdentity(name: "Suparman\u{1F}X", nik: "3576012301800004", phone: "+6281234560101")
        await #expect {
            try await central.saveReporter(garbled, ref: "rpt-7f3a", cipher: cipher, at: StoreFixtures.now)
        } throws: { ($0 as? StoreError)?.code == .invalidOp }
        #expect(try await central.reporter(ref: "rpt-7f3a", cipher: cipher) == Self.identity)

        let wrongKey = try IdentityCipher(keyBytes: IdentityCipher.generateKeyBytes())
        await #expect { try await central.reporter(ref: "rpt-7f3a", cipher: wrongKey) } throws: {
            ($0 as? StoreError)?.message.contains("wrong identity key") == true
        }
    }

    @Test func officesKeepNoIdentities() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office)
        let cipher = try IdentityCipher(keyBytes: IdentityCipher.generateKeyBytes())
        await #expect {
            try await office.saveReporter(Self.identity, ref: "rpt-1", cipher: cipher, at: StoreFixtures.now)
        } throws: {
            ($0 as? StoreError)?.code == .wrongNode
        }
    }

    @Test func theCipherRejectsShortKeysAlteredBytesAndMovedCiphertexts() throws {
        #expect(throws: IdentityCipherError.self) { try IdentityCipher(keyBytes: [1, 2, 3]) }
        let cipher = try IdentityCipher(keyBytes: IdentityCipher.generateKeyBytes())
        var sealed = try cipher.seal(Array("3576012301800004".utf8), context: "reporter:a")
        #expect(try cipher.open(sealed, context: "reporter:a") == Array("3576012301800004".utf8))
        #expect(throws: IdentityCipherError.self) { try cipher.open(sealed, context: "reporter:b") }
        sealed[sealed.count / 2] ^= 0x01
        #expect(throws: IdentityCipherError.self) { try cipher.open(sealed, context: "reporter:a") }
        #expect(try cipher.seal([1], context: "x") != cipher.seal([1], context: "x"))
    }
}
