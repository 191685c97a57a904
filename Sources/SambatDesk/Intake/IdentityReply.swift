import Foundation
import SambatCore

/// The name and NIK a reporter sends when asked for them, in the loose forms people type.
///
/// "Nama: Budi Santoso, NIK: 3576 0312 1282 0006", "budi santoso 3576031212820006",
/// "NIK 3576031212820006 a.n. Budi" all read the same.
///
/// Pure; the result is personal data and is sealed at central, never logged.
public struct IdentityReply: Hashable, Sendable {
    /// The name, when one could be read.
    public let name: String?
    /// The NIK's 16 digits, when a valid one was found.
    public let nik: String?
    /// A 16-digit number that is not a valid NIK, so the reporter can be asked again.
    public let invalidNIK: NIK.Problem?

    /// Whether anything usable was found.
    public var isEmpty: Bool { name == nil && nik == nil }

    /// Reads a reply.
    public init(_ text: String) {
        var nik: String?
        var invalid: NIK.Problem?
        var rest = ""
        // Digit runs with the separators people type inside a NIK.
        var run = ""
        func flush() {
            let digits = run.filter(\.isNumber)
            if digits.count >= 12 {
                do throws(NIK.Problem) {
                    let parsed = try NIK(parsing: run)
                    if nik == nil { nik = parsed.digits }
                } catch {
                    if invalid == nil { invalid = error }
                }
                rest += " "
            } else {
                rest += run
            }
            run = ""
        }
        for character in text {
            if character.isASCII, character.isNumber {
                run.append(character)
            } else if !run.isEmpty, character == " " || character == "." || character == "-" {
                run.append(character)
            } else {
                if !run.isEmpty { flush() }
                rest.append(character)
            }
        }
        if !run.isEmpty { flush() }
        self.nik = nik
        invalidNIK = nik == nil ? invalid : nil
        name = Self.name(in: text, remainder: rest)
    }

    /// The name from a cue or signature, else what remains once labels and the number are
    /// taken out, if that looks like a name (letters only, one to five words).
    static func name(in text: String, remainder: String) -> String? {
        if let written = PIIMasker.writtenNames(in: text).first { return written }
        let labels: Set<String> = ["nama", "nik", "ktp", "no", "nomor", "saya", "a.n", "an", "atas"]
        let words = remainder.split { !($0.isLetter || $0 == "'" || $0 == "-" || $0 == ".") }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
            .filter { !$0.isEmpty && !labels.contains($0.lowercased()) }
        guard (1...5).contains(words.count),
            words.allSatisfy({ $0.allSatisfy { $0.isLetter || $0 == "'" || $0 == "-" } }),
            words.joined().count >= 2
        else { return nil }
        return words.joined(separator: " ")
    }
}
