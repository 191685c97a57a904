/// Finds the names reporters write into their own texts, to mask them without a supplied identity.
///
/// Cues are "nama saya Budi", "Pelapor: Sri Wahyuni", "a.n. Dewi", "Sy Budi warga …", a name
/// signed next to a NIK or phone number, and a name signed at the end of the message ("… Mohon
/// dicek. Heru Cahyono", "Trims, Budi").
///
/// Works on text whose numbers are already masked (``PIIMasker/maskNumbers(in:)``): a mask is
/// a strong cue that the words signed right before it are a name. Cue words themselves
/// ("nama", "saya", "pelapor", "Ibu") are never part of a name, so they are never masked.
/// Pure; used by ``PIIMasker/mask(_:names:)``.
enum WrittenNames {
    /// One token of the text.
    struct Token {
        enum Kind {
            case word
            case mask
            case number
            case punctuation
        }
        let kind: Kind
        /// The token as written.
        let text: String
        /// Lower-cased, for matching.
        let lowered: String

        var isCapitalised: Bool { kind == .word && (text.first?.isUppercase ?? false) }
        func isWord(_ candidates: Set<String>) -> Bool { kind == .word && candidates.contains(lowered) }
        func isPunctuation(_ candidates: Set<Character>) -> Bool {
            kind == .punctuation && text.first.map(candidates.contains) == true
        }
    }

    /// Words that introduce, surround or address a name but are never one.
    static let notNames: Set<String> = [
        "nama", "saya", "aku", "ini", "pelapor", "pengadu", "atas", "an", "ibu", "bu", "bapak", "pak", "sdr", "sdri",
        "saudara", "saudari", "mbak", "mas", "wali", "murid", "pedagang", "warga", "lengkap", "nik", "ktp", "hp",
        "no", "nomor", "telp", "tlp", "telepon", "wa", "whatsapp", "dari", "tinggal", "beralamat", "alamat", "di",
        "rt", "rw", "umur", "usia", "mau", "ingin", "yang", "dan", "mohon", "sudah", "tolong", "terima", "kasih",
        "salam", "hormat", "sebagai", "selaku", "penduduk", "kami", "kita", "anak", "istri", "suami", "orang", "tua",
        "adalah", "yaitu", "bpk", "ny", "nyonya", "tuan", "haji", "hj", "kak", "dik", "lapor", "melapor", "sy",
        "trims", "trimakasih", "makasih", "wassalam", "wassalamualaikum", "hormat", "regards", "thanks",
    ]
    /// Words people capitalise in a closing sentence that are never names ("Belum Ada
    /// Tindakan", "Mohon Segera Diperbaiki"): a closing run holding one is not a signature.
    static let closingPhraseWords: Set<String> = [
        "belum", "ada", "segera", "tidak", "sudah", "sangat", "harap", "cepat", "secepatnya", "semoga",
        "lagi", "juga", "karena", "akan", "bisa", "dicek", "diperbaiki", "ditindaklanjuti", "tindakan",
        "perbaikan", "bantuan", "respon", "tanggapan", "terimakasih", "mohon", "tolong", "pemerintah",
        "kota", "dinas", "bapak", "ibu", "walikota", "wakil",
    ]
    /// Words that close a message: a name right after them is a signature, even a single one.
    static let closings: Set<String> = [
        "trims", "kasih", "trimakasih", "makasih", "salam", "wassalam", "wassalamualaikum", "hormat", "thanks",
        "regards",
    ]
    /// Words of places: a candidate holding one is an address, not a name.
    static let places: Set<String> = [
        "jl", "jalan", "gang", "gg", "kel", "kelurahan", "kec", "kecamatan", "desa", "dusun", "perum", "perumahan",
        "blok", "pasar", "kampung", "kota", "kab", "kabupaten", "rt", "rw", "sd", "sdn", "smp", "sma", "puskesmas",
        "masjid", "kantor", "dinas", "jembatan", "sungai", "tps", "pdam", "pln", "rsud",
    ]
    /// Words that, after a name, show it was one: "saya Budi warga Wates".
    static let afterName: Set<String> = [
        "warga", "dari", "tinggal", "beralamat", "penduduk", "nik", "ktp", "hp", "no", "telp", "wa",
    ]
    /// Between a name and the number it signs: "Budi, NIK 3576…", "Ani (0812…)".
    static let connectors: Set<String> = [
        "nik", "ktp", "hp", "no", "nomor", "telp", "tlp", "telepon", "wa", "whatsapp",
    ]
    static let connectorMarks: Set<Character> = [",", ":", "(", "-", "/"]
    /// The longest name taken from one cue.
    static let maximumWords = 4

    /// The names found, each as its words joined by a space, in the order found.
    static func find(in text: String) -> [String] {
        let tokens = tokenize(text)
        var names: [String] = []
        func add(_ words: [Token]) {
            guard !words.isEmpty, !words.contains(where: { places.contains($0.lowered) }) else { return }
            let name = words.map(\.text).joined(separator: " ")
            if !names.contains(name) { names.append(name) }
        }
        for index in tokens.indices {
            if let start = cueEnd(tokens, at: index) {
                add(capture(tokens, from: start.index, capitalisedOnly: start.capitalisedOnly))
            }
            if tokens[index].kind == .mask { add(signature(tokens, before: index)) }
        }
        add(closingSignature(tokens))
        return names
    }

    /// The name a message is signed with at its end.
    ///
    /// That is a last sentence of two to four capitalised words ("… Mohon dicek. Heru
    /// Cahyono"), or of one after a closing word ("Trims, Budi").
    static func closingSignature(_ tokens: [Token]) -> [Token] {
        var end = tokens.count
        while end > 0, tokens[end - 1].isPunctuation([".", "!"]) { end -= 1 }
        var words: [Token] = []
        var index = end - 1
        while index >= 0, words.count <= maximumWords {
            let token = tokens[index]
            guard token.isCapitalised, !notNames.contains(token.lowered), !places.contains(token.lowered) else { break }
            words.insert(token, at: 0)
            index -= 1
        }
        guard !words.isEmpty, words.count <= maximumWords,
            !words.contains(where: { closingPhraseWords.contains($0.lowered) })
        else { return [] }
        // A place abbreviation just before the run: "… Jl. Gajah Mada" is an address.
        if index >= 1, tokens[index].isPunctuation(["."]), places.contains(tokens[index - 1].lowered) { return [] }
        // What comes before the run: the start of a sentence, or a closing word.
        var before = index
        if before >= 0, tokens[before].isPunctuation([","]) { before -= 1 }
        let afterClosing = before >= 0 && tokens[before].isWord(closings)
        let sentenceStart = index >= 0 && tokens[index].isPunctuation([".", "!", "?", "\n"])
        if afterClosing { return words }
        return sentenceStart && words.count >= 2 ? words : []
    }

    /// Where the name after a cue starts, and whether it must be capitalised there.
    static func cueEnd(_ tokens: [Token], at index: Int) -> (index: Int, capitalisedOnly: Bool)? {
        func token(_ offset: Int) -> Token? {
            index + offset < tokens.count ? tokens[index + offset] : nil
        }
        let first = tokens[index]
        // "nama saya", "nama lengkap", "nama:", "atas nama", "pelapor:": what follows is the
        // name even in lower case.
        if first.isWord(["nama"]) {
            if token(1)?.isWord(["saya", "lengkap", "aku"]) == true {
                return token(2)?.isPunctuation([":"]) == true ? (index + 3, false) : (index + 2, false)
            }
            if token(1)?.isPunctuation([":"]) == true { return (index + 2, false) }
            if index > 0, tokens[index - 1].isWord(["atas"]) { return (index + 1, false) }
            if token(1)?.isCapitalised == true { return (index + 1, true) }
            return nil
        }
        if first.isWord(["pelapor", "pengadu"]) {
            if token(1)?.isPunctuation([":"]) == true { return (index + 2, false) }
            if token(1)?.isCapitalised == true { return (index + 1, true) }
            return nil
        }
        // "a.n. Dewi", "an. Dewi", "a/n Dewi".
        if first.isWord(["a"]), token(1)?.isPunctuation([".", "/"]) == true, token(2)?.isWord(["n"]) == true {
            return token(3)?.isPunctuation(["."]) == true ? (index + 4, false) : (index + 3, false)
        }
        if first.isWord(["an"]), token(1)?.isPunctuation(["."]) == true { return (index + 2, false) }
        // "saya Budi warga …", "Ini Yudi, NIK …": only when the words after it show it.
        if first.isWord(["saya", "aku", "ini", "sy"]), token(1)?.isCapitalised == true {
            let words = capture(tokens, from: index + 1, capitalisedOnly: true)
            var next = index + 1 + words.count
            if next < tokens.count, tokens[next].isPunctuation([","]) { next += 1 }
            // "… Saya Budi." closing the message is a signature.
            let closing = tokens[next...].allSatisfy { $0.isPunctuation([".", "!", ")"]) }
            if !words.isEmpty, closing { return (index + 1, true) }
            guard next < tokens.count else { return nil }
            let follower = tokens[next]
            if follower.kind == .mask || follower.isWord(afterName) { return (index + 1, true) }
        }
        return nil
    }

    /// Up to ``maximumWords`` words from `start` that can be a name.
    static func capture(_ tokens: [Token], from start: Int, capitalisedOnly: Bool) -> [Token] {
        var words: [Token] = []
        var index = start
        while index < tokens.count, words.count < maximumWords {
            let token = tokens[index]
            guard token.kind == .word, !notNames.contains(token.lowered), !places.contains(token.lowered),
                !capitalisedOnly || token.isCapitalised
            else { break }
            words.append(token)
            index += 1
        }
        return words
    }

    /// The capitalised words signed right before the mask at `maskIndex`: "Ahmad Fauzi 3576…",
    /// "Saya Agus Salim, KTP 3576…".
    static func signature(_ tokens: [Token], before maskIndex: Int) -> [Token] {
        var index = maskIndex - 1
        while index >= 0, tokens[index].isWord(connectors) || tokens[index].isPunctuation(connectorMarks) {
            index -= 1
        }
        var words: [Token] = []
        while index >= 0, words.count < maximumWords {
            let token = tokens[index]
            guard token.isCapitalised, !notNames.contains(token.lowered) else { break }
            if places.contains(token.lowered) { return [] }
            words.insert(token, at: 0)
            index -= 1
        }
        // A place word just before the run ("Jl. Majapahit 081…" reads as "Jl", ".", …).
        if index >= 1, tokens[index].isPunctuation(["."]), places.contains(tokens[index - 1].lowered) { return [] }
        return words
    }

    /// Words (letters, with inner `'` or `-`), masks, digit runs and single punctuation marks.
    static func tokenize(_ text: String) -> [Token] {
        let characters = Array(text)
        let masks = [PIIMasker.nikMask, PIIMasker.numberMask, PIIMasker.nameMask].map(Array.init)
        var tokens: [Token] = []
        var index = 0
        func emit(_ kind: Token.Kind, _ range: Range<Int>) {
            let text = String(characters[range])
            tokens.append(Token(kind: kind, text: text, lowered: text.lowercased()))
        }
        outer: while index < characters.count {
            let character = characters[index]
            if character == "[" {
                for mask in masks where index + mask.count <= characters.count {
                    if Array(characters[index..<(index + mask.count)]) == mask {
                        emit(.mask, index..<(index + mask.count))
                        index += mask.count
                        continue outer
                    }
                }
            }
            if character.isLetter {
                var end = index + 1
                while end < characters.count {
                    if characters[end].isLetter {
                        end += 1
                    } else if characters[end] == "'" || characters[end] == "-", end + 1 < characters.count,
                        characters[end + 1].isLetter
                    {
                        end += 2
                    } else {
                        break
                    }
                }
                emit(.word, index..<end)
                index = end
            } else if character.isNumber {
                var end = index + 1
                while end < characters.count, characters[end].isNumber { end += 1 }
                emit(.number, index..<end)
                index = end
            } else if character.isWhitespace {
                index += 1
            } else {
                emit(.punctuation, index..<(index + 1))
                index += 1
            }
        }
        return tokens
    }
}
