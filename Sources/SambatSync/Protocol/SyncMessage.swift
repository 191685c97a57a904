import Foundation
import SwiftProtobuf

/// One message of the sync protocol, typed; frames on the wire are made by ``SyncFrames``.
///
/// The payloads are the generated protobuf types of `sambat_sync.proto`. Owned by whoever
/// builds or receives it; a plain value.
public enum SyncMessage: Sendable, Equatable {
    case hello(Sambat_Sync_V1_Hello)
    case welcome(Sambat_Sync_V1_Welcome)
    case batch(Sambat_Sync_V1_Batch)
    case ack(Sambat_Sync_V1_Ack)
    case error(Sambat_Sync_V1_Error)
    case ping(Sambat_Sync_V1_Ping)
    case pong(Sambat_Sync_V1_Pong)
    case blobRequest(Sambat_Sync_V1_BlobRequest)
    case blobChunk(Sambat_Sync_V1_BlobChunk)
    case nodeHealth(Sambat_Sync_V1_NodeHealth)

    /// The message type byte of frame 1.
    public var type: UInt8 {
        switch self {
        case .hello: 1
        case .welcome: 2
        case .batch: 3
        case .ack: 4
        case .error: 5
        case .ping: 6
        case .pong: 7
        case .blobRequest: 8
        case .blobChunk: 9
        case .nodeHealth: 10
        }
    }

    /// A short name for logs.
    public var name: String {
        switch self {
        case .hello: "HELLO"
        case .welcome: "WELCOME"
        case .batch: "BATCH"
        case .ack: "ACK"
        case .error: "ERROR"
        case .ping: "PING"
        case .pong: "PONG"
        case .blobRequest: "BLOB_REQUEST"
        case .blobChunk: "BLOB_CHUNK"
        case .nodeHealth: "NODE_HEALTH"
        }
    }

    /// An ERROR with a code and an English message without personal data.
    public static func error(
        _ code: Sambat_Sync_V1_Error.Code,
        _ message: String,
        batchID: UInt64 = 0
    ) -> SyncMessage {
        var body = Sambat_Sync_V1_Error()
        body.code = code
        body.message = message
        body.batchID = batchID
        return .error(body)
    }
}

/// Why inbound frames were refused; the text is safe to log and to send back in an ERROR.
public struct SyncProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The ERROR code the peer is told.
    public let code: Sambat_Sync_V1_Error.Code
    /// What was wrong, in English, without message content.
    public let message: String

    /// Creates an error with the code the peer will be told.
    public init(_ code: Sambat_Sync_V1_Error.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Encodes messages into the protocol's two frames and decodes them strictly.
///
/// Frame 1 is two bytes: the protocol version and the message type. Frame 2 is the protobuf
/// body. Anything else (another frame count, an oversized body, an unknown version or type, a
/// body that does not decode) is refused before any of it is used.
public enum SyncFrames {
    /// The protocol version this build speaks.
    public static let version: UInt8 = 1
    /// The largest body accepted: a full batch (1 MiB of ops) plus its envelope.
    public static let maximumBodyBytes = 2 << 20

    /// The two frames of `message`.
    public static func encode(_ message: SyncMessage) -> [[UInt8]] {
        let body: [UInt8]
        do {
            switch message {
            case .hello(let value): body = try value.serializedBytes()
            case .welcome(let value): body = try value.serializedBytes()
            case .batch(let value): body = try value.serializedBytes()
            case .ack(let value): body = try value.serializedBytes()
            case .error(let value): body = try value.serializedBytes()
            case .ping(let value): body = try value.serializedBytes()
            case .pong(let value): body = try value.serializedBytes()
            case .blobRequest(let value): body = try value.serializedBytes()
            case .blobChunk(let value): body = try value.serializedBytes()
            case .nodeHealth(let value): body = try value.serializedBytes()
            }
        } catch {
            // Serializing a proto3 message with only scalar, string and bytes fields cannot fail.
            preconditionFailure("protobuf serialization failed: \(error)")
        }
        return [[version, message.type], body]
    }

    /// Decodes the two frames of a message.
    ///
    /// A BATCH comes out with its ops plain in `ops` and `packed_ops` empty, whichever way it
    /// travelled, so that everything after the frames sees one form.
    /// - Throws: ``SyncProtocolError`` saying what was wrong.
    public static func decode(_ frames: [[UInt8]]) throws(SyncProtocolError) -> SyncMessage {
        guard frames.count == 2 else {
            throw SyncProtocolError(.malformed, "expected 2 frames, got \(frames.count)")
        }
        let header = frames[0]
        guard header.count == 2 else {
            throw SyncProtocolError(.malformed, "frame 1 must be 2 bytes (version, type), got \(header.count)")
        }
        guard header[0] == version else {
            throw SyncProtocolError(
                .unsupportedVersion,
                "protocol version \(header[0]) is not supported (this node speaks \(version))"
            )
        }
        let body = frames[1]
        guard body.count <= maximumBodyBytes else {
            throw SyncProtocolError(
                .invalidBatch,
                "a \(body.count)-byte body exceeds the \(maximumBodyBytes)-byte limit"
            )
        }
        do {
            switch header[1] {
            case 1: return .hello(try Sambat_Sync_V1_Hello(serializedBytes: body))
            case 2: return .welcome(try Sambat_Sync_V1_Welcome(serializedBytes: body))
            case 3: return .batch(try unpacked(Sambat_Sync_V1_Batch(serializedBytes: body)))
            case 4: return .ack(try Sambat_Sync_V1_Ack(serializedBytes: body))
            case 5: return .error(try Sambat_Sync_V1_Error(serializedBytes: body))
            case 6: return .ping(try Sambat_Sync_V1_Ping(serializedBytes: body))
            case 7: return .pong(try Sambat_Sync_V1_Pong(serializedBytes: body))
            case 8: return .blobRequest(try Sambat_Sync_V1_BlobRequest(serializedBytes: body))
            case 9: return .blobChunk(try Sambat_Sync_V1_BlobChunk(serializedBytes: body))
            case 10: return .nodeHealth(try Sambat_Sync_V1_NodeHealth(serializedBytes: body))
            default: throw SyncProtocolError(.unexpectedMessage, "unknown message type \(header[1])")
            }
        } catch let error as SyncProtocolError {
            throw error
        } catch {
            throw SyncProtocolError(.malformed, "the body of message type \(header[1]) does not decode")
        }
    }

    /// `batch` with its packed ops, if any, unpacked into `ops`.
    private static func unpacked(_ batch: Sambat_Sync_V1_Batch) throws(SyncProtocolError) -> Sambat_Sync_V1_Batch {
        guard !batch.packedOps.isEmpty else { return batch }
        guard batch.ops.isEmpty else {
            throw SyncProtocolError(.malformed, "batch \(batch.batchID) sets both ops and packed_ops")
        }
        var plain = batch
        // The unpacked ops and their lengths may not exceed what a plain body may carry.
        plain.ops = try PackedOps.unpack(batch.packedOps, maximumBytes: maximumBodyBytes)
        plain.packedOps = Data()
        return plain
    }
}
