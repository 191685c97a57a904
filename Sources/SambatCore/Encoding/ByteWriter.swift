/// Appends the primitive values of the canonical encoding to a byte buffer.
///
/// Unsigned integers are LEB128 varints, signed ones are zigzag varints, strings are a varint
/// byte length followed by UTF-8. Owned by the encoding call that creates it.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func writeZigzag(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func writeString(_ value: String, field: String, limit: Int) throws(CodingError) {
        let utf8 = value.utf8
        guard utf8.count <= limit else { throw CodingError(.oversized, field: field, offset: 0) }
        writeVarint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func writeRaw(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }
}
