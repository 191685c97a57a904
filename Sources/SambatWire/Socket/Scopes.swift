/// Scoped lifetimes for contexts, sockets and the ZAP handler.
///
/// A libzmq context cannot terminate while one of its sockets is open, and a socket left open
/// keeps its owner thread and file descriptors. These scopes close what they open on every
/// path out of their body, so a service that opens its sockets through them cannot leak one
/// when it stops, throws or is cancelled.
extension ZMQContext {
    /// Runs `body` with a new context, and terminates the context when `body` ends.
    ///
    /// Termination waits for every socket of the context, so open sockets in `body` with
    /// ``ZMQSocket/withSocket(_:context:bind:connect:options:_:)`` (or close them before it
    /// returns).
    ///
    /// - Throws: ``ZMQError`` when no context can be created, or what `body` throws.
    public static func withContext<Result>(_ body: (ZMQContext) async throws -> Result) async throws -> Result {
        let context = try ZMQContext()
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await body(context))
        } catch {
            result = .failure(error)
        }
        await context.terminate()
        return try result.get()
    }
}

extension ZMQSocket {
    /// Opens a socket, runs `body` with it, and closes it when `body` ends, however it ends.
    ///
    /// - Throws: ``ZMQError`` when the socket cannot be opened, or what `body` throws.
    public static func withSocket<Result>(
        _ kind: Kind,
        context: ZMQContext,
        bind: String? = nil,
        connect: String? = nil,
        options: Options = Options(),
        _ body: (ZMQSocket) async throws -> Result
    ) async throws -> Result {
        let socket = try await open(kind, context: context, bind: bind, connect: connect, options: options)
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await body(socket))
        } catch {
            result = .failure(error)
        }
        await socket.close()
        return try result.get()
    }
}

extension ZAPHandler {
    /// Binds a ZAP handler in `context` and answers its requests while `body` runs.
    ///
    /// The handler runs in a child task, which is closed and awaited when `body` ends.
    /// Open the CURVE server socket inside `body`: the handler must be bound first.
    /// - Throws: ``ZMQError`` when the ZAP endpoint is taken, or what `body` throws.
    public static func serving<Result: Sendable>(
        context: ZMQContext,
        authorize: @escaping Authorize,
        _ body: () async throws -> Result
    ) async throws -> Result {
        let handler = try await open(context: context, authorize: authorize)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await handler.run() }
            let result: Swift.Result<Result, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            // Closing finishes the handler's message stream, which ends the child.
            await handler.close()
            try await group.waitForAll()
            return try result.get()
        }
    }
}
