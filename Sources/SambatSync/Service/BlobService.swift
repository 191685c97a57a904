import Foundation
import SambatCore
import SambatStore

/// Builds the answer to a BLOB_REQUEST from a node's blobs; shared by both services.
enum BlobService {
    /// The largest part one request may ask for.
    static let maximumChunkBytes = 256 * 1024

    static func answer(
        _ ask: Sambat_Sync_V1_BlobRequest,
        from blobs: BlobStore,
        visible: Bool
    ) async -> Sambat_Sync_V1_BlobChunk {
        var chunk = Sambat_Sync_V1_BlobChunk()
        chunk.sha256 = ask.sha256
        chunk.offset = ask.offset
        let length = min(Int(ask.length), maximumChunkBytes)
        guard visible, ask.sha256.count == 32, length > 0,
            let part = try? await blobs.read(Array(ask.sha256), offset: ask.offset, count: length)
        else {
            chunk.unavailable = true
            return chunk
        }
        chunk.totalSize = part.size
        chunk.data = Data(part.data)
        return chunk
    }
}
