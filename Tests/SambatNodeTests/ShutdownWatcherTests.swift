import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@testable import SambatNode
@testable import SambatWeb

/// The node's probe learns of a graceful shutdown before the other services wind down.
@Suite struct ShutdownWatcherTests {
    /// What the working service saw, shared with the test.
    final class Observation: Sendable {
        let value = Mutex<Bool?>(nil)
    }

    /// A service that runs until graceful shutdown, as the node's services do, and notes
    /// whether the probe already said "stopping" when it was told to stop.
    struct Working: Service {
        let probe: NodeProbe
        let sawStopping: Observation

        func run() async throws {
            try? await gracefulShutdown()
            let stopping = probe.isStopping
            sawStopping.value.withLock { $0 = stopping }
        }
    }

    @Test func gracefulShutdownMarksTheProbeStopping() async throws {
        let probe = NodeProbe(registry: PrometheusCollectorRegistry(), readings: { [] }, ready: { true })
        let sawStopping = Observation()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: Working(probe: probe, sawStopping: sawStopping)),
                    .init(service: ShutdownWatcher(probe: probe)),
                ],
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
        )
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!probe.isStopping)
        #expect(await probe.isReady())
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(probe.isStopping)
        #expect(!(await probe.isReady()))
        // Last in the group, the watcher is told first: the other services stop after it.
        #expect(sawStopping.value.withLock { $0 } == true)
    }
}
