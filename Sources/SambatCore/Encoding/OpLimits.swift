/// The bounds every op must respect, enforced identically when encoding and decoding.
///
/// They keep every input bounded (design §6) and are part of the wire contract in
/// `docs/protocol.md`: a compatible implementation must refuse what these refuse.
public enum OpLimits {
    /// The largest canonical encoding of one op, in bytes.
    public static let maximumEncodedBytes = 64 * 1024
    /// The most origins an op's context may list.
    public static let maximumContextEntries = 1024
    /// Complaint texts, notes, follow-up summaries (bytes of UTF-8).
    public static let maximumLongText = 16 * 1024
    /// Requests, reasons, instructions, operator explanations.
    public static let maximumShortText = 4 * 1024
    /// Topics, file names, MIME types, reporter references.
    public static let maximumLabel = 256
    /// The largest evidence blob an op may reference.
    public static let maximumEvidenceBytes: UInt64 = 64 * 1024 * 1024
}
