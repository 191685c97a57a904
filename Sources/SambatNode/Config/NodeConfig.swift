public import SambatCore
public import SambatSync

/// A node's configuration: who it is, where its data and keys live, how it reaches its
/// peers, and which reference files it uses.
///
/// Loaded once at start by ``NodeConfigLoader`` from a YAML file with `SAMBAT_…` environment
/// overrides; every CLI command of the node reads the same file, so the CLI and the running
/// node always agree on the data directory.
public struct NodeConfig: Hashable, Sendable {
    /// This node's id (`node.id`).
    public var node: NodeID
    /// Its role (`node.role`).
    public var role: NodeRole
    /// Central's id: this node's own id at central (`central.id`, default `central`).
    public var central: NodeID
    /// The data directory: `sambat.sqlite`, evidence blobs and `status.json` (`node.data_dir`).
    public var dataDirectory: String
    /// This node's CURVE key file (`node.key_file`).
    public var keyFile: String
    /// Log level (`node.log_level`, default `info`).
    public var logLevel: String
    /// Central only: where it listens for offices and the mayor (`sync.bind`).
    public var bindEndpoint: String?
    /// Central only: the AES-GCM key sealing reporter identities (`identity.key_file`).
    public var identityKeyFile: String?
    /// Office and mayor: central's endpoint (`central.endpoint`).
    public var centralEndpoint: String?
    /// Office and mayor: central's pinned public key, Z85 (`central.public_key`).
    public var centralPublicKey: String?
    /// The reference files.
    public var reference: ReferenceFiles
    /// The sync protocol's tunables (`sync.*`); design.md §4's defaults where not set.
    public var sync = SyncSettings()
    /// The file the configuration came from.
    public var sourcePath: String

    /// Paths of the reference data every node reads.
    public struct ReferenceFiles: Hashable, Sendable {
        /// The OPD directory (`reference.directory`).
        public var directory: String
        /// Deadline tiers, SOP targets and office hours (`reference.deadlines`).
        public var deadlines: String
        /// National holidays and cuti bersama (`reference.holidays`).
        public var holidays: String
        /// Central only: keyword rules suggesting an office (`reference.routing`).
        public var routing: String?
    }

    /// The SQLite store in the data directory.
    public var storePath: String { dataDirectory + "/sambat.sqlite" }
    /// The status file the running node rewrites every second.
    public var statusPath: String { dataDirectory + "/status.json" }
    /// The lock file that keeps a second node off the same data directory.
    public var lockPath: String { dataDirectory + "/sambat.lock" }
}
