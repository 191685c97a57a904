public import GRDB
public import SambatCore

/// The integer a case is stored under in the op log: its ticket number packed into 62 bits.
///
/// Owned by the store (schema v15); public for tools and tests that read the log with SQL. The op table and its case index are the tables written
/// once per op; keyed by the ticket's text, every insert compared strings byte by byte in two
/// B-trees. A ticket number is fully structured (`PREFIX-YYMMDD-NNNN`, see ``CaseID``), so it
/// packs into an integer without a lookup table: no extra row per case, nothing to cache, and
/// the same key on every node. The packing is injective over every valid ticket (the serial's
/// width is kept, so `-0042` and `-00042` differ) and reversible, so a query that needs the
/// text decodes it. Within one prefix and serial width, keys sort as the text does.
///
/// Layout, most significant first: the prefix in bijective base 27 (24 bits: 2–5 letters,
/// each 1–26, so no two lengths collide), the date as `(YY × 12 + MM − 1) × 31 + DD − 1`
/// (16 bits), the serial's width less 4 (2 bits), the serial (20 bits).
public enum CaseKey {
    private static let serialBits: Int64 = 20
    private static let widthBits: Int64 = 2
    private static let dateBits: Int64 = 16

    /// The key of a ticket number.
    public static func of(_ caseID: CaseID) -> Int64 {
        // Once per op stored: read the validated text in place rather than copying it.
        caseID.rawValue.utf8.withContiguousStorageIfAvailable(pack) ?? pack(Array(caseID.rawValue.utf8))
    }

    /// Packs the bytes of a validated ticket: 2–5 letters, a dash, six digits, a dash, 4–6 digits.
    private static func pack<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Int64
    where Bytes.Index == Int {
        let start = bytes.startIndex
        let dash = bytes.firstIndex(of: UInt8(ascii: "-")) ?? start
        var prefix: Int64 = 0
        for byte in bytes[start..<dash] { prefix = prefix * 27 + Int64(byte - UInt8(ascii: "A") + 1) }
        func digits(_ range: Range<Int>) -> Int64 {
            bytes[range].reduce(0) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
        }
        let year = digits(dash + 1..<dash + 3)
        let month = digits(dash + 3..<dash + 5)
        let day = digits(dash + 5..<dash + 7)
        let serialStart = dash + 8
        let width = Int64(bytes.endIndex - serialStart)
        let date = (year * 12 + month - 1) * 31 + day - 1
        var key = prefix
        key = key << dateBits | date
        key = key << widthBits | (width - 4)
        key = key << serialBits | digits(serialStart..<bytes.endIndex)
        return key
    }

    /// The ticket number a key was packed from, or `nil` when no valid ticket packs to it.
    public static func caseID(_ key: Int64) -> CaseID? {
        guard key >= 0 else { return nil }
        let serial = key & (1 << serialBits - 1)
        let width = Int(key >> serialBits & (1 << widthBits - 1)) + 4
        let date = key >> (serialBits + widthBits) & (1 << dateBits - 1)
        var prefix = key >> (serialBits + widthBits + dateBits)
        var letters: [UInt8] = []
        while prefix > 0 {
            let letter = prefix % 27
            guard letter > 0 else { return nil }
            letters.insert(UInt8(ascii: "A") + UInt8(letter - 1), at: 0)
            prefix /= 27
        }
        let day = date % 31 + 1
        let month = date / 31 % 12 + 1
        let year = date / 31 / 12
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let serialText = pad(serial, width)
        guard serialText.count == width else { return nil }
        let text =
            String(decoding: letters, as: UTF8.self) + "-" + pad(year, 2) + pad(month, 2) + pad(day, 2) + "-"
            + serialText
        guard let caseID = try? CaseID(text), of(caseID) == key else { return nil }
        return caseID
    }

    /// The key as an SQL function, `sambatCaseKey(text)`.
    ///
    /// The migration that moved the log to integer keys packs the stored ticket numbers with
    /// it. A text that is not a ticket number is an error, which aborts the migration (and the
    /// open) with nothing changed.
    public static let sqlFunction = DatabaseFunction("sambatCaseKey", argumentCount: 1, pure: true) { values in
        guard let text = String.fromDatabaseValue(values[0]), let caseID = try? CaseID(text) else {
            throw DatabaseError(message: "the op log holds a case id that is not a ticket number")
        }
        return of(caseID)
    }
}

/// How the op log names an origin: a small integer from the `origin` table (schema v15).
///
/// Owned by the store. Origins are few (one per node incarnation), so the table stays tiny;
/// a write session looks each one up once (``WriteSession``), and a query that starts from
/// an origin's text looks its key up in a subquery (`SELECT key FROM origin WHERE name = ?`).
/// The frontier, the feed and the quarantine keep the text: they are written per batch or
/// per refusal, not per op.
enum OriginKey {
    /// The origin's key, created with the first op stored under it.
    static func key(creating name: String, in db: Database) throws -> Int64 {
        let select = try db.cachedStatement(sql: "SELECT key FROM origin WHERE name = ?")
        if let key = try Int64.fetchOne(select, arguments: [name]) { return key }
        try db.cachedStatement(sql: "INSERT INTO origin (name) VALUES (?)").execute(arguments: [name])
        return db.lastInsertedRowID
    }
}
