import Foundation
import SambatCore
import SambatSync
import Testing

/// The link acts on what its connection did (libzmq's socket monitor) at once, and its timers
/// stay as the fallback.
@Suite struct TransportEventTests {
    typealias Machine = SyncMachineTests

    @Test func aBrokenConnectionTakesTheLinkDownAndTheNextHandshakeSaysHelloAtOnce() throws {
        let now = ContinuousClock.now
        var link = Machine.readyLink(at: now)
        let broken = link.handle(.transport(.disconnected), at: now)
        #expect(broken.contains(.linkChanged(up: false)))
        #expect(Machine.sentHello(broken) == nil)  // no connection to say it on
        #expect(link.phase == .awaitingWelcome)
        // Nothing is uploaded while the link is down.
        #expect(!link.handle(.tick(localHead: 5), at: now + .milliseconds(50)).contains { $0.isRead })

        let back = link.handle(.transport(.connected), at: now + .seconds(1))
        let hello = try #require(Machine.sentHello(back))
        #expect(!back.contains(.reconnect))  // libzmq reconnected the same socket
        _ = link.handle(.received(Machine.welcome(session: hello.session)), at: now + .seconds(1))
        #expect(link.phase == .ready)
    }

    @Test func theFirstHandshakeOfAFreshSocketDoesNotRepeatTheHelloQueuedOnIt() {
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central)
        #expect(Machine.sentHello(link.handle(.connect(localHead: 0, checkpoint: 0), at: now)) != nil)
        #expect(Machine.sentHello(link.handle(.transport(.connected), at: now)) == nil)
    }

    @Test func aHelloThatCouldNotBeSentIsSaidAgainWhenCentralIsReachable() {
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central)
        let first = Machine.sentHello(link.handle(.connect(localHead: 0, checkpoint: 0), at: now))
        _ = link.handle(.transport(.helloNotSent), at: now + .seconds(5))
        let again = Machine.sentHello(link.handle(.transport(.connected), at: now + .seconds(6)))
        #expect(again != nil)
        #expect(again?.session != first?.session)
    }

    @Test func aRefusedKeyReopensSoonWithAGrowingWaitAndSaysWhy() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central, settings: settings)
        _ = link.handle(.connect(localHead: 0, checkpoint: 0), at: now)
        let refused = link.handle(.transport(.handshakeFailed(keyRefused: true)), at: now)
        #expect(
            refused.contains { if case .log(.warning, let text) = $0 { text.contains("not enrolled") } else { false } }
        )
        #expect(link.centralRefusal == .notEnrolled)
        let early = now + settings.reconnectInitial - .milliseconds(1)
        #expect(!link.handle(.tick(localHead: 0), at: early).contains(.reconnect))
        let reopened = link.handle(.tick(localHead: 0), at: now + settings.reconnectInitial)
        #expect(reopened.contains(.reconnect))
        #expect(Machine.sentHello(reopened) != nil)

        // Refused again: twice the wait, and the warning is not repeated.
        let second = now + settings.reconnectInitial
        let again = link.handle(.transport(.handshakeFailed(keyRefused: true)), at: second)
        #expect(!again.contains { if case .log(.warning, _) = $0 { true } else { false } })
        #expect(!link.handle(.tick(localHead: 0), at: second + settings.reconnectInitial).contains(.reconnect))
        #expect(link.handle(.tick(localHead: 0), at: second + settings.reconnectInitial * 2).contains(.reconnect))
    }

    @Test func aHelloALiveConnectionDidNotTakeOpensANewConnectionSoon() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central, settings: settings)
        _ = link.handle(.connect(localHead: 0, checkpoint: 0), at: now)
        _ = link.handle(.transport(.connected), at: now)
        // The handshake is done, yet the HELLO was withdrawn: no later handshake will say it.
        _ = link.handle(.transport(.helloNotSent), at: now + .milliseconds(100))
        let later = now + .milliseconds(100) + settings.reconnectInitial
        let reopened = link.handle(.tick(localHead: 0), at: later)
        #expect(reopened.contains(.reconnect))
        #expect(Machine.sentHello(reopened) != nil)
    }

    @Test func aFreshSocketsWithdrawnHelloWaitsForItsHandshake() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central, settings: settings)
        _ = link.handle(.connect(localHead: 0, checkpoint: 0), at: now)
        _ = link.handle(.transport(.connected), at: now)
        // The link times out on this connection and asks for a fresh socket.
        let fresh = link.handle(.tick(localHead: 0), at: now + settings.linkTimeout)
        #expect(fresh.contains(.reconnect))
        // Its HELLO finds no connection yet (a slow handshake): no reopen, the handshake says it.
        let later = now + settings.linkTimeout + .milliseconds(100)
        _ = link.handle(.transport(.helloNotSent), at: later)
        #expect(!link.handle(.tick(localHead: 0), at: later + settings.reconnectInitial).contains(.reconnect))
        #expect(Machine.sentHello(link.handle(.transport(.connected), at: later + .seconds(2))) != nil)
    }

    @Test func failuresBeforeTheReopenDoNotLengthenTheNextWait() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central, settings: settings)
        _ = link.handle(.connect(localHead: 0, checkpoint: 0), at: now)
        // libzmq retries a handshake that broke off by itself: several failures, one reopen.
        for step in 0..<5 {
            _ = link.handle(.transport(.handshakeFailed(keyRefused: false)), at: now + .milliseconds(step * 10))
        }
        let first = now + settings.reconnectInitial
        #expect(link.handle(.tick(localHead: 0), at: first).contains(.reconnect))
        _ = link.handle(.transport(.handshakeFailed(keyRefused: false)), at: first)
        #expect(!link.handle(.tick(localHead: 0), at: first + settings.reconnectInitial).contains(.reconnect))
        #expect(link.handle(.tick(localHead: 0), at: first + settings.reconnectInitial * 2).contains(.reconnect))
    }

    @Test func handshakesCentralDidNotRefuseAreRetriedWithinTheReconnectMaximum() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = NodeLink(origin: Machine.origin, central: Machine.central, settings: settings)
        _ = link.handle(.connect(localHead: 0, checkpoint: 0), at: now)
        // Refused keys: the wait doubles past the reconnect maximum (1 s, 2 s, 4 s).
        var time = now
        for wait in [settings.reconnectInitial, settings.reconnectInitial * 2, settings.reconnectInitial * 4] {
            _ = link.handle(.transport(.handshakeFailed(keyRefused: true)), at: time)
            #expect(!link.handle(.tick(localHead: 0), at: time + wait - .milliseconds(1)).contains(.reconnect))
            #expect(link.handle(.tick(localHead: 0), at: time + wait).contains(.reconnect))
            time = time + wait
        }
        // Then handshakes that break off or garble, one after another (a flaky network): each
        // new connection comes within the reconnect maximum, however long the run.
        for _ in 0..<6 {
            _ = link.handle(.transport(.handshakeFailed(keyRefused: false)), at: time)
            #expect(link.handle(.tick(localHead: 0), at: time + settings.reconnectMaximum).contains(.reconnect))
            time = time + settings.reconnectMaximum
        }
        // A withdrawn HELLO on a live connection likewise.
        _ = link.handle(.transport(.connected), at: time)
        _ = link.handle(.transport(.helloNotSent), at: time)
        #expect(link.handle(.tick(localHead: 0), at: time + settings.reconnectMaximum).contains(.reconnect))
    }

    @Test func withoutTransportEventsTheLinkTimeoutStillReconnects() {
        let settings = SyncSettings()
        let now = ContinuousClock.now
        var link = Machine.readyLink(at: now)
        let silent = link.handle(.tick(localHead: 0), at: now + settings.linkTimeout)
        #expect(silent.contains(.reconnect))
        #expect(Machine.sentHello(silent) != nil)
    }
}
