import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat case`: list, show and work cases against the node's own store, online or not.
struct Case: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lihat dan kerjakan kasus (list, show and work cases).",
        discussion: """
            Every change is written to this node's own store at once and synced by the running
            node when central can be reached: an office keeps working while offline.
            Office: ack, start, note, resolve, return. Central: verify, pend, archive, dispatch,
            reassign, close, reopen, note.
            """,
        subcommands: [
            List.self, Show.self, Acknowledge.self, Start.self, Note.self, Resolve.self, Return.self,
            Verify.self, Pend.self, Archive.self, Dispatch.self, Reassign.self, Close.self, Reopen.self,
        ]
    )

    /// `sambat case list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Daftar kasus: yang terlambat dulu, lalu menurut tenggat (list cases, overdue first)."
        )
        @OptionGroup var node: ConfigOption
        @Flag(help: "Include closed and archived cases.") var all = false
        @Flag(help: "Only overdue cases.") var overdue = false

        func run() async throws {
            let context = try await node.open()
            let me = context.config.role == .office ? context.config.node : nil
            let filter = CaseListFilter(office: me, includeClosed: all, overdueOnly: overdue)
            let entries = try await context.book.list(filter, at: Timestamp.now)
            guard !entries.isEmpty else {
                print(
                    me == nil
                        ? "Tidak ada kasus terbuka." : "Tidak ada kasus yang ditugaskan ke \(context.config.node)."
                )
                return
            }
            print(
                Presentation.column("TIKET", 19) + Presentation.column("STATUS", 16)
                    + Presentation.column("TENGGAT (WIB)", 20) + Presentation.column("", 11) + "PERIHAL"
            )
            for entry in entries {
                let status = entry.officeStatus.map(Presentation.label) ?? Presentation.label(entry.status)
                let due = entry.nextDue.map { Presentation.time($0, context.calendar) } ?? "-"
                let late = entry.isOverdue ? "TERLAMBAT" : ""
                let conflict = entry.openConflicts == 0 ? "" : " [konflik]"
                print(
                    Presentation.column(entry.caseID.rawValue, 19) + Presentation.column(status, 16)
                        + Presentation.column(due, 20) + Presentation.column(late, 11) + entry.subject + conflict
                )
            }
            print("\(entries.count) kasus.")
        }
    }

    /// `sambat case show <id>`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rincian kasus: riwayat, tenggat, catatan (timeline, deadlines, notes)."
        )
        @OptionGroup var node: ConfigOption
        @Argument(help: "Ticket number, such as MJK-261129-0001.") var id: String

        func run() async throws {
            let caseID = try StaffInput.caseID(id)
            let context = try await node.open()
            let record = try await context.book.detail(caseID)
            let calendar = context.calendar
            let state = record.state
            let now = Timestamp.now
            print("Kasus \(caseID)  —  \(Presentation.label(state.status))")
            if let complaint = state.complaint {
                print("Saluran   : \(complaint.channel.codeName)    Pelapor: \(complaint.reporterRef)")
                if !complaint.location.isEmpty { print("Lokasi    : \(complaint.location)") }
                print("Pengaduan : \(complaint.text)")
            }
            if let tier = state.tier {
                print("Kategori  : \(Presentation.label(tier))\(state.topic.isEmpty ? "" : " — \(state.topic)")")
            }
            let flags = context.config.role == .central ? context.book.flags(of: record) : []
            if !flags.isEmpty { print("Tanda     : \(Presentation.label(flags))") }
            if let reason = state.archiveReason {
                print("Diarsipkan: \(Presentation.label(reason)) (\(reason.codeName))")
            }
            if !state.assignments.isEmpty {
                print("\nPenugasan:")
                for assignment in state.assignments {
                    print(
                        "  " + Presentation.column(assignment.office.rawValue, 16)
                            + Presentation.column(Presentation.label(assignment.status), 16)
                            + "epoch \(assignment.epoch)  \(context.officeName(assignment.office))"
                    )
                }
            }
            if !record.clocks.isEmpty {
                print("\nTenggat:")
                for clock in record.clocks {
                    let stage = Presentation.label(clock.stage) + (clock.office.map { " (\($0))" } ?? "")
                    var line =
                        "  " + Presentation.column(stage, 28) + "batas " + Presentation.time(clock.dueAt, calendar)
                    if let done = clock.doneAt {
                        line +=
                            "  selesai " + Presentation.time(done, calendar) + (clock.wasLate ? "  (terlambat)" : "")
                    } else if clock.isOverdue(at: now) {
                        line += "  TERLAMBAT"
                    }
                    print(line)
                }
            }
            let acknowledged = await context.acknowledgedSeq()
            let origin = try? await context.store.currentOrigin()
            print("\nRiwayat:")
            for entry in record.timeline {
                var line =
                    "  " + Presentation.time(entry.time, calendar) + "  "
                    + Presentation.column(entry.actor.rawValue, 16) + Presentation.label(entry.kind)
                let effect = Presentation.label(entry.effect)
                if !effect.isEmpty { line += "  " + effect }
                if context.config.role != .central, entry.op.origin == origin, entry.op.seq > acknowledged {
                    line += "  [belum terkirim]"
                }
                print(line)
            }
            if !state.notes.isEmpty {
                print("\nCatatan:")
                for note in state.notes {
                    let visibility = note.visibility == .public ? "publik" : "internal"
                    print("  \(Presentation.time(note.at, calendar))  \(note.actor) (\(visibility)): \(note.text)")
                }
            }
            if !state.evidence.isEmpty {
                print("\nBukti:")
                for evidence in state.evidence {
                    let held = await context.store.blobs.contains(evidence.sha256) ? "" : "  [belum diterima]"
                    print(
                        "  \(evidence.name.isEmpty ? evidence.mimeType : evidence.name)  "
                            + "\(Presentation.bytes(evidence.size))  \(Hex.encode(evidence.sha256).prefix(12))\(held)"
                    )
                }
            }
            if context.config.role == .central {
                let desk = try intakeDesk(context)
                let media = try await desk.media(of: caseID)
                if !media.isEmpty {
                    print("\nLampiran dari pelapor:")
                    for fetch in media {
                        let tries = fetch.attempts == 0 ? "" : " (\(fetch.attempts)x)"
                        let why = fetch.state == .failed ? ": " + (fetch.lastError ?? "") : ""
                        print(
                            "  \(Presentation.mediaName(kind: fetch.media.kind, mimeType: fetch.media.mimeType))  "
                                + "\(Presentation.label(fetch.state))\(tries)\(why)"
                        )
                    }
                }
                let replies = try await desk.replies(of: caseID)
                if !replies.isEmpty {
                    print("\nPesan ke pelapor:")
                    for reply in replies {
                        let channel = Presentation.label(reply.channel)
                        let tries = reply.attempts == 0 ? "" : " (\(reply.attempts)x)"
                        let template = reply.template == nil ? "" : " (templat)"
                        print(
                            "  \(Presentation.time(reply.createdAt, calendar))  \(channel)\(template)  \(Presentation.label(reply.state))\(tries): "
                                + reply.body.prefix(80)
                        )
                    }
                }
                let audit = try await context.store.identityAudit(of: caseID)
                if !audit.isEmpty {
                    print("\nIdentitas pelapor dibuka \(audit.count) kali:")
                    for entry in audit {
                        print("  \(Presentation.time(entry.at, calendar))  \(entry.actor): \(entry.reason)")
                    }
                }
            }
            if !state.conflicts.isEmpty {
                print("\nKonflik:")
                for conflict in state.conflicts {
                    let status = conflict.isResolved ? "selesai" : "TERBUKA"
                    print(
                        "  \(conflict.id)  \(conflict.reason.rawValue)  \(conflict.office?.rawValue ?? "-")  \(status)"
                    )
                }
            }
        }
    }

    // MARK: Office actions

    /// `sambat case ack <id>`.
    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Tandai kasus diterima OPD (acknowledge)."
        )
        @OptionGroup var edit: EditOptions

        func run() async throws { try await edit.perform(.acknowledge) }
    }

    /// `sambat case start <id>`.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mulai memproses kasus (start work).")
        @OptionGroup var edit: EditOptions

        func run() async throws { try await edit.perform(.start) }
    }

    /// `sambat case note <id> --text …`.
    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tambahkan catatan (add a note).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The note.") var text: String
        @Flag(help: "Visible to the reporter (default: internal).") var `public` = false

        func run() async throws {
            try await edit.perform(.note(text: text, visibility: `public` ? .public : .internal))
        }
    }

    /// `sambat case resolve <id> --summary …`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Laporkan tindak lanjut selesai (report the follow-up done)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "What the office did.") var summary: String

        func run() async throws { try await edit.perform(.resolve(summary: summary)) }
    }

    /// `sambat case return <id> --reason …`.
    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kembalikan ke central: bukan wewenang (return to central)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "\(ReturnReason.codeNames.joined(separator: ", ")).", transform: coded(.reason))
        var reason: ReturnReason
        @Option(help: "Explanation.") var note: String = ""

        func run() async throws { try await edit.perform(.returnToCentral(reason: reason, note: note)) }
    }

    // MARK: Central actions

    /// `sambat case verify <id> --tier …`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verifikasi pengaduan (verify).")
        @OptionGroup var edit: EditOptions
        @Option(help: "\(DeadlineTier.codeNames.joined(separator: ", ")).", transform: coded(.tier))
        var tier: DeadlineTier = .normatif
        @Option(help: "A short topic such as \"jalan rusak\".") var topic: String = ""

        func run() async throws { try await edit.perform(.verify(tier: tier, topic: topic)) }
    }

    /// `sambat case pend <id> --request …`.
    struct Pend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tunda: minta kelengkapan dari pelapor (pend).")
        @OptionGroup var edit: EditOptions
        @Option(help: "What the reporter is asked to supply.") var request: String

        func run() async throws { try await edit.perform(.pend(request: request)) }
    }

    /// `sambat case archive <id> --reason …`.
    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Arsipkan pengaduan (archive).")
        @OptionGroup var edit: EditOptions
        @Option(help: "\(ArchiveReason.codeNames.joined(separator: ", ")).", transform: coded(.reason))
        var reason: ArchiveReason
        @Option(help: "Explanation.") var note: String = ""

        func run() async throws { try await edit.perform(.archive(reason: reason, note: note)) }
    }

    /// `sambat case dispatch <id> --office …`.
    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disposisikan ke OPD (dispatch to an office).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The office's code, such as dpupr.", transform: officeCode) var office: NodeID
        @Option(help: "Instructions to the office.") var instructions: String = ""

        func run() async throws { try await edit.perform(.dispatch(office: office, instructions: instructions)) }
    }

    /// `sambat case reassign <id> --from … --to …`.
    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alihkan ke OPD lain (reassign).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The office losing the case.", transform: officeCode) var from: NodeID
        @Option(help: "The office getting it.", transform: officeCode) var to: NodeID
        @Option(help: "Why.") var note: String = ""

        func run() async throws { try await edit.perform(.reassign(from: from, to: to, note: note)) }
    }

    /// `sambat case close <id>`.
    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tutup kasus (close).")
        @OptionGroup var edit: EditOptions
        @Option(
            help: "confirmed (by the reporter), silent (no reply in time) or operator.",
            transform: coded(.reason)
        )
        var reason: CloseReason = .byOperator

        func run() async throws { try await edit.perform(.close(reason: reason)) }
    }

    /// `sambat case reopen <id> --reason …`.
    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buka kembali: pelapor menyanggah tindak lanjut (reopen)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "Why the reporter disputes the follow-up.") var reason: String

        func run() async throws { try await edit.perform(.reopen(reason: reason)) }
    }
}

/// An `--option` transform for a coded value, refusing an unknown name in Bahasa.
func coded<Value: CodeNamed>(_ field: DeskError.Field) -> @Sendable (String) throws -> Value {
    { text in
        do throws(DeskError) {
            return try StaffInput.code(text, field: field)
        } catch {
            throw ValidationError(Presentation.render(error))
        }
    }
}

/// An `--option` transform for an office code, refusing a malformed one in Bahasa.
@Sendable func officeCode(_ text: String) throws -> NodeID {
    do throws(DeskError) {
        return try StaffInput.nodeID(text)
    } catch {
        throw ValidationError(Presentation.render(error))
    }
}

/// The case id, `--config` and `--as` every editing command takes.
struct EditOptions: ParsableArguments {
    @OptionGroup var node: ConfigOption
    @OptionGroup var actor: ActorOption
    @Argument(help: "Ticket number, such as MJK-261129-0001.") var id: String

    /// Carries out `action` through the use-case layer and says what happened.
    func perform(_ action: StaffAction) async throws {
        let caseID = try StaffInput.caseID(id)
        let actor = try actor.resolve()
        let context = try await node.open()
        let outcome = try await context.actions.perform(action, on: caseID, actor: actor, at: Timestamp.now)
        let sync = context.config.role == .central ? "" : syncHint(context)
        print(
            "\(caseID): \(Presentation.label(outcome.kind)) — status kini \(Presentation.label(outcome.status)).\(sync)"
        )
    }

    private func syncHint(_ context: NodeContext) -> String {
        guard let status = context.liveStatus() else {
            return " Node tidak berjalan: perubahan terkirim setelah `sambat run` dijalankan."
        }
        return status.linkUp
            ? " Akan terkirim ke central dalam hitungan detik."
            : " Central tidak terjangkau: terkirim saat tersambung lagi."
    }
}
