import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat report`: who is slow, per office.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Laporan kinerja OPD: terbuka, terlambat, waktu tanggap (responsiveness per office)."
    )
    @OptionGroup var node: ConfigOption

    func run() async throws {
        let context = try await node.open()
        let now = Timestamp.now
        let report = try await context.book.report(at: now)
        print("Laporan kinerja OPD — \(Presentation.time(now, context.calendar)) WIB (waktu dalam jam kerja)")
        print(
            Presentation.column("OPD", 12) + Presentation.column("DITUGASKAN", 11) + Presentation.column("TERBUKA", 9)
                + Presentation.column("TERLAMBAT", 10) + Presentation.column("DITERIMA med/p90", 20)
                + Presentation.column("TINDAK LANJUT med/p90", 24) + "DIKEMBALIKAN"
        )
        func pair(_ median: Int64?, _ p90: Int64?) -> String {
            guard let median, let p90 else { return "-" }
            return "\(Presentation.duration(median)) / \(Presentation.duration(p90))"
        }
        for line in report.lines {
            print(
                Presentation.column(line.office.rawValue, 12) + Presentation.column("\(line.assigned)", 11)
                    + Presentation.column("\(line.open)", 9) + Presentation.column("\(line.overdue)", 10)
                    + Presentation.column(pair(line.acknowledgeMedian, line.acknowledgeP90), 20)
                    + Presentation.column(pair(line.followUpMedian, line.followUpP90), 24) + "\(line.returned)"
            )
        }
        if report.lines.isEmpty { print("(belum ada kasus yang didisposisikan)") }
        print("Kasus terlambat di tahap verifikasi/disposisi central: \(report.centralOverdue)")
    }
}

/// `sambat recap --date YYYY-MM-DD`: the day's recap, printable.
struct Recap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rekap harian: kasus baru, disposisi, selesai, terlambat, konflik (daily recap)."
    )
    @OptionGroup var node: ConfigOption
    @Option(help: "The day, YYYY-MM-DD (WIB); default today.") var date: String?

    func run() async throws {
        let context = try await node.open()
        let day = try date.map(StaffInput.date) ?? context.calendar.localDate(of: Timestamp.now)
        let recap = try await context.book.recap(of: day)
        let title = "REKAP PENGADUAN \(Presentation.date(day))"
        print(title)
        print(String(repeating: "=", count: title.count))
        print(
            "Dibuat dari node \(context.config.node) pada \(Presentation.time(Timestamp.now, context.calendar)) WIB\n"
        )
        func section(_ heading: String, _ items: [String]) {
            print("\(heading): \(items.count)")
            for item in items { print("  - \(item)") }
            print("")
        }
        func describe(_ id: CaseID) -> String {
            let topic = recap.topics[id] ?? ""
            return topic.isEmpty ? id.rawValue : "\(id.rawValue) (\(topic))"
        }
        section("Pengaduan baru", recap.newCases.map(describe))
        section("Didisposisikan", recap.dispatched.map { "\(describe($0.0)) → \($0.1)" })
        section("Tindak lanjut selesai (OPD)", recap.resolved.map { "\(describe($0.0)) oleh \($0.1)" })
        section("Ditutup", recap.closed.map(describe))
        section(
            "Diarsipkan",
            recap.archived.map { "\(describe($0.0)): \(Presentation.label($0.1)) (\($0.1.codeName))" }
        )
        section("Terlambat pada akhir hari", recap.overdue.map(describe))
        section("Konflik", recap.conflicts.map { "\(describe($0.0)): \($0.1)" })
    }
}

/// `sambat inspect digests`: each case's canonical digest, for checking convergence.
struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Alat pemeriksaan untuk TI kota (inspection tools for city IT).",
        subcommands: [Digests.self]
    )

    /// `sambat inspect digests`.
    struct Digests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cetak digest kanonik setiap kasus: sama di dua node berarti isi kasus sama."
        )
        @OptionGroup var node: ConfigOption

        func run() async throws {
            let context = try await node.open()
            for record in try await context.book.records() {
                let conflicts = record.state.conflicts.map(\.id).sorted().joined(separator: ",")
                print(
                    "\(record.caseID) \(record.digest) \(record.state.opCount) \(record.state.status) \(conflicts.isEmpty ? "-" : conflicts)"
                )
            }
        }
    }
}
