import SambatTestKit
import Testing

@testable import SambatCore

@Suite struct OpCodecTests {
    static let everyBody: [OpBody] = [
        Fixtures.opened,
        .verified(.init(tier: .normatif, topic: "jalan rusak")),
        .pended(.init(request: "Mohon kirim foto lokasi")),
        .archived(.init(reason: .insult, note: "kata-kata kasar")),
        .dispatched(.init(office: Fixtures.dpupr, epoch: 3, instructions: "Segera tinjau")),
        .acknowledged,
        .started,
        .noted(.init(text: "Tim sudah ke lokasi", visibility: .internal)),
        .resolved(.init(summary: "Lubang sudah ditambal 🚧")),
        .returned(.init(reason: .notOurAuthority, note: "Jalan provinsi")),
        .reassigned(.init(from: Fixtures.dpupr, to: Fixtures.dlh, epoch: 1, note: "")),
        .closed(.init(reason: .reporterSilent)),
        .reopened(.init(reason: "Belum diperbaiki")),
        .evidenceAdded(.init(sha256: Array(0..<32), size: 123_456, mimeType: "image/jpeg", name: "foto.jpg")),
        .reporterWrote(.init(channel: .whatsapp, text: "Tambahan: lubangnya dua")),
        .conflictResolved(.init(conflict: "stale_epoch:dpupr#1/4", outcome: .keptCurrent, note: "ok")),
    ]

    static func sample(_ body: OpBody, seq: UInt64 = 7) -> Op {
        Op(
            id: Fixtures.opID("dpupr", 2, seq: seq),
            lamport: 19,
            caseID: Fixtures.caseID(),
            epoch: 2,
            context: VersionVector([Fixtures.origin("central"): 12, Fixtures.origin("dpupr", 2): 6]),
            actor: Fixtures.actor("dpupr.budi"),
            at: Timestamp(millisecondsSinceEpoch: -5),
            body: body
        )
    }

    @Test func everyKindIsCovered() {
        #expect(Set(Self.everyBody.map(\.kind)) == Set(OpKind.allCases))
    }

    @Test(arguments: everyBody)
    func roundTripsByteForByte(_ body: OpBody) throws {
        let sealed = try SealedOp(sealing: Self.sample(body))
        let decoded = try SealedOp(decoding: sealed.bytes)
        #expect(decoded == sealed)
        #expect(decoded.op == Self.sample(body))
        #expect(decoded.hash.bytes.count == 32)
        #expect(try SealedOp(stored: sealed.bytes, hash: sealed.hash) == sealed)
    }

    @Test func aBatchDecodesInOrderAndNamesItsFirstBadOp() async throws {
        let sealed = try (7...306).map { seq in
            try SealedOp(sealing: Self.sample(Self.everyBody[Int(seq) % Self.everyBody.count], seq: seq))
        }
        let bytes = sealed.map(\.bytes)
        // Split in four parts: the order and every op come back as decoded one by one.
        #expect(try await SealedOp.decodeBatch(bytes, parallelism: 4) == sealed)
        #expect(try await SealedOp.decodeBatch(Array(bytes.prefix(10)), parallelism: 4) == Array(sealed.prefix(10)))
        #expect(try await SealedOp.decodeBatch([], parallelism: 4).isEmpty)
        // More parts than fit evenly (a 64-core host): every part stays inside the batch.
        let many = Array(repeating: bytes, count: 7).flatMap { $0 }.prefix(2_049)
        #expect(try await SealedOp.decodeBatch(Array(many), parallelism: 64).map(\.bytes) == Array(many))
        // Bad ops in the second and fourth parts: the lowest index is named.
        var broken = bytes
        broken[290] = [0x02] + broken[290].dropFirst()
        broken[120] = Array(broken[120].dropLast())
        await #expect {
            _ = try await SealedOp.decodeBatch(broken, parallelism: 4)
        } throws: { error in
            guard let failure = error as? BatchDecodingError else { return false }
            return failure.index == 120
        }
    }

    @Test func encodingIsCompactForStatusOps() throws {
        let sealed = try SealedOp(sealing: Self.sample(.acknowledged))
        #expect(sealed.bytes.count < 80)
        #expect(sealed.bytes.first == SealedOp.formatVersion)
    }

    /// A fixed vector so that another implementation can check it computes the same bytes.
    @Test func knownAnswer() throws {
        let op = Op(
            id: Fixtures.opID("dpupr", seq: 1),
            lamport: 3,
            caseID: Fixtures.caseID(),
            epoch: 1,
            context: VersionVector([Fixtures.origin("central"): 2]),
            actor: Fixtures.actor("budi"),
            at: Timestamp(millisecondsSinceEpoch: 1_764_000_000_000),
            body: .acknowledged
        )
        let sealed = try SealedOp(sealing: op)
        #expect(
            Hex.encode(sealed.bytes)
                == "01056470757072010103" + "0f4d4a4b2d3236313132392d30303432" + "01"
                + "0107" + "63656e7472616c" + "0102" + "0462756469" + "80a0bfe9d666" + "06"
        )
        #expect(sealed.hash.description == "f2ea4568617ca3f0c7fcbdba5211f4765a9f18dd60c51893548be002e0f9db2f")
    }

    @Test func hashChangesWithAnyField() throws {
        let base = try SealedOp(sealing: Self.sample(.acknowledged))
        var other = Self.sample(.acknowledged)
        other.at = Timestamp(millisecondsSinceEpoch: -4)
        #expect(try SealedOp(sealing: other).hash != base.hash)
    }

    @Test func everyTruncationThrows() throws {
        for body in Self.everyBody {
            let bytes = try SealedOp(sealing: Self.sample(body)).bytes
            for length in 0..<bytes.count {
                #expect(throws: CodingError.self) { try SealedOp(decoding: Array(bytes.prefix(length))) }
            }
        }
    }

    @Test func trailingBytesUnknownVersionAndUnknownKindThrow() throws {
        let bytes = try SealedOp(sealing: Self.sample(.started)).bytes
        #expect { try SealedOp(decoding: bytes + [0]) } throws: { ($0 as? CodingError)?.code == .trailingBytes }
        var version = bytes
        version[0] = 2
        #expect { try SealedOp(decoding: version) } throws: { ($0 as? CodingError)?.code == .unsupportedVersion }
        var kind = bytes
        kind[kind.count - 1] = 99
        #expect { try SealedOp(decoding: kind) } throws: { ($0 as? CodingError)?.code == .unknownKind }
    }

    @Test func impossibleValuesThrow() throws {
        // seq 0: origin "dpupr"#2 occupies bytes 1...7, seq is byte 8.
        let bytes = try SealedOp(sealing: Self.sample(.started)).bytes
        var seqZero = bytes
        #expect(seqZero[8] == 7)
        seqZero[8] = 0
        #expect { try SealedOp(decoding: seqZero) } throws: { ($0 as? CodingError)?.code == .invalidValue }
        // Incarnation 0.
        var incarnationZero = bytes
        incarnationZero[7] = 0
        #expect { try SealedOp(decoding: incarnationZero) } throws: { ($0 as? CodingError)?.code == .invalidValue }
        // A context that claims to have seen the op itself.
        var selfSeen = Self.sample(.started)
        selfSeen.context.record(selfSeen.id)
        #expect(throws: CodingError.self) { try SealedOp(sealing: selfSeen) }
        // An unknown archive reason code.
        let archived = try SealedOp(sealing: Self.sample(.archived(.init(reason: .spam)))).bytes
        var reason = archived
        reason[reason.count - 2] = 42
        #expect { try SealedOp(decoding: reason) } throws: { ($0 as? CodingError)?.code == .invalidValue }
    }

    @Test func nonMinimalVarintIsRejected() throws {
        let bytes = try SealedOp(sealing: Self.sample(.started)).bytes
        // Re-encode seq 7 as the two-byte form 0x87 0x00.
        var padded = Array(bytes[0..<8])
        padded += [0x87, 0x00]
        padded += bytes[9...]
        #expect { try SealedOp(decoding: padded) } throws: { ($0 as? CodingError)?.code == .nonCanonical }
    }

    @Test func invalidUTF8IsRejected() throws {
        let op = Self.sample(.noted(.init(text: "ab", visibility: .public)))
        var bytes = try SealedOp(sealing: op).bytes
        bytes[bytes.count - 1] = 0xFF
        #expect { try SealedOp(decoding: bytes) } throws: { ($0 as? CodingError)?.code == .invalidValue }
    }

    @Test func theHashIsSHA256OfTheCanonicalBytes() {
        // FIPS 180-2's examples: one block, and two blocks.
        #expect(
            OpHash(of: Array("abc".utf8)).description
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        #expect(
            OpHash(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).description
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        #expect(OpHash(of: []).bytes.count == 32)
    }

    @Test func textsOutsideASCIIRoundTripAndBrokenUTF8InThemIsRefused() throws {
        let text = "Jalan berlubang di depan SDN 2 — bahaya 🚧, café ditutup"
        let op = Self.sample(.noted(.init(text: text, visibility: .public)))
        let bytes = try SealedOp(sealing: op).bytes
        #expect(try SealedOp(decoding: bytes).op == op)

        let marker = Array("SDN".utf8)
        let at = try #require(
            (0...(bytes.count - marker.count)).first { Array(bytes[$0..<$0 + marker.count]) == marker }
        )
        // Each replaces the three bytes "SDN" inside the text, so the length stays right.
        let broken: [[UInt8]] = [
            [0x80, 0x41, 0x41],  // a continuation byte with no lead
            [0xF0, 0x9F, 0x98],  // a four-byte sequence cut short
            [0xC0, 0xAF, 0x41],  // an overlong encoding of "/"
            [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
            [0x41, 0x41, 0xFF],  // a byte UTF-8 never uses
        ]
        for replacement in broken {
            var corrupt = bytes
            corrupt.replaceSubrange(at..<at + 3, with: replacement)
            #expect {
                try SealedOp(decoding: corrupt)
            } throws: {
                ($0 as? CodingError)?.code == .invalidValue && ($0 as? CodingError)?.field == "noted.text"
            }
        }
    }

    @Test func oversizedValuesAreRefusedBothWays() throws {
        let long = String(repeating: "x", count: OpLimits.maximumLongText + 1)
        #expect(throws: CodingError.self) {
            try SealedOp(sealing: Self.sample(.noted(.init(text: long, visibility: .public))))
        }
        #expect { try SealedOp(decoding: [UInt8](repeating: 1, count: OpLimits.maximumEncodedBytes + 1)) } throws: {
            ($0 as? CodingError)?.code == .oversized
        }
        // A declared string length far beyond the input is truncated, not allocated.
        let bytes = try SealedOp(sealing: Self.sample(.noted(.init(text: "a", visibility: .public)))).bytes
        var lying = Array(bytes.dropLast(2))
        lying += [0xFF, 0x7F]
        #expect(throws: CodingError.self) { try SealedOp(decoding: lying) }
        #expect(throws: CodingError.self) {
            try SealedOp(sealing: Self.sample(.evidenceAdded(.init(sha256: [1, 2], size: 1, mimeType: "x"))))
        }
    }

    @Test func randomMutationsNeverTrapAndAcceptedInputsAreCanonical() throws {
        var random = SplitMix64(seed: 0x5A4D_4241)
        let seeds = try Self.everyBody.map { try SealedOp(sealing: Self.sample($0)).bytes }
        var accepted = 0
        for round in 0..<10_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...random.next(below: 4) {
                switch random.next(below: 4) {
                case 0 where !bytes.isEmpty:
                    bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                case 1 where !bytes.isEmpty:
                    bytes.remove(at: random.next(below: bytes.count))
                case 2:
                    bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: random.next(below: bytes.count + 1))
                default:
                    bytes = Array(bytes.prefix(random.next(below: bytes.count + 1)))
                }
            }
            if let sealed = try? SealedOp(decoding: bytes) {
                accepted += 1
                #expect(try SealedOp(sealing: sealed.op).bytes == bytes)
            }
        }
        #expect(accepted > 0)
    }
}
