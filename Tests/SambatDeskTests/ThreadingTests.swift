import SambatCore
import SambatDesk
import Testing

/// A reporter's later messages join, answer or complete their open case.
@Suite struct ThreadingTests {
    static let first = caseID("MJK-261203-0001")
    static let second = caseID("MJK-261203-0002")

    static func caseID(_ text: String) -> CaseID {
        guard let id = try? CaseID(text) else { preconditionFailure("\(text) is a valid ticket") }
        return id
    }

    static func open(_ status: CaseStatus, identity: Bool = false, _ id: CaseID = first) -> [ReporterCase] {
        [ReporterCase(caseID: id, status: status, awaitsIdentity: identity)]
    }

    @Test func aFirstMessageOrANewComplaintKeywordOpensACase() {
        #expect(Threading.decide("Jalan rusak di depan pasar", cases: []) == .open)
        #expect(Threading.decide("Jalan rusak", cases: Self.open(.closed)) == .open)
        #expect(Threading.decide("Aduan baru: lampu mati", cases: Self.open(.dispatched)) == .open)
        #expect(Threading.decide("BARU. sampah menumpuk", cases: Self.open(.received)) == .open)
    }

    @Test func aLaterMessageJoinsTheNewestOpenCase() {
        let cases = [
            ReporterCase(caseID: Self.second, status: .archived, awaitsIdentity: false),
            ReporterCase(caseID: Self.first, status: .inProgress, awaitsIdentity: false),
        ]
        #expect(Threading.decide("Ini fotonya pak, makin parah", cases: cases) == .join(Self.first))
        // "sudah" on a case the office has not resolved is just a message.
        #expect(Threading.decide("sudah 3 hari belum ada petugas", cases: cases) == .join(Self.first))
    }

    @Test func onAResolvedCaseTheReporterConfirmsOrDisputes() {
        let resolved = Self.open(.resolved)
        #expect(Threading.decide("Sudah pak, terima kasih", cases: resolved) == .confirm(Self.first))
        #expect(Threading.decide("ok", cases: resolved) == .confirm(Self.first))
        #expect(Threading.decide("Belum, jalannya masih berlubang", cases: resolved) == .dispute(Self.first))
        #expect(Threading.decide("blm", cases: resolved) == .dispute(Self.first))
        #expect(Threading.decide("Petugas datang tapi hanya foto-foto", cases: resolved) == .join(Self.first))
        let words = ThreadingWords(newComplaint: ["lapor"], confirm: ["beres"], dispute: ["gagal"])
        #expect(Threading.decide("beres", cases: resolved, words: words) == .confirm(Self.first))
        #expect(Threading.decide("sudah", cases: resolved, words: words) == .join(Self.first))
    }

    @Test func aCaseWaitingForIdentityTakesTheNameAndNIK() {
        let waiting = Self.open(.pending, identity: true)
        guard
            case .supplyIdentity(let id, let reply) = Threading.decide(
                "Nama: Budi Santoso, NIK: 3576 0312 1282 0006",
                cases: waiting
            )
        else {
            Issue.record("not an identity reply")
            return
        }
        #expect(id == Self.first)
        #expect(reply.name == "Budi Santoso" && reply.nik == "3576031212820006")
        // A wrong NIK is still an identity reply, so the reporter can be told what is wrong.
        guard case .supplyIdentity(_, let wrong) = Threading.decide("budi 3576013102900001", cases: waiting) else {
            Issue.record("not an identity reply")
            return
        }
        #expect(wrong.nik == nil && wrong.invalidNIK == .birthDate)
        #expect(Threading.decide("Kapan diperbaiki?", cases: waiting) == .join(Self.first))
    }

    static let replies: [(text: String, name: String?, nik: String?)] = [
        ("Nama: Budi Santoso, NIK: 3576 0312 1282 0006", "Budi Santoso", "3576031212820006"),
        ("budi santoso 3576031212820006", "budi santoso", "3576031212820006"),
        ("NIK 3576.0312.1282.0006 a.n. Budi", "Budi", "3576031212820006"),
        ("3576031212820006", nil, "3576031212820006"),
        ("Siti Aminah", "Siti Aminah", nil),
    ]

    @Test(arguments: replies)
    func identityRepliesInLooseForms(text: String, name: String?, nik: String?) {
        let reply = IdentityReply(text)
        #expect(reply.name == name)
        #expect(reply.nik == nik)
    }
}
