public import SambatWire

extension SyncSettings {
    /// The socket options both ends of a sync link share; each service adds its CURVE role
    /// and what only its end needs.
    ///
    /// A dead peer's host is found by TCP keepalive at the heartbeat interval (rounded up to
    /// whole seconds), not by ZMTP heartbeats: with those, libzmq 4.3.4 aborts a node whose
    /// reader has stopped reading a connection (``ZMQSocket/Options/keepaliveSeconds``).
    public var linkSocketOptions: ZMQSocket.Options {
        var options = ZMQSocket.Options()
        options.maximumMessageBytes = SyncFrames.maximumBodyBytes + 65_536
        let (seconds, attoseconds) = heartbeatInterval.components
        options.keepaliveSeconds = Int32(clamping: seconds + (attoseconds > 0 ? 1 : 0))
        return options
    }
}
