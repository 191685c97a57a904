import Testing

@testable import SambatCore

@Suite struct IdentifierTests {
    @Test(arguments: ["central", "dpupr", "dinas-pu_2", "a", "dinas-pekerjaan-umum-penataan-rg"])
    func acceptsValidNodeIDs(_ text: String) throws {
        #expect(try NodeID(text).rawValue == text)
    }

    @Test(arguments: [
        "", "Dpupr", "2dpupr", "dpu pr", "dpupr#1", String(repeating: "a", count: 33), "dinkés", "-dpupr",
        "dinas-pekerjaan-umum-dan-penataan-ruang",
    ])
    func rejectsInvalidNodeIDs(_ text: String) {
        #expect(throws: IdentifierError.self) { try NodeID(text) }
    }

    @Test func originTextRoundTripsAndOrdersByNodeThenIncarnation() throws {
        let origin = try Origin(parsing: "dpupr#12")
        #expect(origin.description == "dpupr#12")
        #expect(try Origin(parsing: "dpupr#2") < origin)
        #expect(try Origin(parsing: "dlh#9") < Origin(parsing: "dpupr#1"))
        #expect(throws: IdentifierError.self) { try Origin(parsing: "dpupr#0") }
        #expect(throws: IdentifierError.self) { try Origin(parsing: "dpupr#01") }
        #expect(throws: IdentifierError.self) { try Origin(parsing: "dpupr") }
    }

    @Test func opIDParsesAndRejectsSeqZero() throws {
        let id = try OpID(parsing: "central#1/42")
        #expect(id.seq == 42)
        #expect(id.description == "central#1/42")
        #expect(throws: IdentifierError.self) { try OpID(parsing: "central#1/0") }
        #expect(throws: IdentifierError.self) { try OpID(parsing: "central#1/-3") }
    }

    @Test func caseIDHasTicketForm() throws {
        let id = try CaseID(prefix: "MJK", year: 2026, month: 11, day: 29, serial: 42)
        #expect(id.rawValue == "MJK-261129-0042")
        #expect(try CaseID("MJK-261129-123456").rawValue == "MJK-261129-123456")
        #expect(try CaseID("MJK-280229-0001").rawValue == "MJK-280229-0001")  // leap year
        #expect(try CaseID("ABCDE-991231-999999").rawValue == "ABCDE-991231-999999")  // the longest
        #expect(try CaseID("MJ-260101-0001").rawValue == "MJ-260101-0001")
        for bad in [
            "MJK-261329-0042", "mjk-261129-0042", "MJK-2611-0042", "MJK-261129-42", "MJK261129-0042", "",
            "MJK-260229-0001", "MJK-261131-0001", "MJK-261129-0000", "M-261129-0042", "ABCDEF-261129-0042",
            "MJK-261129-1234567", "MJK-261129X0042", "MJK-26112a-0042", "MJK-261129-00a2", "MJK-261100-0042",
            "MJK-261129-0042-", "MJK--261129-0042", "MJK-261129-００42", "MJK-261129",
        ] {
            #expect(throws: IdentifierError.self) { try CaseID(bad) }
        }
    }

    @Test func actorIDRejectsSpacesAndNonASCII() throws {
        #expect(try ActorID("dpupr.budi").rawValue == "dpupr.budi")
        #expect(throws: IdentifierError.self) { try ActorID("budi santoso") }
        #expect(throws: IdentifierError.self) { try ActorID("") }
        #expect(throws: IdentifierError.self) { try ActorID("bùdi") }
        #expect(throws: IdentifierError.self) { try ActorID(String(repeating: "x", count: 65)) }
        #expect(try ActorID(String(repeating: "x", count: 64)).rawValue.count == 64)
    }

    /// Identifiers hash by a fingerprint of their text but stay equal exactly when their text
    /// is: as dictionary and set keys they behave as the text would.
    @Test func identifiersAreEqualAndFoundExactlyWhenTheirTextIs() throws {
        var byText: [String: OpID] = [:]
        var byID: [OpID: String] = [:]
        for node in ["central", "dpupr", "dlh", "dinas-pu_2", "a", "mayor"] {
            for incarnation in UInt32(1)...3 {
                for seq in UInt64(1)...40 {
                    let id = try OpID(origin: Origin(node: NodeID(node), incarnation: incarnation), seq: seq)
                    byText[id.description] = id
                    byID[id] = id.description
                }
            }
        }
        #expect(byID.count == byText.count)
        for (text, id) in byText {
            #expect(byID[id] == text)
            #expect(try OpID(origin: Origin(parsing: String(text.split(separator: "/")[0])), seq: id.seq) == id)
        }
        #expect(try Origin(parsing: "dpupr#1") != Origin(parsing: "dpupr#2"))

        // Case ids: one key per distinct text, found again from a freshly parsed copy.
        var cases: Set<CaseID> = []
        for serial in 1...5_000 {
            cases.insert(try CaseID(prefix: "MJK", year: 2026, month: 12, day: 5, serial: serial))
            cases.insert(try CaseID("MJK-261205-\(String(repeating: "0", count: 6 - String(serial).count))\(serial)"))
        }
        #expect(cases.count == 10_000)
        #expect(cases.contains(try CaseID("MJK-261205-0042")))
        #expect(cases.contains(try CaseID("MJK-261205-000042")))
        #expect(!cases.contains(try CaseID("MJK-261205-5001")))
    }

    /// Dictionaries bucket identifiers by their fingerprint keyed with a random key per process
    /// and the table's seed: the bucket hash moves with the seed, and the ops of one origin,
    /// which differ only in their seq, spread over the buckets.
    @Test func bucketHashesFollowTheSeedAndSpreadOneOriginsOps() throws {
        let caseID = try CaseID("MJK-261205-0042")
        let node = try NodeID("dpupr")
        let origin = try Origin(node: node, incarnation: 1)
        let seeds = (1...8).map { $0 * 0x9E37 }
        #expect(Set(seeds.map { caseID._rawHashValue(seed: $0) }).count == seeds.count)
        #expect(Set(seeds.map { node._rawHashValue(seed: $0) }).count == seeds.count)
        #expect(Set(seeds.map { origin._rawHashValue(seed: $0) }).count == seeds.count)
        // Equal identifiers, made apart, bucket alike.
        #expect(try CaseID("MJK-261205-0042")._rawHashValue(seed: 7) == caseID._rawHashValue(seed: 7))
        #expect(try Origin(parsing: "dpupr#1")._rawHashValue(seed: 7) == origin._rawHashValue(seed: 7))
        #expect(try Origin(parsing: "dpupr#2")._rawHashValue(seed: 7) != origin._rawHashValue(seed: 7))

        // 1,024 consecutive ops of one origin in a table of 1,024 buckets: a hash that ignored
        // the seq would put them all in one; a random spread fills about 63 % of them.
        let buckets = try Set(
            (1...1_024).map { try OpID(origin: origin, seq: UInt64($0))._rawHashValue(seed: 7) & 1_023 }
        )
        #expect(buckets.count > 550)
        let cases = try Set(
            (1...1_024).map {
                try CaseID(prefix: "MJK", year: 2026, month: 12, day: 5, serial: $0)._rawHashValue(seed: 7) & 1_023
            }
        )
        #expect(cases.count > 550)
    }
}
