import Testing

@testable import SambatWire

/// The socket monitor reports what became of a CURVE client's connections, so a link can act
/// at once instead of waiting out its timers.
@Suite(.timeLimit(.minutes(1))) struct ConnectionMonitorTests {
    @Test func anEnrolledKeyIsReportedConnectedAndAStrangerRefusedByAuthentication() async throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let officeKeys = try CurveKeyPair.generate()
        let strangerKeys = try CurveKeyPair.generate()
        let enrolled = [officeKeys.publicKey: "dpupr"]
        let zap = try await ZAPHandler.open(context: context) { enrolled[$0] }
        async let serving: Void = zap.run()
        let router = try await Self.curveRouter(serverKeys, context: context)

        let stranger = try await Self.monitoredClient(strangerKeys, pinning: serverKeys, to: router, context: context)
        var strangerEvents = stranger.connectionEvents.makeAsyncIterator()
        #expect(await strangerEvents.next() == .handshakeFailed(keyRefused: true))

        let office = try await Self.monitoredClient(officeKeys, pinning: serverKeys, to: router, context: context)
        var officeEvents = office.connectionEvents.makeAsyncIterator()
        #expect(await officeEvents.next() == .handshakeSucceeded)

        // Closing ends the stream: nothing is reported for the socket's own close.
        for socket in [stranger, office] { await socket.close() }
        #expect(await officeEvents.next() == nil)
        await router.close()
        await zap.close()
        await serving
        await context.terminate()
    }

    @Test func aServerThatGoesAwayIsReportedDisconnectedAndItsReturnConnectedAgain() async throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let officeKeys = try CurveKeyPair.generate()
        let zap = try await ZAPHandler.open(context: context) { $0 == officeKeys.publicKey ? "dpupr" : nil }
        async let serving: Void = zap.run()
        let router = try await Self.curveRouter(serverKeys, context: context)
        var options = Self.clientOptions(officeKeys, pinning: serverKeys)
        options.reconnectMilliseconds = (100, 100)
        let office = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint, options: options)
        var events = office.connectionEvents.makeAsyncIterator()
        #expect(await events.next() == .handshakeSucceeded)

        await router.close()
        #expect(await events.next() == .disconnected)
        let back = try await Self.curveRouter(serverKeys, context: context, bind: router.endpoint)
        #expect(await events.next() == .handshakeSucceeded)

        for socket in [office, back] { await socket.close() }
        await zap.close()
        await serving
        await context.terminate()
    }

    @Test func anUnmonitoredSocketReportsNothing() async throws {
        let context = try ZMQContext()
        let router = try await ZMQSocket.open(.router, context: context, bind: "tcp://127.0.0.1:*")
        let dealer = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint)
        var events = dealer.connectionEvents.makeAsyncIterator()
        #expect(await events.next() == nil)
        for socket in [dealer, router] { await socket.close() }
        await context.terminate()
    }

    static func curveRouter(
        _ keys: CurveKeyPair,
        context: ZMQContext,
        bind: String = "tcp://127.0.0.1:*"
    ) async throws -> ZMQSocket {
        var options = ZMQSocket.Options()
        options.curve = .server(keys)
        return try await ZMQSocket.open(.router, context: context, bind: bind, options: options)
    }

    static func clientOptions(_ keys: CurveKeyPair, pinning server: CurveKeyPair) -> ZMQSocket.Options {
        var options = ZMQSocket.Options()
        options.curve = .client(keys, serverPublicKey: server.publicKey)
        options.monitorsConnections = true
        return options
    }

    static func monitoredClient(
        _ keys: CurveKeyPair,
        pinning server: CurveKeyPair,
        to router: ZMQSocket,
        context: ZMQContext
    ) async throws -> ZMQSocket {
        try await ZMQSocket.open(
            .dealer,
            context: context,
            connect: router.endpoint,
            options: clientOptions(keys, pinning: server)
        )
    }
}
