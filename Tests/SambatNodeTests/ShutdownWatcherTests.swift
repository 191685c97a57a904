import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import SambatNode
@testable import SambatWeb

/// The node's probe learns of a graceful shutdown before the other services wind down.
@Suite struct ShutdownWatcherTests {
    /// A service that runs until graceful shutdown, as the node's services do.
    struct Working: Service {
        func run() async throws { try? await gracefulShutdown() }
    }

    @Test func gracefulShutdownMarksTheProbeStopping() async throws {
        let probe = NodeProbe(registry: PrometheusCollectorRegistry(), readings: { [] }, ready: { true })
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: Working()), .init(service: ShutdownWatcher(probe: probe))],
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
    }
}
