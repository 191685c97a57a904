import ServiceLifecycle

/// Runs a service's event loop until graceful shutdown or cancellation finishes `input`, the
/// stream the loop reads; the loop then ends after the event in hand.
///
/// Used by both sync services, whose loops stop the same way.
func untilStopped<Event>(finishing input: AsyncStream<Event>.Continuation, _ loop: () async -> Void) async {
    await withGracefulShutdownHandler {
        await withTaskCancellationHandler {
            await loop()
        } onCancel: {
            input.finish()
        }
    } onGracefulShutdown: {
        input.finish()
    }
}
