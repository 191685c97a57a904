import SambatWire
import Testing

@Suite struct ZMQLibraryTests {
    @Test func linkedLibzmqIsRecentEnoughAndHasCurve() {
        let version = ZMQLibrary.version
        #expect(version.major == 4)
        #expect(version >= ZMQLibrary.minimumVersion)
        #expect(ZMQLibrary.hasCurve)
    }
}
