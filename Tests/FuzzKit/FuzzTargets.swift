import SambatCore
import SambatDesk
import SambatNode
import SambatSync
import SambatTestKit

/// The decoders that take bytes from the network, with the properties each must keep for
/// every input: never trap, and (for ops) accept only bytes that re-encode identically.
///
/// Shared by the `sambat-fuzz` executable (`make fuzz`) and the corpus replay in `make test`.
public enum FuzzTargets {
    /// Which decoder an input is for; the corpus keeps one folder per target.
    public enum Target: String, CaseIterable, Sendable {
        /// Canonical op bytes (`SealedOp(decoding:)`).
        case op
        /// A version vector (`VersionVector(decoding:)`).
        case vector
        /// A sync message: frame 1 is the first two bytes, frame 2 the rest.
        case envelope
        /// A configuration or reference YAML text: the node config's key walk and the four
        /// reference-file checks.
        case config
    }

    /// A property that failed for an input (a trap would end the process instead).
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs one input through a target's decoder and checks its properties.
    /// - Returns: whether the input was accepted.
    @discardableResult
    public static func run(_ target: Target, _ input: [UInt8]) throws(Violation) -> Bool {
        switch target {
        case .op:
            guard let sealed = try? SealedOp(decoding: input) else { return false }
            guard let again = try? SealedOp(sealing: sealed.op), again.bytes == input else {
                throw Violation(description: "an accepted op does not re-encode to the same bytes")
            }
            return true
        case .vector:
            guard let vector = try? VersionVector(decoding: input) else { return false }
            guard (try? vector.encoded()) == input else {
                throw Violation(description: "an accepted vector does not re-encode to the same bytes")
            }
            return true
        case .envelope:
            let frames = input.count >= 2 ? [Array(input.prefix(2)), Array(input.dropFirst(2))] : [input]
            guard let message = try? SyncFrames.decode(frames) else { return false }
            // Every op a BATCH carries goes through the op decoder, as the services do.
            if case .batch(let batch) = message {
                for op in batch.ops { try run(.op, Array(op)) }
            }
            // What was accepted encodes again (the services answer with it) and decodes again.
            guard (try? SyncFrames.decode(SyncFrames.encode(message))) == message else {
                throw Violation(description: "an accepted message does not survive re-encoding")
            }
            return true
        case .config:
            let text = String(decoding: input, as: UTF8.self)
            var accepted = false
            if let keys = try? NodeConfigLoader.leafKeys(yaml: text) {
                accepted = true
                guard (try? NodeConfigLoader.leafKeys(yaml: text)) == keys else {
                    throw Violation(description: "the config key walk is not deterministic")
                }
            }
            for kind in ReferenceData.Kind.allCases where (try? ReferenceData.check(kind, yaml: text)) != nil {
                accepted = true
            }
            return accepted
        }
    }
}

/// A small deterministic mutator: bit flips, byte changes, inserts, deletes, duplication,
/// truncation, large varints and splices with other corpus inputs.
public struct Mutator {
    private var random: SplitMix64

    /// A mutator whose choices follow from `seed`.
    public init(seed: UInt64) { random = SplitMix64(seed: seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed) }

    /// The next pseudo-random number.
    public mutating func next() -> UInt64 { random.next() }

    public mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }

    /// One to four mutations of `input`, possibly mixed with `other`.
    public mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(9) {
            case 0 where !bytes.isEmpty:
                bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty:
                bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next())
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: next()), at: below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(8)))
            case 4 where !bytes.isEmpty:
                let start = below(bytes.count)
                let piece = bytes[start..<min(bytes.count, start + 1 + below(16))]
                bytes.insert(contentsOf: piece, at: below(bytes.count + 1))
            case 5:
                bytes = Array(bytes.prefix(below(bytes.count + 1)))
            case 6:
                // A long varint or an extreme value where a length or number is expected.
                let run: [UInt8] = below(2) == 0 ? Array(repeating: 0xFF, count: 1 + below(10)) + [0x01] : [0x80, 0x00]
                bytes.insert(contentsOf: run, at: below(bytes.count + 1))
            case 7 where !other.isEmpty:
                let cut = below(bytes.count + 1)
                let from = below(other.count)
                bytes = Array(bytes.prefix(cut)) + other[from...]
            default:
                bytes.append(UInt8(truncatingIfNeeded: next()))
            }
        }
        return bytes
    }
}
