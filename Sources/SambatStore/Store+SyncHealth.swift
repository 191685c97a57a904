import GRDB
public import SambatCore

/// One node's sync health as central sees it: what the mayor's dashboard lists per node.
///
/// Central computes it from its store (``Store/syncHealth(heard:connected:)``) and sends it in
/// NODE_HEALTH; the mayor keeps the latest report (``Store/saveNodeHealth(_:)``).
public struct NodeSyncHealth: Hashable, Sendable {
    /// The node.
    public var node: NodeID
    /// Its role: an office or the mayor.
    public var role: NodeRole
    /// Whether it had a session with central when the report was made.
    public var connected: Bool
    /// When central last heard from it; `nil` if never.
    public var lastSeenAt: Timestamp?
    /// Feed entries central holds for it that it has not acknowledged yet.
    public var feedBehind: UInt64
    /// Ops it said it authored that central does not hold yet, as of its last session.
    public var uploadBehind: UInt64

    /// A node's health as read or received.
    public init(
        node: NodeID,
        role: NodeRole,
        connected: Bool,
        lastSeenAt: Timestamp?,
        feedBehind: UInt64,
        uploadBehind: UInt64
    ) {
        self.node = node
        self.role = role
        self.connected = connected
        self.lastSeenAt = lastSeenAt
        self.feedBehind = feedBehind
        self.uploadBehind = uploadBehind
    }

    /// Ops behind in both directions.
    public var opsBehind: UInt64 { feedBehind &+ uploadBehind }
}

/// Central's latest report of every node's sync health, as the mayor keeps it.
public struct NodeHealthReport: Hashable, Sendable {
    /// When central took the readings.
    public var reportedAt: Timestamp
    /// One entry per node, by node id.
    public var nodes: [NodeSyncHealth]

    /// A report as received.
    public init(reportedAt: Timestamp, nodes: [NodeSyncHealth]) {
        self.reportedAt = reportedAt
        self.nodes = nodes
    }
}

extension Store {
    /// Central: records that `node` was heard from at `time`, with its origin and the highest
    /// seq it said it authored under it (a claim only grows within one origin).
    public func recordContact(
        of node: NodeID,
        origin: Origin,
        claimedSeq: UInt64,
        at time: Timestamp
    ) async throws(StoreError) {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO peerContact (node, lastSeenAt, origin, claimedSeq) VALUES (?, ?, ?, ?)
                    ON CONFLICT (node) DO UPDATE SET
                        lastSeenAt = MAX(lastSeenAt, excluded.lastSeenAt),
                        claimedSeq = CASE WHEN origin = excluded.origin
                            THEN MAX(claimedSeq, excluded.claimedSeq) ELSE excluded.claimedSeq END,
                        origin = excluded.origin
                    """
            ).execute(arguments: [node.rawValue, at(time), origin.description, Int64(clamping: claimedSeq)])
        }
    }

    /// Central: the sync health of every enrolled, active office and mayor node, by node id.
    ///
    /// - Parameters:
    ///   - heard: when nodes with a session were last heard from; for the others, the time
    ///     last saved by ``recordContact(of:origin:claimedSeq:at:)`` is reported.
    ///   - connected: the nodes to report as connected now.
    /// - Returns: one entry per node, by node id.
    /// - Throws: ``StoreError`` when the store cannot be read.
    public func syncHealth(
        heard: [NodeID: Timestamp],
        connected: Set<NodeID>
    ) async throws(StoreError) -> [NodeSyncHealth] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.node, p.role, c.lastSeenAt, c.claimedSeq,
                        COALESCE((SELECT MAX(feedSeq) FROM feed WHERE feed.peer = p.node), 0) AS feedHead,
                        COALESCE((SELECT position FROM checkpoint WHERE checkpoint.peer = p.node), 0) AS acknowledged,
                        COALESCE((SELECT contiguous FROM frontier WHERE frontier.origin = c.origin), 0) AS held
                    FROM peer p LEFT JOIN peerContact c ON c.node = p.node
                    WHERE p.status = 'active' AND p.role != 'central'
                    ORDER BY p.node
                    """
            )
            return rows.compactMap { row -> NodeSyncHealth? in
                guard let node = try? NodeID(row["node"] as String), let role = NodeRole(rawValue: row["role"]) else {
                    return nil
                }
                let saved = (row["lastSeenAt"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:))
                let lastSeen = [heard[node], saved].compactMap { $0 }.max()
                let feedHead: Int64 = row["feedHead"]
                let acknowledged: Int64 = row["acknowledged"]
                let claimed: Int64 = row["claimedSeq"] ?? 0
                let held: Int64 = row["held"]
                return NodeSyncHealth(
                    node: node,
                    role: role,
                    connected: connected.contains(node),
                    lastSeenAt: lastSeen,
                    feedBehind: UInt64(max(0, feedHead - acknowledged)),
                    uploadBehind: UInt64(max(0, claimed - held))
                )
            }
        }
    }

    /// Mayor: replaces the kept report with `report`.
    public func saveNodeHealth(_ report: NodeHealthReport) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM nodeHealth")
            for node in report.nodes {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO nodeHealth
                            (node, role, connected, lastSeenAt, feedBehind, uploadBehind, reportedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        node.node.rawValue, node.role.rawValue, node.connected,
                        node.lastSeenAt.map(at), Int64(clamping: node.feedBehind),
                        Int64(clamping: node.uploadBehind), at(report.reportedAt),
                    ]
                )
            }
        }
    }

    /// Mayor: the latest report central sent, or `nil` before the first one.
    public func nodeHealthReport() async throws(StoreError) -> NodeHealthReport? {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM nodeHealth ORDER BY node")
            guard let first = rows.first else { return nil }
            let nodes = rows.compactMap { row -> NodeSyncHealth? in
                guard let node = try? NodeID(row["node"] as String), let role = NodeRole(rawValue: row["role"]) else {
                    return nil
                }
                return NodeSyncHealth(
                    node: node,
                    role: role,
                    connected: row["connected"],
                    lastSeenAt: (row["lastSeenAt"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
                    feedBehind: UInt64(max(0, row["feedBehind"] as Int64)),
                    uploadBehind: UInt64(max(0, row["uploadBehind"] as Int64))
                )
            }
            return NodeHealthReport(reportedAt: Timestamp(millisecondsSinceEpoch: first["reportedAt"]), nodes: nodes)
        }
    }
}
