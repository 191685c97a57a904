import SambatTestKit
import Testing

@testable import SambatCore

/// Random op sets built by simulated replicas with partial views; every delivery order must
/// fold to the same state, and no op may be lost.
@Suite struct FoldPropertyTests {
    /// Seeds are split into chunks so the runner can spread them over cores.
    static let chunks = 8
    static let seedsPerChunk: UInt64 = 250

    @Test(arguments: 0..<chunks)
    func everyDeliveryOrderConvergesAndNothingIsLost(chunk: Int) {
        var conflictsSeen = 0
        let firstSeed = UInt64(chunk) * Self.seedsPerChunk
        for seed in firstSeed..<firstSeed + Self.seedsPerChunk {
            var random = SplitMix64(seed: seed)
            let world = ReplicaSimulation.run(random: &random, steps: 20 + random.next(below: 40))
            let union = world.allOps
            let full = Fixtures.fold.fold(union, caseID: Fixtures.caseID())

            // Each replica's own view folds the same through either path.
            for replica in world.replicas {
                let view = Array(replica.known.values)
                #expect(Folder.incremental(view.sorted { $0.foldKey < $1.foldKey }) == replica.state, "seed \(seed)")
            }

            for _ in 0..<3 {
                let deliveries = Self.scrambled(union, random: &random)
                let state = Folder.incremental(deliveries)
                #expect(state == full, "seed \(seed) diverged")
                if state != full { return }
            }

            // No op lost: each appears once in the history, and a refused one is in its conflict.
            #expect(full.history.map(\.op).sorted() == union.map(\.id).sorted(), "seed \(seed)")
            let conflictsByID = Dictionary(full.conflicts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for entry in full.history {
                switch entry.effect {
                case .conflict(let id), .appliedWithConflict(let id):
                    #expect(conflictsByID[id]?.ops.contains(entry.op) == true, "seed \(seed)")
                case .applied, .superseded:
                    break
                }
            }
            let ids = Set(union.map(\.id))
            #expect(full.conflicts.allSatisfy { $0.ops.allSatisfy(ids.contains) })
            conflictsSeen += full.conflicts.count
        }
        // The generator must actually produce conflicts, or the property proves little.
        #expect(conflictsSeen > Int(Self.seedsPerChunk) / 4)
    }

    @Test func incrementalFoldEqualsFullFoldOpByOpInCausalOrder() {
        for seed in 0..<UInt64(300) {
            var random = SplitMix64(seed: seed &+ 10_000)
            let world = ReplicaSimulation.run(random: &random, steps: 40)
            let ordered = world.allOps.sorted { $0.foldKey < $1.foldKey }
            var state = CaseState(caseID: Fixtures.caseID())
            var prefix: [Op] = []
            for op in ordered {
                prefix.append(op)
                let full = Fixtures.fold.fold(prefix, caseID: op.caseID)
                if let next = Fixtures.fold.applying(op, to: state) {
                    #expect(next == full, "seed \(seed) op \(op.id)")
                    state = next
                } else {
                    state = full
                }
            }
        }
    }

    /// A permutation of `ops` with some duplicated and a replayed tail.
    static func scrambled(_ ops: [Op], random: inout SplitMix64) -> [Op] {
        var deliveries = ops
        deliveries.shuffle(using: &random)
        for _ in 0..<random.next(below: ops.count / 3 + 1) {
            let op = ops[random.next(below: ops.count)]
            deliveries.insert(op, at: random.next(below: deliveries.count + 1))
        }
        let replayFrom = random.next(below: deliveries.count)
        deliveries += deliveries[replayFrom...]
        return deliveries
    }
}

/// Central and three offices acting on one case with partial views: authoring (mostly what
/// the policy allows, sometimes anything), syncing causally closed prefixes through central,
/// and restoring offices from old snapshots under a new incarnation.
struct ReplicaSimulation {
    var replicas: [TestReplica]
    var retired: [TestReplica] = []
    var snapshots: [NodeID: [[OpID: Op]]] = [:]

    static let offices = [Fixtures.dpupr, Fixtures.dlh, Fixtures.perkim]

    var allOps: [Op] {
        var all: [OpID: Op] = [:]
        for replica in replicas + retired { all.merge(replica.known) { a, _ in a } }
        return Array(all.values)
    }

    static func run(random: inout SplitMix64, steps: Int) -> ReplicaSimulation {
        var world = ReplicaSimulation(
            replicas: [TestReplica(Fixtures.origin("central"))]
                + offices.map { TestReplica(Fixtures.origin($0.rawValue)) }
        )
        world.replicas[0].author(Fixtures.opened)
        for _ in 0..<steps {
            let roll = random.next(below: 100)
            if roll < 55 {
                world.author(random: &random)
            } else if roll < 96 {
                world.sync(random: &random)
            } else {
                world.restore(random: &random)
            }
            if random.chance(0.15) {
                let index = 1 + random.next(below: offices.count)
                world.snapshots[world.replicas[index].node, default: []].append(world.replicas[index].known)
            }
        }
        return world
    }

    mutating func author(random: inout SplitMix64) {
        let index = random.next(below: replicas.count)
        let replica = replicas[index]
        let state = replica.state
        let role: NodeRole = index == 0 ? .central : .office
        let candidates = index == 0 ? Self.centralBodies(state, random: &random) : Self.officeBodies(random: &random)
        let epoch = Fixtures.policy.authoringEpoch(for: replica.node, in: state) ?? UInt32(1 + random.next(below: 2))
        let allowed = candidates.filter {
            Fixtures.policy.check(role: role, node: replica.node, body: $0, epoch: epoch, in: state) == nil
        }
        let pool = (allowed.isEmpty || random.chance(0.12)) ? candidates : allowed
        replicas[index].author(pool[random.next(below: pool.count)], epoch: epoch)
    }

    /// Moves a causally closed prefix (in fold order) of what one side lacks; always via central.
    mutating func sync(random: inout SplitMix64) {
        let office = 1 + random.next(below: replicas.count - 1)
        let (from, to) = random.chance(0.5) ? (0, office) : (office, 0)
        let missing = replicas[from].known.values.filter { replicas[to].known[$0.id] == nil }
            .sorted { $0.foldKey < $1.foldKey }
        guard !missing.isEmpty else { return }
        replicas[to].receive(missing.prefix(1 + random.next(below: missing.count)))
    }

    mutating func restore(random: inout SplitMix64) {
        let index = 1 + random.next(below: replicas.count - 1)
        let node = replicas[index].node
        let backup = snapshots[node]?.randomElement(using: &random) ?? [:]
        retired.append(replicas[index])
        replicas[index] = replicas[index].restored(incarnation: replicas[index].origin.incarnation + 1, from: backup)
    }

    static func centralBodies(_ state: CaseState, random: inout SplitMix64) -> [OpBody] {
        let office = offices[random.next(below: offices.count)]
        let other = offices[random.next(below: offices.count)]
        let nextEpoch = (state.assignment(for: office)?.epoch ?? 0) + 1
        var bodies: [OpBody] = [
            .verified(.init(tier: DeadlineTier.allCases[random.next(below: 4)])),
            .pended(.init(request: "Mohon foto")),
            .archived(.init(reason: ArchiveReason.allCases[random.next(below: 7)])),
            .dispatched(.init(office: office, epoch: nextEpoch)),
            .reassigned(.init(from: other, to: office, epoch: nextEpoch)),
            .closed(.init(reason: .reporterSilent)),
            .reopened(.init(reason: "Belum beres")),
            .reporterWrote(.init(channel: .sms, text: "Tambahan info")),
            .noted(.init(text: "Catatan operator", visibility: .internal)),
        ]
        if let conflict = state.openConflicts.randomElement(using: &random) {
            bodies.append(.conflictResolved(.init(conflict: conflict.id, outcome: .keptCurrent)))
        }
        return bodies
    }

    static func officeBodies(random: inout SplitMix64) -> [OpBody] {
        [
            .acknowledged, .started, .resolved(.init(summary: "Sudah ditangani")),
            .returned(.init(reason: ReturnReason.allCases[random.next(below: 4)], note: "Bukan wewenang")),
            .noted(.init(text: "Catatan dinas", visibility: .public)),
            .evidenceAdded(
                .init(
                    sha256: Array(repeating: UInt8(random.next(below: 256)), count: 32),
                    size: 10,
                    mimeType: "image/jpeg"
                )
            ),
        ]
    }
}
