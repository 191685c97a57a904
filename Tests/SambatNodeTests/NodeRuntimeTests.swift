import Foundation
import SambatCore
import SambatNode
import SambatStore
import SambatTestKit
import SambatWire
import Testing

/// Starting a node: locks and data directories.
@Suite struct NodeRuntimeTests {
    @Test func aSecondNodeOnTheSameDataDirectoryIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try DataDirectoryLock(path: scratch.file("sambat.lock"))
        let error = #expect(throws: DataDirectoryLock.Failure.self) {
            try DataDirectoryLock(path: scratch.file("sambat.lock"))
        }
        #expect(error?.description.contains("pid \(getpid())") == true)
        withExtendedLifetime(first) {}
    }

    @Test func aDataDirectoryOfAnotherNodeIsRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = try scratch.keyFile("k.key")
        var environment = Repository.referenceOverrides
        environment.removeValue(forKey: "SAMBAT_REFERENCE_ROUTING")
        environment.removeValue(forKey: "SAMBAT_REFERENCE_SCREENING")
        environment["SAMBAT_NODE_KEY_FILE"] = key.path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("data")
        environment["SAMBAT_CENTRAL_PUBLIC_KEY"] = key.pair.publicKey
        let dpupr = try await NodeConfigLoader.load(
            path: Repository.config("office-dpupr.yaml"),
            environment: environment
        )
        _ = try NodeRuntime.openStore(dpupr, create: true)
        let dlh = try await NodeConfigLoader.load(path: Repository.config("office-dlh.yaml"), environment: environment)
        let error = #expect(throws: NodeStartError.self) { try NodeRuntime.openStore(dlh, create: false) }
        #expect(error?.description.contains("dpupr") == true)
    }
}
