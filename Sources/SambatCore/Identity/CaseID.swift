/// The ticket number of a case, in the form citizens and staff read: `MJK-261129-0042`.
///
/// A city prefix of 2–5 uppercase ASCII letters, the intake date as `YYMMDD` (WIB), and a
/// serial of 4–6 digits that central allocates per day. The text form is the identity; it is
/// what the reporter is told and what every node stores.
public struct CaseID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated text form.
    public let rawValue: String
    /// What hashing feeds the hasher (see ``IdentifierFingerprint``).
    let fingerprint: UInt64

    /// The longest ticket number, in bytes (`ABCDE-YYMMDD-NNNNNN`).
    public static let maximumLength = 19

    /// Validates and wraps a ticket number.
    ///
    /// - Throws: ``IdentifierError`` with code ``IdentifierError/Code/caseID`` when the text is
    ///   not `PREFIX-YYMMDD-NNNN`.
    public init(_ rawValue: String) throws(IdentifierError) {
        // Checked byte by byte, without allocating: case ids are decoded on every op.
        let checked = rawValue.withContiguousUTF8 { bytes -> Result<UInt64, IdentifierError> in
            Self.check(bytes).map { IdentifierFingerprint.of(bytes) }
        }
        self.rawValue = rawValue
        self.fingerprint = try checked.get()
    }

    /// Whether `bytes` are `PREFIX-YYMMDD-NNNN` with a real date and a serial above zero.
    private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Void, IdentifierError> {
        let form = IdentifierError(.caseID, rule: "must have the form PREFIX-YYMMDD-NNNN")
        guard bytes.count <= maximumLength, let firstDash = bytes.firstIndex(of: UInt8(ascii: "-")) else {
            return .failure(form)
        }
        let prefix = bytes[..<firstDash]
        let rest = UnsafeBufferPointer(rebasing: bytes[(firstDash + 1)...])
        guard (2...5).contains(prefix.count),
            prefix.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }),
            rest.count >= 11, rest.count <= 13
        else {
            return .failure(form)
        }
        var date = 0
        var serialNonZero = false
        for (offset, byte) in rest.enumerated() {
            if offset == 6 {
                guard byte == UInt8(ascii: "-") else { return .failure(form) }
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return .failure(form) }
            let digit = Int(byte - UInt8(ascii: "0"))
            if offset < 6 {
                date = date * 10 + digit
            } else {
                serialNonZero = serialNonZero || digit != 0
            }
        }
        let year = 2000 + date / 10_000
        let month = date / 100 % 100
        let day = date % 100
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else {
            return .failure(IdentifierError(.caseID, rule: "date part must be a valid YYMMDD"))
        }
        guard serialNonZero else {
            return .failure(IdentifierError(.caseID, rule: "serial must be at least 1"))
        }
        return .success(())
    }

    public static func == (lhs: CaseID, rhs: CaseID) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.rawValue == rhs.rawValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    /// What a dictionary or set buckets it by (see ``IdentifierFingerprint/bucketHash(_:seed:)``).
    public func _rawHashValue(seed: Int) -> Int {
        IdentifierFingerprint.bucketHash(fingerprint, seed: seed)
    }

    /// Builds a ticket number from its parts.
    ///
    /// - Parameters:
    ///   - prefix: the city prefix, such as `MJK`.
    ///   - year: the full year (2000–2099).
    ///   - month: 1–12.
    ///   - day: 1–31.
    ///   - serial: the day's serial, 1–999999; printed with at least four digits.
    /// - Throws: ``IdentifierError`` when a part is out of range.
    public init(prefix: String, year: Int, month: Int, day: Int, serial: Int) throws(IdentifierError) {
        guard (2000...2099).contains(year), (1...999_999).contains(serial) else {
            throw IdentifierError(.caseID, rule: "year must be 2000-2099 and serial 1-999999")
        }
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        try self.init("\(prefix)-\(pad(year % 100, 2))\(pad(month, 2))\(pad(day, 2))-\(pad(serial, 4))")
    }

    /// Days in a month of the Gregorian calendar (years 2000–2099).
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func < (lhs: CaseID, rhs: CaseID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    public var description: String { rawValue }
}
