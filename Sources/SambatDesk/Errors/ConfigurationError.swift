/// Why a node configuration or a reference file was refused: every problem found, not just
/// the first, each naming its key.
///
/// Produced by the config loader (SambatNode) and the reference-data loader (here); rendered
/// for staff by ``Presentation/render(_:)-(ConfigurationError)``, while ``description`` is
/// English for logs.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file that was read.
    public let path: String
    /// Every problem found.
    public let problems: [ConfigurationProblem]

    /// A refusal of `path` for `problems`.
    public init(path: String, problems: [ConfigurationProblem]) {
        self.path = path
        self.problems = problems
    }

    /// In English, one problem per line.
    public var description: String {
        "configuration \(path) refused (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - " + $0.description }.joined(separator: "\n")
    }
}

/// One thing wrong in a configuration or reference file.
public struct ConfigurationProblem: Hashable, Sendable, CustomStringConvertible {
    /// What is wrong; stable, for tests and tools.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case unreadable
            case notYAML = "not_yaml"
            case notAMapping = "not_a_mapping"
            case missingKey = "missing_key"
            case unknownKey = "unknown_key"
            case keyNotForRole = "key_not_for_role"
            case invalidRole = "invalid_role"
            case invalidNodeID = "invalid_node_id"
            case centralIDMismatch = "central_id_mismatch"
            case nodeIsCentral = "node_is_central"
            case keyFileUnusable = "key_file_unusable"
            case identityKeyUnusable = "identity_key_unusable"
            case invalidLogLevel = "invalid_log_level"
            case invalidLogFormat = "invalid_log_format"
            case invalidEndpoint = "invalid_endpoint"
            case invalidPublicKey = "invalid_public_key"
            case fileMissing = "file_missing"
            case integerOutOfRange = "integer_out_of_range"
            case durationOutOfRange = "duration_out_of_range"
            case linkTimeoutTooShort = "link_timeout_too_short"
            case mustNotExceed = "must_not_exceed"
            case invalidOffice = "invalid_office"
            case duplicateOffice = "duplicate_office"
            case noOffices = "no_offices"
            case invalidDate = "invalid_date"
            case invalidHolidayKind = "invalid_holiday_kind"
            case invalidTimeOfDay = "invalid_time_of_day"
            case utcOffsetOutOfRange = "utc_offset_out_of_range"
            case closesBeforeOpens = "closes_before_opens"
            case invalidWeekdays = "invalid_weekdays"
            case missingEntry = "missing_entry"
            case unknownEntry = "unknown_entry"
            case targetUnitAmbiguous = "target_unit_ambiguous"
            case targetOutOfRange = "target_out_of_range"
            case tierDaysOutOfRange = "tier_days_out_of_range"
            case unknownDefaultTier = "unknown_default_tier"
            case unknownRoutingOffice = "unknown_routing_office"
            case invalidBoolean = "invalid_boolean"
            case invalidURL = "invalid_url"
            case invalidTemplateName = "invalid_template_name"
            case identityKeyInDataDirectory = "identity_key_in_data_directory"
        }
        fileprivate let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file cannot be read (values: detail).
        public static let unreadable = Code(.unreadable)
        /// The file is not YAML (values: detail).
        public static let notYAML = Code(.notYAML)
        /// The top level is not a mapping.
        public static let notAMapping = Code(.notAMapping)
        /// A required key is absent.
        public static let missingKey = Code(.missingKey)
        /// A key no configuration has.
        public static let unknownKey = Code(.unknownKey)
        /// A key of another role (values: role).
        public static let keyNotForRole = Code(.keyNotForRole)
        /// `node.role` is not central, office or mayor (values: value).
        public static let invalidRole = Code(.invalidRole)
        /// Not a valid node id (values: value).
        public static let invalidNodeID = Code(.invalidNodeID)
        /// At central, `node.id` and `central.id` differ (values: node, central).
        public static let centralIDMismatch = Code(.centralIDMismatch)
        /// Away from central, `node.id` equals `central.id` (values: central).
        public static let nodeIsCentral = Code(.nodeIsCentral)
        /// The CURVE key file cannot be used (values: reason, file).
        public static let keyFileUnusable = Code(.keyFileUnusable)
        /// The identity key file cannot be used (values: detail).
        public static let identityKeyUnusable = Code(.identityKeyUnusable)
        /// Not a log level (values: the levels).
        public static let invalidLogLevel = Code(.invalidLogLevel)
        /// `node.log_format` is not `text` or `json`.
        public static let invalidLogFormat = Code(.invalidLogFormat)
        /// A ZeroMQ endpoint that cannot work (values: ``EndpointProblem`` name, endpoint).
        public static let invalidEndpoint = Code(.invalidEndpoint)
        /// Not a 40-character Z85 public key.
        public static let invalidPublicKey = Code(.invalidPublicKey)
        /// A referenced file does not exist (values: file).
        public static let fileMissing = Code(.fileMissing)
        /// An integer out of bounds (values: lower, upper, value).
        public static let integerOutOfRange = Code(.integerOutOfRange)
        /// A duration out of bounds or without a unit (values: lower, upper, value).
        public static let durationOutOfRange = Code(.durationOutOfRange)
        /// `sync.link_timeout` under twice the ping interval (values: timeout, ping).
        public static let linkTimeoutTooShort = Code(.linkTimeoutTooShort)
        /// A value larger than another key's (values: value, other key, other value).
        public static let mustNotExceed = Code(.mustNotExceed)
        /// An office code that is not a node id (values: value).
        public static let invalidOffice = Code(.invalidOffice)
        /// An office listed twice (values: code).
        public static let duplicateOffice = Code(.duplicateOffice)
        /// The directory lists no office.
        public static let noOffices = Code(.noOffices)
        /// A date that is not `YYYY-MM-DD` (values: value, name).
        public static let invalidDate = Code(.invalidDate)
        /// A holiday kind other than libur_nasional or cuti_bersama (values: date).
        public static let invalidHolidayKind = Code(.invalidHolidayKind)
        /// A time of day that is not `HH:MM` (values: value).
        public static let invalidTimeOfDay = Code(.invalidTimeOfDay)
        /// `utc_offset_minutes` outside −720…840.
        public static let utcOffsetOutOfRange = Code(.utcOffsetOutOfRange)
        /// Office hours that close before they open.
        public static let closesBeforeOpens = Code(.closesBeforeOpens)
        /// Weekdays outside 1…7.
        public static let invalidWeekdays = Code(.invalidWeekdays)
        /// A required entry is absent.
        public static let missingEntry = Code(.missingEntry)
        /// An entry this file does not have (values: the allowed entries).
        public static let unknownEntry = Code(.unknownEntry)
        /// A target gives more or fewer than one unit.
        public static let targetUnitAmbiguous = Code(.targetUnitAmbiguous)
        /// A target outside its bounds.
        public static let targetOutOfRange = Code(.targetOutOfRange)
        /// A tier outside 1–365 working days.
        public static let tierDaysOutOfRange = Code(.tierDaysOutOfRange)
        /// A default tier that does not exist (values: value).
        public static let unknownDefaultTier = Code(.unknownDefaultTier)
        /// A routing rule for an office not in the directory (values: office).
        public static let unknownRoutingOffice = Code(.unknownRoutingOffice)
        /// Not `true` or `false` (values: value).
        public static let invalidBoolean = Code(.invalidBoolean)
        /// Not an `https://` URL (values: value).
        public static let invalidURL = Code(.invalidURL)
        /// A WhatsApp template name other than lowercase letters, digits and `_` (values: value).
        public static let invalidTemplateName = Code(.invalidTemplateName)
        /// The identity key inside the data directory, where a copy of the data would carry
        /// the key to the identities it seals (values: the key file).
        public static let identityKeyInDataDirectory = Code(.identityKeyInDataDirectory)

        /// The snake_case name.
        public var description: String { base.rawValue }
    }

    /// What is wrong with a ZeroMQ endpoint.
    public enum EndpointProblem: String, Hashable, Sendable {
        /// `ipc://` with no path.
        case emptyIPCPath = "empty_ipc_path"
        /// Neither `tcp://` nor `ipc://`.
        case scheme
        /// No `:PORT`.
        case noPort = "no_port"
        /// A port outside 1–65535.
        case badPort = "bad_port"
        /// No host.
        case noHost = "no_host"
        /// `*` where a node must name central's address.
        case wildcard
    }

    /// The key or entry concerned (`node.id`, `tiers.ringan`); empty for the whole file.
    public let key: String
    /// What is wrong.
    public let code: Code
    /// The values the message names, in the order each code documents.
    public let values: [String]

    /// A problem with `key`.
    public init(_ key: String, _ code: Code, _ values: String...) {
        self.key = key
        self.code = code
        self.values = values
    }

    /// A problem with `key` naming a list of values.
    public init(_ key: String, _ code: Code, values: [String]) {
        self.key = key
        self.code = code
        self.values = values
    }

    /// `value` at `index`, or empty.
    public func value(_ index: Int) -> String { index < values.count ? values[index] : "" }

    /// In English, for logs: `sync.credit: integer_out_of_range (1, 64, '0')`.
    public var description: String {
        let subject = key.isEmpty ? "" : key + ": "
        return subject + code.description + (values.isEmpty ? "" : " (" + values.joined(separator: ", ") + ")")
    }
}
