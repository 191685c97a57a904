import Foundation
import Logging
import SambatCore
import SambatDesk
import SambatIntake
import SambatStore
import SambatTestKit
import Testing

/// Central's Gammu gateway against a real `gammu-smsd` with the dummy phone driver and the
/// SQLite backend (Debian's gammu-smsd, installed by `make test`).
@Suite(.serialized, .timeLimit(.minutes(1))) struct GammuGatewayTests {
    typealias Rig = GammuRig

    /// Polls `condition` every 100 ms for up to 20 s.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func anInjectedSMSIsReadAndAReplyIsSentThroughTheRealDaemon() async throws {
        let rig = try Rig()
        defer { rig.scratch.remove() }
        try rig.inject("Lampu PJU di Jl. Gajah Mada mati, nama saya Hendro", from: "+6281334560103", slot: 1)
        let daemon = try rig.start()
        defer { daemon.killAndWait() }
        let gateway = try GammuGateway(.init(databasePath: rig.database))
        #expect(try await Self.eventually { try await !gateway.unprocessedParts().isEmpty })
        let parts = try await gateway.unprocessedParts()
        let assembled = SMSAssembly.assemble(
            parts,
            now: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000)),
            orphanTimeout: .seconds(600)
        )
        #expect(assembled.messages.map(\.text) == ["Lampu PJU di Jl. Gajah Mada mati, nama saya Hendro"])
        #expect(assembled.messages.first?.sender == "+6281334560103")
        try await gateway.markProcessed(assembled.messages.flatMap(\.partIDs))
        #expect(try await gateway.unprocessedParts().isEmpty)

        // A reply long enough for three parts, with a non-GSM character: UCS-2 multipart.
        let reply =
            "Terima kasih 🙏 Pengaduan Anda tercatat dengan nomor tiket MJK-261203-0001. "
            + String(repeating: "Kami akan menghubungi Anda. ", count: 3)
        let outbox = try await gateway.send(reply, to: "+6281334560103", reference: 7)
        #expect(try await Self.eventually { try await gateway.deliveryStates(of: [outbox])[outbox] != nil })
        #expect(try await gateway.deliveryStates(of: [outbox])[outbox] == .sent)
        let modems = try await gateway.modems()
        #expect(modems.count == 1)
        #expect(modems.first?.lastSeen != nil)
    }

    @Test func aDatabaseOfAnotherSchemaOrNoneIsRefused() throws {
        let rig = try Rig()
        defer { rig.scratch.remove() }
        let missing = #expect(throws: GammuError.self) {
            try GammuGateway(.init(databasePath: rig.scratch.file("absent.db")))
        }
        #expect(missing?.code == .cannotOpen)
        _ = try ProcessTestKit.runBlocking("/usr/bin/sqlite3", [rig.database, "UPDATE gammu SET Version = 16"])
        let older = #expect(throws: GammuError.self) { try GammuGateway(.init(databasePath: rig.database)) }
        #expect(older?.code == .wrongSchema)
        #expect(older?.description.contains("16") == true)
        let foreign = try rig.scratch.write("foreign.db", "")
        _ = try ProcessTestKit.runBlocking("/usr/bin/sqlite3", [foreign, "CREATE TABLE x(y)"])
        let notGammu = #expect(throws: GammuError.self) { try GammuGateway(.init(databasePath: foreign)) }
        #expect(notGammu?.code == .wrongSchema)
    }

    @Test func anSMSBecomesACaseAndTheTicketReplyReachesSentItems() async throws {
        let rig = try Rig()
        defer { rig.scratch.remove() }
        let central = try NodeID("central")
        let store = try Store.open(
            StoreConfiguration(path: rig.scratch.file("central.sqlite")),
            identity: NodeIdentity(node: central, role: .central, central: central)
        )
        let desk = try IntakeDesk(
            store: store,
            identityKey: Array(repeating: 5, count: 32),
            calendar: WorkingCalendar()
        )
        try rig.inject(
            "Saluran air di gang Suromulang tersumbat. Ahmad Fauzi 3576012006780005",
            from: "+6282134560109",
            slot: 1
        )
        let daemon = try rig.start()
        defer { daemon.killAndWait() }
        let gateway = try GammuGateway(.init(databasePath: rig.database))
        let poller = SMSPoller(
            gateway: gateway,
            desk: desk,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        #expect(try await Self.eventually { try await !gateway.unprocessedParts().isEmpty })
        try await poller.round(at: Timestamp.now)
        #expect(try await gateway.unprocessedParts().isEmpty, "parts are marked processed once stored")
        #expect(try await desk.processPending(policy: IntakePolicy(), at: Timestamp.now).processed == 1)
        let caseID = try #require(try await store.caseIDs().first)
        let text = try #require(try await store.caseState(caseID)?.complaint?.text)
        #expect(text.contains("Suromulang") && !text.contains("Ahmad") && !text.contains("3576012006780005"))
        try await poller.round(at: Timestamp.now)  // the ticket reply goes into Gammu's outbox
        let cipher = try IdentityCipher(keyBytes: Array(repeating: 5, count: 32))
        #expect(try await store.outbound(ofCase: caseID, cipher: cipher).first?.state == .sent)
        // Read in the same retry: the daemon writes its SQLite file meanwhile, and a read that
        // meets its lock (a loaded machine) prints an error instead of the rows.
        #expect(
            try await Self.eventually {
                try await poller.round(at: Timestamp.now)
                let sent = try ProcessTestKit.runBlocking(
                    "/usr/bin/sqlite3",
                    [rig.database, "SELECT DestinationNumber, TextDecoded FROM sentitems ORDER BY SequencePosition"]
                ).output
                return try await store.outbound(ofCase: caseID, cipher: cipher).first?.providerID != nil
                    && sent.contains("+6282134560109") && sent.contains(caseID.rawValue)
            },
            "the ticket reply, to the reporter's number and naming the case, is in Gammu's sent items"
        )
    }
}
