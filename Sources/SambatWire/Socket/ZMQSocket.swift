internal import CZeroMQ
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One ZeroMQ socket owned by one dedicated thread, with an async interface.
///
/// The socket lives its whole life (`zmq_socket` … `zmq_close`) on its own named thread
/// (house style Z1–Z6). That thread blocks only in `zmq_poll` over the socket and an eventfd
/// (and, when connections are monitored, the PAIR socket the monitor reports on);
/// tasks hand it multipart messages through a mutex-guarded queue and wake it through the
/// eventfd. Inbound messages are copied out of libzmq into `[[UInt8]]` and yielded to
/// ``messages`` with a bounded buffer. ``close()`` sets `ZMQ_LINGER`, closes the socket on
/// its thread, fails pending sends with ``ZMQError/Code/closed`` and finishes the stream. A
/// task cancelled while waiting in ``send(_:)`` gets ``ZMQError/Code/cancelled`` and its
/// message is not sent.
///
/// ```swift
/// let context = try ZMQContext()
/// let router = try await ZMQSocket.open(.router, context: context, bind: "tcp://127.0.0.1:*")
/// let dealer = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint)
/// try await dealer.send([Array("HELLO".utf8)])
/// for await frames in router.messages { … }   // [routing id, "HELLO"]
/// ```
///
/// Safe from any task: the socket pointer never leaves its thread. Call ``close()`` before
/// dropping the last reference: the owner thread runs until then.
public final class ZMQSocket: Sendable {
    /// The socket types Sambat uses.
    public enum Kind: Sendable {
        /// Central's socket: one per node, bound.
        case router
        /// An office's or the mayor's socket: connects to central.
        case dealer

        var raw: Int32 { self == .router ? ZMQ_ROUTER : ZMQ_DEALER }
    }

    /// Socket options applied on the owner thread before bind or connect.
    public struct Options: Sendable {
        /// How long unsent messages may delay close, in milliseconds (house style: ≤ 1 s).
        public var lingerMilliseconds: Int32 = 200
        /// Inbound messages buffered for the consumer before the oldest wait (bounded).
        public var inboundBuffer = 1_024
        /// `ZMQ_ROUTER_MANDATORY`: a send to an unknown peer fails instead of vanishing.
        public var routerMandatory = true
        /// CURVE security; `nil` for a plain socket (only tests and inproc use that).
        public var curve: Curve?
        /// The ZAP domain a CURVE server asks its ZAP handler about.
        public var zapDomain = "sambat"
        /// `ZMQ_ROUTER_HANDOVER`, off by default.
        ///
        /// With it, a new connection with a routing id in use takes the id over, so any
        /// admitted client could claim another peer's id and receive what is sent to it.
        public var routerHandover = false
        /// `ZMQ_ROUTING_ID` of a DEALER; `nil` lets the ROUTER assign one per connection.
        public var routingID: String?
        /// `ZMQ_IMMEDIATE`: queue outbound messages only on completed connections, so nothing
        /// piles up for a peer that is not there (a send waits instead, and can be cancelled).
        public var immediate = false
        /// `ZMQ_MAXMSGSIZE`: inbound messages larger than this close the connection; `nil` for none.
        public var maximumMessageBytes: Int?
        /// TCP keepalive (`ZMQ_TCP_KEEPALIVE`), in seconds: the first probe after this long
        /// idle, then one each as long, and the connection drops after three unanswered; `nil`
        /// leaves the system's setting.
        ///
        /// This finds a peer whose host is gone. ZMTP heartbeats would find it too, and a peer
        /// that hangs, but libzmq 4.3.4 aborts the process when a heartbeat timer fires while
        /// the receive high-water mark has stopped a connection's input (libzmq issues #3937
        /// and #4364), and this socket's reader stops reading when its consumer falls behind.
        /// So this type offers no heartbeats; a hanging peer is for the protocol's own timers.
        public var keepaliveSeconds: Int32?
        /// `ZMQ_RECONNECT_IVL` and `ZMQ_RECONNECT_IVL_MAX`: reconnect backoff, in milliseconds.
        public var reconnectMilliseconds: (first: Int32, maximum: Int32) = (1_000, 30_000)
        /// Whether the owner thread watches the socket's connections through libzmq's socket
        /// monitor and reports them in ``ZMQSocket/connectionEvents``; off by default.
        public var monitorsConnections = false

        /// Defaults as above.
        public init() {}
    }

    /// CURVE roles: central serves, offices and the mayor are clients that pin its key.
    public enum Curve: Sendable {
        /// A CURVE server with this keypair; its ZAP handler decides who may connect.
        case server(CurveKeyPair)
        /// A CURVE client with its own keypair and the server's pinned public key.
        case client(CurveKeyPair, serverPublicKey: String)
    }

    /// One inbound multipart message and, on a CURVE server, who sent it.
    public struct Message: Sendable, Equatable {
        /// The frames (on a ROUTER, the first is the peer's routing id).
        public let frames: [[UInt8]]
        /// The ZAP `User-Id` of the connection it came on: the authenticated node.
        ///
        /// Taken from the connection, never from a payload field; `nil` without ZAP.
        public let userID: String?
    }

    /// What became of one of the socket's connections, as libzmq's socket monitor saw it.
    public enum ConnectionEvent: Sendable, Hashable {
        /// A connection completed its security handshake: messages flow on it now.
        case handshakeSucceeded
        /// A connection's security handshake failed.
        ///
        /// `keyRefused` is set when the server's ZAP handler refused the client's key (the
        /// server's key was right): libzmq does not try that connection again. Otherwise the
        /// handshake broke off (a server with another key closes the connection, a protocol
        /// error, a connection cut mid-handshake), and libzmq may or may not retry.
        case handshakeFailed(keyRefused: Bool)
        /// An established connection broke; libzmq reconnects by itself after its backoff.
        case disconnected
    }

    /// The endpoint actually bound or connected (with the real port for `tcp://…:*`).
    public let endpoint: String
    /// The socket's connection events, when ``Options/monitorsConnections`` is set; finishes
    /// at once otherwise, and when the socket closes.
    ///
    /// Bounded to the newest 64: the events are hints to act on now, and an old one nobody
    /// read is stale.
    public let connectionEvents: AsyncStream<ConnectionEvent>
    /// Inbound multipart messages, in arrival order.
    ///
    /// Bounded without loss: when ``Options/inboundBuffer`` messages wait unread, the owner
    /// thread stops reading the socket, so libzmq's queue (and then the sender) holds back.
    public let messages: Messages

    private let shared: SharedState
    private let wake: Int32

    private init(
        endpoint: String,
        messages: AsyncStream<Message>,
        connectionEvents: AsyncStream<ConnectionEvent>,
        shared: SharedState,
        wake: Int32
    ) {
        self.endpoint = endpoint
        self.messages = Messages(stream: messages, shared: shared, wake: wake)
        self.connectionEvents = connectionEvents
        self.shared = shared
        self.wake = wake
    }

    /// Opens a socket, binding or connecting it on its owner thread.
    ///
    /// - Throws: ``ZMQError`` when the socket cannot be created, configured, bound or connected.
    public static func open(
        _ kind: Kind,
        context: ZMQContext,
        bind: String? = nil,
        connect: String? = nil,
        options: Options = Options()
    ) async throws(ZMQError) -> ZMQSocket {
        let wake = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wake >= 0 else { throw ZMQError(code: .callFailed, errno: errno, operation: "eventfd") }
        // Unbounded here: the bound is kept by the owner thread, which stops reading the
        // socket when `inboundBuffer` messages are waiting, so nothing is ever dropped.
        let (messages, inbound) = AsyncStream<Message>.makeStream(bufferingPolicy: .unbounded)
        let (connectionEvents, monitored) = AsyncStream<ConnectionEvent>.makeStream(
            bufferingPolicy: .bufferingNewest(64)
        )
        if !options.monitorsConnections { monitored.finish() }
        let shared = SharedState()
        let started: Result<String, ZMQError> = await withCheckedContinuation { ready in
            let owner = SocketOwner(
                kind: kind,
                context: context.handle,
                bind: bind,
                connect: connect,
                options: options,
                shared: shared,
                wake: wake,
                inbound: inbound,
                monitored: monitored
            )
            let thread = Thread { owner.run(ready: ready) }
            thread.name = "sambat.zmq.\(kind == .router ? "router" : "dealer")"
            thread.start()
        }
        switch started {
        case .success(let endpoint):
            return ZMQSocket(
                endpoint: endpoint,
                messages: messages,
                connectionEvents: connectionEvents,
                shared: shared,
                wake: wake
            )
        case .failure(let error):
            Glibc.close(wake)
            throw error
        }
    }

    /// Queues a multipart message; returns once libzmq has taken it.
    ///
    /// - Throws: ``ZMQError`` when the socket is closed, or libzmq refuses the message
    ///   (for example `EHOSTUNREACH` from a ROUTER to an unknown peer).
    public func send(_ frames: [[UInt8]]) async throws(ZMQError) {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        let token = CancelToken()
        let wake = self.wake
        let shared = self.shared
        let result: Result<Void, ZMQError> = await withTaskCancellationHandler {
            await withCheckedContinuation { done in
                let accepted = shared.withLock { state -> Bool in
                    guard !state.stopping else { return false }
                    state.outbox.append(Outgoing(frames: frames, done: done, token: token))
                    eventfd_write(wake, 1)
                    return true
                }
                if !accepted {
                    done.resume(returning: .failure(ZMQError(code: .closed, errno: 0, operation: "send")))
                }
            }
        } onCancel: {
            // The owner drops the message if libzmq has not taken it yet (for example while
            // waiting for a peer that never completes its handshake).
            token.cancel()
            shared.withLock { state in
                if !state.finished { eventfd_write(wake, 1) }
            }
        }
        try result.get()
    }

    /// Closes the socket on its thread and waits until it is closed; idempotent.
    public func close() async {
        await withCheckedContinuation { (closed: CheckedContinuation<Void, Never>) in
            let wake = self.wake
            let alreadyDone = shared.withLock { state -> Bool in
                if state.finished { return true }
                state.stopping = true
                state.closeWaiters.append(closed)
                eventfd_write(wake, 1)
                return false
            }
            if alreadyDone { closed.resume() }
        }
    }

    // MARK: - Shared between tasks and the owner thread

    struct Outgoing: Sendable {
        let frames: [[UInt8]]
        let done: CheckedContinuation<Result<Void, ZMQError>, Never>
        let token: CancelToken
    }

    /// Set when the task waiting for a send is cancelled.
    final class CancelToken: Sendable {
        private let flag = Mutex(false)
        func cancel() { flag.withLock { $0 = true } }
        var isCancelled: Bool { flag.withLock { $0 } }
    }

    /// The inbound messages of a socket, counted as they are consumed.
    public struct Messages: AsyncSequence, Sendable {
        public typealias Element = Message
        let stream: AsyncStream<Message>
        let shared: SharedState
        let wake: Int32

        public func makeAsyncIterator() -> Iterator {
            Iterator(base: stream.makeAsyncIterator(), shared: shared, wake: wake)
        }

        /// Iterates the messages; each one taken frees a place in the bounded buffer.
        public struct Iterator: AsyncIteratorProtocol {
            var base: AsyncStream<Message>.Iterator
            let shared: SharedState
            let wake: Int32

            public mutating func next() async -> Message? {
                guard let frames = await base.next() else { return nil }
                let wake = self.wake
                shared.withLock { state in
                    state.buffered -= 1
                    // Written under the lock: once `finished` is set the fd may be closed.
                    if state.readingPaused && !state.finished { eventfd_write(wake, 1) }
                }
                return frames
            }
        }
    }

    struct State: Sendable {
        var outbox: [Outgoing] = []
        /// Messages yielded to ``Messages`` and not yet taken.
        var buffered = 0
        /// Whether the owner stopped reading because the buffer is full.
        var readingPaused = false
        var stopping = false
        var finished = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The command queue between tasks and the owner thread.
    final class SharedState: Sendable {
        private let state = Mutex(State())

        func withLock<T>(_ body: (inout State) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }
}

/// The loop that owns one socket; runs on its dedicated thread only.
///
/// `@unchecked Sendable`: it is created on the opening task and then used by exactly one
/// thread; the raw pointers it holds (context, socket) are only touched there.
private final class SocketOwner: @unchecked Sendable {
    let kind: ZMQSocket.Kind
    let context: UnsafeMutableRawPointer
    let bind: String?
    let connect: String?
    let options: ZMQSocket.Options
    let shared: ZMQSocket.SharedState
    let wake: Int32
    let inbound: AsyncStream<ZMQSocket.Message>.Continuation
    let monitored: AsyncStream<ZMQSocket.ConnectionEvent>.Continuation
    /// The PAIR socket libzmq's monitor reports on, when connections are monitored.
    private var monitor: UnsafeMutableRawPointer?

    init(
        kind: ZMQSocket.Kind,
        context: UnsafeMutableRawPointer,
        bind: String?,
        connect: String?,
        options: ZMQSocket.Options,
        shared: ZMQSocket.SharedState,
        wake: Int32,
        inbound: AsyncStream<ZMQSocket.Message>.Continuation,
        monitored: AsyncStream<ZMQSocket.ConnectionEvent>.Continuation
    ) {
        self.kind = kind
        self.context = context
        self.bind = bind
        self.connect = connect
        self.options = options
        self.shared = shared
        self.wake = wake
        self.inbound = inbound
        self.monitored = monitored
    }

    func run(ready: CheckedContinuation<Result<String, ZMQError>, Never>) {
        guard let socket = zmq_socket(context, kind.raw) else {
            ready.resume(returning: .failure(ZMQError.last("zmq_socket")))
            return
        }
        do throws(ZMQError) {
            try setOption(socket, ZMQ_LINGER, options.lingerMilliseconds)
            if kind == .router && options.routerMandatory { try setOption(socket, ZMQ_ROUTER_MANDATORY, 1) }
            if kind == .router && options.routerHandover { try setOption(socket, ZMQ_ROUTER_HANDOVER, 1) }
            if kind == .dealer, let routingID = options.routingID {
                // A routing id is raw bytes: no terminating NUL.
                let ok = Array(routingID.utf8).withUnsafeBytes {
                    zmq_setsockopt(socket, ZMQ_ROUTING_ID, $0.baseAddress, $0.count) == 0
                }
                guard ok else { throw ZMQError.last("zmq_setsockopt(ZMQ_ROUTING_ID)") }
            }
            if let keepalive = options.keepaliveSeconds {
                try setOption(socket, ZMQ_TCP_KEEPALIVE, 1)
                try setOption(socket, ZMQ_TCP_KEEPALIVE_IDLE, max(keepalive, 1))
                try setOption(socket, ZMQ_TCP_KEEPALIVE_INTVL, max(keepalive, 1))
                try setOption(socket, ZMQ_TCP_KEEPALIVE_CNT, 3)
            }
            if options.immediate { try setOption(socket, ZMQ_IMMEDIATE, 1) }
            if let limit = options.maximumMessageBytes {
                var value = Int64(limit)
                guard zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) == 0 else {
                    throw ZMQError.last("zmq_setsockopt(ZMQ_MAXMSGSIZE)")
                }
            }
            try setOption(socket, ZMQ_RECONNECT_IVL, options.reconnectMilliseconds.first)
            try setOption(socket, ZMQ_RECONNECT_IVL_MAX, options.reconnectMilliseconds.maximum)
            switch options.curve {
            case .server(let pair):
                try setOption(socket, ZMQ_CURVE_SERVER, 1)
                try setText(socket, ZMQ_CURVE_SECRETKEY, pair.secretKey)
                try setText(socket, ZMQ_ZAP_DOMAIN, options.zapDomain)
            case .client(let pair, let serverKey):
                try setText(socket, ZMQ_CURVE_SERVERKEY, serverKey)
                try setText(socket, ZMQ_CURVE_PUBLICKEY, pair.publicKey)
                try setText(socket, ZMQ_CURVE_SECRETKEY, pair.secretKey)
            case nil:
                break
            }
            // The monitor starts before connecting, so it sees the first connection too.
            if options.monitorsConnections { try startMonitor(socket) }
            if let bind, zmq_bind(socket, bind) != 0 { throw ZMQError.last("zmq_bind") }
            if let connect, zmq_connect(socket, connect) != 0 { throw ZMQError.last("zmq_connect") }
            ready.resume(returning: .success(lastEndpoint(socket) ?? connect ?? bind ?? ""))
        } catch {
            stopMonitor(socket)
            zmq_close(socket)
            ready.resume(returning: .failure(error))
            return
        }
        loop(socket)
        stopMonitor(socket)
        zmq_close(socket)
        // Mark finished before closing the wake fd: every writer checks it under the lock.
        let (pending, waiters) = shared.withLock { state in
            state.finished = true
            defer {
                state.outbox.removeAll()
                state.closeWaiters.removeAll()
            }
            return (state.outbox, state.closeWaiters)
        }
        Glibc.close(wake)
        inbound.finish()
        for outgoing in pending {
            outgoing.done.resume(returning: .failure(ZMQError(code: .closed, errno: 0, operation: "send")))
        }
        for waiter in waiters { waiter.resume() }
    }

    private func loop(_ socket: UnsafeMutableRawPointer) {
        var queued: [ZMQSocket.Outgoing] = []
        while true {
            var drained: UInt64 = 0
            eventfd_read(wake, &drained)
            let (incoming, stopping) = shared.withLock { state in
                defer { state.outbox.removeAll() }
                return (state.outbox, state.stopping)
            }
            queued += incoming
            if stopping {
                shared.withLock { $0.outbox.insert(contentsOf: queued, at: 0) }
                return
            }
            queued = flush(queued, socket: socket)
            let reading = receiveAll(socket)
            let events = (reading ? ZMQ_POLLIN : 0) | (queued.isEmpty ? 0 : ZMQ_POLLOUT)
            readMonitor()
            var items = [
                zmq_pollitem_t(socket: socket, fd: 0, events: Int16(events), revents: 0),
                zmq_pollitem_t(socket: nil, fd: wake, events: Int16(ZMQ_POLLIN), revents: 0),
                zmq_pollitem_t(socket: monitor, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
            ]
            // Block until the socket, the wake fd or the monitor is ready; EINTR just loops.
            _ = zmq_poll(&items, monitor == nil ? 2 : 3, -1)
        }
    }

    /// Sends queued messages until libzmq would block; returns what is still queued.
    private func flush(_ queued: [ZMQSocket.Outgoing], socket: UnsafeMutableRawPointer) -> [ZMQSocket.Outgoing] {
        var remaining = queued[...]
        while let next = remaining.first {
            if next.token.isCancelled {
                next.done.resume(returning: .failure(ZMQError(code: .cancelled, errno: 0, operation: "send")))
                remaining = remaining.dropFirst()
                continue
            }
            switch sendMessage(next.frames, socket: socket) {
            case .sent:
                next.done.resume(returning: .success(()))
            case .wouldBlock:
                return Array(remaining)
            case .failed(let error):
                next.done.resume(returning: .failure(error))
            }
            remaining = remaining.dropFirst()
        }
        return []
    }

    private enum SendOutcome {
        case sent
        case wouldBlock
        case failed(ZMQError)
    }

    private func sendMessage(_ frames: [[UInt8]], socket: UnsafeMutableRawPointer) -> SendOutcome {
        for (index, frame) in frames.enumerated() {
            let more = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, ZMQ_DONTWAIT | more) }
                if rc >= 0 { break }
                let error = zmq_errno()
                if error == EINTR { continue }
                // Only the first frame can be refused for back-pressure; libzmq then takes the rest.
                if error == EAGAIN && index == 0 { return .wouldBlock }
                return .failed(ZMQError(code: .callFailed, errno: error, operation: "zmq_send"))
            }
        }
        return .sent
    }

    /// Copies complete inbound messages out of libzmq and yields them, until none is
    /// waiting or the consumer's buffer is full; returns whether reading should continue.
    private func receiveAll(_ socket: UnsafeMutableRawPointer) -> Bool {
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        while true {
            let full = shared.withLock { state -> Bool in
                state.readingPaused = state.buffered >= options.inboundBuffer
                return state.readingPaused
            }
            if full { return false }
            var frames: [[UInt8]] = []
            var userID: String?
            while true {
                zmq_msg_init(message)
                let rc = zmq_msg_recv(message, socket, ZMQ_DONTWAIT)
                if rc < 0 {
                    zmq_msg_close(message)
                    if zmq_errno() == EINTR { continue }
                    // EAGAIN before the first frame: nothing more to read now.
                    if frames.isEmpty { return true }
                    continue
                }
                let size = zmq_msg_size(message)
                if let data = zmq_msg_data(message), size > 0 {
                    frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
                } else {
                    frames.append([])
                }
                // The ROUTER's own routing-id frame carries no metadata; the peer's frames do.
                if userID == nil, let property = zmq_msg_gets(message, "User-Id") {
                    userID = String(cString: property)
                }
                let more = zmq_msg_more(message) != 0
                zmq_msg_close(message)
                if !more { break }
            }
            shared.withLock { $0.buffered += 1 }
            inbound.yield(ZMQSocket.Message(frames: frames, userID: userID))
        }
    }

    // MARK: - Connection monitor

    /// The monitor's inproc endpoints are per socket; the counter keeps them apart.
    private static let monitorCounter = Atomic<UInt64>(0)

    /// Starts libzmq's monitor on `socket` and connects a PAIR socket to read its events.
    private func startMonitor(_ socket: UnsafeMutableRawPointer) throws(ZMQError) {
        let number = Self.monitorCounter.add(1, ordering: .relaxed).newValue
        let address = "inproc://sambat.monitor.\(getpid()).\(number)"
        let events =
            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED
        guard zmq_socket_monitor(socket, address, events) == 0 else { throw ZMQError.last("zmq_socket_monitor") }
        guard let pair = zmq_socket(context, ZMQ_PAIR) else { throw ZMQError.last("zmq_socket(ZMQ_PAIR)") }
        try setOption(pair, ZMQ_LINGER, 0)
        guard zmq_connect(pair, address) == 0 else {
            let error = ZMQError.last("zmq_connect(monitor)")
            zmq_close(pair)
            throw error
        }
        monitor = pair
    }

    /// Stops the monitor and closes its PAIR socket; finishes ``ZMQSocket/connectionEvents``.
    private func stopMonitor(_ socket: UnsafeMutableRawPointer) {
        defer { monitored.finish() }
        guard let pair = monitor else { return }
        zmq_socket_monitor(socket, nil, 0)
        zmq_close(pair)
        monitor = nil
    }

    /// Reads every waiting monitor event and reports the ones a link acts on.
    ///
    /// Each event is two frames: 6 bytes (the event as a 16-bit number, then a 32-bit value,
    /// both in host order) and the endpoint it concerns.
    private func readMonitor() {
        guard let pair = monitor else { return }
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        while true {
            var header: [UInt8] = []
            var frames = 0
            while true {
                zmq_msg_init(message)
                if zmq_msg_recv(message, pair, ZMQ_DONTWAIT) < 0 {
                    zmq_msg_close(message)
                    if zmq_errno() == EINTR { continue }
                    if frames == 0 { return }
                    continue
                }
                if frames == 0, let data = zmq_msg_data(message) {
                    header = Array(UnsafeRawBufferPointer(start: data, count: zmq_msg_size(message)))
                }
                frames += 1
                let more = zmq_msg_more(message) != 0
                zmq_msg_close(message)
                if !more { break }
            }
            guard header.count >= 6 else { continue }
            let event = header.withUnsafeBytes { Int32($0.loadUnaligned(as: UInt16.self)) }
            switch event {
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
                monitored.yield(.handshakeSucceeded)
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                monitored.yield(.handshakeFailed(keyRefused: true))
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                monitored.yield(.handshakeFailed(keyRefused: false))
            case ZMQ_EVENT_DISCONNECTED:
                monitored.yield(.disconnected)
            default:
                break
            }
        }
    }

    private func setOption(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32) throws(ZMQError) {
        var value = value
        guard zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    private func setText(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ text: String) throws(ZMQError) {
        // Z85 keys are passed as 40 characters plus the terminating NUL (41 bytes).
        let ok = text.withCString { zmq_setsockopt(socket, option, $0, strlen($0) + 1) == 0 }
        guard ok else { throw ZMQError.last("zmq_setsockopt(\(option))") }
    }

    private func lastEndpoint(_ socket: UnsafeMutableRawPointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? nil : text
    }
}

/// What became of a send with a time limit.
public enum ZMQSendAttempt: Sendable {
    /// libzmq took the message.
    case sent
    /// libzmq did not take it in time; it was withdrawn, never sent late.
    case timedOut
    /// libzmq refused it (for example `EHOSTUNREACH` for a closed ROUTER peer).
    case failed(ZMQError)
}

extension ZMQSocket {
    /// Sends, waiting at most `limit` for libzmq to take the message.
    ///
    /// A send that does not finish in time is withdrawn, never sent late.
    /// - Returns: whether the message was sent, timed out or refused.
    public func attemptSend(_ frames: [[UInt8]], within limit: Duration) async -> ZMQSendAttempt {
        await withTaskGroup(of: ZMQSendAttempt.self) { group in
            group.addTask {
                do throws(ZMQError) {
                    try await self.send(frames)
                    return .sent
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
    }

    /// Sends, waiting at most `limit` for libzmq to take the message.
    ///
    /// A send that does not finish in time is withdrawn, never sent late.
    /// - Returns: whether the message was sent.
    public func send(_ frames: [[UInt8]], within limit: Duration) async -> Bool {
        if case .sent = await attemptSend(frames, within: limit) { return true }
        return false
    }
}
