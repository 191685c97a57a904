import Crypto
import SambatCore

/// Checks the `X-Hub-Signature-256` header Meta puts on every webhook POST: an HMAC-SHA256 of
/// the raw body bytes keyed with the app secret.
///
/// Checked before anything is parsed, over the bytes exactly as received (never a
/// re-serialised body), and compared in constant time. Pure; safe from any task.
public struct WhatsAppSignature: Sendable {
    // The secret's bytes, not a SymmetricKey, which is not Sendable.
    private let secret: [UInt8]

    /// A checker for `appSecret` (the app secret, not the verify token).
    public init(appSecret: [UInt8]) {
        secret = appSecret
    }

    private var key: SymmetricKey { SymmetricKey(data: secret) }

    /// The header value Meta would send for `body`: `sha256=` and 64 lowercase hex digits.
    public func header(for body: [UInt8]) -> String {
        "sha256=" + Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: body, using: key)))
    }

    /// Whether `header` is the signature of `body`; a missing or malformed header is not.
    public func isValid(header: String?, body: [UInt8]) -> Bool {
        guard let header, header.hasPrefix("sha256="), let mac = Hex.decode(String(header.dropFirst(7))),
            mac.count == 32
        else { return false }
        // swift-crypto compares the codes in constant time.
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: key)
    }
}

/// The GET handshake Meta makes when the webhook is subscribed:
/// `hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`.
public enum WhatsAppSubscription {
    /// The challenge to echo (status 200) when the mode is `subscribe` and the token matches;
    /// `nil` (status 403) otherwise.
    public static func answer(mode: String?, token: String?, challenge: String?, verifyToken: String) -> String? {
        guard mode == "subscribe", let token, let challenge, !verifyToken.isEmpty,
            constantTimeEqual(Array(token.utf8), Array(verifyToken.utf8))
        else { return nil }
        return challenge
    }

    /// Byte equality whose time depends only on the lengths.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
