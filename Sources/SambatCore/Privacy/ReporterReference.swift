import Crypto

/// The pseudonymous reporter reference that ops carry instead of an identity.
///
/// A keyed hash (HMAC-SHA-256) of the reporter's normalised phone number under central's
/// secret: stable per reporter, so repeat reporters can be counted and threads joined, but
/// not reversible without the secret, which never leaves central.
public enum ReporterReference {
    /// The reference for a phone number, such as `p-3f9a0c…` (16 hex digits).
    public static func make(phone: String, secret: [UInt8]) -> String {
        let key = SymmetricKey(data: secret)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("reporter:" + normalizedPhone(phone)).utf8), using: key)
        return "p-" + Hex.encode(Array(mac.prefix(8)))
    }

    /// Digits only, in international form: `0812…` and `+62812…` both become `62812…`.
    public static func normalizedPhone(_ phone: String) -> String {
        var digits = phone.filter(\.isASCIIDigit)
        if digits.hasPrefix("0") {
            digits = "62" + digits.dropFirst()
        } else if digits.hasPrefix("8") {
            digits = "62" + digits
        }
        return digits
    }
}
