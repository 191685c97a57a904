/// Bytes that are not a valid canonical encoding, or a value that cannot be encoded.
///
/// Thrown by ``SealedOp`` and the ``VersionVector`` codec. Decoding outside input never traps:
/// every malformed, truncated, oversized or non-canonical input ends here. The description
/// names the field and byte offset, never the content.
public struct CodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case truncated = "truncated"
            case oversized = "oversized"
            case unsupportedVersion = "unsupported version"
            case unknownKind = "unknown kind"
            case invalidValue = "invalid value"
            case nonCanonical = "non-canonical"
            case trailingBytes = "trailing bytes"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The input ended inside a field.
        public static let truncated = Code(.truncated)
        /// The input, a string or a list exceeds its limit.
        public static let oversized = Code(.oversized)
        /// The leading format version byte is not one this build reads.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The op kind code is unknown.
        public static let unknownKind = Code(.unknownKind)
        /// A value is out of range or impossible (seq 0, unknown reason code, bad UTF-8, …).
        public static let invalidValue = Code(.invalidValue)
        /// A value is encoded in a non-minimal way, or entries are out of order.
        public static let nonCanonical = Code(.nonCanonical)
        /// Bytes remain after the last field.
        public static let trailingBytes = Code(.trailingBytes)

        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public let code: Code
    /// The field being read or written, such as `context.seq`.
    public let field: String
    /// The byte offset where reading failed (0 when encoding).
    public let offset: Int

    public init(_ code: Code, field: String, offset: Int) {
        self.code = code
        self.field = field
        self.offset = offset
    }

    public var description: String { "\(code) at byte \(offset) (\(field))" }
}
