internal import CZeroMQ

/// Central's ZAP handler: admits only enrolled CURVE keys and names the node behind each.
///
/// Without a ZAP handler libzmq admits any CURVE client that knows the server's key, so
/// central runs one in the same context as its ROUTER, bound at `inproc://zeromq.zap.01`
/// before the ROUTER binds. For each connection attempt libzmq asks it (ZeroMQ RFC 27);
/// `authorize` maps the client's Z85 public key to a node id, which libzmq then attaches to
/// every message of that connection as `User-Id` (see ``ZMQSocket/Message/userID``).
/// Anything but CURVE (NULL, PLAIN) is refused.
///
/// ```swift
/// let zap = try await ZAPHandler.open(context: context) { key in enrolled[key] }
/// async let serving: Void = zap.run()
/// let router = try await ZMQSocket.open(.router, context: context, bind: …, options: curveServer)
/// ```
///
/// Safe from any task; ``run()`` is meant for one task (a task group child of a Service).
public final class ZAPHandler: Sendable {
    /// Maps a client's Z85 public key to its user id (the node id), or `nil` to refuse.
    ///
    /// Asynchronous so it may look a key up in a store; libzmq waits for the answer, and
    /// requests are answered one at a time, so it should answer within milliseconds.
    public typealias Authorize = @Sendable (String) async -> String?

    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let socket: ZMQSocket
    private let authorize: Authorize

    private init(socket: ZMQSocket, authorize: @escaping Authorize) {
        self.socket = socket
        self.authorize = authorize
    }

    /// Binds the handler in `context`; call before any CURVE server socket binds.
    ///
    /// - Throws: ``ZMQError`` when the ZAP endpoint is already taken in this context.
    public static func open(context: ZMQContext, authorize: @escaping Authorize) async throws(ZMQError) -> ZAPHandler {
        var options = ZMQSocket.Options()
        options.routerMandatory = false
        let socket = try await ZMQSocket.open(.router, context: context, bind: endpoint, options: options)
        return ZAPHandler(socket: socket, authorize: authorize)
    }

    /// Answers ZAP requests until ``close()``.
    public func run() async {
        for await request in socket.messages {
            guard let reply = await Self.reply(to: request.frames, authorize: authorize) else { continue }
            try? await socket.send(reply)
        }
    }

    /// Stops answering and closes the handler's socket.
    public func close() async {
        await socket.close()
    }

    /// The reply to one request: `[routing id, "", "1.0", request id, status, text, user id, ""]`.
    static func reply(to frames: [[UInt8]], authorize: Authorize) async -> [[UInt8]]? {
        // routing id, empty delimiter, version, request id, domain, address, identity, mechanism, credentials…
        guard frames.count >= 8, frames[1].isEmpty, frames[2] == Array("1.0".utf8) else { return nil }
        let mechanism = String(decoding: frames[7], as: UTF8.self)
        var status = "400"
        var text = "only enrolled CURVE keys are admitted"
        var userID = ""
        if mechanism == "CURVE", frames.count >= 9, frames[8].count == 32, let key = z85(frames[8]) {
            if let node = await authorize(key) {
                status = "200"
                text = "OK"
                userID = node
            } else {
                text = "this key is not enrolled (or was revoked)"
            }
        }
        return [
            frames[0], [], Array("1.0".utf8), frames[3], Array(status.utf8), Array(text.utf8), Array(userID.utf8), [],
        ]
    }

    /// Z85 text of a 32-byte key.
    static func z85(_ key: [UInt8]) -> String? {
        var text = [CChar](repeating: 0, count: 41)
        let encoded = key.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, 32) }
        guard encoded != nil else { return nil }
        return String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
