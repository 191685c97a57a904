import Foundation
import GRDB
public import SambatCore

/// A staff account of this node's web console, as the store keeps it.
public struct StaffAccountRecord: Hashable, Sendable {
    /// The login name; also the actor of every op the account writes.
    public let name: String
    /// The name shown in the console.
    public let displayName: String
    /// The password's slow hash (bcrypt, with its salt and cost).
    public let passwordHash: String
    /// A disabled account cannot sign in, and its sessions were ended.
    public let isDisabled: Bool
    /// When it was created and last changed.
    public let createdAt: Timestamp
    public let changedAt: Timestamp
}

/// A signed-in browser, found by the hash of its cookie's token.
public struct WebSessionRecord: Hashable, Sendable {
    /// The account signed in.
    public let account: StaffAccountRecord
    /// The token every form of this session must carry.
    public let csrfToken: String
    /// When it signed in, and when it was last used.
    public let createdAt: Timestamp
    public let lastSeenAt: Timestamp
}

extension Store {
    /// Adds a staff account.
    ///
    /// - Throws: ``StoreError`` with ``StoreError/Code/invalidArgument`` when the name is taken.
    public func addAccount(
        name: String,
        displayName: String,
        passwordHash: String,
        at time: Timestamp
    ) async throws(StoreError) {
        try await write { db in
            guard try Self.accountRow(db, name) == nil else {
                throw StoreError(.invalidArgument, path: self.path, message: "account \(name) exists")
            }
            try db.execute(
                sql: """
                    INSERT INTO account (name, displayName, passwordHash, isDisabled, createdAt, changedAt)
                    VALUES (?, ?, ?, 0, ?, ?)
                    """,
                arguments: [name, displayName, passwordHash, time.millisecondsSinceEpoch, time.millisecondsSinceEpoch]
            )
        }
    }

    /// The account named `name`, if any.
    public func account(named name: String) async throws(StoreError) -> StaffAccountRecord? {
        try await read { db in try Self.accountRow(db, name) }
    }

    /// Every account, by name.
    public func accounts() async throws(StoreError) -> [StaffAccountRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY name").map(Self.account)
        }
    }

    /// Changes an account's password hash or disables/enables it, and ends its sessions
    /// (a changed password or a disabled account signs every browser out).
    ///
    /// - Returns: whether the account exists.
    @discardableResult
    public func updateAccount(
        _ name: String,
        passwordHash: String? = nil,
        isDisabled: Bool? = nil,
        at time: Timestamp
    ) async throws(StoreError) -> Bool {
        try await write { db in
            guard try Self.accountRow(db, name) != nil else { return false }
            if let passwordHash {
                try db.execute(
                    sql: "UPDATE account SET passwordHash = ?, changedAt = ? WHERE name = ?",
                    arguments: [passwordHash, time.millisecondsSinceEpoch, name]
                )
            }
            if let isDisabled {
                try db.execute(
                    sql: "UPDATE account SET isDisabled = ?, changedAt = ? WHERE name = ?",
                    arguments: [isDisabled, time.millisecondsSinceEpoch, name]
                )
            }
            try db.execute(sql: "DELETE FROM webSession WHERE account = ?", arguments: [name])
            return true
        }
    }

    /// Records a signed-in browser.
    public func addWebSession(
        tokenHash: [UInt8],
        account: String,
        csrfToken: String,
        at time: Timestamp
    ) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO webSession (tokenHash, account, csrfToken, createdAt, lastSeenAt)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Data(tokenHash), account, csrfToken, time.millisecondsSinceEpoch, time.millisecondsSinceEpoch,
                ]
            )
        }
    }

    /// The session whose token hashes to `tokenHash`, if it exists and its account is enabled.
    public func webSession(tokenHash: [UInt8]) async throws(StoreError) -> WebSessionRecord? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT s.csrfToken AS csrfToken, s.createdAt AS sessionCreatedAt,
                               s.lastSeenAt AS lastSeenAt, a.*
                        FROM webSession s JOIN account a ON a.name = s.account
                        WHERE s.tokenHash = ? AND a.isDisabled = 0
                        """,
                    arguments: [Data(tokenHash)]
                )
            else { return nil }
            return WebSessionRecord(
                account: Self.account(row),
                csrfToken: row["csrfToken"],
                createdAt: Timestamp(millisecondsSinceEpoch: row["sessionCreatedAt"]),
                lastSeenAt: Timestamp(millisecondsSinceEpoch: row["lastSeenAt"])
            )
        }
    }

    /// Marks a session used at `time`.
    public func touchWebSession(tokenHash: [UInt8], at time: Timestamp) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE webSession SET lastSeenAt = ? WHERE tokenHash = ?",
                arguments: [time.millisecondsSinceEpoch, Data(tokenHash)]
            )
        }
    }

    /// Ends one session (signing out).
    public func removeWebSession(tokenHash: [UInt8]) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM webSession WHERE tokenHash = ?", arguments: [Data(tokenHash)])
        }
    }

    /// Ends every session idle since before `idleBefore` or started before `startedBefore`.
    ///
    /// - Returns: how many were ended.
    @discardableResult
    public func removeWebSessions(idleBefore: Timestamp, startedBefore: Timestamp) async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM webSession WHERE lastSeenAt < ? OR createdAt < ?",
                arguments: [idleBefore.millisecondsSinceEpoch, startedBefore.millisecondsSinceEpoch]
            )
            return db.changesCount
        }
    }

    private static func accountRow(_ db: Database, _ name: String) throws -> StaffAccountRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM account WHERE name = ?", arguments: [name]).map(account)
    }

    private static func account(_ row: Row) -> StaffAccountRecord {
        StaffAccountRecord(
            name: row["name"],
            displayName: row["displayName"],
            passwordHash: row["passwordHash"],
            isDisabled: row["isDisabled"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["createdAt"]),
            changedAt: Timestamp(millisecondsSinceEpoch: row["changedAt"])
        )
    }
}
