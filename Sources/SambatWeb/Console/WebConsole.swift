import Foundation
import Hummingbird
import Logging
public import SambatCore
public import SambatDesk
import SambatStore
import Synchronization

/// What a node's web console needs: the use-case layer, the accounts, who the node is, and
/// how its cookies are set.
///
/// Built by SambatNode for the mayor's node (the dashboard) and for an office (its console);
/// shared by every request.
public struct WebConsoleConfiguration: Sendable {
    /// How this node's own changes stand with central, for an office's console.
    public struct SyncState: Sendable, Hashable {
        /// Whether the link to central is up.
        public var linkUp: Bool
        /// This node's origin and the highest of its seqs central has acknowledged.
        public var origin: Origin?
        public var centralFrontier: UInt64
        /// This node's changes central has not acknowledged yet.
        public var unsent: UInt64

        /// The state as the sync service reports it.
        public init(linkUp: Bool, origin: Origin?, centralFrontier: UInt64, unsent: UInt64) {
            self.linkUp = linkUp
            self.origin = origin
            self.centralFrontier = centralFrontier
            self.unsent = unsent
        }
    }

    /// The cases of this node's store.
    public var book: CaseBook
    /// This node's staff accounts.
    public var accounts: StaffAccounts
    /// This node's id.
    public var node: NodeID
    /// Set `Secure` on cookies (`http.secure_cookies`): on when browsers reach the node over
    /// HTTPS (through a reverse proxy); off for plain HTTP on a trusted network.
    public var secureCookies: Bool
    /// The time now (tests pass a fixed clock).
    public var now: @Sendable () -> Timestamp
    /// Staff actions, for a console that writes (an office's); `nil` for the read-only dashboard.
    public var actions: CaseActions?
    /// Where this node's changes stand with central; `nil` where the console does not show it.
    public var syncState: (@Sendable () async -> SyncState)?

    /// A console over `book` and `accounts`.
    public init(
        book: CaseBook,
        accounts: StaffAccounts,
        node: NodeID,
        secureCookies: Bool = false,
        now: @escaping @Sendable () -> Timestamp,
        actions: CaseActions? = nil,
        syncState: (@Sendable () async -> SyncState)? = nil
    ) {
        self.book = book
        self.accounts = accounts
        self.node = node
        self.secureCookies = secureCookies
        self.now = now
        self.actions = actions
        self.syncState = syncState
    }
}

/// Sign-in, sign-out, sessions and anti-forgery tokens, shared by every console.
///
/// Owned by the router it is added to. A page route wraps its handler in ``signedIn(_:)``,
/// and a form post in ``signedInPost(_:_:)``, which checks the session's anti-forgery token
/// before the handler runs.
struct WebConsole: Sendable {
    /// The session cookie's name: one per node, since browsers keep cookies per host, not
    /// per port, and several consoles may share a host (the demo's do).
    var sessionCookie: String { "sambat_sesi_" + configuration.node.rawValue }
    /// The sign-in form's anti-forgery cookie.
    var signInCookie: String { "sambat_masuk_" + configuration.node.rawValue }
    static let formLimit = 16 * 1024

    let configuration: WebConsoleConfiguration
    /// The templates, compiled once per process: they are constants of the binary.
    let renderer = PageRenderer.shared
    let logger: Logger
    let throttle = ThrottleBox()
    /// The navigation links every page of this console shows.
    let links: [(label: String, href: String)]
    /// The node as the layout names it.
    let nodeLabel: String

    /// The layout's values for a page of `session`.
    func chrome(_ title: String, _ session: StaffSession?) -> PageChrome {
        PageChrome(
            title: title,
            node: nodeLabel,
            displayName: session?.account.displayName,
            csrfToken: session?.csrfToken,
            links: links,
            generatedAt: Presentation.time(configuration.now(), configuration.book.reference.calendar)
        )
    }

    /// Adds the session middleware, the stylesheet and the sign-in and sign-out routes.
    func add(to router: Router<WebContext>) {
        router.add(
            middleware: SessionMiddleware(
                accounts: configuration.accounts,
                cookie: sessionCookie,
                now: configuration.now
            )
        )
        router.get("aset/sambat.css") { _, _ in PageRenderer.stylesheet() }
        router.get("masuk") { request, context in
            if context.session != nil { return Response.redirect(to: "/") }
            return signInPage(next: Self.safeNext(request.uri.queryParameters["ke"].map(String.init)))
        }
        router.post("masuk") { request, context in
            try await signIn(request, context)
        }
        router.post("keluar") { request, context in
            guard let session = context.session, let token = context.sessionToken else {
                return Response.redirect(to: "/masuk")
            }
            let form = try await Self.form(request)
            guard Self.matches(form["_csrf"], session.csrfToken) else { return forbidden(session) }
            try? await configuration.accounts.signOut(token: token)
            logger.info("signed out", metadata: ["web.account": "\(session.account.name)"])
            var response = Response.redirect(to: "/masuk")
            response.setCookie(expired(sessionCookie))
            return response
        }
    }

    /// The sign-in form, with a fresh anti-forgery token in a cookie of its own (there is no
    /// session yet to hold one).
    func signInPage(
        next: String,
        name: String = "",
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    )
        -> Response
    {
        let token = StaffAccounts.newToken()
        var content: [String: Any] = ["csrf": token, "next": next, "name": name]
        if let error { content["error"] = error }
        var response = renderer.page("signIn", content, chrome: chrome("Masuk", nil), status: status)
        response.setCookie(cookie(signInCookie, token, maxAge: 3_600))
        return response
    }

    private func signIn(_ request: Request, _ context: WebContext) async throws -> Response {
        let form = try await Self.form(request)
        let next = Self.safeNext(form["ke"])
        let name = String((form["name"] ?? "").prefix(64))
        guard let expected = request.cookies[signInCookie]?.value, Self.matches(form["_csrf"], expected) else {
            logger.notice("sign-in refused", metadata: ["web.reason": "anti-forgery token"])
            return signInPage(
                next: next,
                name: name,
                error: "Formulir kedaluwarsa atau tidak sah; silakan masuk lagi.",
                status: .forbidden
            )
        }
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        let clock = ContinuousClock.now
        let accountLock = throttle.accounts.withLock { $0.lockedUntil([name], at: clock) }
        let addressLock = throttle.addresses.withLock { $0.lockedUntil([address], at: clock) }
        if let until = [accountLock, addressLock].compactMap({ $0 }).max() {
            let minutes = max(1, Int(((until - clock) / .seconds(60)).rounded(.up)))
            logger.notice("sign-in refused", metadata: ["web.reason": "too many failures"])
            return signInPage(
                next: next,
                name: name,
                error: "Terlalu banyak percobaan gagal. Coba lagi dalam \(minutes) menit.",
                status: .tooManyRequests
            )
        }
        do {
            let (token, session) = try await configuration.accounts.signIn(
                name: name,
                password: form["password"] ?? "",
                at: configuration.now()
            )
            throttle.accounts.withLock { $0.clear(name) }
            logger.info("signed in", metadata: ["web.account": "\(session.account.name)"])
            var response = Response.redirect(to: next)
            response.setCookie(cookie(sessionCookie, token, maxAge: nil))
            response.setCookie(expired(signInCookie))
            return response
        } catch  where error.code == .signInRefused {
            throttle.accounts.withLock { $0.recordFailure([name], at: clock) }
            throttle.addresses.withLock { $0.recordFailure([address], at: clock) }
            logger.notice("sign-in refused", metadata: ["web.reason": "wrong name or password"])
            return signInPage(next: next, name: name, error: Presentation.render(error), status: .unauthorized)
        } catch {
            logger.error("sign-in failed", metadata: ["error": "\(error)"])
            return signInPage(
                next: next,
                name: name,
                error: "Node tidak dapat membaca datanya; coba lagi sebentar lagi.",
                status: .serviceUnavailable
            )
        }
    }

    /// Runs `handler` for a signed-in staff member; anyone else is sent to sign in (a page)
    /// or told 401 (`/api/…`).
    func signedIn(
        _ handler: @escaping @Sendable (Request, WebContext, StaffSession) async throws -> Response
    ) -> @Sendable (Request, WebContext) async throws -> Response {
        { request, context in
            guard let session = context.session else {
                if request.uri.path.hasPrefix("/api/") {
                    return try JSONAnswer.error(.unauthorized, "sign in first: POST /masuk, then send the cookie")
                }
                let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"
                return Response.redirect(to: "/masuk?ke=" + encoded)
            }
            return try await handler(request, context, session)
        }
    }

    /// The "not allowed" page: a form without this session's anti-forgery token.
    func forbidden(_ session: StaffSession) -> Response {
        logger.notice(
            "form refused",
            metadata: ["web.reason": "anti-forgery token", "web.account": "\(session.account.name)"]
        )
        return renderer.page(
            "message",
            [
                "text":
                    "Formulir ini tidak sah atau sudah kedaluwarsa; tidak ada yang diubah. Muat ulang halaman lalu coba lagi.",
                "back": "/",
            ],
            chrome: chrome("Ditolak", session),
            status: .forbidden
        )
    }

    /// A message page (not found, bad input).
    func message(
        _ title: String,
        _ text: String,
        session: StaffSession?,
        status: HTTPResponse.Status
    ) -> Response {
        renderer.page("message", ["text": text, "back": "/"], chrome: chrome(title, session), status: status)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int?) -> Cookie {
        Cookie(
            name: name,
            value: value,
            maxAge: maxAge,
            path: "/",
            secure: configuration.secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

    private func expired(_ name: String) -> Cookie {
        Cookie(
            name: name,
            value: "",
            maxAge: 0,
            path: "/",
            secure: configuration.secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

    /// A form post's fields; at most 16 KiB, `application/x-www-form-urlencoded`.
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: formLimit)
        } catch {
            throw HTTPError(.contentTooLarge, message: "Formulir terlalu besar.")
        }
        return fields(in: String(buffer: buffer))
    }

    /// The fields of an `application/x-www-form-urlencoded` body; a field named twice keeps
    /// its last value, a field that does not decode is skipped.
    static func fields(in body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(parts[0]) else { continue }
            fields[key] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Where to go after signing in: a path on this node, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count <= 512 else {
            return "/"
        }
        return next
    }

    /// Compares two tokens in time that does not depend on where they differ.
    static func matches(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        let lhs = Array(given.utf8)
        let rhs = Array(expected.utf8)
        guard lhs.count == rhs.count, !rhs.isEmpty else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}

/// Finds the staff session a request's cookie belongs to and puts it in the context.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let accounts: StaffAccounts
    /// The session cookie's name.
    let cookie: String
    let now: @Sendable () -> Timestamp

    func handle(
        _ request: Request,
        context: WebContext,
        next: (Request, WebContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let token = request.cookies[cookie]?.value,
            let session = try? await accounts.session(token: token, at: now())
        {
            context.session = session
            context.sessionToken = token
        }
        return try await next(request, context)
    }
}

/// The sign-in throttles, shared by every copy of the console's routes: five failures lock an
/// account name, thirty an address (a reverse proxy puts many people behind one address, and
/// one person's typos must not lock them all out).
final class ThrottleBox: Sendable {
    let accounts = Mutex(SignInThrottle(limit: 5))
    let addresses = Mutex(SignInThrottle(limit: 30))
}
