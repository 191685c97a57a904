import Foundation
import GRDB
public import SambatCore

/// An Open311 client's API key, as central keeps it (without the key).
public struct Open311KeyRecord: Hashable, Sendable {
    /// The client's name, such as `lapor-app`.
    public let name: String
    /// When the key was made, and revoked if it was.
    public let createdAt: Timestamp
    public let revokedAt: Timestamp?
}

/// What an Open311 request brought beside its complaint.
public struct Open311RequestRecord: Hashable, Sendable {
    /// The service (an office code) the client chose.
    public let serviceCode: String
    /// The client whose key posted it.
    public let client: String
    /// Where, when the client gave coordinates.
    public let latitude: Double?
    public let longitude: Double?

    /// A request's extras as recorded.
    public init(serviceCode: String, client: String, latitude: Double?, longitude: Double?) {
        self.serviceCode = serviceCode
        self.client = client
        self.latitude = latitude
        self.longitude = longitude
    }
}

extension Store {
    /// Adds an Open311 client's key (by its SHA-256).
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` when the name is taken.
    public func addOpen311Key(name: String, keyHash: [UInt8], at time: Timestamp) async throws(StoreError) {
        guard identity.role == .central else {
            throw StoreError(.wrongNode, path: path, message: "Open311 keys are kept only at central")
        }
        try await write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM open311Key WHERE name = ?", arguments: [name]) == nil
            else { throw StoreError(.invalidArgument, path: self.path, message: "an API key named \(name) exists") }
            try db.execute(
                sql: "INSERT INTO open311Key (name, keyHash, createdAt) VALUES (?, ?, ?)",
                arguments: [name, Data(keyHash), time.millisecondsSinceEpoch]
            )
        }
    }

    /// Revokes a client's key.
    ///
    /// - Returns: whether an active key of that name existed.
    @discardableResult
    public func revokeOpen311Key(name: String, at time: Timestamp) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE open311Key SET revokedAt = ? WHERE name = ? AND revokedAt IS NULL",
                arguments: [time.millisecondsSinceEpoch, name]
            )
            return db.changesCount > 0
        }
    }

    /// Every client's key, by name.
    public func open311Keys() async throws(StoreError) -> [Open311KeyRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT name, createdAt, revokedAt FROM open311Key ORDER BY name").map { row in
                Open311KeyRecord(
                    name: row[0],
                    createdAt: Timestamp(millisecondsSinceEpoch: row[1]),
                    revokedAt: (row[2] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) }
                )
            }
        }
    }

    /// The client whose active key hashes to `keyHash`.
    public func open311Client(keyHash: [UInt8]) async throws(StoreError) -> String? {
        try await read { db in
            try String.fetchOne(
                db,
                sql: "SELECT name FROM open311Key WHERE keyHash = ? AND revokedAt IS NULL",
                arguments: [Data(keyHash)]
            )
        }
    }

    /// Records what an Open311 request brought beside its complaint.
    public func recordOpen311Request(
        _ request: Open311RequestRecord,
        caseID: CaseID,
        at time: Timestamp
    ) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO open311Request
                    (caseId, serviceCode, client, latitude, longitude, createdAt) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    caseID.rawValue, request.serviceCode, request.client, request.latitude, request.longitude,
                    time.millisecondsSinceEpoch,
                ]
            )
        }
    }

    /// What an Open311 request brought, for a case opened through Open311.
    public func open311Request(of caseID: CaseID) async throws(StoreError) -> Open311RequestRecord? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT serviceCode, client, latitude, longitude FROM open311Request WHERE caseId = ?",
                arguments: [caseID.rawValue]
            ).map { Open311RequestRecord(serviceCode: $0[0], client: $0[1], latitude: $0[2], longitude: $0[3]) }
        }
    }

    /// Cases central received in `[start, end)`, newest first, at most `limit`.
    public func caseIDs(
        receivedFrom start: Timestamp,
        to end: Timestamp,
        limit: Int
    ) async throws(StoreError)
        -> [CaseID]
    {
        try await readProjected { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT caseId FROM caseView WHERE receivedAt >= ? AND receivedAt < ?
                    ORDER BY receivedAt DESC LIMIT ?
                    """,
                arguments: [start.millisecondsSinceEpoch, end.millisecondsSinceEpoch, limit]
            ).compactMap { try? CaseID($0) }
        }
    }
}
