import Foundation
import SambatFuzzKit
import Testing

/// `make test` replays the fuzz corpus (`Tests/FuzzCorpus`), so every input that once mattered
/// keeps being checked: seeds of every decoder, and any input a fuzz run ever minimised.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus").path

    @Test(arguments: FuzzTargets.Target.allCases)
    func everyCorpusInputKeepsItsProperties(target: FuzzTargets.Target) throws {
        let folder = Self.corpus + "/" + target.rawValue
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(!names.isEmpty, "no corpus inputs under \(folder)")
        var accepted = 0
        for name in names {
            let input = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            if try FuzzTargets.run(target, input) { accepted += 1 }
            // Every truncation of an input is refused or accepted cleanly, never a trap.
            for length in stride(from: 0, to: input.count, by: max(1, input.count / 16)) {
                try FuzzTargets.run(target, Array(input.prefix(length)))
            }
        }
        // The seeds are valid inputs: a decoder that refused them all would fuzz nothing.
        #expect(accepted > 0)
    }

    @Test(arguments: FuzzTargets.Target.allCases)
    func tenThousandFreshMutationsKeepTheProperties(target: FuzzTargets.Target) throws {
        let folder = Self.corpus + "/" + target.rawValue
        let inputs = try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map {
            Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)))
        }
        try #require(!inputs.isEmpty)
        // A different seed every run widens the search; a failure prints the input, which then
        // belongs in the corpus.
        let seed = UInt64.random(in: 1...UInt64.max)
        var mutator = Mutator(seed: seed)
        for iteration in 0..<10_000 {
            let input = mutator.mutate(inputs[mutator.below(inputs.count)], other: inputs[mutator.below(inputs.count)])
            do {
                try FuzzTargets.run(target, input)
            } catch {
                let hex = input.map { String($0, radix: 16) }.joined(separator: " ")
                Issue.record("\(error) (seed \(seed), iteration \(iteration)); input: \(hex)")
                return
            }
        }
    }

    @Test func theMutatorIsDeterministicAndExploresAroundItsInput() {
        var first = Mutator(seed: 42)
        var second = Mutator(seed: 42)
        let input: [UInt8] = Array(0..<64)
        var changed = 0
        for _ in 0..<200 {
            let a = first.mutate(input, other: [9, 9, 9])
            #expect(a == second.mutate(input, other: [9, 9, 9]))
            if a != input { changed += 1 }
        }
        #expect(changed > 150)
    }
}
