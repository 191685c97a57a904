import Synchronization

/// Wakes in-process listeners when a local op commits.
///
/// Owned by the ``Store``; the node's sync link listens, so an op a clerk writes in the
/// console is uploaded at once while the link reads the store only a few times a second when
/// quiet. (An op written by another process, such as the office CLI, changes the store's
/// files; see ``StoreFileStamp``.)
/// A signal carries nothing: a listener reads what it needs from the store. Signals that
/// come while a listener is busy are merged into one.
final class LocalWriteSignal: Sendable {
    private let listeners = Mutex<(next: Int, continuations: [Int: AsyncStream<Void>.Continuation])>((0, [:]))

    /// A stream that yields after each local commit from now on, until the listener stops
    /// iterating it.
    func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = listeners.withLock { state in
            defer { state.next += 1 }
            state.continuations[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    /// Tells every listener that a local op committed.
    func signal() {
        // Yielded outside the lock: a listener may end (and unregister) at any moment.
        let continuations = listeners.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield() }
    }
}
