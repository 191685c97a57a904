// sambat-fuzz: mutation fuzzing of the decoders that read network bytes (`make fuzz`).
//
//   sambat-fuzz run  <corpus> [iterations per target] [seed]   mutate corpus inputs; stop at the first violation
//   sambat-fuzz seed <corpus>                       (re)write the seed inputs of the corpus
//                                                   (config/ holds hand-kept YAML seeds)
//
// A trap ends the process: the seed and iteration printed before each progress line
// reproduce it. A violated property is printed with the input in hex, and exits 1.
import Foundation
import SambatCore
import SambatFuzzKit
import SambatSync

#if canImport(Glibc)
import Glibc
#endif

@main
enum SambatFuzz {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            print("usage: sambat-fuzz run <corpus> [iterations] [seed] | sambat-fuzz seed <corpus>")
            exit(64)
        }
        let corpus = arguments[2]
        switch arguments[1] {
        case "seed":
            try Seeds.write(to: corpus)
        case "run":
            let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 1_000_000 : 1_000_000
            let seed = arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : UInt64(Date().timeIntervalSince1970)
            try fuzz(corpus: corpus, iterations: iterations, seed: seed)
        default:
            print("unknown mode \(arguments[1])")
            exit(64)
        }
    }

    static func fuzz(corpus: String, iterations: Int, seed: UInt64) throws {
        var inputs: [FuzzTargets.Target: [[UInt8]]] = [:]
        for target in FuzzTargets.Target.allCases {
            inputs[target] = try Seeds.load(target, from: corpus)
            guard inputs[target]?.isEmpty == false else {
                print("no corpus inputs for \(target.rawValue) under \(corpus); run `sambat-fuzz seed \(corpus)`")
                exit(1)
            }
        }
        var mutator = Mutator(seed: seed)
        var accepted = 0
        let targets = FuzzTargets.Target.allCases
        // `iterations` inputs for each target, interleaved.
        let total = iterations * targets.count
        print("fuzzing \(iterations) inputs per target (\(targets.count) targets), seed \(seed)")
        for iteration in 0..<total {
            let target = targets[iteration % targets.count]
            let pool = inputs[target] ?? []
            let input = mutator.mutate(pool[mutator.below(pool.count)], other: pool[mutator.below(pool.count)])
            do {
                if try FuzzTargets.run(target, input) { accepted += 1 }
            } catch {
                print("VIOLATION (\(target.rawValue), seed \(seed), iteration \(iteration)): \(error)")
                print(input.map { String($0, radix: 16) }.joined(separator: " "))
                exit(1)
            }
            if (iteration + 1) % 100_000 == 0 {
                // Unbuffered, so progress shows while a long run goes on.
                FileHandle.standardOutput.write(
                    Data("\(iteration + 1) inputs, \(accepted) accepted (seed \(seed))\n".utf8)
                )
            }
        }
        print("done: \(total) inputs (\(iterations) per target), \(accepted) accepted, no crash, no violation")
    }
}

/// The seed inputs: valid ops of every kind, vectors, and one message of every type.
enum Seeds {
    static func load(_ target: FuzzTargets.Target, from corpus: String) throws -> [[UInt8]] {
        let folder = corpus + "/" + target.rawValue
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return try names.sorted().map { name in
            Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
        }
    }

    static func write(to corpus: String) throws {
        let ops = try sampleOps()
        var files: [(FuzzTargets.Target, String, [UInt8])] = []
        for (index, op) in ops.enumerated() {
            files.append((.op, String(format: "op-%02d-%@", index, "\(op.op.kind)"), op.bytes))
        }
        files.append((.vector, "vector-two", try ops[ops.count - 1].op.context.encoded()))
        files.append((.vector, "vector-empty", try VersionVector().encoded()))
        var hello = Sambat_Sync_V1_Hello()
        hello.node = "dpupr"
        hello.origin = "dpupr#1"
        hello.lastSeq = 12
        hello.feedCheckpoint = 40
        hello.software = "sambat"
        var welcome = Sambat_Sync_V1_Welcome()
        welcome.frontier = 12
        welcome.feedFrom = 40
        welcome.feedHead = 45
        welcome.credit = 4
        welcome.maxBatchOps = 500
        welcome.maxBatchBytes = 1 << 20
        var batch = Sambat_Sync_V1_Batch()
        batch.batchID = 3
        batch.ops = ops.prefix(3).map { Data($0.bytes) }
        batch.receivedAtMs = [1_764_400_000_000, 1_764_400_000_001, 1_764_400_000_002]
        batch.feedPosition = 45
        var ack = Sambat_Sync_V1_Ack()
        ack.batchID = 3
        ack.frontier = 12
        var refusal = Sambat_Sync_V1_Refusal()
        refusal.seq = 11
        refusal.reason = "only central may author closed"
        ack.refused = [refusal]
        var ping = Sambat_Sync_V1_Ping()
        ping.nonce = 7
        var pong = Sambat_Sync_V1_Pong()
        pong.nonce = 7
        let messages: [(String, SyncMessage)] = [
            ("hello", .hello(hello)), ("welcome", .welcome(welcome)), ("batch", .batch(batch)), ("ack", .ack(ack)),
            ("error", .error(.invalidBatch, "ops of origin dpupr#1 are not in ascending seq order", batchID: 3)),
            ("ping", .ping(ping)), ("pong", .pong(pong)),
        ]
        for (name, message) in messages {
            let frames = SyncFrames.encode(message)
            files.append((.envelope, "envelope-\(name)", frames[0] + frames[1]))
        }
        for (target, name, bytes) in files {
            let folder = corpus + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        print("wrote \(files.count) seed inputs under \(corpus)")
    }

    static func sampleOps() throws -> [SealedOp] {
        let central = try Origin(node: NodeID("central"), incarnation: 1)
        let office = try Origin(node: NodeID("dpupr"), incarnation: 2)
        let caseID = try CaseID("MJK-261129-0042")
        let bodies: [(Origin, OpBody)] = [
            (
                central,
                .opened(
                    .init(
                        channel: .whatsapp,
                        reporterRef: "rpt-7f3a",
                        text: "Lampu jalan mati",
                        location: "Jl. Majapahit"
                    )
                )
            ),
            (central, .verified(.init(tier: .normatif, topic: "penerangan jalan"))),
            (central, .pended(.init(request: "Mohon kirim foto lokasi"))),
            (central, .dispatched(.init(office: try NodeID("dpupr"), epoch: 1, instructions: "Segera"))),
            (office, .acknowledged),
            (office, .started),
            (office, .noted(.init(text: "Tim ke lokasi", visibility: .public))),
            (
                office,
                .evidenceAdded(
                    .init(
                        sha256: Array(repeating: 0xAB, count: 32),
                        size: 5_000_000,
                        mimeType: "image/jpeg",
                        name: "foto.jpg"
                    )
                )
            ),
            (office, .resolved(.init(summary: "Lampu diganti"))),
            (office, .returned(.init(reason: .notOurAuthority, note: "Wewenang PLN"))),
            (
                central,
                .reassigned(.init(from: try NodeID("dpupr"), to: try NodeID("dlh"), epoch: 1, note: "salah OPD"))
            ),
            (central, .closed(.init(reason: .confirmedByReporter))),
            (central, .reopened(.init(reason: "Masih mati"))),
            (central, .reporterWrote(.init(channel: .sms, text: "Sudah seminggu"))),
            (central, .conflictResolved(.init(conflict: "c-1", outcome: .keptCurrent, note: ""))),
            (central, .archived(.init(reason: .sara, note: ""))),
        ]
        var context = VersionVector()
        var seqs: [Origin: UInt64] = [:]
        var sealed: [SealedOp] = []
        for (index, (origin, body)) in bodies.enumerated() {
            let seq = (seqs[origin] ?? 0) + 1
            seqs[origin] = seq
            let op = Op(
                id: try OpID(origin: origin, seq: seq),
                lamport: UInt64(index + 1),
                caseID: caseID,
                epoch: origin == office ? 1 : 0,
                context: context,
                actor: try ActorID(origin == office ? "dpupr.budi" : "op.rina"),
                at: Timestamp(millisecondsSinceEpoch: 1_764_400_000_000 + Int64(index)),
                body: body
            )
            sealed.append(try SealedOp(sealing: op))
            context.record(op.id)
        }
        return sealed
    }
}
