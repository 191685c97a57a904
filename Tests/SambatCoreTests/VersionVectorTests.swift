import Testing

@testable import SambatCore

@Suite struct VersionVectorTests {
    let a = Fixtures.origin("central")
    let b = Fixtures.origin("dpupr")
    let c = Fixtures.origin("dpupr", 2)

    @Test func absentOriginsCountAsZeroAndRecordKeepsTheMaximum() {
        var vector = VersionVector()
        #expect(vector[a] == 0)
        vector.record(Fixtures.opID("central", seq: 5))
        vector.record(Fixtures.opID("central", seq: 3))
        #expect(vector[a] == 5)
        #expect(vector.contains(Fixtures.opID("central", seq: 5)))
        #expect(!vector.contains(Fixtures.opID("central", seq: 6)))
        #expect(!vector.contains(Fixtures.opID("dpupr", seq: 1)))
    }

    @Test func entriesStaySortedWhateverTheInsertionOrder() {
        var vector = VersionVector()
        vector.record(Fixtures.opID("dpupr", 2, seq: 1))
        vector.record(Fixtures.opID("central", seq: 1))
        vector.record(Fixtures.opID("dpupr", seq: 1))
        #expect(vector.entries.map(\.origin) == [a, b, c])
        #expect(vector == VersionVector([c: 1, a: 1, b: 1]))
    }

    /// A counter is found whatever the vector's size: small vectors are searched entry by
    /// entry, larger ones by bisection, and both agree with a plain table of the same counters.
    @Test func countersAreFoundInSmallAndLargeVectors() {
        var generator = SystemRandomNumberGenerator()
        let nodes = (0..<12).map { "office\($0)" }
        for size in 0...12 {
            var table: [Origin: UInt64] = [:]
            for node in nodes.shuffled(using: &generator).prefix(size) {
                table[Fixtures.origin(node, UInt32.random(in: 1...2, using: &generator))] = UInt64.random(
                    in: 1...100,
                    using: &generator
                )
            }
            let vector = VersionVector(table)
            for node in nodes {
                for incarnation in UInt32(1)...2 {
                    let origin = Fixtures.origin(node, incarnation)
                    #expect(vector[origin] == table[origin] ?? 0, "size \(size), \(origin)")
                }
            }
        }
    }

    @Test func zeroCountersAreDropped() {
        #expect(VersionVector([a: 0, b: 2]).count == 1)
        #expect(VersionVector([a: 0]) == VersionVector())
    }

    @Test(arguments: [
        ([1, 2, 0], [1, 2, 0], VersionVector.Ordering.equal),
        ([1, 2, 0], [1, 3, 0], .before),
        ([2, 2, 1], [1, 2, 0], .after),
        ([2, 1, 0], [1, 2, 0], .concurrent),
        ([0, 0, 1], [1, 0, 0], .concurrent),
        ([0, 0, 0], [0, 0, 1], .before),
        ([0, 0, 0], [0, 0, 0], .equal),
    ])
    func compareClassifiesEveryRelation(_ left: [UInt64], _ right: [UInt64], _ expected: VersionVector.Ordering) {
        let x = vector(left)
        let y = vector(right)
        #expect(x.compare(y) == expected)
        let mirrored: VersionVector.Ordering =
            switch expected {
            case .before: .after
            case .after: .before
            default: expected
            }
        #expect(y.compare(x) == mirrored)
        #expect(x.dominates(y) == (expected == .after || expected == .equal))
    }

    @Test func mergeIsPointwiseMaxAndCommutativeAssociativeIdempotent() {
        let x = vector([3, 0, 1])
        let y = vector([1, 4, 0])
        let z = vector([0, 5, 2])
        #expect(x.merging(y) == vector([3, 4, 1]))
        #expect(x.merging(y) == y.merging(x))
        #expect(x.merging(y).merging(z) == x.merging(y.merging(z)))
        #expect(x.merging(x) == x)
        #expect(x.merging(y).dominates(x) && x.merging(y).dominates(y))
    }

    @Test func encodingRoundTripsAndRejectsDisorder() throws {
        let x = vector([3, 0, 7])
        let bytes = try x.encoded()
        #expect(try VersionVector(decoding: bytes) == x)
        #expect(try VersionVector(decoding: [0]) == VersionVector())
        // Two entries swapped: same content, not canonical.
        var writer = ByteWriter()
        writer.writeVarint(2)
        for (node, seq) in [("dpupr", 1), ("central", 1)] {
            try writer.writeString(node, field: "n", limit: 32)
            writer.writeVarint(1)
            writer.writeVarint(UInt64(seq))
        }
        #expect { try VersionVector(decoding: writer.bytes) } throws: { ($0 as? CodingError)?.code == .nonCanonical }
        #expect(throws: CodingError.self) { try VersionVector(decoding: bytes + [0]) }
        #expect(throws: CodingError.self) { try VersionVector(decoding: Array(bytes.dropLast())) }
        #expect(throws: CodingError.self) { try VersionVector(decoding: [0xFF, 0xFF, 0x03]) }
        // A counter beyond SQLite's integer range is refused when encoding too, not only when decoding.
        #expect(throws: CodingError.self) { try VersionVector([a: UInt64(Int64.max) + 1]).encoded() }
    }

    private func vector(_ counters: [UInt64]) -> VersionVector {
        VersionVector(Dictionary(uniqueKeysWithValues: zip([a, b, c], counters)))
    }
}
