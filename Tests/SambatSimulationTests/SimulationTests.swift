import Foundation
import Testing

/// Deterministic simulation: many seeded worlds of central, offices and the mayor under
/// loss, duplication, reordering, partitions, crashes and restores; after healing every
/// world must converge with no op lost, no seq reused and the same conflicts everywhere.
///
/// `make test` runs 1,000 seeds, `make test-long` 10,000 (`SAMBAT_SIM_SEEDS`). A failing
/// seed is printed with the one command that replays it (`SAMBAT_SIM_SEED`).
@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["SAMBAT_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["SAMBAT_SIM_SEEDS"].flatMap(Int.init) ?? 1_000
        let first = environment["SAMBAT_SIM_FIRST_SEED"].flatMap(UInt64.init) ?? 1
        return (0..<UInt64(max(0, count))).map { first + $0 }
    }

    /// Where the worlds keep their stores: memory-backed when the machine has it.
    static var scratch: String {
        let shm = "/dev/shm"
        let base = FileManager.default.isWritableFile(atPath: shm) ? shm : NSTemporaryDirectory()
        return base + "/sambat-sim-" + UUID().uuidString
    }

    struct Totals: Sendable {
        var worlds = 0
        var ops = 0
        var messages = 0
        var lost = 0
        var duplicated = 0
        var crashes = 0
        var partitions = 0
        var restores = 0
        var slowestHealMilliseconds = 0
        var failures: [String] = []
    }

    @Test func everySeededWorldConvergesAfterHealing() async throws {
        let seeds = Self.seeds
        let root = Self.scratch
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Two worlds at a time: the machine has two cores.
        let lanes = 2
        let totals = try await withThrowingTaskGroup(of: Totals.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var totals = Totals()
                    for (index, seed) in seeds.enumerated() where index % lanes == lane {
                        let world = try SimulatedWorld(seed: seed, directory: "\(root)/\(seed)")
                        let outcome = try await world.run()
                        totals.worlds += 1
                        totals.ops += outcome.opsAuthored
                        totals.messages += outcome.messagesSent
                        totals.lost += outcome.messagesLost
                        totals.duplicated += outcome.messagesDuplicated
                        totals.crashes += outcome.crashes
                        totals.partitions += outcome.partitions
                        totals.restores += outcome.restores
                        totals.slowestHealMilliseconds = max(
                            totals.slowestHealMilliseconds,
                            outcome.healedAfterMilliseconds
                        )
                        if !outcome.problems.isEmpty {
                            totals.failures.append(
                                "seed \(seed): \(outcome.problems.prefix(5).joined(separator: "; "))\n"
                                    + "  replay: SAMBAT_SIM_SEED=\(seed) swift test --filter SimulationTests"
                            )
                        }
                    }
                    return totals
                }
            }
            var all = Totals()
            for try await part in group {
                all.worlds += part.worlds
                all.ops += part.ops
                all.messages += part.messages
                all.lost += part.lost
                all.duplicated += part.duplicated
                all.crashes += part.crashes
                all.partitions += part.partitions
                all.restores += part.restores
                all.slowestHealMilliseconds = max(all.slowestHealMilliseconds, part.slowestHealMilliseconds)
                all.failures += part.failures
            }
            return all
        }
        print(
            """
            simulation: \(totals.worlds) worlds, \(totals.ops) ops, \(totals.messages) messages \
            (\(totals.lost) lost, \(totals.duplicated) duplicated), \(totals.crashes) crashes, \
            \(totals.partitions) partitions, \(totals.restores) restores, slowest heal \
            \(totals.slowestHealMilliseconds) ms simulated, \(totals.failures.count) failing seeds
            """
        )
        #expect(totals.worlds == seeds.count)
        for failure in totals.failures.prefix(20) { Issue.record(Comment(rawValue: failure)) }
    }
}
