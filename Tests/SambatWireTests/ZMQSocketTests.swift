import SambatWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real libzmq sockets on loopback and inproc, each owned by its own thread.
@Suite(.timeLimit(.minutes(1))) struct ZMQSocketTests {
    @Test func dealerAndRouterExchangeMultipartMessagesOverTCP() async throws {
        let context = try ZMQContext()
        let router = try await ZMQSocket.open(.router, context: context, bind: "tcp://127.0.0.1:*")
        #expect(router.endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!router.endpoint.hasSuffix(":*"))
        let dealer = try await ZMQSocket.open(.dealer, context: context, connect: router.endpoint)

        try await dealer.send([Array("HELLO".utf8), [0, 1, 2, 255]])
        var routerInbox = router.messages.makeAsyncIterator()
        let received = try #require(await routerInbox.next()).frames
        #expect(received.count == 3)  // routing id, then the two frames
        #expect(received[1] == Array("HELLO".utf8))
        #expect(received[2] == [0, 1, 2, 255])

        try await router.send([received[0], Array("WELCOME".utf8), []])
        var dealerInbox = dealer.messages.makeAsyncIterator()
        #expect(await dealerInbox.next()?.frames == [Array("WELCOME".utf8), []])

        await dealer.close()
        await router.close()
        await context.terminate()
    }

    @Test func manyMessagesArriveInOrder() async throws {
        let context = try ZMQContext()
        let router = try await ZMQSocket.open(.router, context: context, bind: "inproc://order")
        let dealer = try await ZMQSocket.open(.dealer, context: context, connect: "inproc://order")
        let count = 2_000
        for index in 0..<count {
            try await dealer.send([withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }])
        }
        var seen = 0
        for await message in router.messages {
            let value = message.frames[1].reduce(0) { $0 << 8 | Int($1) }
            #expect(value == seen)
            seen += 1
            if seen == count { break }
        }
        #expect(seen == count)
        await dealer.close()
        await router.close()
        await context.terminate()
    }

    @Test func aRouterSendToAnUnknownPeerFailsInsteadOfVanishing() async throws {
        let context = try ZMQContext()
        let router = try await ZMQSocket.open(.router, context: context, bind: "tcp://127.0.0.1:*")
        await #expect {
            try await router.send([Array("nobody".utf8), Array("ping".utf8)])
        } throws: { error in
            (error as? ZMQError)?.errno == EHOSTUNREACH
        }
        await router.close()
        await context.terminate()
    }

    @Test func closeFinishesTheStreamAndLaterSendsFailClosed() async throws {
        let context = try ZMQContext()
        let dealer = try await ZMQSocket.open(.dealer, context: context, connect: "tcp://127.0.0.1:9")
        await dealer.close()
        await dealer.close()  // idempotent
        var inbox = dealer.messages.makeAsyncIterator()
        #expect(await inbox.next() == nil)
        await #expect { try await dealer.send([[1]]) } throws: { ($0 as? ZMQError)?.code == .closed }
        await context.terminate()
    }

    @Test func aBadEndpointIsRefusedAtOpen() async throws {
        let context = try ZMQContext()
        await #expect { try await ZMQSocket.open(.router, context: context, bind: "tcp://nonsense") } throws: {
            ($0 as? ZMQError)?.operation == "zmq_bind"
        }
        await context.terminate()
    }
}
