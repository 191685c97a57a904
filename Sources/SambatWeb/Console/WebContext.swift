public import Hummingbird
public import NIOCore
public import SambatDesk

/// The request context of every route on a node's HTTP server: Hummingbird's core context,
/// the address the request came from, and the staff session once ``SessionMiddleware`` found
/// one.
///
/// Created by Hummingbird for each request; owned by that request.
public struct WebContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (a reverse proxy's, where one is in front).
    public let remoteAddress: SocketAddress?
    /// The signed-in staff member, if any.
    public var session: StaffSession?
    /// The browser's session token, when it carried one that is valid.
    public var sessionToken: String?

    /// A context for a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
