import Testing

@testable import SambatSync

/// How a sender cuts what it read into one BATCH by `max_batch_bytes`.
@Suite struct BatchBytesTests {
    @Test func aBatchTakesWhatFitsAndAnOversizedOpTravelsAlone() {
        let sizes = [10, 10, 5, 30]
        #expect(Array(sizes.prefix(withinBytes: 25) { $0 }) == [10, 10, 5])
        #expect(Array(sizes.prefix(withinBytes: 24) { $0 }) == [10, 10])
        #expect(Array([40, 5].prefix(withinBytes: 25) { $0 }) == [40])
        #expect([Int]().prefix(withinBytes: 25) { $0 }.isEmpty)
    }
}
