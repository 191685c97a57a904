/// Reads the primitives of the canonical encoding from bytes, strictly.
///
/// Every read checks bounds and canonical form (minimal varints, valid UTF-8, limits), so a
/// successful decode re-encodes to the very same bytes. Owned by the decoding call.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func readByte(field: @autoclosure () -> String) throws(CodingError) -> UInt8 {
        guard offset < bytes.count else { throw CodingError(.truncated, field: field(), offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readVarint(field: @autoclosure () -> String) throws(CodingError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte(field: field())
            let payload = UInt64(byte & 0x7F)
            if shift == 63 && payload > 1 {
                throw CodingError(.invalidValue, field: field(), offset: start)
            }
            result |= payload << shift
            if byte & 0x80 == 0 {
                // A final zero byte after other bytes means the value had a shorter encoding.
                if byte == 0 && offset - start > 1 {
                    throw CodingError(.nonCanonical, field: field(), offset: start)
                }
                return result
            }
            shift += 7
            if shift > 63 { throw CodingError(.invalidValue, field: field(), offset: start) }
        }
    }

    mutating func readVarint(
        field: @autoclosure () -> String,
        in range: ClosedRange<UInt64>
    ) throws(CodingError) -> UInt64 {
        let start = offset
        let value = try readVarint(field: field())
        guard range.contains(value) else { throw CodingError(.invalidValue, field: field(), offset: start) }
        return value
    }

    mutating func readZigzag(field: @autoclosure () -> String) throws(CodingError) -> Int64 {
        let raw = try readVarint(field: field())
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func readRaw(count: Int, field: @autoclosure () -> String) throws(CodingError) -> [UInt8] {
        guard count <= bytes.count - offset else { throw CodingError(.truncated, field: field(), offset: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readString(field: @autoclosure () -> String, limit: Int) throws(CodingError) -> String {
        let start = offset
        let length = try readVarint(field: field())
        guard length <= UInt64(limit) else { throw CodingError(.oversized, field: field(), offset: start) }
        let count = Int(length)
        guard count <= bytes.count - offset else { throw CodingError(.truncated, field: field(), offset: offset) }
        let position = offset
        let text = bytes.withUnsafeBufferPointer { all in
            Self.validatedText(UnsafeBufferPointer(rebasing: all[position..<position + count]))
        }
        guard let text else { throw CodingError(.invalidValue, field: field(), offset: start) }
        offset += count
        return text
    }

    /// The text of valid UTF-8 bytes; `nil` for anything else.
    ///
    /// Nearly every string on the wire is ASCII, which needs no more than a look at each
    /// byte. `String(validating:as:)` is generic and not specialised for callers: in a mayor's
    /// back-fill it took 7-8 % of the process's CPU time, most of it looking up type metadata.
    static func validatedText(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        return String(validating: utf8, as: UTF8.self)
    }

    /// Reads a coded value (a varint that must fit one byte) and maps it through `make`, failing on unknown codes.
    mutating func readCode<T>(field: @autoclosure () -> String, _ make: (UInt8) -> T?) throws(CodingError) -> T {
        let start = offset
        let raw = try readVarint(field: field())
        guard raw <= UInt64(UInt8.max), let value = make(UInt8(raw)) else {
            throw CodingError(.invalidValue, field: field(), offset: start)
        }
        return value
    }
}
