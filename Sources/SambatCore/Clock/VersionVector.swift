/// A vector clock over origins: for each origin, the highest sequence number seen.
///
/// Sambat uses version vectors twice: as an op's `context` (what its author had seen of the
/// op's case) and as a replica's frontier (what a node holds of each origin). An absent
/// origin counts as 0. Entries are kept sorted by ``Origin``, so encoding is deterministic
/// and comparison is a single merge walk.
///
/// ```swift
/// var seen = VersionVector()
/// seen.record(try OpID(origin: central, seq: 3))
/// seen.contains(try OpID(origin: central, seq: 2))   // true
/// seen.compare(other)                                 // .before, .after, .equal or .concurrent
/// ```
///
/// Complexity, with *n* and *m* the entry counts: `subscript` and ``contains(_:)`` are
/// O(log n); ``record(_:)`` is O(n) when it inserts a new origin, O(log n) otherwise;
/// ``merge(_:)``, ``compare(_:)`` and ``dominates(_:)`` are O(n + m).
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// One origin and the highest sequence number seen from it (always ≥ 1).
    public struct Entry: Hashable, Sendable {
        /// The origin.
        public let origin: Origin
        /// The highest sequence number seen from `origin`.
        public let seq: UInt64

        /// Creates an entry.
        public init(origin: Origin, seq: UInt64) {
            self.origin = origin
            self.seq = seq
        }
    }

    /// How two vectors relate causally.
    public enum Ordering: Hashable, Sendable {
        /// Every counter is ≤ the other's and at least one is <.
        case before
        /// Every counter is ≥ the other's and at least one is >.
        case after
        /// All counters are equal.
        case equal
        /// Each has a counter greater than the other's.
        case concurrent
    }

    /// The entries, sorted by origin, with no zero counters.
    public private(set) var entries: [Entry]

    /// An empty vector: nothing seen.
    public init() { entries = [] }

    /// Builds a vector from a dictionary; zero counters are dropped.
    public init(_ counters: [Origin: UInt64]) {
        entries = counters.filter { $0.value > 0 }
            .map { Entry(origin: $0.key, seq: $0.value) }
            .sorted { $0.origin < $1.origin }
    }

    /// Builds a vector from entries already sorted by origin with nonzero counters.
    ///
    /// Used by the decoder, which has checked both conditions.
    init(sortedEntries: [Entry]) { entries = sortedEntries }

    /// The number of origins with a nonzero counter.
    public var count: Int { entries.count }

    /// Whether nothing has been seen.
    public var isEmpty: Bool { entries.isEmpty }

    /// The counter for `origin`, 0 when absent.
    public subscript(origin: Origin) -> UInt64 {
        guard let index = index(of: origin) else { return 0 }
        return entries[index].seq
    }

    /// Whether the op `id` is covered: its origin's counter is at least its seq.
    public func contains(_ id: OpID) -> Bool {
        self[id.origin] >= id.seq
    }

    /// Raises the counter of `id.origin` to `id.seq` if it is lower.
    public mutating func record(_ id: OpID) {
        switch search(id.origin) {
        case .found(let index):
            if entries[index].seq < id.seq {
                entries[index] = Entry(origin: id.origin, seq: id.seq)
            }
        case .insertAt(let index):
            entries.insert(Entry(origin: id.origin, seq: id.seq), at: index)
        }
    }

    /// Pointwise maximum with `other`.
    public mutating func merge(_ other: VersionVector) {
        self = merging(other)
    }

    /// The pointwise maximum of `self` and `other`.
    public func merging(_ other: VersionVector) -> VersionVector {
        if other.entries.isEmpty { return self }
        if entries.isEmpty { return other }
        var result: [Entry] = []
        result.reserveCapacity(max(entries.count, other.entries.count))
        var left = entries.makeIterator()
        var right = other.entries.makeIterator()
        var a = left.next()
        var b = right.next()
        while let x = a, let y = b {
            if x.origin == y.origin {
                result.append(x.seq >= y.seq ? x : y)
                a = left.next()
                b = right.next()
            } else if x.origin < y.origin {
                result.append(x)
                a = left.next()
            } else {
                result.append(y)
                b = right.next()
            }
        }
        while let x = a {
            result.append(x)
            a = left.next()
        }
        while let y = b {
            result.append(y)
            b = right.next()
        }
        return VersionVector(sortedEntries: result)
    }

    /// How `self` relates to `other`.
    public func compare(_ other: VersionVector) -> Ordering {
        var someLess = false
        var someGreater = false
        var i = 0
        var j = 0
        while i < entries.count || j < other.entries.count {
            if j == other.entries.count || (i < entries.count && entries[i].origin < other.entries[j].origin) {
                someGreater = true
                i += 1
            } else if i == entries.count || other.entries[j].origin < entries[i].origin {
                someLess = true
                j += 1
            } else {
                if entries[i].seq > other.entries[j].seq { someGreater = true }
                if entries[i].seq < other.entries[j].seq { someLess = true }
                i += 1
                j += 1
            }
            if someLess && someGreater { return .concurrent }
        }
        switch (someLess, someGreater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    /// Whether two ops were made without either author having seen the other.
    ///
    /// An op's context is its author's vector *before* the op, so `a` happened before `b`
    /// exactly when `b`'s context contains `a`.
    public static func areConcurrent(
        _ first: OpID,
        context firstContext: VersionVector,
        _ second: OpID,
        context secondContext: VersionVector
    ) -> Bool {
        first != second && !firstContext.contains(second) && !secondContext.contains(first)
    }

    /// Whether every counter of `other` is ≤ the matching counter of `self`.
    public func dominates(_ other: VersionVector) -> Bool {
        let ordering = compare(other)
        return ordering == .after || ordering == .equal
    }

    public var description: String {
        "[" + entries.map { "\($0.origin):\($0.seq)" }.joined(separator: ", ") + "]"
    }

    private enum SearchResult {
        case found(Int)
        case insertAt(Int)
    }

    private func index(of origin: Origin) -> Int? {
        // A case's vector holds central and an office or two: comparing each origin for
        // equality (its fingerprint first) is cheaper than the binary search's ordering of
        // node names, which the fold asked for about three times per office op (callgrind,
        // `sambat bench store`).
        if entries.count <= Self.linearLookupLimit {
            for index in entries.indices where entries[index].origin == origin { return index }
            return nil
        }
        if case .found(let index) = search(origin) { return index }
        return nil
    }

    /// The most entries looked up by comparing each in turn rather than by binary search.
    private static let linearLookupLimit = 4

    private func search(_ origin: Origin) -> SearchResult {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let candidate = entries[mid].origin
            if candidate == origin { return .found(mid) }
            if candidate < origin { low = mid + 1 } else { high = mid }
        }
        return .insertAt(low)
    }
}
