/// Why a complaint was refused at intake; nothing was written.
///
/// Rendered for staff by ``Presentation/render(_:)-(IntakeError)``; ``description`` is English
/// for logs. Neither ever repeats the identity or the text.
public struct IntakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every problem found, not just the first.
    public let problems: [IntakeProblem]

    /// A refusal listing `problems`.
    public init(problems: [IntakeProblem]) { self.problems = problems }

    /// All problems on one line, in English.
    public var description: String {
        "intake refused: " + problems.map(\.description).joined(separator: "; ")
    }
}

/// One thing wrong with a complaint: which field, and how.
public struct IntakeProblem: Hashable, Sendable, CustomStringConvertible {
    /// The part of the complaint.
    public enum Field: String, Hashable, Sendable {
        case name, nik, phone, text, location, channel
        /// The ticket number the case would get.
        case ticket
    }

    /// How it is wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case missing, invalid
            case tooShort = "too_short"
            case tooLong = "too_long"
            case tooLongWhenMasked = "too_long_when_masked"
            case unavailable
            case region
            case birthDate = "birth_date"
            case serial
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Required and absent.
        public static let missing = Code(.missing)
        /// Present but not valid (a NIK that is not 16 digits, a phone that is not Indonesian).
        public static let invalid = Code(.invalid)
        /// Under ``IntakeProblem/limit`` characters.
        public static let tooShort = Code(.tooShort)
        /// Over ``IntakeProblem/limit`` bytes.
        public static let tooLong = Code(.tooLong)
        /// Within the limit as typed, over it once personal data is masked.
        public static let tooLongWhenMasked = Code(.tooLongWhenMasked)
        /// No ticket number could be allocated.
        public static let unavailable = Code(.unavailable)
        /// A NIK whose region code cannot exist.
        public static let region = Code(Base.region)
        /// A NIK whose birth date cannot exist.
        public static let birthDate = Code(Base.birthDate)
        /// A NIK with serial 0000.
        public static let serial = Code(Base.serial)

        /// The code for a NIK problem.
        public init(_ problem: NIK.Problem) {
            switch problem {
            case .length: self = .invalid
            case .region: self = .region
            case .birthDate: self = .birthDate
            case .serial: self = .serial
            }
        }

        /// The snake_case name.
        public var description: String { base.rawValue }
    }

    /// The field.
    public let field: Field
    /// How it is wrong.
    public let code: Code
    /// The limit broken, where there is one.
    public let limit: Int?

    /// A problem with `field`.
    public init(_ field: Field, _ code: Code, limit: Int? = nil) {
        self.field = field
        self.code = code
        self.limit = limit
    }

    /// `text too_short (10)`.
    public var description: String {
        "\(field.rawValue) \(code)" + (limit.map { " (\($0))" } ?? "")
    }
}
