/// Splits a reply into the SMS parts the gateway sends: one part when it fits, otherwise
/// parts with a concatenation header (UDH) that phones join again.
///
/// GSM 03.38 texts take 160 characters in one part and 153 per part of a long message (escape
/// characters such as `€` or `[` count twice); anything else goes as UCS-2: 70 UTF-16 units,
/// 67 per part. Parts are never split inside an escape pair or a surrogate pair. Pure.
public struct SMSSegments: Hashable, Sendable {
    /// How the parts are encoded; the names are Gammu's `Coding` values.
    public enum Coding: String, Hashable, Sendable {
        /// GSM 7-bit default alphabet.
        case gsm = "Default_No_Compression"
        /// UCS-2 (UTF-16).
        case unicode = "Unicode_No_Compression"
    }

    /// The coding of every part.
    public let coding: Coding
    /// The parts' texts, in order.
    public let parts: [String]

    /// The most parts Sambat sends for one message; longer texts are cut with "…".
    public static let maximumParts = 6

    static let basic: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{0C}")

    /// The parts for `text`.
    public init(_ text: String) {
        let characters = Array(text)
        let isGSM = characters.allSatisfy { Self.basic.contains($0) || Self.extended.contains($0) }
        coding = isGSM ? .gsm : .unicode
        func cost(_ character: Character) -> Int {
            isGSM ? (Self.extended.contains(character) ? 2 : 1) : character.utf16.count
        }
        let single = isGSM ? 160 : 70
        let perPart = isGSM ? 153 : 67
        let total = characters.reduce(0) { $0 + cost($1) }
        guard total > single else {
            parts = [text]
            return
        }
        var parts: [String] = []
        var current = ""
        var used = 0
        for character in characters {
            let size = cost(character)
            if used + size > perPart {
                parts.append(current)
                current = ""
                used = 0
            }
            current.append(character)
            used += size
        }
        if !current.isEmpty { parts.append(current) }
        if parts.count > Self.maximumParts {
            parts = Array(parts.prefix(Self.maximumParts))
            var last = Array(parts[Self.maximumParts - 1])
            // "…" is not GSM: in a GSM message the cut is marked with "...".
            let marker: [Character] = isGSM ? [".", ".", "."] : ["…"]
            while !last.isEmpty, last.reduce(0, { $0 + cost($1) }) + marker.reduce(0, { $0 + cost($1) }) > perPart {
                last.removeLast()
            }
            parts[Self.maximumParts - 1] = String(last + marker)
        }
        self.parts = parts
    }

    /// The concatenation header of part `position` (1-based) of `count` under reference
    /// `reference`, as Gammu stores it: hex of `05 00 03 ref count position`.
    public static func header(reference: UInt8, count: Int, position: Int) -> String {
        let bytes: [UInt8] = [0x05, 0x00, 0x03, reference, UInt8(clamping: count), UInt8(clamping: position)]
        return bytes.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}
