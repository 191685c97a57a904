import GRDB
import GRDBSQLite

/// A prepared statement of the apply path, bound and stepped straight through SQLite's C API.
///
/// GRDB's `StatementArguments` box every value in an existential and run an authorizer and
/// observation hooks per execution: for the few statements that run once per op (op row,
/// feed row, case row) that was a large share of a remote apply. This wraps a statement
/// from GRDB's cache (so GRDB still owns its lifetime) and binds values by position.
/// Used only on the writer queue, inside a transaction; not `Sendable`.
struct HotStatement {
    /// Held so GRDB cannot finalize the statement under us (it drops a cached statement that
    /// failed, and clears its cache after a schema change).
    private let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// Takes `sql` from the connection's statement cache.
    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
    }

    /// Binds a 1-based parameter.
    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    func bind(_ index: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, index, value ? 1 : 0)
    }

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            _ = sqlite3_bind_text(
                handle,
                index,
                buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                Int32(buffer.count),
                sqliteTransient
            )
        }
    }

    func bind(_ index: Int32, _ text: String?) {
        if let text { bind(index, text) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { buffer in
            if let base = buffer.baseAddress, !buffer.isEmpty {
                _ = sqlite3_bind_blob(handle, index, base, Int32(buffer.count), sqliteTransient)
            } else {
                // A NULL pointer would store NULL; an empty blob is a zero-length blob.
                _ = sqlite3_bind_zeroblob(handle, index, 0)
            }
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    /// - Returns: the number of rows it changed.
    @discardableResult
    func execute() throws -> Int {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
        return Int(sqlite3_changes(connection))
    }

    /// Runs a query and returns the first column of its first row as an integer, if any.
    func int64() throws -> Int64? {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW:
            return sqlite3_column_type(handle, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        default: throw failure(code)
        }
    }

    /// Runs a query and returns the first column of its first row as bytes, if any.
    func blob() throws -> [UInt8]? {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW:
            let count = Int(sqlite3_column_bytes(handle, 0))
            guard let bytes = sqlite3_column_blob(handle, 0) else { return count == 0 ? [] : nil }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        case SQLITE_DONE: return nil
        default: throw failure(code)
        }
    }

    /// The same error GRDB would have thrown, so callers translate it in one place.
    private func failure(_ code: Int32) -> DatabaseError {
        let message = sqlite3_errmsg(connection).map { String(cString: $0) }
        return DatabaseError(
            resultCode: ResultCode(rawValue: connection.map { sqlite3_extended_errcode($0) } ?? code),
            message: message ?? "SQLite error \(code)",
            sql: sqlite3_sql(handle).map { String(cString: $0) }
        )
    }
}

/// Tells SQLite to copy bound bytes: the Swift buffers only live for the bind call.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The hot statements of one write transaction, prepared once each.
///
/// GRDB's statement cache is keyed by the SQL text, so every lookup hashes a few hundred
/// bytes; per op that added up. Statements here are keyed by the address of their SQL literal
/// instead. Lives only as long as one transaction; not `Sendable`.
final class HotStatements {
    private let db: Database
    private var prepared: [UInt: HotStatement] = [:]

    /// Statements built at run time, by family and variant.
    private var built: [BuiltKey: HotStatement] = [:]

    init(_ db: Database) { self.db = db }

    /// The prepared statement for `sql`, a literal.
    func callAsFunction(_ sql: StaticString) throws -> HotStatement {
        let key = UInt(bitPattern: sql.utf8Start)
        if let known = prepared[key] { return known }
        let statement = try HotStatement(db, sql: sql.description)
        prepared[key] = statement
        return statement
    }

    /// The prepared statement of a family of statements built at run time: `variant` of the
    /// family `family` (a literal naming it), whose SQL `sql` builds the first time.
    func callAsFunction(_ family: StaticString, variant: UInt64, sql: () -> String) throws -> HotStatement {
        let key = BuiltKey(family: UInt(bitPattern: family.utf8Start), variant: variant)
        if let known = built[key] { return known }
        let statement = try HotStatement(db, sql: sql())
        built[key] = statement
        return statement
    }

    private struct BuiltKey: Hashable {
        let family: UInt
        let variant: UInt64
    }
}
