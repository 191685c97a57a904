internal import CZeroMQ

/// A libzmq call that failed, with the raw `errno` it reported.
///
/// Descriptions name the operation and libzmq's own message; they never carry key material.
public struct ZMQError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case callFailed = "call failed"
            case invalidKey = "invalid key"
            case closed = "closed"
            case cancelled = "cancelled"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A libzmq function returned an error; see ``ZMQError/errno``.
        public static let callFailed = Code(.callFailed)
        /// A CURVE key is not 40 characters of Z85.
        public static let invalidKey = Code(.invalidKey)
        /// The socket or context was already shut down.
        public static let closed = Code(.closed)
        /// The waiting task was cancelled before libzmq took the message; it was not sent.
        public static let cancelled = Code(.cancelled)

        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public let code: Code
    /// The `errno` libzmq reported (0 when not a libzmq failure).
    public let errno: Int32
    /// The libzmq function or step that failed.
    public let operation: String

    /// Creates an error.
    public init(code: Code, errno: Int32, operation: String) {
        self.code = code
        self.errno = errno
        self.operation = operation
    }

    /// The error of the last failed libzmq call on this thread.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: .callFailed, errno: zmq_errno(), operation: operation)
    }

    public var description: String {
        guard errno != 0 else { return "\(operation): \(code)" }
        return "\(operation): \(String(cString: zmq_strerror(errno))) (errno \(errno))"
    }
}
