/// The canonical encoding of a ``VersionVector``: a varint count, then per entry the origin
/// (node string, incarnation varint) and seq varint, strictly ascending by origin, seq ≥ 1.
enum VersionVectorCodec {
    static func write(_ vector: VersionVector, to writer: inout ByteWriter) throws(CodingError) {
        guard vector.count <= OpLimits.maximumContextEntries else {
            throw CodingError(.oversized, field: "vector", offset: 0)
        }
        writer.writeVarint(UInt64(vector.count))
        for entry in vector.entries {
            guard entry.seq <= UInt64(Int64.max) else {
                throw CodingError(.invalidValue, field: "vector.seq", offset: 0)
            }
            try OpCodec.writeOrigin(entry.origin, to: &writer, field: "vector.origin")
            writer.writeVarint(entry.seq)
        }
    }

    static func read(from reader: inout ByteReader) throws(CodingError) -> VersionVector {
        let countOffset = reader.offset
        let count = try reader.readVarint(field: "vector.count")
        guard count <= UInt64(OpLimits.maximumContextEntries) else {
            throw CodingError(.oversized, field: "vector.count", offset: countOffset)
        }
        var entries: [VersionVector.Entry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let entryOffset = reader.offset
            let origin = try OpCodec.readOrigin(from: &reader, field: "vector.origin")
            let seq = try reader.readVarint(field: "vector.seq", in: 1...UInt64(Int64.max))
            if let previous = entries.last, !(previous.origin < origin) {
                throw CodingError(.nonCanonical, field: "vector.order", offset: entryOffset)
            }
            entries.append(VersionVector.Entry(origin: origin, seq: seq))
        }
        return VersionVector(sortedEntries: entries)
    }
}

extension VersionVector {
    /// The canonical bytes of this vector (as used inside ops and in sync handshakes).
    ///
    /// - Throws: ``CodingError`` when it has more than ``OpLimits/maximumContextEntries`` origins.
    public func encoded() throws(CodingError) -> [UInt8] {
        var writer = ByteWriter()
        try VersionVectorCodec.write(self, to: &writer)
        return writer.bytes
    }

    /// Decodes canonical vector bytes strictly; the whole input must be one vector.
    ///
    /// - Throws: ``CodingError`` on truncated, oversized, unordered or impossible input.
    public init(decoding bytes: [UInt8]) throws(CodingError) {
        var reader = ByteReader(bytes)
        let vector = try VersionVectorCodec.read(from: &reader)
        guard reader.isAtEnd else { throw CodingError(.trailingBytes, field: "vector", offset: reader.offset) }
        self = vector
    }
}
