import Foundation
import SambatCore
import Testing

@testable import SambatSync

/// Packed ops (docs/protocol.md, "Packed ops"): the exact bytes come back, every malformed
/// packing is refused before anything reads an op, and each side packs only for a peer that
/// said it accepts packed ops.
@Suite struct PackedOpsTests {
    /// Status ops of an office on many cases, shaped like an upload backlog.
    static func uploadBacklog(count: Int) throws -> [Data] {
        let origin = try Origin(parsing: "dpupr#1")
        let central = try Origin(parsing: "central#1")
        let start = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)
        return try (1...count).map { seq in
            var context = VersionVector()
            context.record(try OpID(origin: central, seq: UInt64(3 * seq)))
            let caseID = try CaseID("MJK-261203-\(String(format: "%04d", 1 + seq % 500))")
            let sealed = try SealedOp(
                sealing: Op(
                    id: try OpID(origin: origin, seq: UInt64(seq)),
                    lamport: UInt64(1_000 + seq),
                    caseID: caseID,
                    epoch: 1,
                    context: context,
                    actor: try ActorID("dpupr.budi"),
                    at: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(seq * 37)),
                    body: seq.isMultiple(of: 3)
                        ? .acknowledged : .noted(.init(text: "Sudah dicek ke lokasi", visibility: .internal))
                )
            )
            return Data(sealed.bytes)
        }
    }

    /// A raw DEFLATE stream of `bytes`, for packings no sender would make.
    static func deflated(_ bytes: [UInt8]) throws -> Data {
        let packed = try #require(PackedOps.deflate(bytes, level: PackedOps.level))
        return Data(packed)
    }

    static func refusal(of packed: Data, maximumBytes: Int = SyncFrames.maximumBodyBytes) -> String? {
        do {
            _ = try PackedOps.unpack(packed, maximumBytes: maximumBytes)
            return nil
        } catch {
            #expect(error.code == .malformed)
            return error.message
        }
    }

    @Test func aBacklogPacksSmallerAndUnpacksToTheSameBytes() throws {
        let ops = try Self.uploadBacklog(count: 500)
        let packed = try #require(PackedOps.pack(ops))
        #expect(packed.count < PackedOps.plainFieldBytes(ops) / 2)
        #expect(try PackedOps.unpack(packed, maximumBytes: SyncFrames.maximumBodyBytes) == ops)
        // And every unpacked op is the op that was sealed: it decodes, and its hash is the same.
        for (op, back) in zip(ops, try PackedOps.unpack(packed, maximumBytes: 1 << 20)) {
            #expect(try SealedOp(decoding: Array(back)).hash == SealedOp(decoding: Array(op)).hash)
        }
    }

    /// A catch-up's large batches are packed fast, live changes' small ones small; both unpack
    /// to the same bytes.
    @Test func aLargeBatchIsPackedAtTheFastLevelAndASmallOneAtTheDefault() throws {
        let ops = try Self.uploadBacklog(count: PackedOps.bulkOps)
        let bulk = try #require(PackedOps.pack(ops))
        let stream = PackedOps.unpackedStream(ops)
        #expect(bulk == Data(try #require(PackedOps.deflate(stream, level: PackedOps.bulkLevel))))
        #expect(bulk != Data(try #require(PackedOps.deflate(stream, level: PackedOps.level))))
        #expect(try PackedOps.unpack(bulk, maximumBytes: SyncFrames.maximumBodyBytes) == ops)

        let live = Array(ops.prefix(PackedOps.bulkOps - 1))
        let small = try #require(PackedOps.pack(live))
        #expect(small == Data(try #require(PackedOps.deflate(PackedOps.unpackedStream(live), level: PackedOps.level))))
        #expect(try PackedOps.unpack(small, maximumBytes: SyncFrames.maximumBodyBytes) == live)
    }

    /// docs/protocol.md, "Packed ops": the known-answer op of the canonical encoding, twice.
    @Test func theDocumentsPackedExampleUnpacksToTheKnownAnswerOpTwice() throws {
        func bytes(_ hex: String) -> Data {
            let digits = Array(hex.filter { !$0.isWhitespace })
            return Data(
                stride(from: 0, to: digits.count, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
            )
        }
        let op = bytes(
            "01056470757072010103 0f4d4a4b2d3236313132392d30303432 01 0107 63656e7472616c 0102 0462756469 80a0bfe9d666 06"
        )
        let packed = bytes(
            "33 62 64 4d 29 28 2d 28 62 64 64 e6 f7 f5 f2 d6 35 32 33 34 34 b2 d4 35 30 30 31 62 64 64 4f "
                + "4e cd 2b 29 4a cc 61 64 62 49 2a 4d c9 6c 58 b0 ff e5 b5 34 36 23 d2 b5 00 00"
        )
        #expect(
            try SealedOp(decoding: Array(op)).hash.description
                == "f2ea4568617ca3f0c7fcbdba5211f4765a9f18dd60c51893548be002e0f9db2f"
        )
        #expect(try PackedOps.unpack(packed, maximumBytes: 1 << 20) == [op, op])
    }

    @Test func aBatchArrivesWithItsOpsPlainWhicheverWayItTravelled() throws {
        let ops = try Self.uploadBacklog(count: 40)
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = 7
        batch.packedOps = try #require(PackedOps.pack(ops))
        let frames = SyncFrames.encode(.batch(batch))
        var plain = Sambat_Sync_V1_Batch()
        plain.batchID = 7
        plain.ops = ops
        #expect(frames[1].count < SyncFrames.encode(.batch(plain))[1].count)
        #expect(try SyncFrames.decode(frames) == .batch(plain))
    }

    @Test func opsThatDoNotRepeatEachOtherAreSentPlain() throws {
        var generator = SystemRandomNumberGenerator()
        let unlike = (0..<3).map { _ in Data((0..<80).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        #expect(PackedOps.pack(unlike) == nil)
        #expect(PackedOps.pack([]) == nil)
    }

    @Test func aBatchWithBothFormsIsRefused() throws {
        let ops = try Self.uploadBacklog(count: 10)
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = 3
        batch.ops = ops
        batch.packedOps = try #require(PackedOps.pack(ops))
        #expect(throws: SyncProtocolError(.malformed, "batch 3 sets both ops and packed_ops")) {
            try SyncFrames.decode(SyncFrames.encode(.batch(batch)))
        }
    }

    @Test func everyMalformedPackingIsRefused() throws {
        let ops = try Self.uploadBacklog(count: 20)
        let packed = try #require(PackedOps.pack(ops))
        let op = Array(ops[0])
        // Not DEFLATE at all (a reserved block type).
        #expect(
            Self.refusal(of: Data([0xFF, 0xFF, 0xFF, 0xFF]))
                == "packed_ops do not unpack: the DEFLATE stream is damaged"
        )
        // Cut short, and nothing at all.
        #expect(
            Self.refusal(of: packed.prefix(packed.count - 3))
                == "packed_ops do not unpack: the DEFLATE stream ends before it is finished"
        )
        #expect(Self.refusal(of: Data()) == "packed_ops do not unpack: the DEFLATE stream ends before it is finished")
        // Bytes after the stream's end.
        #expect(
            Self.refusal(of: packed + Data([0]))
                == "packed_ops do not unpack: bytes follow the end of the DEFLATE stream"
        )
        // A stream that holds no op.
        #expect(Self.refusal(of: try Self.deflated([])) == "packed_ops do not unpack: they hold no op")
        // A length written in more bytes than it needs, a zero length, a length above any op.
        #expect(
            Self.refusal(of: try Self.deflated([UInt8(op.count) | 0x80, 0x00] + op))
                == "packed_ops do not unpack: an op's length is not a minimal varint"
        )
        #expect(
            Self.refusal(of: try Self.deflated([0x00] + op))
                == "packed_ops do not unpack: an op's length is 0, outside 1 … 65536"
        )
        #expect(
            Self.refusal(of: try Self.deflated([0x81, 0x80, 0x04] + op))
                == "packed_ops do not unpack: an op's length is 65537, outside 1 … 65536"
        )
        #expect(
            Self.refusal(of: try Self.deflated([0x80, 0x80, 0x80, 0x01]))
                == "packed_ops do not unpack: an op's length is longer than an op may be"
        )
        // A length that runs past the end, and one cut in the middle of its varint.
        #expect(
            Self.refusal(of: try Self.deflated([UInt8(op.count + 1)] + op))
                == "packed_ops do not unpack: the last op is cut short"
        )
        #expect(Self.refusal(of: try Self.deflated([0x85])) == "packed_ops do not unpack: an op's length is cut short")
    }

    @Test func aSmallPackingThatUnpacksPastTheLimitIsRefusedWithoutHoldingIt() throws {
        // 8 MiB of zeros deflate to about 8 KiB: refused at the 2 MiB body limit.
        let bomb = try Self.deflated([UInt8](repeating: 0, count: 8 << 20))
        #expect(bomb.count < 16 * 1024)
        #expect(
            Self.refusal(of: bomb)
                == "packed_ops do not unpack: they unpack to more than \(SyncFrames.maximumBodyBytes) bytes"
        )
        // Exactly at the limit is still unpacked (and then refused for what it holds).
        let ops = try Self.uploadBacklog(count: 10)
        let packed = try #require(PackedOps.pack(ops))
        let size = ops.reduce(0) { $0 + $1.count + 1 }
        #expect(try PackedOps.unpack(packed, maximumBytes: size) == ops)
        #expect(
            Self.refusal(of: packed, maximumBytes: size - 1)
                == "packed_ops do not unpack: they unpack to more than \(size - 1) bytes"
        )
    }

    @Test func centralPacksTheFeedOnlyForANodeThatAccepts() throws {
        let ops = try Self.uploadBacklog(count: 30).map { Array($0) }
        func firstFeedBatch(nodeAccepts: Bool, centralPacks: Bool) throws -> Sambat_Sync_V1_Batch? {
            var settings = SyncSettings()
            settings.packsOps = centralPacks
            var session = PeerSession(node: try NodeID("dpupr"), role: .office, routingID: [1], settings: settings)
            var hello = Sambat_Sync_V1_Hello()
            hello.node = "dpupr"
            hello.origin = "dpupr#1"
            hello.packedOps = nodeAccepts
            let now = ContinuousClock.now
            let opened = session.handle(.hello(hello, frontier: 0, feedHead: 30), at: now)
            for case .send(.welcome(let welcome)) in opened { #expect(welcome.packedOps == centralPacks) }
            guard case .readFeed(_, _, let generation)? = opened.first(where: { $0.isFeedRead }) else { return nil }
            let sent = session.handle(
                .feedRead(
                    ops: ops,
                    receivedAt: Array(repeating: 1, count: 30),
                    lastPosition: 30,
                    generation: generation
                ),
                at: now
            )
            for case .send(.batch(let batch)) in sent { return batch }
            return nil
        }
        let packed = try #require(try firstFeedBatch(nodeAccepts: true, centralPacks: true))
        #expect(packed.ops.isEmpty)
        #expect(try PackedOps.unpack(packed.packedOps, maximumBytes: 1 << 20).map { Array($0) } == ops)
        #expect(packed.receivedAtMs.count == 30)
        for (accepts, packs) in [(false, true), (true, false)] {
            let plain = try #require(try firstFeedBatch(nodeAccepts: accepts, centralPacks: packs))
            #expect(plain.packedOps.isEmpty)
            #expect(plain.ops.map { Array($0) } == ops)
        }
    }

    @Test func aNodePacksItsUploadsOnlyForACentralThatAccepts() throws {
        let ops = try Self.uploadBacklog(count: 30).map { Array($0) }
        func firstUpload(centralAccepts: Bool, nodePacks: Bool) throws -> Sambat_Sync_V1_Batch? {
            var settings = SyncSettings()
            settings.packsOps = nodePacks
            let now = ContinuousClock.now
            var link = NodeLink(origin: SyncMachineTests.origin, central: SyncMachineTests.central, settings: settings)
            let connected = link.handle(.connect(localHead: 30, checkpoint: 0), at: now)
            let hello = try #require(SyncMachineTests.sentHello(connected))
            #expect(hello.packedOps == nodePacks)
            guard case .welcome(var welcome) = SyncMachineTests.welcome(session: hello.session) else { return nil }
            welcome.packedOps = centralAccepts
            let welcomed = link.handle(.received(.welcome(welcome)), at: now)
            var generation: UInt64?
            for case .readLocalOps(_, _, _, let readGeneration) in welcomed { generation = readGeneration }
            let sent = link.handle(
                .localOpsRead(ops, lastSeq: 30, generation: try #require(generation)),
                at: now
            )
            for case .send(.batch(let batch)) in sent { return batch }
            return nil
        }
        let packed = try #require(try firstUpload(centralAccepts: true, nodePacks: true))
        #expect(packed.ops.isEmpty)
        #expect(try PackedOps.unpack(packed.packedOps, maximumBytes: 1 << 20).map { Array($0) } == ops)
        for (accepts, packs) in [(false, true), (true, false)] {
            let plain = try #require(try firstUpload(centralAccepts: accepts, nodePacks: packs))
            #expect(plain.packedOps.isEmpty)
            #expect(plain.ops.map { Array($0) } == ops)
        }
    }
}
