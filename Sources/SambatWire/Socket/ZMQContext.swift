internal import CZeroMQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// libzmq contexts are thread-safe, so one context may be shared by all socket owners.
/// ``terminate()`` must run after every socket has closed; it blocks until then, so it runs
/// on a thread of its own, never on the cooperative pool.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable: a zmq context is documented as thread-safe; the pointer is set
    // once in init and only passed to libzmq.
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    ///
    /// - Throws: ``ZMQError`` when libzmq cannot create one (too many open files).
    public init() throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
    }

    /// Terminates the context once all its sockets are closed; call last.
    public func terminate() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let context = self
            let thread = Thread {
                while zmq_ctx_term(context.handle) != 0 && zmq_errno() == EINTR {}
                done.resume()
            }
            thread.name = "sambat.zmq.term"
            thread.start()
        }
    }
}
