import SambatCore
import Testing

/// Masking of personal data in citizen-typed text, and the pseudonymous reference.
@Suite struct PrivacyTests {
    @Test(arguments: [
        "+6281234567890", "6281234567890", "081234567890", "0812-3456-7890", "0812 3456 7890", "+62 812 3456 7890",
        "(0321) 321-456", "%2B6281234567890", "0812.3456.7890",
    ])
    func phoneNumbersInAnyFormatAreMasked(number: String) {
        let masked = PIIMasker.mask("Hubungi saya di \(number) ya pak")
        #expect(masked == "Hubungi saya di \(PIIMasker.numberMask) ya pak")
    }

    @Test func niksAreMaskedAsNIKs() {
        #expect(PIIMasker.mask("NIK 3576012301800004.") == "NIK \(PIIMasker.nikMask).")
        #expect(PIIMasker.mask("nik: 3576 0123 0180 0004") == "nik: \(PIIMasker.nikMask)")
    }

    @Test func shortNumbersStay() {
        let text = "RT 02 RW 03, sudah 2 minggu, Jl. Majapahit No. 115, tanggal 12-11-2026"
        #expect(PIIMasker.mask(text) == text)
    }

    @Test func theReporterNameIsMaskedInFullAndWordByWord() {
        let masked = PIIMasker.mask(
            "Saya Siti Rahayu warga Wates. Terima kasih, siti.",
            names: ["Siti Rahayu"]
        )
        #expect(masked == "Saya \(PIIMasker.nameMask) warga Wates. Terima kasih, \(PIIMasker.nameMask).")
        // Only whole words: "Ali" does not touch "Kali" or "alias".
        #expect(PIIMasker.mask("Kali Brantas, alias sungai", names: ["Ali"]) == "Kali Brantas, alias sungai")
    }

    @Test func nothingPersonalSurvivesInAMixedText() {
        let masked = PIIMasker.mask(
            "Nama saya Budi Santoso NIK 3576031212820006 hp +62 857-1234-0102, jalan rusak di depan rumah",
            names: ["Budi Santoso"]
        )
        for secret in ["Budi", "Santoso", "3576031212820006", "857", "0102"] { #expect(!masked.contains(secret)) }
        #expect(masked.hasSuffix("jalan rusak di depan rumah"))
    }

    @Test func theReporterReferenceIsStablePerPhoneAndKeyed() {
        let secret = Array(repeating: UInt8(7), count: 32)
        let reference = ReporterReference.make(phone: "0812-3456-7890", secret: secret)
        #expect(reference == ReporterReference.make(phone: "+6281234567890", secret: secret))
        #expect(reference != ReporterReference.make(phone: "081234567891", secret: secret))
        #expect(reference != ReporterReference.make(phone: "081234567890", secret: Array(repeating: 8, count: 32)))
        #expect(reference.hasPrefix("p-") && reference.count == 18)
        #expect(!reference.contains("7890"))
    }

    @Test func routingSuggestsTheBestScoringOffice() throws {
        let rules = RoutingRules(rules: [
            .init(office: Fixtures.dpupr, keywords: ["jalan rusak", "berlubang", "drainase"]),
            .init(office: Fixtures.dlh, keywords: ["sampah", "tps"]),
            .init(office: Fixtures.perkim, keywords: ["lampu jalan", "pju"]),
        ])
        let suggestion = rules.suggest(for: "Jalan rusak dan berlubang, sampah juga numpuk")
        #expect(suggestion.map(\.office) == [Fixtures.dpupr])
        #expect(suggestion.first?.matched == ["jalan rusak", "berlubang"])
        // Whole words only: "tps" is not found inside "tipsnya".
        #expect(rules.suggest(for: "ada tipsnya?").isEmpty)
        // A tie names both offices.
        #expect(rules.suggest(for: "Sampah di bawah lampu jalan").map(\.office) == [Fixtures.dlh, Fixtures.perkim])
    }
}
