import SambatDesk
import SambatNode
import SambatStore

/// Opens a node's store from a benchmark's own process, as the node itself opens it.
///
/// With the deadline policy of the node configuration's reference files: a store written
/// under another policy has every case's projection rows rebuilt when its node starts, which
/// a benchmark would then time as if it were the work it measures. Used by the benchmarks
/// that prepare stores for `sambat run` processes (`bench scale-history`, `bench sync
/// --processes`).
enum NodeStoreOpening {
    /// The store of the node configured at `configPath`, created if missing.
    static func open(configAt configPath: String) async throws -> Store {
        let config = try await NodeConfigLoader.load(path: configPath)
        let reference = try ReferenceData.load(config.reference)
        return try NodeRuntime.openStore(config, create: true, deadlines: reference.deadlinePolicy)
    }
}
