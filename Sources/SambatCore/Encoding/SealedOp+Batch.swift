/// The first op of a batch that did not decode, and why.
public struct BatchDecodingError: Error, Hashable, Sendable {
    /// Its position in the batch, from 0.
    public let index: Int
    /// Why it did not decode.
    public let error: CodingError

    public init(index: Int, error: CodingError) {
        self.index = index
        self.error = error
    }
}

extension SealedOp {
    /// Below this many ops a batch is decoded on the calling task: splitting costs more.
    static let parallelDecodingThreshold = 64

    /// Decodes and hashes a batch of canonical encodings, in order.
    ///
    /// Decoding is pure and independent per op, so a large batch is split into `parallelism`
    /// contiguous parts decoded by child tasks on the cooperative pool; on a receiver that is
    /// a large share of a batch's cost, and it runs beside the store's writer thread.
    ///
    /// - Parameters:
    ///   - encoded: the ops' bytes, as received.
    ///   - parallelism: how many parts at most (typically the number of cores).
    /// - Returns: the sealed ops, in the order of `encoded`.
    /// - Throws: ``BatchDecodingError`` for the first op (lowest index) that does not decode.
    public static func decodeBatch(
        _ encoded: [[UInt8]],
        parallelism: Int
    ) async throws(BatchDecodingError) -> [SealedOp] {
        let parts = max(1, min(parallelism, encoded.count / (parallelDecodingThreshold / 2)))
        guard parts > 1, encoded.count >= parallelDecodingThreshold else {
            return try decodeSerially(encoded, range: encoded.indices).get()
        }
        let count = encoded.count
        let results = await withTaskGroup(of: (Int, Result<[SealedOp], BatchDecodingError>).self) { group in
            for part in 0..<parts {
                // Near-equal parts that tile the batch exactly, whatever `parts` is.
                let range = count * part / parts..<count * (part + 1) / parts
                group.addTask { (part, decodeSerially(encoded, range: range)) }
            }
            var results: [(Int, Result<[SealedOp], BatchDecodingError>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var ops: [SealedOp] = []
        ops.reserveCapacity(encoded.count)
        for result in results {
            // Parts are in batch order, so the first failure met is the lowest index.
            ops += try result.get()
        }
        return ops
    }

    private static func decodeSerially(
        _ encoded: [[UInt8]],
        range: Range<Int>
    ) -> Result<[SealedOp], BatchDecodingError> {
        var ops: [SealedOp] = []
        ops.reserveCapacity(range.count)
        for index in range {
            do {
                ops.append(try SealedOp(decoding: encoded[index]))
            } catch {
                return .failure(BatchDecodingError(index: index, error: error))
            }
        }
        return .success(ops)
    }
}
