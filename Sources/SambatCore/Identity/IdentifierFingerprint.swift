/// A 64-bit fingerprint of an identifier's text, computed once when the identifier is made.
///
/// Owned by the identity types (``NodeID``, ``CaseID``). Hashing them is the commonest thing
/// the apply does after SQLite: every batch looks ops, origins and cases up in dictionaries
/// about ten times per op, and hashing the text each time walked its bytes through SipHash
/// (a tenth of a remote apply's instructions in the callgrind profile of 2026-12-05). Feeding
/// the hasher this one word instead keeps Swift's seeded hashing (so nothing predictable
/// reaches a dictionary) at the cost of one pass over the bytes at construction. Equality
/// still compares the text; the fingerprint only spreads the buckets.
enum IdentifierFingerprint {
    /// FNV-1a over the UTF-8 bytes.
    static func of(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes in contiguous memory.
    ///
    /// The identity types check and fingerprint their text this way: walking `utf8` as a
    /// collection unpacks each byte of a small string separately, and identifiers are made
    /// for every op decoded (a sixth of a mayor's decoding, perf).
    func withContiguousUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        var text = self
        return text.withUTF8(body)
    }
}
