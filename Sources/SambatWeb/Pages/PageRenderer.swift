import Foundation
import HTTPTypes
public import Hummingbird
import Mustache

/// Renders the consoles' pages: Mustache templates compiled into the binary, each page's
/// content inside one layout, with the node's own stylesheet (no CDN: the pages work with
/// no internet).
///
/// Built once per process (``shared``) and used by every request (it is immutable).
/// Every `{{value}}` is HTML-escaped, so a complaint's text renders as text whatever it
/// holds; only the layout's `{{{content}}}`, which is the already-escaped page, is not.
public struct PageRenderer: Sendable {
    private let library: MustacheLibrary

    /// The templates compiled once, shared by every console of the process.
    public static let shared = PageRenderer()

    /// Compiles the templates.
    public init() {
        var library = MustacheLibrary()
        for (name, text) in PageTemplates.all {
            do {
                try library.register(text, named: name)
            } catch {
                // The templates are constants of this binary; a bad one is a programming error.
                preconditionFailure("template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    /// A complete HTML page: `template` rendered with `content`, inside the layout.
    ///
    /// - Parameters:
    ///   - template: the page's template name.
    ///   - content: the page's values (dictionaries and arrays of them).
    ///   - chrome: the layout's values (title, node, account, navigation).
    ///   - status: the HTTP status.
    /// - Returns: the response, `text/html`, never cached.
    public func page(
        _ template: String,
        _ content: [String: Any],
        chrome: PageChrome,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        Self.html(render(template, content, chrome: chrome), status: status)
    }

    /// The HTML of `template` rendered with `content`, inside the layout.
    func render(_ template: String, _ content: [String: Any], chrome: PageChrome) -> String {
        let body = library.render(content, withTemplate: template) ?? ""
        var layout = chrome.values
        layout["content"] = body
        return library.render(layout, withTemplate: "layout") ?? body
    }

    /// An HTML response that no cache keeps and no frame embeds.
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.named("X-Frame-Options")] = "DENY"
        headers[.named("X-Content-Type-Options")] = "nosniff"
        headers[.named("Content-Security-Policy")] =
            "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The stylesheet, served at `/aset/sambat.css`.
    static func stylesheet() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: PageTemplates.css)))
    }
}

/// What the layout around every page shows: the title, the node, who is signed in and the
/// navigation.
public struct PageChrome: Sendable {
    /// The page's title (Bahasa).
    public var title: String
    /// The node serving the page, such as "mayor — Pemkot Mojokerto".
    public var node: String
    /// The signed-in staff member's name, if any.
    public var displayName: String?
    /// The session's anti-forgery token, for the sign-out form.
    public var csrfToken: String?
    /// The navigation links: label and address.
    public var links: [(label: String, href: String)] = []
    /// When the page was made, in WIB.
    public var generatedAt: String

    var values: [String: Any] {
        var values: [String: Any] = ["title": title, "node": node, "generatedAt": generatedAt]
        if let displayName, let csrfToken {
            values["account"] = [
                "displayName": displayName,
                "csrf": csrfToken,
                "links": links.map { ["label": $0.label, "href": $0.href] },
            ]
        }
        return values
    }
}

extension HTTPField.Name {
    /// A header name known to be valid.
    static func named(_ text: String) -> HTTPField.Name {
        guard let name = HTTPField.Name(text) else { preconditionFailure("\(text) is not a valid header name") }
        return name
    }
}
