/// Where a node's HTTP server listens and how much it accepts.
///
/// Read from the node config's `http:` section by SambatNode; the server runs only where a
/// port is configured.
public struct WebConfiguration: Hashable, Sendable {
    /// The address to bind (`http.bind`, default `127.0.0.1`: put a reverse proxy in front).
    public var bindAddress: String
    /// The port (`http.port`); 0 picks a free one (tests).
    public var port: Int
    /// The largest request body accepted, in bytes (`http.body_limit`, default 3 MiB: Meta's
    /// webhook bodies stay under it).
    public var bodyLimit: Int
    /// Mark the consoles' cookies `Secure` (`http.secure_cookies`, default false): set it when
    /// browsers reach the node over HTTPS through a reverse proxy.
    public var secureCookies: Bool

    /// A configuration; defaults as above.
    public init(bindAddress: String = "127.0.0.1", port: Int, bodyLimit: Int = 3 << 20, secureCookies: Bool = false) {
        self.bindAddress = bindAddress
        self.port = port
        self.bodyLimit = bodyLimit
        self.secureCookies = secureCookies
    }
}

/// The WhatsApp Cloud API webhook's secrets (`whatsapp.*`, from files or the environment).
public struct WhatsAppWebhookConfiguration: Hashable, Sendable {
    /// The token Meta echoes in the subscribe handshake (`whatsapp.verify_token`).
    public var verifyToken: String
    /// The app secret that keys `X-Hub-Signature-256` (`whatsapp.app_secret_file`).
    public var appSecret: [UInt8]

    /// The webhook's secrets.
    public init(verifyToken: String, appSecret: [UInt8]) {
        self.verifyToken = verifyToken
        self.appSecret = appSecret
    }
}
