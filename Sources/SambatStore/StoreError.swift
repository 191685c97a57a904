public import SambatCore

/// Why the store refused to open or to write, with the file concerned and what to do.
///
/// Every store failure ends as one of these; the transaction it happened in was rolled back,
/// so nothing is half-written. Descriptions name the database file and a remedy, never any
/// op content or personal data.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case cannotOpen = "cannot open"
            case notADatabase = "not a database"
            case foreignDatabase = "foreign database"
            case newerSchema = "newer schema"
            case readOnly = "read-only"
            case diskFull = "disk full"
            case wrongNode = "wrong node"
            case policyRefused = "refused"
            case invalidBatch = "invalid batch"
            case invalidOp = "invalid op"
            case corruptOp = "corrupt op"
            case sqlite = "sqlite"
            case invalidArgument = "invalid argument"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A caller passed a value the store cannot accept (an enrolment with a bad key).
        public static let invalidArgument = Code(.invalidArgument)
        /// The file or its directory cannot be opened or created.
        public static let cannotOpen = Code(.cannotOpen)
        /// The file is not an SQLite database (or is corrupt).
        public static let notADatabase = Code(.notADatabase)
        /// The file is an SQLite database of some other program.
        public static let foreignDatabase = Code(.foreignDatabase)
        /// The database was written by a newer Sambat with migrations this build does not know.
        public static let newerSchema = Code(.newerSchema)
        /// The file or its directory is read-only.
        public static let readOnly = Code(.readOnly)
        /// The disk (or the configured page limit) is full.
        public static let diskFull = Code(.diskFull)
        /// The database belongs to another node, role or deployment.
        public static let wrongNode = Code(.wrongNode)
        /// The role policy refused a local op; see ``StoreError/refusal``.
        public static let policyRefused = Code(.policyRefused)
        /// A batch breaks the protocol's rules (for example seqs out of order for one origin).
        public static let invalidBatch = Code(.invalidBatch)
        /// A local op cannot be encoded (for example a text over its limit).
        public static let invalidOp = Code(.invalidOp)
        /// An op stored in this database no longer decodes or matches its hash.
        public static let corruptOp = Code(.corruptOp)
        /// Any other SQLite failure.
        public static let sqlite = Code(.sqlite)

        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public let code: Code
    /// The database file.
    public let path: String
    /// What happened and what to do, in English.
    public let message: String
    /// The policy's refusal, for ``Code/policyRefused``.
    public let refusal: PolicyRefusal?

    /// Creates an error.
    public init(_ code: Code, path: String, message: String, refusal: PolicyRefusal? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.refusal = refusal
    }

    public var description: String { "\(path): \(code): \(message)" }
}
