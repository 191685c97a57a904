// sambat-store-churn: a child process for the store's crash-safety test.
//
//   sambat-store-churn churn  <database> <seed>   apply central-feed batches and local writes forever
//   sambat-store-churn replay <database> <seed>   re-apply every batch up to the saved checkpoint, then exit
//   sambat-store-churn open   <database>          open the store and report the outcome, then exit
//   sambat-store-churn memory <database>          open the store, apply 20 batches, and say whether
//                                                 SQLite counted the memory it allocated
//   sambat-store-churn defer  <database> <seed>   apply 20 batches with local writes (projected), then
//                                                 20 closing those cases, whose projection waits; write
//                                                 <database>.deferred and wait to be killed
//
// The batches are a deterministic function of the seed, so the test can ask for the very
// batches a killed child had committed and check that re-applying them changes nothing.
import Foundation
import SambatCore
import SambatStore

#if canImport(Glibc)
import Glibc
#endif

enum ChurnIdentity {
    static func make() throws -> NodeIdentity {
        NodeIdentity(node: try NodeID("dpupr"), role: .office, central: try NodeID("central"))
    }
}

/// Generates what central would send to dpupr: new cases dispatched to it, and central's
/// notes on cases it already has.
struct FeedGenerator {
    var random: UInt64
    var seq: UInt64 = 0
    var lamport: UInt64 = 0
    var cases: [CaseID: VersionVector] = [:]
    var order: [CaseID] = []
    let origin: Origin
    let actor: ActorID

    init(seed: UInt64) throws {
        let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
        let mixed: UInt64 = seed &* golden
        random = mixed | 1
        origin = try Origin(node: NodeID("central"), incarnation: 1)
        actor = try ActorID("op.rina")
    }

    mutating func next(_ bound: Int) -> Int {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return Int(random % UInt64(bound))
    }

    mutating func author(_ caseID: CaseID, _ body: OpBody) throws -> SealedOp {
        seq += 1
        lamport += 1
        let context = cases[caseID] ?? VersionVector()
        let op = Op(
            id: try OpID(origin: origin, seq: seq),
            lamport: lamport,
            caseID: caseID,
            epoch: 0,
            context: context,
            actor: actor,
            at: Self.time(of: seq),
            body: body
        )
        var vector = context
        vector.record(op.id)
        cases[caseID] = vector
        return try SealedOp(sealing: op)
    }

    static func time(of seq: UInt64) -> Timestamp {
        let base: Int64 = 1_764_000_000_000
        let step = Int64(seq) * 1000
        return Timestamp(millisecondsSinceEpoch: base + step)
    }

    mutating func batch() throws -> [RemoteOp] {
        var ops: [SealedOp] = []
        for _ in 0..<(1 + next(3)) {
            let caseID = try CaseID(prefix: "MJK", year: 2026, month: 11, day: 29, serial: order.count + 1)
            order.append(caseID)
            ops.append(
                try author(caseID, .opened(.init(channel: .sms, reporterRef: "rpt-\(order.count)", text: "Keluhan")))
            )
            ops.append(try author(caseID, .verified(.init(tier: .normatif))))
            ops.append(try author(caseID, .dispatched(.init(office: try NodeID("dpupr"), epoch: 1))))
        }
        for _ in 0..<next(6) {
            let caseID = order[next(order.count)]
            ops.append(try author(caseID, .noted(.init(text: "Mohon dipercepat", visibility: .internal))))
        }
        return ops.map { RemoteOp($0, centralReceivedAt: $0.op.at) }
    }

    /// Central closes `caseID` (a case it sent earlier) and notes another: a batch that
    /// changes rows and office counts of cases already projected, and creates none.
    mutating func closing(_ caseID: CaseID) throws -> [RemoteOp] {
        let ops = [
            try author(caseID, .closed(.init(reason: .byOperator))),
            try author(order[next(order.count)], .noted(.init(text: "Ditutup operator", visibility: .public))),
        ]
        return ops.map { RemoteOp($0, centralReceivedAt: $0.op.at) }
    }

    static func batches(seed: UInt64, count: Int) throws -> [[RemoteOp]] {
        var generator = try FeedGenerator(seed: seed)
        return try (0..<count).map { _ in try generator.batch() }
    }
}

@main
struct StoreChurn {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            print("usage: sambat-store-churn churn|replay|defer <database> <seed> | open|memory <database>")
            exit(64)
        }
        do {
            let identity = try ChurnIdentity.make()
            var configuration = StoreConfiguration(path: arguments[2])
            if arguments[1] == "defer" {
                // Nothing projects on its own: the kill must find the projection behind the log.
                configuration.projectionDelay = .seconds(3_600)
                configuration.projectionQuiet = .seconds(3_600)
                configuration.projectionBacklog = .max
                configuration.deadlines = DeadlinePolicy(targets: ServiceTargets(), calendar: WorkingCalendar())
            }
            let store = try Store.open(configuration, identity: identity)
            switch arguments[1] {
            case "open":
                print("opened")
            case "memory":
                for (index, batch) in try FeedGenerator.batches(seed: 1, count: 20).enumerated() {
                    _ = try await store.applyRemote(
                        batch,
                        from: .feed(from: identity.central),
                        receivedAt: .now,
                        feedPosition: UInt64(index + 1)
                    )
                }
                print(Store.sqliteCountsMemory ? "sqlite counts memory" : "sqlite counts no memory")
            case "replay":
                let seed = UInt64(arguments.count > 3 ? arguments[3] : "1") ?? 1
                let central = identity.central
                let position = try await store.checkpoint(for: central)
                let batches = try FeedGenerator.batches(seed: seed, count: Int(position))
                for (index, batch) in batches.enumerated() {
                    _ = try await store.applyRemote(
                        batch,
                        from: .feed(from: central),
                        receivedAt: .now,
                        feedPosition: UInt64(index + 1)
                    )
                }
                print("replayed \(batches.count)")
            case "churn":
                let seed = UInt64(arguments.count > 3 ? arguments[3] : "1") ?? 1
                try await churn(store, seed: seed)
            case "defer":
                let seed = UInt64(arguments.count > 3 ? arguments[3] : "1") ?? 1
                try await deferProjection(store, seed: seed, marker: arguments[2] + ".deferred")
            default:
                print("unknown mode \(arguments[1])")
                exit(64)
            }
        } catch let error as StoreError {
            print("error: \(error)")
            exit(1)
        } catch {
            print("error: \(error)")
            exit(1)
        }
    }

    /// Authors `body` if the policy allows it now. (A helper rather than a `do`/`catch` with
    /// `break` inside the loop: that shape hangs the Swift 6.3.1 SIL optimizer.)
    static func tryAppend(_ body: OpBody, to caseID: CaseID, by officer: ActorID, in store: Store) async -> Bool {
        do {
            _ = try await store.append(body, to: caseID, actor: officer, at: .now)
            return true
        } catch {
            return false
        }
    }

    /// Leaves 20 batches committed to the log with their projection pending (central closing
    /// cases), on top of 20 projected ones whose cases the office has worked, then waits to be
    /// killed.
    static func deferProjection(_ store: Store, seed: UInt64, marker: String) async throws {
        let central = store.identity.central
        var generator = try FeedGenerator(seed: seed)
        let officer = try ActorID("dpupr.budi")
        var position: UInt64 = 0
        for round in 0..<40 {
            position += 1
            // The second half only changes cases the first half created (none is new, so the
            // projection cannot be mended by the rebuild an open does when rows are missing).
            let batch = round < 20 ? try generator.batch() : try generator.closing(generator.order[round - 20])
            _ = try await store.applyRemote(batch, from: .feed(from: central), receivedAt: .now, feedPosition: position)
            // A local write projects what is pending first: the first half ends projected.
            if round < 20, let caseID = generator.order.last {
                _ = await tryAppend(.acknowledged, to: caseID, by: officer, in: store)
            }
        }
        _ = FileManager.default.createFile(atPath: marker, contents: Data("\(position)".utf8))
        while true { try await Task.sleep(for: .seconds(60)) }
    }

    static func churn(_ store: Store, seed: UInt64) async throws {
        let central = store.identity.central
        var generator = try FeedGenerator(seed: seed)
        var position = try await store.checkpoint(for: central)
        // Fast-forward the generator past the batches already applied.
        for _ in 0..<position { _ = try generator.batch() }
        let officer = try ActorID("dpupr.budi")
        // Local choices use their own randomness: the feed must stay a function of the seed alone.
        var choices = SystemRandomNumberGenerator()
        while true {
            let batch = try generator.batch()
            position += 1
            _ = try await store.applyRemote(batch, from: .feed(from: central), receivedAt: .now, feedPosition: position)
            for _ in 0...Int.random(in: 0...2, using: &choices) {
                guard let caseID = generator.order.randomElement(using: &choices) else { break }
                let bodies: [OpBody] = [.acknowledged, .started, .noted(.init(text: "Dicek", visibility: .public))]
                for body in bodies where await tryAppend(body, to: caseID, by: officer, in: store) {
                    break
                }
            }
            print("committed \(position)")
        }
    }
}
