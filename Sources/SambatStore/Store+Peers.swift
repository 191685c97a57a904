import Foundation
import GRDB
public import SambatCore

/// A node enrolled at central: who it is, what it may do, and the key it must present.
public struct EnrolledPeer: Hashable, Sendable {
    /// Whether central serves the peer.
    public enum Status: String, Hashable, Sendable {
        /// Enrolled: its key is admitted and it is served.
        case active
        /// Revoked: its key is refused and its feed no longer grows.
        case revoked
    }

    /// The peer's node id.
    public let node: NodeID
    /// Its role (office or mayor).
    public let role: NodeRole
    /// Its CURVE public key in Z85 (40 characters); empty for peers registered without one.
    public let publicKey: String
    /// Active or revoked.
    public let status: Status
    /// When it was last enrolled or revoked.
    public let changedAt: Timestamp

    /// A peer as the peer table holds it (the store reads these; machines' tests make them).
    public init(node: NodeID, role: NodeRole, publicKey: String, status: Status, changedAt: Timestamp) {
        self.node = node
        self.role = role
        self.publicKey = publicKey
        self.status = status
        self.changedAt = changedAt
    }
}

extension Store {
    /// Enrols (or re-enrols) a peer with its role and CURVE public key.
    ///
    /// A mayor enrolled after ops exist gets every op already held appended to its feed, in
    /// Lamport order (a causal order), so its feed alone is a complete history. An office's
    /// feed grows when cases are assigned to it. Re-enrolling an active peer with another key
    /// replaces the key (a node that lost its secret key is enrolled again).
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` when the role is
    ///   central, the node is central itself, the key is not 40 Z85 characters, or another
    ///   peer already uses the key.
    public func enrolPeer(
        _ node: NodeID,
        role: NodeRole,
        publicKey: String,
        at time: Timestamp
    ) async throws(StoreError) {
        guard role != .central, node != identity.central else {
            throw StoreError(
                .invalidArgument,
                path: path,
                message: "only offices and the mayor are enrolled at central"
            )
        }
        guard publicKey.isEmpty || Self.isZ85Key(publicKey) else {
            throw StoreError(
                .invalidArgument,
                path: path,
                message: "a public key is 40 Z85 characters, as printed by `sambat keys generate`"
            )
        }
        try await write { db in
            if !publicKey.isEmpty,
                let other = try String.fetchOne(
                    db,
                    sql: "SELECT node FROM peer WHERE publicKey = ? AND node != ?",
                    arguments: [publicKey, node.rawValue]
                )
            {
                throw StoreError(
                    .invalidArgument,
                    path: self.path,
                    message: "that public key is already enrolled as \(other)"
                )
            }
            let wasActiveMayor =
                try String.fetchOne(
                    db,
                    sql: "SELECT role FROM peer WHERE node = ? AND status = 'active'",
                    arguments: [node.rawValue]
                ) == NodeRole.mayor.rawValue
            try db.execute(
                sql: """
                    INSERT INTO peer (node, role, publicKey, status, changedAt) VALUES (?, ?, ?, 'active', ?)
                    ON CONFLICT (node) DO UPDATE SET role = excluded.role, publicKey = excluded.publicKey,
                        status = 'active', changedAt = excluded.changedAt
                    """,
                arguments: [node.rawValue, role.rawValue, publicKey, at(time)]
            )
            if role == .mayor, !wasActiveMayor {
                var session = WriteSession(store: self, db: db)
                try self.backfillFeed(of: node, session: &session)
            }
        }
    }

    /// Revokes a peer: its key is refused from now on and its feed stops growing.
    /// - Returns: `false` when no such peer is enrolled.
    @discardableResult
    public func revokePeer(_ node: NodeID, at time: Timestamp) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE peer SET status = 'revoked', changedAt = ? WHERE node = ? AND status != 'revoked'",
                arguments: [at(time), node.rawValue]
            )
            return db.changesCount > 0
        }
    }

    /// Every enrolled or revoked peer, by node id.
    public func peers() async throws(StoreError) -> [EnrolledPeer] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT node, role, publicKey, status, changedAt FROM peer ORDER BY node")
                .compactMap(Self.peer(from:))
        }
    }

    /// One peer, if it was ever enrolled.
    public func peer(_ node: NodeID) async throws(StoreError) -> EnrolledPeer? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT node, role, publicKey, status, changedAt FROM peer WHERE node = ?",
                arguments: [node.rawValue]
            ).flatMap(Self.peer(from:))
        }
    }

    private static func peer(from row: Row) -> EnrolledPeer? {
        guard let node = try? NodeID(row["node"] as String),
            let role = NodeRole(rawValue: row["role"]),
            let status = EnrolledPeer.Status(rawValue: row["status"])
        else { return nil }
        return EnrolledPeer(
            node: node,
            role: role,
            publicKey: row["publicKey"],
            status: status,
            changedAt: Timestamp(millisecondsSinceEpoch: row["changedAt"])
        )
    }

    /// Appends every held op that is not yet in `peer`'s feed, in Lamport order, as runs.
    ///
    /// What the feed already covers is checked in memory against its runs, so a mayor enrolled
    /// again over a long feed costs one pass over each table; a `NOT EXISTS` per op scanned
    /// the peer's whole feed for every op.
    private func backfillFeed(of peer: NodeID, session: inout WriteSession) throws {
        var covered: [String: FeedCoverage] = [:]
        let runs = try Row.fetchCursor(
            session.db,
            sql: "SELECT origin, seq, runLength FROM feed WHERE peer = ? ORDER BY origin, seq",
            arguments: [peer.rawValue]
        )
        while let row = try runs.next() {
            let first: Int64 = row[1]
            covered[row[0], default: FeedCoverage()].add(first: first, last: first + (row[2] as Int64) - 1)
        }
        var missing = PendingFeeds()
        let ops = try Row.fetchCursor(
            session.db,
            sql: """
                SELECT origin.name, op.seq FROM op JOIN origin ON origin.key = op.originKey
                ORDER BY op.lamport, origin.name, op.seq
                """
        )
        while let row = try ops.next() {
            let origin: String = row[0]
            let seq: Int64 = row[1]
            if covered[origin]?.contains(seq) == true { continue }
            guard let number = UInt64(exactly: seq), let id = try? OpID(origin: Origin(parsing: origin), seq: number)
            else {
                throw StoreError(
                    .corruptOp,
                    path: path,
                    message: "the op log holds an unreadable id (\(origin), \(seq)); restore from a backup"
                )
            }
            missing.append(id, to: peer.rawValue)
        }
        try session.appendFeed(peer: peer.rawValue, runs: missing.runs(of: peer.rawValue))
    }

    /// Whether `key` looks like a Z85-encoded 32-byte key.
    static func isZ85Key(_ key: String) -> Bool {
        let alphabet = Set(
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8
        )
        return key.utf8.count == 40 && key.utf8.allSatisfy { alphabet.contains($0) }
    }
}

/// The seqs of one origin a peer's feed already holds, as runs added in ascending order of
/// their first seq; answers "is this seq covered" by binary search.
struct FeedCoverage {
    private var firsts: [Int64] = []
    /// The highest last seq among the runs up to each index (runs may overlap when a case
    /// came back to an office and brought its history again).
    private var reach: [Int64] = []

    mutating func add(first: Int64, last: Int64) {
        firsts.append(first)
        reach.append(max(last, reach.last ?? last))
    }

    func contains(_ seq: Int64) -> Bool {
        // The last run starting at or before `seq`.
        var low = 0
        var high = firsts.count
        while low < high {
            let middle = (low + high) / 2
            if firsts[middle] <= seq { low = middle + 1 } else { high = middle }
        }
        return low > 0 && reach[low - 1] >= seq
    }
}
