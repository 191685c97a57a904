import Foundation
import SambatCore
import SambatStore
import Testing

/// An idle store gives its caches back, and works as before afterwards.
@Suite struct StoreMemoryTests {
    @Test func onlyAStoreIdleSinceTheLastLookReleasesAndItKeepsWorking() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        // The first look only notes where the store stands; a look after a write does too.
        #expect(await central.releaseMemoryIfIdle() == false)
        #expect(await central.releaseMemoryIfIdle() == true)
        #expect(await central.releaseMemoryIfIdle() == true)
        _ = try await central.append(
            .noted(.init(text: "Dicek ulang", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(await central.releaseMemoryIfIdle() == false)
        #expect(await central.releaseMemoryIfIdle() == true)
        // After a release: reads and writes go on, and the case folds from the log as before.
        let before = try await central.ops(ofCase: caseID).count
        _ = try await central.append(
            .noted(.init(text: "Sesudah dilepas", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(try await central.ops(ofCase: caseID).count == before + 1)
        let state = try #require(try await central.caseState(caseID))
        #expect(state.notes.count == 2)
        #expect(try await central.caseCount() == 1)
    }
}
