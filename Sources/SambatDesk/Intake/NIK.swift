import SambatCore

/// A checked Indonesian NIK (Nomor Induk Kependudukan): 16 digits holding the region of
/// registration, the birth date (day + 40 for women) and a serial.
///
/// Reporters type it with spaces or dots ("3576 0123 0180 0004", "3576.0123.0180.0004");
/// those are accepted and dropped. Pure; used by intake, never logged.
public struct NIK: Hashable, Sendable {
    /// Why a text is not a NIK.
    public enum Problem: String, Error, Hashable, Sendable {
        /// Not 16 digits once spaces, dots and dashes are dropped.
        case length
        /// The province, regency or district code cannot exist.
        case region
        /// The birth date inside it cannot exist.
        case birthDate = "birth_date"
        /// The serial is 0000.
        case serial
    }

    /// The 16 digits.
    public let digits: String

    /// Province codes in use (Kemendagri): Sumatra 11–19 and 21, Java and Bali–Nusa Tenggara,
    /// Kalimantan, Sulawesi, Maluku and the Papua provinces.
    static let provinces: Set<Int> = Set(
        Array(11...19) + [21] + Array(31...36) + Array(51...53) + Array(61...65) + Array(71...76) + [81, 82]
            + Array(91...96)
    )

    /// Parses and checks `text`.
    ///
    /// - Throws: the first ``Problem`` found.
    public init(parsing text: String) throws(Problem) {
        var digits: [Int] = []
        for character in text {
            if character == " " || character == "." || character == "-" { continue }
            guard character.isASCII, let digit = character.wholeNumberValue else { throw .length }
            digits.append(digit)
        }
        guard digits.count == 16 else { throw .length }
        func number(_ start: Int, _ count: Int) -> Int {
            digits[start..<(start + count)].reduce(0) { $0 * 10 + $1 }
        }
        guard Self.provinces.contains(number(0, 2)), number(2, 2) > 0, number(4, 2) > 0 else { throw .region }
        var day = number(6, 2)
        if day > 40 { day -= 40 }
        let month = number(8, 2)
        let year = number(10, 2)
        // The century is not in the NIK: a date that exists in either century is accepted.
        guard
            CivilDate(year: 1900 + year, month: month, day: day) != nil
                || CivilDate(year: 2000 + year, month: month, day: day) != nil
        else { throw .birthDate }
        guard number(12, 4) > 0 else { throw .serial }
        self.digits = digits.map(String.init).joined()
    }

    /// The reporter is a woman (the day carries + 40).
    public var isFemale: Bool { (Int(digits.dropFirst(6).prefix(2)) ?? 0) > 40 }
}
