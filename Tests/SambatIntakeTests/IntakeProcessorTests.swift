import Foundation
import Logging
import SambatCore
import SambatDesk
import SambatIntake
import SambatStore
import SambatTestKit
import Testing

/// Central's intake processor on a flood day: a backlog bigger than one batch is worked off
/// without pausing between batches.
@Suite(.timeLimit(.minutes(2))) struct IntakeProcessorTests {
    @Test func aBacklogOfSeveralBatchesIsProcessedWithoutWaitingForTheInterval() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try NodeID("central")
        let store = try Store.open(
            StoreConfiguration(path: scratch.file("central.sqlite")),
            identity: NodeIdentity(node: central, role: .central, central: central)
        )
        let desk = try IntakeDesk(
            store: store,
            identityKey: Array(repeating: 9, count: 32),
            calendar: WorkingCalendar()
        )
        // Two and a half batches of 100, from 50 numbers, stored as the webhook stores them.
        for index in 0..<250 {
            let message = InboundMessage(
                channel: .whatsapp,
                externalID: "wamid.flood.\(index)",
                sender: "62812000\(1_000 + index % 50)",
                text: "Banjir di gang \(index % 50), air setinggi lutut"
            )
            #expect(try await desk.accept(message, at: Timestamp.now))
        }
        // With ten minutes between idle rounds, only going on at once after a full batch
        // works off the backlog within the test's patience.
        let processor = IntakeProcessor(
            desk: desk,
            policy: IntakePolicy(requireIdentity: false),
            interval: .seconds(600),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let running = Task { await processor.run() }
        defer { running.cancel() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        var waiting = try await store.inboundTally(channel: .whatsapp).unprocessed
        while waiting > 0, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            waiting = try await store.inboundTally(channel: .whatsapp).unprocessed
        }
        #expect(waiting == 0)
        #expect(try await store.inboundTally(channel: .whatsapp).ids.count == 250)
    }
}
