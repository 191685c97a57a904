import Foundation
import GRDB
import SambatCore
import SambatStore
import SambatTestKit
import Testing

/// The op log's integer keys (schema v15): the packed ticket numbers, and the migration of
/// stores that the release before them wrote.
@Suite struct LogKeysTests {
    // MARK: - Packed ticket numbers

    /// Tickets that differ only where a careless packing would merge them: prefix lengths
    /// (`A` letters are the bijective base's 1, not 0), serial widths, the date's ends.
    static let awkwardTickets = [
        "AA-000101-0001", "AAA-000101-0001", "AAAAA-000101-0001", "BA-000101-0001", "AB-000101-0001",
        "MJK-261129-0042", "MJK-261129-00042", "MJK-261129-000042", "MJK-261129-4200", "MJK-261130-0042",
        "ZZZZZ-991231-999999", "ZZZZ-991231-999999", "MJK-000229-0001", "MJK-960229-9999", "MJK-261231-0001",
        "MJK-270101-0001", "SBY-261129-0042", "MJKA-261129-0042", "MJ-261129-0042",
    ]

    @Test func aTicketPacksIntoAPositiveKeyAndBack() throws {
        var keys: [Int64: String] = [:]
        for text in Self.awkwardTickets {
            let caseID = try CaseID(text)
            let key = CaseKey.of(caseID)
            #expect(key > 0, "\(text)")
            #expect(CaseKey.caseID(key) == caseID, "\(text)")
            #expect(keys.updateValue(text, forKey: key) == nil, "\(text) shares its key with \(keys[key] ?? "")")
        }
    }

    /// Random tickets of every shape: distinct texts get distinct keys, each key decodes to its
    /// text, and within a prefix and serial width the keys sort as the texts do.
    @Test func randomTicketsKeepTheirIdentityAndOrder() throws {
        var generator = SplitMix64(seed: 0x5A4D_4241_5400_0015)
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var keys: [Int64: CaseID] = [:]
        var byShape: [String: [(CaseID, Int64)]] = [:]
        for _ in 0..<20_000 {
            let prefix = String(
                (0..<Int.random(in: 2...5, using: &generator)).map { _ in letters.randomElement(using: &generator)! }
            )
            let width = Int.random(in: 4...6, using: &generator)
            let serial = Int.random(in: 1...(width == 4 ? 9_999 : width == 5 ? 99_999 : 999_999), using: &generator)
            let month = Int.random(in: 1...12, using: &generator)
            let year = Int.random(in: 0...99, using: &generator)
            let day = Int.random(in: 1...28, using: &generator)
            func pad(_ value: Int, _ width: Int) -> String {
                String(repeating: "0", count: max(0, width - String(value).count)) + String(value)
            }
            let caseID = try CaseID("\(prefix)-\(pad(year, 2))\(pad(month, 2))\(pad(day, 2))-\(pad(serial, width))")
            let key = CaseKey.of(caseID)
            if let earlier = keys.updateValue(caseID, forKey: key) {
                #expect(earlier == caseID, "\(earlier) and \(caseID) share a key")
            }
            #expect(CaseKey.caseID(key) == caseID)
            byShape["\(prefix)/\(width)", default: []].append((caseID, key))
        }
        for (_, tickets) in byShape {
            #expect(tickets.sorted { $0.0 < $1.0 }.map(\.1) == tickets.map(\.1).sorted())
        }
    }

    /// A key no ticket packs to (a read of a damaged row) decodes to nothing, never to
    /// another ticket: random keys, and valid keys with one bit flipped.
    @Test func aKeyNoTicketPacksToDecodesToNothing() throws {
        var generator = SplitMix64(seed: 15)
        let valid = try Self.awkwardTickets.map { CaseKey.of(try CaseID($0)) }
        var decoded = 0
        var refused = 0
        for index in 0..<50_000 {
            let key =
                index.isMultiple(of: 2)
                ? Int64.random(in: Int64.min...Int64.max, using: &generator)
                : valid[index / 2 % valid.count] ^ (1 << Int64.random(in: 0...62, using: &generator))
            guard let caseID = CaseKey.caseID(key) else {
                refused += 1
                continue
            }
            decoded += 1
            #expect(CaseKey.of(caseID) == key)
        }
        #expect(CaseKey.caseID(-1) == nil)
        #expect(CaseKey.caseID(0) == nil)
        // Both branches ran: some flipped keys are other valid tickets, most keys are none.
        #expect(decoded > 0 && refused > 0)
    }

    // MARK: - Stores written by the release before v15

    /// The stores `make demo` left behind at commit 9dfab3f (schema v14): central with 36
    /// cases, 210 ops from five origins, its feeds and reporters; the office dpupr.
    static let fixtures = ProcessTestKit.repositoryRoot.appendingPathComponent("Tests/StoreFixtures").path

    /// A copy of a fixture in a fresh directory, so the committed file is never migrated.
    static func copy(_ name: String) throws -> String {
        let path = try StoreFixtures.temporaryDirectory() + "/sambat.sqlite"
        try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: path)
        return path
    }

    /// Every op row as the v14 release stored it, by text.
    static func textRows(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let columns = "seq, lamport, kind, hex(bytes), hex(hash), receivedAt"
            return try Row.fetchAll(db, sql: "SELECT origin, caseId, \(columns) FROM op").map(\.description).sorted()
        }
    }

    /// The same rows read back through the integer keys.
    static func keyedRows(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let columns = "seq, lamport, kind, hex(bytes), hex(hash), receivedAt"
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT origin.name AS origin, caseKey, \(columns) FROM op JOIN origin ON origin.key = op.originKey"
            ).map { row in
                var text = row.description
                let key: Int64 = row["caseKey"]
                text = text.replacingOccurrences(
                    of: "caseKey:\(key)",
                    with: "caseId:\"\(CaseKey.caseID(key)?.rawValue ?? "?")\""
                )
                return text
            }.sorted()
        }
    }

    /// Central's feed of `peer` as the v14 release's query read it, by text.
    static func textFeed(_ path: String, peer: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT feed.feedSeq - (feed.seq + feed.runLength - 1 - op.seq) AS position, hex(op.bytes)
                    FROM feed JOIN op ON op.origin = feed.origin
                        AND op.seq >= feed.seq AND op.seq < feed.seq + feed.runLength
                    WHERE feed.peer = ? ORDER BY feed.feedSeq, op.seq
                    """,
                arguments: [peer]
            ).map { "\($0[0] as Int64) \($0[1] as String)" }
        }
    }

    @Test func centralsStoreFromTheReleaseBeforeKeepsEveryOpFeedAndRow() async throws {
        let path = try Self.copy("central-v14.sqlite")
        let opsBefore = try Self.textRows(path)
        let peers = try StoreFixtures.rows(of: ["peer"], in: path)["peer"] ?? []
        #expect(opsBefore.count == 210)
        let feedsBefore = try ["dpupr", "dlh", "dishub", "perkim", "mayor"].map { try Self.textFeed(path, peer: $0) }
        #expect(feedsBefore.allSatisfy { !$0.isEmpty }, "the fixture feeds every peer")
        let projectionBefore = try StoreProjectionTests.projectionTables(path)
        let frontierBefore = try StoreFixtures.rows(of: ["frontier", "feed", "checkpoint", "reporter"], in: path)

        let store = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.central, .central)
        )
        #expect(try Self.keyedRows(path) == opsBefore)
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM origin") == 5)
        for (peer, before) in zip(["dpupr", "dlh", "dishub", "perkim", "mayor"], feedsBefore) {
            let after = try await store.feed(for: StoreFixtures.node(peer), after: 0, limit: 1_000)
            #expect(after.map { "\($0.feedSeq) \(Self.hex($0.op.sealed.bytes))" } == before, "feed of \(peer)")
            // Read from the middle of a run as a reconnecting peer does.
            let tail = try await store.feed(
                for: StoreFixtures.node(peer),
                after: UInt64(before.count / 2),
                limit: 1_000
            )
            #expect(
                tail.map { "\($0.feedSeq) \(Self.hex($0.op.sealed.bytes))" }
                    == Array(before.dropFirst(before.count / 2))
            )
        }
        #expect(try StoreProjectionTests.projectionTables(path) == projectionBefore)
        #expect(try StoreFixtures.rows(of: ["frontier", "feed", "checkpoint", "reporter"], in: path) == frontierBefore)
        #expect(try StoreFixtures.rows(of: ["peer"], in: path)["peer"] == peers)

        // Every case folds from the migrated log to the status its row had.
        let rows = try StoreFixtures.rows(of: ["caseView"], in: path)["caseView"] ?? []
        let caseIDs = try await store.caseIDs()
        #expect(caseIDs.count == 36 && rows.count == 36)
        let queue = try DatabaseQueue(path: path)
        let statuses = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT caseId, status FROM caseView").map { ($0[0] as String, $0[1] as Int) }
        }
        try queue.close()
        for (text, status) in statuses {
            let state = try await store.caseState(try CaseID(text))
            #expect(state.map { Int($0.status.rawValue) } == status, "\(text)")
            #expect(try await store.ops(ofCase: try CaseID(text)).allSatisfy { $0.sealed.op.caseID.rawValue == text })
        }

        // New work lands under the existing origin, after the release's last op.
        let highest = try #require(
            try StoreFixtures.scalar(
                path,
                "SELECT MAX(seq) FROM op WHERE originKey = (SELECT key FROM origin WHERE name = 'central#1')"
            )
        )
        let caseID = try #require(caseIDs.first)
        let authored = try await store.append(
            .noted(.init(text: "Setelah pembaruan", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(authored.sealed.op.id.seq == UInt64(highest) + 1)
        let central = authored.sealed.op.id.origin
        #expect(try await store.ops(of: central, after: UInt64(highest), limit: 10).map(\.sealed) == [authored.sealed])
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM origin") == 5)
        #expect(try await store.integrityCheck() == ["ok"])
    }

    @Test func anOfficesStoreFromTheReleaseBeforeUploadsWhereItStopped() async throws {
        let path = try Self.copy("dpupr-v14.sqlite")
        let opsBefore = try Self.textRows(path)
        let projectionBefore = try StoreProjectionTests.projectionTables(path)
        let store = try Store.open(
            StoreConfiguration(path: path),
            identity: StoreFixtures.identity(StoreFixtures.dpupr, .office)
        )
        #expect(try Self.keyedRows(path) == opsBefore)
        #expect(try StoreProjectionTests.projectionTables(path) == projectionBefore)
        let own = try await store.currentOrigin()
        let uploaded = try await store.ops(of: own, after: 0, limit: 1_000)
        #expect(uploaded.map(\.sealed.op.id.seq) == Array(1...UInt64(uploaded.count)))
        #expect(try await store.frontier(of: own) == UInt64(uploaded.count))

        let caseID = try #require(uploaded.last?.sealed.op.caseID)
        let authored = try await store.append(
            .noted(.init(text: "Catatan setelah pembaruan", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.officer,
            at: StoreFixtures.now
        )
        #expect(authored.sealed.op.id == (try OpID(origin: own, seq: UInt64(uploaded.count) + 1)))
        #expect(
            try await store.ops(of: own, after: UInt64(uploaded.count), limit: 10).map(\.sealed) == [authored.sealed]
        )
        #expect(try await store.ops(ofCase: caseID).contains { $0.sealed == authored.sealed })
    }

    /// A log row whose case id is not a ticket number (a damaged file) stops the migration:
    /// the open fails with a clear error and the file stays as the release left it.
    @Test func aLogRowThatIsNotATicketStopsTheMigrationWithNothingChanged() async throws {
        let path = try Self.copy("dpupr-v14.sqlite")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "UPDATE op SET caseId = 'bukan-tiket' WHERE origin = 'dpupr#1' AND seq = 1")
        }
        try queue.close()
        let before = try StoreFixtures.dump(path)
        #expect(throws: StoreError.self) {
            _ = try Store.open(
                StoreConfiguration(path: path),
                identity: StoreFixtures.identity(StoreFixtures.dpupr, .office)
            )
        }
        #expect(try StoreFixtures.dump(path) == before)
        #expect(
            try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM grdb_migrations WHERE identifier LIKE 'v15%'") == 0
        )
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02X", $0) }.joined()
    }
}
