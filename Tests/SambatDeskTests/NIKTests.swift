import SambatCore
import SambatDesk
import Testing

/// NIKs as reporters type them: separators accepted, region and birth date checked.
@Suite struct NIKTests {
    @Test(arguments: [
        ("3576012301800004", "3576012301800004"), ("3576 0123 0180 0004", "3576012301800004"),
        ("3576.0245.0290.0002", "3576024502900002"), ("3576-0157-0383-0002", "3576015703830002"),
        ("3174012902000001", "3174012902000001"),  // 29 Feb 2000
        ("9501017112990001", "9501017112990001"),  // a woman born 31 Dec (71 = 31 + 40), Papua Pegunungan
    ])
    func validNIKs(text: String, digits: String) throws {
        #expect(try NIK(parsing: text).digits == digits)
    }

    @Test(arguments: [
        ("357601230180000", NIK.Problem.length), ("35760123018000041", .length), ("3576O12301800004", .length),
        ("0076012301800004", .region), ("2276012301800004", .region), ("3500012301800004", .region),
        ("3576002301800004", .region), ("3576013102900001", .birthDate), ("3576017201900001", .birthDate),
        ("3576010013900001", .birthDate), ("3576012902010001", .birthDate),  // 29 Feb in 1901 and 2001
        ("3576012301800000", .serial),
    ])
    func impossibleNIKs(text: String, problem: NIK.Problem) {
        #expect(throws: problem) { try NIK(parsing: text) }
    }

    @Test func theDayCarriesTheSex() throws {
        #expect(try NIK(parsing: "3576024502900002").isFemale)
        #expect(try !NIK(parsing: "3576012301800004").isFemale)
    }

    @Test func intakeNamesTheNIKProblem() {
        var complaint = IntakeComplaint(
            channel: .sms,
            name: "Siti Rahayu",
            nik: "3576 0131 0290 0001",
            phone: "081233445566",
            text: "Jalan berlubang besar di depan pasar"
        )
        #expect(IntakeDesk.problems(in: complaint).map(\.code) == [.birthDate])
        #expect(
            IntakeDesk.problems(in: complaint).map(Presentation.render) == [
                "NIK tidak sah: tanggal lahir di dalamnya tidak mungkin"
            ]
        )
        complaint.nik = "3576.0145.0290.0001"
        #expect(IntakeDesk.problems(in: complaint).isEmpty)
    }
}
