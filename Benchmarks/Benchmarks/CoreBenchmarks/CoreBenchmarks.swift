import Benchmark
import SambatCore

/// Benchmarks of SambatCore's hot paths: folding, version vectors and the op codec.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let sample = CoreSample.make()
    let fold = CaseFold(central: sample.central)

    Benchmark("Fold a 50-op case from scratch") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(fold.fold(sample.ops, caseID: sample.caseID))
        }
    }

    let allButLast = fold.fold(Array(sample.ops.dropLast()), caseID: sample.caseID)
    let last = sample.ops[sample.ops.count - 1]
    Benchmark("Incremental fold of one op onto a 49-op case") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(fold.applying(last, to: allButLast))
        }
    }

    let left = sample.wideVector(offset: 0)
    let right = sample.wideVector(offset: 1)
    Benchmark("Version vector compare (40 origins)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(left.compare(right))
        }
    }

    let statusOp = sample.ops[10]
    Benchmark("Op encode + hash (status op)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SealedOp(sealing: statusOp))
        }
    }

    let opened = sample.ops[0]
    Benchmark("Op encode + hash (opened, ~200 B text)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SealedOp(sealing: opened))
        }
    }

    let statusBytes = (try? SealedOp(sealing: statusOp).bytes) ?? []
    Benchmark("Op decode + hash (status op)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SealedOp(decoding: statusBytes))
        }
    }
}

/// A realistic 50-op case: intake, verification, dispatch to two offices, their progress, notes.
struct CoreSample {
    let central: NodeID
    let caseID: CaseID
    let ops: [Op]
    let origins: [Origin]

    static func make() -> CoreSample {
        do {
            let central = try NodeID("central")
            let offices = [try NodeID("dpupr"), try NodeID("dlh")]
            let caseID = try CaseID("MJK-261129-0042")
            let actor = try ActorID("op.rina")
            let origins =
                try [Origin(node: central, incarnation: 1)] + offices.map { try Origin(node: $0, incarnation: 1) }
            var seqs: [Origin: UInt64] = [:]
            var context = VersionVector()
            var ops: [Op] = []
            func author(_ originIndex: Int, _ body: OpBody, epoch: UInt32) throws {
                let origin = origins[originIndex]
                let seq = seqs[origin, default: 0] + 1
                seqs[origin] = seq
                let id = try OpID(origin: origin, seq: seq)
                ops.append(
                    Op(
                        id: id,
                        lamport: UInt64(ops.count + 1),
                        caseID: caseID,
                        epoch: epoch,
                        context: context,
                        actor: actor,
                        at: Timestamp(millisecondsSinceEpoch: 1_764_000_000_000 + Int64(ops.count) * 60_000),
                        body: body
                    )
                )
                context.record(id)
            }
            let text = String(
                repeating: "Jalan berlubang besar di depan SDN Balongsari, sudah dua motor jatuh. ",
                count: 3
            )
            try author(0, .opened(.init(channel: .whatsapp, reporterRef: "rpt-7f3a9c", text: text)), epoch: 0)
            try author(0, .verified(.init(tier: .normatif, topic: "jalan rusak")), epoch: 0)
            try author(0, .dispatched(.init(office: offices[0], epoch: 1)), epoch: 0)
            try author(0, .dispatched(.init(office: offices[1], epoch: 1)), epoch: 0)
            for office in 1...2 {
                try author(office, .acknowledged, epoch: 1)
                try author(office, .started, epoch: 1)
            }
            while ops.count < 48 {
                let author1 = ops.count % 3
                try author(
                    author1,
                    .noted(.init(text: "Perkembangan ke-\(ops.count)", visibility: .internal)),
                    epoch: author1 == 0 ? 0 : 1
                )
            }
            try author(1, .resolved(.init(summary: "Lubang sudah ditambal")), epoch: 1)
            try author(2, .resolved(.init(summary: "Sampah sudah diangkut")), epoch: 1)
            return CoreSample(central: central, caseID: caseID, ops: ops, origins: origins)
        } catch {
            preconditionFailure("benchmark fixture is invalid: \(error)")
        }
    }

    /// A 40-origin vector (as at central with many offices), shifted by `offset` in one counter.
    func wideVector(offset: UInt64) -> VersionVector {
        var counters: [Origin: UInt64] = [:]
        for index in 0..<40 {
            if let origin = try? Origin(node: NodeID("office\(index)"), incarnation: 1) {
                counters[origin] = UInt64(1_000 + index) + (index == 20 ? offset : 0)
            }
        }
        return VersionVector(counters)
    }
}
