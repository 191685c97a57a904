import Foundation
import SambatSync
import SambatWire
import Testing

/// A link whose receiver stops reading for a while, as the mayor's does when its writer
/// falls behind a back-fill.
///
/// libzmq 4.3.4 aborted the chaos test's mayor on such a link (`Assertion failed: !_io_error
/// (src/stream_engine_base.cpp:331)`): with ZMTP heartbeats on, a heartbeat timer that fires
/// while a full receive pipe has stopped a connection's input leads to an assertion (libzmq
/// issues #3937 and #4364). With heartbeats this test's child aborts on the other one of the
/// two, `_input_stopped (src/stream_engine_base.cpp:417)`: the heartbeat timed out, the
/// connection was replaced, and the drain restarted input on the new one. The test runs in
/// a child process, so an abort fails the test instead of the whole run.
@Suite(.timeLimit(.minutes(1))) struct StalledLinkTests {
    @Test func aReceiverThatStopsReadingLivesOnAndStillReceives() async {
        await #expect(processExitsWith: .success) {
            try await StalledLink.run()
        }
    }
}

/// The body of the exit test: both ends with the sync services' socket options, the
/// receiver's pipe filled to its limits, a stall many heartbeat intervals long, a drain, and
/// one more message that must arrive on the same connection.
private enum StalledLink {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run() async throws {
        // A message lost with a dropped connection would leave the drain waiting for ever.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            FileHandle.standardError.write(Data("the stalled link hung\n".utf8))
            exit(3)
        }
        defer { watchdog.cancel() }
        var settings = SyncSettings()
        settings.heartbeatInterval = .milliseconds(100)
        var receiverOptions = settings.linkSocketOptions
        receiverOptions.inboundBuffer = 64
        let context = try ZMQContext()
        let sender = try await ZMQSocket.open(
            .router,
            context: context,
            bind: "tcp://127.0.0.1:*",
            options: settings.linkSocketOptions
        )
        let receiver = try await ZMQSocket.open(
            .dealer,
            context: context,
            connect: sender.endpoint,
            options: receiverOptions
        )
        try await receiver.send([Array("hello".utf8)])
        var senderInbox = sender.messages.makeAsyncIterator()
        guard let hello = await senderInbox.next(), hello.frames.count == 2 else {
            throw Failure(description: "the sender heard no hello")
        }
        let peer = hello.frames[0]

        // Fill the sender's pipe, both TCP buffers and the receiver's pipe: the receiver's
        // engine stops reading its connection.
        let payload = [UInt8](repeating: 7, count: 4_096)
        var sent = 0
        while await sender.send([peer, payload], within: .milliseconds(200)) {
            sent += 1
            guard sent < 200_000 else { throw Failure(description: "the receiver never pushed back") }
        }

        // Many heartbeat intervals with the receiver's input stopped.
        try await Task.sleep(for: .seconds(2))

        var inbox = receiver.messages.makeAsyncIterator()
        var received = 0
        while received < sent {
            guard await inbox.next() != nil else { throw Failure(description: "the receiver closed") }
            received += 1
        }
        guard await sender.send([peer, Array("after".utf8)], within: .seconds(5)) else {
            throw Failure(description: "the connection the stall was on is gone")
        }
        guard let after = await inbox.next(), after.frames == [Array("after".utf8)] else {
            throw Failure(description: "the message after the stall did not arrive")
        }
        await receiver.close()
        await sender.close()
        await context.terminate()
    }
}
