/// An UPDATE of one projection row that names only the columns whose values change.
///
/// SQLite rewrites every index over a column an UPDATE sets, whatever the value: an upsert
/// that set all of an assignment's columns rewrote its five indexes for a status change that
/// moves one. This statement names what changed, so only the indexes over those columns are
/// rewritten. Its SQL is built once per set of columns and transaction
/// (``HotStatements/callAsFunction(_:variant:sql:)``).
///
/// Built and run by ``CaseProjection`` inside one write transaction; not `Sendable`.
struct RowUpdate {
    /// A column's new value.
    enum Value {
        case integer(Int64?)
        case text(String)
    }

    /// The table and every column the family may set, in a fixed order.
    private let family: StaticString
    private let table: String
    private let columns: [String]
    private var values: [Value?]
    private var variant: UInt64 = 0

    /// Whether no column is set.
    var isEmpty: Bool { variant == 0 }

    /// An update of `table` that may set any of `columns` (at most 64), named by `family`, a
    /// literal that keeps its statements apart from other families'.
    init(_ family: StaticString, table: String, columns: [String]) {
        precondition(columns.count <= 64, "a row update sets at most 64 columns")
        self.family = family
        self.table = table
        self.columns = columns
        values = Array(repeating: nil, count: columns.count)
    }

    /// Sets the column at `index` of the family's columns.
    mutating func set(_ index: Int, _ value: Value) {
        values[index] = value
        variant |= 1 << UInt64(index)
    }

    /// Sets the column at `index` to an integer, or NULL.
    mutating func set(_ index: Int, _ value: Int64?) { set(index, .integer(value)) }

    /// Runs the update on the row whose `keys` columns equal `keyValues`; at least one column
    /// must be set.
    /// - Returns: the number of rows it changed: 0 when there is no such row.
    func execute(
        where keys: [String],
        equal keyValues: [String],
        with statements: HotStatements
    ) throws -> Int {
        precondition(!isEmpty, "a row update sets at least one column")
        let statement = try statements(family, variant: variant) {
            let assignments = columns.indices.filter { values[$0] != nil }.map { "\(columns[$0]) = ?" }
            let conditions = keys.map { "\($0) = ?" }
            return
                "UPDATE \(table) SET \(assignments.joined(separator: ", ")) WHERE \(conditions.joined(separator: " AND "))"
        }
        var parameter: Int32 = 1
        for value in values {
            guard let value else { continue }
            switch value {
            case .integer(let integer): statement.bind(parameter, integer)
            case .text(let text): statement.bind(parameter, text)
            }
            parameter += 1
        }
        for key in keyValues {
            statement.bind(parameter, key)
            parameter += 1
        }
        return try statement.execute()
    }
}
