import Foundation
import GRDB
public import SambatCore

/// Central's side of a Gammu SMSD gateway with the SQL backend: reads `inbox`, writes
/// `outbox`, reads delivery results from `sentitems` and modem health from `phones`.
///
/// The database belongs to Gammu (schema version 17, created by city IT from Gammu's
/// `sqlite.sql`); Sambat never creates or migrates it and touches it only in short
/// transactions with a busy timeout, since `gammu-smsd` writes to it at any moment. Safe from
/// any task: GRDB serialises access on its own queue.
public final class GammuGateway: Sendable {
    /// The one schema version this gateway speaks.
    public static let schemaVersion = 17

    /// Where the database is and how to use it.
    public struct Configuration: Hashable, Sendable {
        /// Gammu's SQLite database file (`smsd.database` in the node config).
        public var databasePath: String
        /// `CreatorID` on rows Sambat puts into `outbox`.
        public var creatorID: String
        /// How long to wait for Gammu's lock before giving up on one poll.
        public var busyTimeout: Duration

        /// A configuration for `databasePath`.
        public init(databasePath: String, creatorID: String = "sambat", busyTimeout: Duration = .seconds(5)) {
            self.databasePath = databasePath
            self.creatorID = creatorID
            self.busyTimeout = busyTimeout
        }
    }

    private let queue: DatabaseQueue
    private let configuration: Configuration

    /// Opens Gammu's database and checks its schema version.
    ///
    /// - Throws: ``GammuError`` when the file is missing, is not Gammu's, or has another
    ///   schema version.
    public init(_ configuration: Configuration) throws(GammuError) {
        self.configuration = configuration
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
            throw GammuError(.cannotOpen, detail: "no database at \(configuration.databasePath)")
        }
        var options = GRDB.Configuration()
        options.busyMode = .timeout(Double(configuration.busyTimeout.components.seconds))
        do {
            queue = try DatabaseQueue(path: configuration.databasePath, configuration: options)
        } catch {
            throw GammuError(.cannotOpen, detail: "\(error)")
        }
        let version: Int?
        do {
            version = try queue.read { db in try Int.fetchOne(db, sql: "SELECT MAX(Version) FROM gammu") }
        } catch {
            throw GammuError(.wrongSchema, detail: "no gammu table: not a Gammu SMSD database")
        }
        guard version == Self.schemaVersion else {
            throw GammuError(
                .wrongSchema,
                detail: "schema version \(version.map(String.init) ?? "none"), this build needs \(Self.schemaVersion)"
            )
        }
    }

    /// Unprocessed inbox rows, oldest first, at most `limit`.
    public func unprocessedParts(limit: Int = 500) async throws(GammuError) -> [InboxPart] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT ID, SenderNumber, CAST(TextDecoded AS BLOB) AS text, UDH, UpdatedInDB
                    FROM inbox WHERE Processed = 'false' ORDER BY ID LIMIT ?
                    """,
                arguments: [limit]
            ).map { row in
                let bytes: Data? = row["text"]
                // Bytes that are not UTF-8 (a broken UTF-16 conversion) are kept as "no text".
                let text = bytes.flatMap { String(validating: Array($0), as: UTF8.self) }
                let stored: String = row["UpdatedInDB"] ?? ""
                return InboxPart(
                    id: row["ID"],
                    sender: row["SenderNumber"] ?? "",
                    text: text,
                    udh: row["UDH"] ?? "",
                    storedAt: Self.timestamp(sqlite: stored) ?? Timestamp(millisecondsSinceEpoch: 0)
                )
            }
        }
    }

    /// Marks inbox rows processed, after their message is stored at central.
    public func markProcessed(_ ids: [Int64]) async throws(GammuError) {
        guard !ids.isEmpty else { return }
        try await access { db in
            for id in ids {
                try db.execute(sql: "UPDATE inbox SET Processed = 'true' WHERE ID = ?", arguments: [id])
            }
        }
    }

    /// Queues `text` for `number`, in as many parts as it needs.
    ///
    /// - Returns: the outbox id, under which `sentitems` later reports the result.
    public func send(_ text: String, to number: String, reference: UInt8) async throws(GammuError) -> Int64 {
        let segments = SMSSegments(text)
        let creator = configuration.creatorID
        return try await access { db in
            let multipart = segments.parts.count > 1
            try db.execute(
                sql: """
                    INSERT INTO outbox (DestinationNumber, TextDecoded, CreatorID, Coding, MultiPart, UDH)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    number, segments.parts[0], creator, segments.coding.rawValue, multipart ? "true" : "false",
                    multipart
                        ? SMSSegments.header(reference: reference, count: segments.parts.count, position: 1) : nil,
                ]
            )
            let id = db.lastInsertedRowID
            for (offset, part) in segments.parts.enumerated().dropFirst() {
                try db.execute(
                    sql: """
                        INSERT INTO outbox_multipart (ID, SequencePosition, TextDecoded, Coding, UDH)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id, offset + 1, part, segments.coding.rawValue,
                        SMSSegments.header(reference: reference, count: segments.parts.count, position: offset + 1),
                    ]
                )
            }
            return id
        }
    }

    /// What `sentitems` says of outbox messages, by outbox id.
    ///
    /// A message still in `outbox` is absent; a multipart message reports its worst part.
    public func deliveryStates(of ids: [Int64]) async throws(GammuError) -> [Int64: SMSDeliveryState] {
        guard !ids.isEmpty else { return [:] }
        return try await access { db in
            var states: [Int64: SMSDeliveryState] = [:]
            for id in ids {
                let statuses = try String.fetchAll(
                    db,
                    sql: "SELECT Status FROM sentitems WHERE ID = ?",
                    arguments: [id]
                )
                guard !statuses.isEmpty else { continue }
                states[id] = statuses.map(SMSDeliveryState.init(gammuStatus:)).min() ?? .sent
            }
            return states
        }
    }

    /// The modems' heartbeats.
    public func modems() async throws(GammuError) -> [ModemHealth] {
        try await access { db in
            try Row.fetchAll(db, sql: "SELECT ID, TimeOut, UpdatedInDB, Signal, Battery, Sent, Received FROM phones")
                .map { row in
                    ModemHealth(
                        id: row["ID"] ?? "",
                        lastSeen: Self.timestamp(sqlite: row["UpdatedInDB"] ?? ""),
                        signalPercent: row["Signal"] ?? -1,
                        batteryPercent: row["Battery"] ?? -1,
                        sent: row["Sent"] ?? 0,
                        received: row["Received"] ?? 0
                    )
                }
        }
    }

    private func access<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(GammuError) -> T {
        do {
            return try await queue.write(body)
        } catch {
            throw GammuError(.database, detail: "\(error)")
        }
    }

    /// SQLite's `datetime('now')` text (`2026-12-03 09:30:00`, UTC) as a timestamp.
    static func timestamp(sqlite text: String) -> Timestamp? {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "T" }).compactMap {
            Int($0)
        }
        guard parts.count >= 6, let date = CivilDate(year: parts[0], month: parts[1], day: parts[2]) else { return nil }
        let days = Int64(date.daysSinceEpoch)
        let seconds = days * 86_400 + Int64(parts[3] * 3_600 + parts[4] * 60 + parts[5])
        return Timestamp(millisecondsSinceEpoch: seconds * 1_000)
    }
}

/// What the gateway knows of an SMS Sambat sent, worst first.
public enum SMSDeliveryState: Int, Comparable, Hashable, Sendable {
    /// The network refused it or it could not be sent.
    case failed = 0
    /// Sent, no delivery report (yet).
    case sent = 1
    /// The phone received it.
    case delivered = 2

    /// Gammu's `sentitems.Status` value.
    init(gammuStatus: String) {
        switch gammuStatus {
        case "DeliveryOK": self = .delivered
        case "SendingOK", "SendingOKNoReport", "DeliveryPending", "DeliveryUnknown": self = .sent
        default: self = .failed
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A modem's heartbeat from Gammu's `phones` table.
public struct ModemHealth: Hashable, Sendable {
    /// Gammu's phone id.
    public let id: String
    /// When Gammu last wrote the row.
    public let lastSeen: Timestamp?
    /// Signal strength, 0–100; -1 when unknown.
    public let signalPercent: Int
    /// Battery, 0–100; -1 when unknown.
    public let batteryPercent: Int
    /// Messages sent through it.
    public let sent: Int
    /// Messages received through it.
    public let received: Int
}

/// Why the Gammu gateway could not be used; details name files and versions, never a number
/// or text.
public struct GammuError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case cannotOpen = "cannot_open"
            case wrongSchema = "wrong_schema"
            case database
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The database file is missing or cannot be opened.
        public static let cannotOpen = Code(.cannotOpen)
        /// Not a Gammu database of schema version 17.
        public static let wrongSchema = Code(.wrongSchema)
        /// A query failed (locked past the busy timeout, disk full…).
        public static let database = Code(.database)

        /// The snake_case name.
        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public let code: Code
    /// What happened, in English.
    public let detail: String

    /// A failure.
    public init(_ code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `gammu: wrong_schema: schema version 16, this build needs 17`.
    public var description: String { "gammu: \(code): \(detail)" }
}
