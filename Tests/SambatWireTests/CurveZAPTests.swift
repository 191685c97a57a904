import Testing

@testable import SambatWire

/// CURVE on real loopback sockets with central's ZAP handler deciding who may speak.
@Suite(.timeLimit(.minutes(1))) struct CurveZAPTests {
    @Test func onlyEnrolledKeysGetThroughAndEveryMessageCarriesItsNode() async throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let officeKeys = try CurveKeyPair.generate()
        let strangerKeys = try CurveKeyPair.generate()
        let enrolled = [officeKeys.publicKey: "dpupr"]
        let zap = try await ZAPHandler.open(context: context) { enrolled[$0] }
        async let serving: Void = zap.run()

        var serverOptions = ZMQSocket.Options()
        serverOptions.curve = .server(serverKeys)
        let router = try await ZMQSocket.open(
            .router,
            context: context,
            bind: "tcp://127.0.0.1:*",
            options: serverOptions
        )

        func client(_ keys: CurveKeyPair, pinning serverKey: String) async throws -> ZMQSocket {
            var options = ZMQSocket.Options()
            options.curve = .client(keys, serverPublicKey: serverKey)
            return try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint, options: options)
        }
        // An unenrolled key, a plain (non-CURVE) client, and a client pinning the wrong server key.
        let stranger = try await client(strangerKeys, pinning: serverKeys.publicKey)
        let plain = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint)
        let misconfigured = try await client(officeKeys, pinning: strangerKeys.publicKey)
        // Their sends may wait forever for a handshake that never succeeds: give each a moment,
        // then cancel it (a cancelled send is withdrawn, never sent later).
        for (socket, text) in [(stranger, "stranger"), (plain, "plain"), (misconfigured, "misconfigured")] {
            await Self.sendBriefly(socket, [Array(text.utf8)])
        }
        try await Task.sleep(nanoseconds: 300_000_000)

        let office = try await client(officeKeys, pinning: serverKeys.publicKey)
        try await office.send([Array("HELLO dpupr".utf8)])
        var inbox = router.messages.makeAsyncIterator()
        let first = try #require(await inbox.next())
        #expect(first.frames.last == Array("HELLO dpupr".utf8))
        #expect(first.userID == "dpupr")

        // The reply reaches the office over the encrypted link.
        try await router.send([first.frames[0], Array("WELCOME".utf8)])
        var officeInbox = office.messages.makeAsyncIterator()
        #expect(await officeInbox.next()?.frames == [Array("WELCOME".utf8)])

        // A second message from the office is next: nothing from the others ever arrived.
        try await office.send([Array("again".utf8)])
        let second = try #require(await inbox.next())
        #expect(second.frames.last == Array("again".utf8))
        #expect(second.userID == "dpupr")

        for socket in [stranger, plain, misconfigured, office, router] { await socket.close() }
        await zap.close()
        await serving
        await context.terminate()
    }

    /// Sends, but gives up (cancelling the send) after 300 ms.
    static func sendBriefly(_ socket: ZMQSocket, _ frames: [[UInt8]]) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await socket.send(frames) }
            group.addTask { try? await Task.sleep(nanoseconds: 300_000_000) }
            await group.next()
            group.cancelAll()
        }
    }

    @Test func aCancelledSendIsWithdrawn() async throws {
        let context = try ZMQContext()
        // A DEALER whose only peer never completes the CURVE handshake cannot hand messages on.
        let serverKeys = try CurveKeyPair.generate()
        var options = ZMQSocket.Options()
        options.curve = .server(serverKeys)
        let zap = try await ZAPHandler.open(context: context) { _ in nil }
        async let serving: Void = zap.run()
        let router = try await ZMQSocket.open(.router, context: context, bind: "tcp://127.0.0.1:*", options: options)
        let plain = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint)
        try await Task.sleep(nanoseconds: 200_000_000)
        let outcome = await withTaskGroup(of: ZMQError?.self) { group -> ZMQError? in
            group.addTask {
                do {
                    for _ in 0..<100_000 { try await plain.send([Array(repeating: 1, count: 1_000)]) }
                    return nil
                } catch {
                    return error as? ZMQError
                }
            }
            try? await Task.sleep(nanoseconds: 500_000_000)
            group.cancelAll()
            return await group.next() ?? nil
        }
        #expect(outcome?.code == .cancelled)
        for socket in [plain, router] { await socket.close() }
        await zap.close()
        await serving
        await context.terminate()
    }

    @Test func theZAPReplyRefusesAnythingButAnEnrolledCurveKey() async throws {
        let key = Array(repeating: UInt8(7), count: 32)
        let request: (String, [UInt8]) -> [[UInt8]] = { mechanism, credential in
            [
                [1, 2], [], Array("1.0".utf8), Array("42".utf8), Array("sambat".utf8), Array("127.0.0.1".utf8), [],
                Array(mechanism.utf8), credential,
            ]
        }
        let enrolledKey = try #require(ZAPHandler.z85(key))
        let allow: ZAPHandler.Authorize = { $0 == enrolledKey ? "dlh" : nil }
        let ok = try #require(await ZAPHandler.reply(to: request("CURVE", key), authorize: allow))
        #expect(ok[4] == Array("200".utf8))
        #expect(ok[6] == Array("dlh".utf8))
        #expect(ok[3] == Array("42".utf8))
        let other = try #require(
            await ZAPHandler.reply(to: request("CURVE", Array(repeating: 9, count: 32)), authorize: allow)
        )
        #expect(other[4] == Array("400".utf8))
        let plain = try #require(await ZAPHandler.reply(to: request("PLAIN", key), authorize: allow))
        #expect(plain[4] == Array("400".utf8))
        #expect(await ZAPHandler.reply(to: [[1], [], Array("2.0".utf8)], authorize: allow) == nil)
    }
}
