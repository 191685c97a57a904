/// A 64-bit fingerprint of an identifier's text, computed once when the identifier is made.
///
/// Owned by the identity types (``NodeID``, ``CaseID``). Hashing them is the commonest thing
/// the apply does after SQLite: every batch looks ops, origins and cases up in dictionaries
/// about ten times per op, and hashing the text each time walked its bytes through SipHash
/// (a tenth of a remote apply's instructions in the callgrind profile of 2026-12-05). This one
/// word, keyed with a random key per process (``bucketHash(_:seed:)``), is what dictionaries
/// bucket them by instead, so nothing predictable reaches a dictionary, at the cost of one
/// pass over the bytes at construction. Equality still compares the text; the fingerprint
/// only spreads the buckets.
enum IdentifierFingerprint {
    /// A random key drawn once per process, so where an identifier lands in a dictionary
    /// cannot be predicted from its text (see ``bucketHash(_:seed:)``).
    private static let processKey = UInt64.random(in: .min ... .max)

    /// The hash a dictionary or set buckets an identifier by: its fingerprint, keyed with
    /// this process's random key and the table's seed, through a 64-bit finalizer
    /// (SplitMix64's).
    ///
    /// The identity types answer `_rawHashValue(seed:)`, which every dictionary and set asks,
    /// with this instead of running Swift's SipHash over the fingerprint word: SipHash's setup
    /// and finalization were about 1,700 of the 34,000 instructions `sambat bench store`
    /// spent on each status op (callgrind), for about ten lookups per op. Like SipHash over
    /// the fingerprint, it is unpredictable without the process's key, and identifiers whose
    /// fingerprints are equal collide either way (equality still compares the text).
    /// `hash(into:)` still feeds the fingerprint to Swift's hasher, for types that hold an
    /// identifier.
    @inline(__always)
    static func bucketHash(_ fingerprint: UInt64, seed: Int) -> Int {
        var mixed = fingerprint ^ processKey ^ UInt64(UInt(bitPattern: seed))
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: mixed ^ (mixed >> 31))
    }

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
