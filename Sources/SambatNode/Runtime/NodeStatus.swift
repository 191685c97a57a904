import Foundation

/// What a running node reports about itself, rewritten to `status.json` in its data
/// directory every second so that CLI commands (`sambat status`, `sambat case show`) can tell
/// staff whether the node runs, whether central is reachable and what is not yet sent.
public struct NodeStatus: Codable, Hashable, Sendable {
    /// The node id.
    public var node: String
    /// Its role.
    public var role: String
    /// The process id of the running node.
    public var pid: Int32
    /// When the file was written (ms since the epoch).
    public var updatedAt: Int64
    /// Whether the node is running; `false` in the last file a stopping node writes.
    public var running: Bool
    /// Office and mayor: whether the link to central is up.
    public var linkUp: Bool
    /// Office and mayor: when the link was last seen up (ms since the epoch).
    public var lastContactAt: Int64?
    /// Office and mayor: the store origin the frontier below refers to (`dpupr#1`).
    public var origin: String?
    /// Office and mayor: the highest own seq central has durably applied.
    public var centralFrontier: UInt64
    /// Office and mayor: own ops not yet acknowledged by central.
    public var unsent: UInt64
    /// Office and mayor: central has not answered in time (a wrong key, no enrolment, a
    /// wrong address); absent in files written by older versions.
    public var centralSilent: Bool?
    /// Office and mayor: why central refuses this node (`not_enrolled`, `duplicate_node`,
    /// `store_behind`, `identity_mismatch`), if it does.
    public var centralRefusal: String?
    /// Office and mayor: central has answered this node process before, so a silence now is
    /// an outage rather than a wrong key or address; absent in files of older versions.
    public var centralAnsweredBefore: Bool? = nil
    /// Office and mayor: bytes of sync frames sent to and received from central since start.
    ///
    /// Absent in files of older versions. What a reconnect costs on the wire is the
    /// difference across it (`make scale` reads it).
    public var syncBytesSent: Int? = nil
    public var syncBytesReceived: Int? = nil
    /// Central: peers connected now.
    public var connectedPeers: [String]
    /// Central with an SMS gateway: each modem's heartbeat from Gammu; absent without one.
    public var smsModems: [SMSModemStatus]? = nil

    /// A modem's health as Gammu last reported it.
    public struct SMSModemStatus: Codable, Hashable, Sendable {
        /// Gammu's phone id.
        public var id: String
        /// When Gammu last wrote its heartbeat (ms since the epoch).
        public var lastSeenAt: Int64?
        /// Signal strength 0–100, -1 when unknown.
        public var signalPercent: Int
    }

    /// How old a file may be before its node is considered stopped (it rewrites every second).
    public static let staleAfterMilliseconds: Int64 = 5_000

    /// Reads a status file; `nil` when absent or unreadable.
    public static func read(from path: String) -> NodeStatus? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(NodeStatus.self, from: data)
    }

    /// Writes the file atomically (temporary file and rename), so a reader never sees half.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Whether the node that wrote this is running at `now`.
    public func isLive(now: Int64) -> Bool { running && now - updatedAt <= Self.staleAfterMilliseconds }
}
