import Foundation
import Logging
import SambatCore
import SambatNode
import SambatStore
import SambatSync
import SambatTestKit
import SambatWire
import Testing

/// A node started and stopped many times leaves nothing behind: every socket, context,
/// reader, ticker and ZAP handler it started ends with it.
///
/// Counts the threads and file descriptors of this process, so `make test` runs this suite in
/// a test process of its own (other suites running beside it would move the counts).
@Suite(.serialized, .timeLimit(.minutes(5))) struct NodeLifetimeTests {
    @Test func aNodeStartedAndStoppedAHundredTimesLeaksNoThreadAndNoDescriptor() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let centralID = try NodeID("central")
        let dpupr = try NodeID("dpupr")
        let centralKeys = try CurveKeyPair.generate()
        let officeKey = try scratch.keyFile("dpupr.key")
        let centralStore = try Store.open(
            StoreConfiguration(path: scratch.file("central.sqlite")),
            identity: NodeIdentity(node: centralID, role: .central, central: centralID)
        )
        try await centralStore.enrolPeer(dpupr, role: .office, publicKey: officeKey.pair.publicKey, at: .now)
        let endpoint = "tcp://127.0.0.1:\(try ProcessTestKit.freePort())"
        var environment = Repository.referenceOverrides
        environment.removeValue(forKey: "SAMBAT_REFERENCE_ROUTING")
        environment.removeValue(forKey: "SAMBAT_REFERENCE_SCREENING")
        environment["SAMBAT_NODE_KEY_FILE"] = officeKey.path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("dpupr")
        environment["SAMBAT_CENTRAL_PUBLIC_KEY"] = centralKeys.publicKey
        environment["SAMBAT_CENTRAL_ENDPOINT"] = endpoint
        let office = try await NodeConfigLoader.load(
            path: Repository.config("office-dpupr.yaml"),
            environment: environment
        )
        let quiet = Logger(label: "lifetime") { _ in SwiftLogNoOpLogHandler() }

        /// Central's sync service and the office node run until the office's link is up,
        /// then both are stopped and awaited.
        func cycle() async throws {
            let hub = CentralSyncService(
                store: centralStore,
                configuration: .init(bindEndpoint: endpoint, keyPair: centralKeys),
                logger: quiet
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await hub.run() }
                group.addTask {
                    do {
                        try await NodeRuntime(config: office, logger: quiet).run()
                    } catch is CancellationError {}
                }
                let clock = ContinuousClock()
                let start = clock.now
                while !hub.connectedPeers.contains(dpupr) {
                    guard clock.now - start < .seconds(15) else {
                        Issue.record("the office's link did not come up")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                group.cancelAll()
                try await group.waitForAll()
            }
        }

        for _ in 0..<3 { try await cycle() }
        let before = try await Self.settledCounts()
        for _ in 0..<100 { try await cycle() }
        let after = try await Self.settledCounts(atMost: before)
        #expect(after.descriptors <= before.descriptors, "file descriptors: \(before) → \(after)")
        // A few threads of the runtime's own pools may come and go; a leak would be 100s.
        #expect(after.threads <= before.threads + 4, "threads: \(before) → \(after)")
    }

    /// This process's open file descriptors and threads, read once they stop falling (threads
    /// that were told to end a moment ago are still counted until they have).
    static func settledCounts(
        atMost target: (descriptors: Int, threads: Int)? = nil
    ) async throws -> (
        descriptors: Int, threads: Int
    ) {
        var counts = try currentCounts()
        for _ in 0..<40 {
            if let target, counts.descriptors <= target.descriptors, counts.threads <= target.threads { break }
            try await Task.sleep(for: .milliseconds(50))
            let next = try currentCounts()
            if target == nil, next == counts { break }
            counts = next
        }
        return counts
    }

    static func currentCounts() throws -> (descriptors: Int, threads: Int) {
        (
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count,
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
        )
    }
}
