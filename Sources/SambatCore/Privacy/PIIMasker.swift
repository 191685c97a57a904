/// Masks personal data in free text before it becomes part of an op: phone numbers, NIKs
/// (and any other long number) and the reporter's own name.
///
/// Central runs every citizen-typed text through this at intake, so offices and the mayor
/// only ever hold masked text. Pure and deterministic: the same text and names give the same
/// bytes on every run.
public enum PIIMasker {
    /// What replaces a phone number or other long number.
    public static let numberMask = "[nomor disamarkan]"
    /// What replaces a 16-digit NIK.
    public static let nikMask = "[NIK disamarkan]"
    /// What replaces the reporter's name.
    public static let nameMask = "[nama disamarkan]"

    /// The shortest digit run treated as personal: Indonesian mobile numbers have 10–13
    /// digits, local landlines with area code 9–11; order numbers that short are rare in
    /// complaints and masking one costs nothing.
    static let minimumPersonalDigits = 9

    /// `text` with long numbers, the given names and the names written into it masked.
    ///
    /// `names` are the names to mask (the reporter's full name once known); the names the
    /// text itself gives ("nama saya …", "Pelapor: …", a name signed next to a NIK or phone
    /// number) are found and masked too. Each word of three letters or more of a name is also
    /// masked on its own, wherever it appears, because reporters often sign with a first name
    /// only.
    ///
    /// - Returns: the masked text.
    public static func mask(_ text: String, names: [String] = []) -> String {
        let numbersMasked = maskNumbers(in: text)
        return maskNames(in: numbersMasked, names: names + WrittenNames.find(in: numbersMasked))
    }

    /// The names a text gives for its writer ("nama saya Budi", "Pelapor: Sri Wahyuni", a
    /// name signed next to a NIK or phone number), as written.
    ///
    /// Intake uses it to learn a reporter's name from their first message.
    public static func writtenNames(in text: String) -> [String] {
        WrittenNames.find(in: maskNumbers(in: text))
    }

    /// Whether `text` still holds something that looks like a phone number or NIK.
    public static func containsLongNumber(_ text: String) -> Bool {
        maskNumbers(in: text) != text
    }

    static func maskNumbers(in text: String) -> String {
        // "%2B62…" is a URL-encoded "+62…": decode just that prefix so it is caught too.
        let characters = decodingEncodedPlus(Array(text))
        let separators: Set<Character> = ["-", ".", " ", "(", ")"]
        var output: [Character] = []
        output.reserveCapacity(characters.count)
        var index = 0
        while index < characters.count {
            // A run starts at a digit, or at "+" or "(" right before one.
            let opener =
                (characters[index] == "+" || characters[index] == "(") && index + 1 < characters.count
                && characters[index + 1].isASCIIDigit
            guard characters[index].isASCIIDigit || opener else {
                output.append(characters[index])
                index += 1
                continue
            }
            var cursor = opener ? index + 1 : index
            var digits = 0
            var runEnd = cursor
            while cursor < characters.count {
                if characters[cursor].isASCIIDigit {
                    digits += 1
                    cursor += 1
                    runEnd = cursor
                    continue
                }
                // Up to two separators between digit groups, as in "(0321) 321-456".
                var lookahead = cursor
                while lookahead < characters.count, lookahead - cursor < 2, separators.contains(characters[lookahead]) {
                    lookahead += 1
                }
                guard lookahead > cursor, lookahead < characters.count, characters[lookahead].isASCIIDigit else {
                    break
                }
                cursor = lookahead
            }
            if digits >= minimumPersonalDigits {
                output.append(contentsOf: digits == 16 ? nikMask : numberMask)
            } else {
                output.append(contentsOf: characters[index..<runEnd])
            }
            index = max(runEnd, index + 1)
        }
        return String(output)
    }

    /// `%2B` (either case) becomes `+`; nothing else is decoded.
    static func decodingEncodedPlus(_ characters: [Character]) -> [Character] {
        var output: [Character] = []
        output.reserveCapacity(characters.count)
        var index = 0
        while index < characters.count {
            if characters[index] == "%", index + 2 < characters.count, characters[index + 1] == "2",
                characters[index + 2] == "B" || characters[index + 2] == "b"
            {
                output.append("+")
                index += 3
            } else {
                output.append(characters[index])
                index += 1
            }
        }
        return output
    }

    static func maskNames(in text: String, names: [String]) -> String {
        var needles: [[Character]] = []
        for name in names {
            let full = name.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if full.count >= 3 { needles.append(Array(full.lowercased())) }
            for word in full.split(separator: " ") where word.count >= 3 {
                needles.append(Array(word.lowercased()))
            }
        }
        guard !needles.isEmpty else { return text }
        // Longest first, so a full name is masked as one piece before its words.
        needles.sort { $0.count > $1.count }
        var characters = Array(text)
        var lowered = characters.map { Character($0.lowercased()) }
        for needle in needles {
            var index = 0
            while index + needle.count <= lowered.count {
                let end = index + needle.count
                if Array(lowered[index..<end]) == needle,
                    index == 0 || !lowered[index - 1].isLetter,
                    end == lowered.count || !lowered[end].isLetter
                {
                    let mask = Array(nameMask)
                    characters.replaceSubrange(index..<end, with: mask)
                    lowered.replaceSubrange(index..<end, with: mask.map { Character($0.lowercased()) })
                    index += mask.count
                } else {
                    index += 1
                }
            }
        }
        return String(characters)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
