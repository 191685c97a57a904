import CZlib
public import Foundation
import SambatCore

/// Packs the ops of one BATCH into `packed_ops` and unpacks them (docs/protocol.md, "Packed
/// ops").
///
/// The packed form is raw DEFLATE (RFC 1951) of each op's canonical bytes behind its length as a
/// varint. Ops of one batch share their origin, actor, case prefixes and most of their
/// timestamps, which DEFLATE finds across op boundaries; a plain `repeated bytes` cannot. The
/// receiver gets back the exact bytes the sender read from its store: they then go through
/// the same decoding and hash checks as plain ones, and no op is ever re-encoded. Pure
/// functions; the sync machines call ``pack(_:)`` when the peer accepts packed ops, and
/// ``SyncFrames`` unpacks every batch it decodes.
public enum PackedOps {
    /// The DEFLATE level of a batch of fewer than ``bulkOps`` ops: zlib's default.
    ///
    /// Live changes travel in such batches, where bytes matter more than the sender's time.
    static let level: Int32 = 6

    /// The DEFLATE level of a batch of ``bulkOps`` ops or more: a catch-up, a back-fill or an
    /// office's backlog, where the sender's CPU is the cost.
    ///
    /// zlib's fast matcher (levels 1-3) packs 5,000 ops of a year's history 3.6 times as fast
    /// as level 6 (0.55 against 1.96 µs per op, Python's `zlib` on the scale run's ops) into
    /// 12 % more bytes (16.8 against 15.0 per op); level 1 saves no time over 2 and packs 1 %
    /// larger. At level 6 central spent a third of its CPU in zlib while feeding a mayor's
    /// back-fill (`scripts/scale.py`, perf).
    static let bulkLevel: Int32 = 2

    /// The fewest ops a batch packed at ``bulkLevel`` holds.
    static let bulkOps = 256

    /// The packed form of `ops`, or nil when packing would not make the batch smaller (one short
    /// op, or ops that do not repeat each other).
    public static func pack(_ ops: [Data]) -> Data? {
        guard !ops.isEmpty else { return nil }
        guard let packed = deflate(unpackedStream(ops), level: ops.count >= bulkOps ? bulkLevel : level),
            packed.count < plainFieldBytes(ops)
        else { return nil }
        return Data(packed)
    }

    /// What DEFLATE packs: each op's canonical bytes behind its length as a varint.
    static func unpackedStream(_ ops: [Data]) -> [UInt8] {
        var stream: [UInt8] = []
        stream.reserveCapacity(ops.reduce(0) { $0 + $1.count + 3 })
        for op in ops {
            var length = UInt64(op.count)
            while length >= 0x80 {
                stream.append(UInt8(truncatingIfNeeded: length) | 0x80)
                length >>= 7
            }
            stream.append(UInt8(length))
            stream.append(contentsOf: op)
        }
        return stream
    }

    /// The ops `packed` holds, each exactly as it was packed.
    ///
    /// Refuses, without allocating from any declared size: a DEFLATE stream that is damaged,
    /// unfinished or followed by more bytes; an unpacked form longer than `maximumBytes`; a
    /// length that is not a canonical varint, is 0 or exceeds ``OpLimits/maximumEncodedBytes``;
    /// an op cut short by the end of the stream.
    /// - Throws: ``SyncProtocolError`` (`MALFORMED`) saying which.
    public static func unpack(_ packed: Data, maximumBytes: Int) throws(SyncProtocolError) -> [Data] {
        let stream = try inflate(Array(packed), maximumBytes: maximumBytes)
        var ops: [Data] = []
        var index = 0
        while index < stream.count {
            var length = 0
            var shift = 0
            while true {
                guard index < stream.count else { throw refusal("an op's length is cut short") }
                let byte = stream[index]
                index += 1
                guard shift < 21 else { throw refusal("an op's length is longer than an op may be") }
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 {
                    guard byte != 0 || shift == 7 else { throw refusal("an op's length is not a minimal varint") }
                    break
                }
            }
            guard length > 0, length <= OpLimits.maximumEncodedBytes else {
                throw refusal("an op's length is \(length), outside 1 … \(OpLimits.maximumEncodedBytes)")
            }
            guard stream.count - index >= length else { throw refusal("the last op is cut short") }
            ops.append(Data(stream[index..<index + length]))
            index += length
        }
        guard !ops.isEmpty else { throw refusal("they hold no op") }
        return ops
    }

    /// What `ops` cost as protobuf field 2: a tag byte, the length's varint and the bytes, each.
    static func plainFieldBytes(_ ops: [Data]) -> Int {
        ops.reduce(0) { total, op in
            var lengthBytes = 1
            var length = op.count >> 7
            while length > 0 {
                lengthBytes += 1
                length >>= 7
            }
            return total + 1 + lengthBytes + op.count
        }
    }

    private static func refusal(_ reason: String) -> SyncProtocolError {
        SyncProtocolError(.malformed, "packed_ops do not unpack: \(reason)")
    }

    static func deflate(_ input: [UInt8], level: Int32) -> [UInt8]? {
        var stream = z_stream()
        // Raw DEFLATE (negative window bits): the ops carry their own hashes, so zlib's header
        // and checksum would add six bytes to every batch and check nothing new.
        guard
            deflateInit2_(
                &stream,
                level,
                Z_DEFLATED,
                -15,
                8,
                Z_DEFAULT_STRATEGY,
                zlibVersion(),
                Int32(MemoryLayout<z_stream>.size)
            ) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let result = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END else { return nil }
        output.removeLast(Int(stream.avail_out))
        return output
    }

    private static func inflate(_ input: [UInt8], maximumBytes: Int) throws(SyncProtocolError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw refusal("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var input = input
        var output: [UInt8] = []
        // Grows in steps of at most 64 KiB, so a small stream that claims to unpack to a
        // gigabyte is refused at `maximumBytes` without ever holding more.
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { (source) throws(SyncProtocolError) in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while status != Z_STREAM_END {
                let produced = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw refusal(
                        status == Z_BUF_ERROR
                            ? "the DEFLATE stream ends before it is finished" : "the DEFLATE stream is damaged"
                    )
                }
                guard output.count + produced <= maximumBytes else {
                    throw refusal("they unpack to more than \(maximumBytes) bytes")
                }
                output.append(contentsOf: chunk[0..<produced])
            }
            guard stream.avail_in == 0 else { throw refusal("bytes follow the end of the DEFLATE stream") }
        }
        return output
    }
}
