import ArgumentParser
import Foundation
import SambatCore
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
            let now = Timestamp.now
            let me = context.config.role == .office ? context.config.node : nil
            var records = try await context.book.records().filter { record in
                if let me { return record.state.assignment(for: me)?.status.isActive ?? false }
                return all || record.state.status.isOpen
            }
            if !all { records = records.filter { $0.state.status.isOpen } }
            if overdue { records = records.filter { $0.isOverdue(at: now, office: me) } }
            records.sort { lhs, rhs in
                let lhsLate = lhs.isOverdue(at: now, office: me)
                let rhsLate = rhs.isOverdue(at: now, office: me)
                if lhsLate != rhsLate { return lhsLate }
                let lhsDue = lhs.nextDue(for: me) ?? Timestamp(millisecondsSinceEpoch: .max)
                let rhsDue = rhs.nextDue(for: me) ?? Timestamp(millisecondsSinceEpoch: .max)
                return lhsDue != rhsDue ? lhsDue < rhsDue : lhs.caseID < rhs.caseID
            }
            guard !records.isEmpty else {
                print(
                    me == nil
                        ? "Tidak ada kasus terbuka." : "Tidak ada kasus yang ditugaskan ke \(context.config.node)."
                )
                return
            }
            print(
                Display.column("TIKET", 19) + Display.column("STATUS", 16) + Display.column("TENGGAT (WIB)", 20)
                    + Display.column("", 11) + "PERIHAL"
            )
            for record in records {
                let state = record.state
                let status =
                    me.flatMap { state.assignment(for: $0).map { Display.label($0.status) } } ?? state.status.label
                let due = record.nextDue(for: me).map { Display.time($0, context.calendar) } ?? "-"
                let late = record.isOverdue(at: now, office: me) ? "TERLAMBAT" : ""
                let subject = state.topic.isEmpty ? String((state.complaint?.text ?? "").prefix(50)) : state.topic
                let conflict = state.openConflicts.isEmpty ? "" : " [konflik]"
                print(
                    Display.column(state.caseID.rawValue, 19) + Display.column(status, 16) + Display.column(due, 20)
                        + Display.column(late, 11) + subject + conflict
                )
            }
            print("\(records.count) kasus.")
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
            let caseID = try parseCaseID(id)
            let context = try await node.open()
            guard let record = try await context.book.record(caseID) else {
                throw CommandFailure("Kasus \(caseID) tidak ada di node \(context.config.node).")
            }
            let calendar = context.calendar
            let state = record.state
            let now = Timestamp.now
            print("Kasus \(caseID)  —  \(state.status.label)")
            if let complaint = state.complaint {
                print("Saluran   : \(complaint.channel)    Pelapor: \(complaint.reporterRef)")
                if !complaint.location.isEmpty { print("Lokasi    : \(complaint.location)") }
                print("Pengaduan : \(complaint.text)")
            }
            if let tier = state.tier {
                print("Kategori  : \(ReferenceData.name(of: tier))\(state.topic.isEmpty ? "" : " — \(state.topic)")")
            }
            if !state.assignments.isEmpty {
                print("\nPenugasan:")
                for assignment in state.assignments {
                    print(
                        "  \(Display.column(assignment.office.rawValue, 16))\(Display.column(Display.label(assignment.status), 16))epoch \(assignment.epoch)  \(context.officeName(assignment.office))"
                    )
                }
            }
            if !record.clocks.isEmpty {
                print("\nTenggat:")
                for clock in record.clocks {
                    let stage = clock.stage.label + (clock.office.map { " (\($0))" } ?? "")
                    var line = "  " + Display.column(stage, 28) + "batas " + Display.time(clock.dueAt, calendar)
                    if let done = clock.doneAt {
                        line += "  selesai " + Display.time(done, calendar) + (clock.wasLate ? "  (terlambat)" : "")
                    } else if clock.isOverdue(at: now) {
                        line += "  TERLAMBAT"
                    }
                    print(line)
                }
            }
            let acknowledged = await context.acknowledgedSeq()
            let origin = try? await context.store.currentOrigin()
            print("\nRiwayat:")
            for entry in state.history {
                let time = record.receivedAt[entry.op] ?? entry.at
                var line =
                    "  " + Display.time(time, calendar) + "  " + Display.column(entry.actor.rawValue, 16)
                    + Display.label(entry.kind)
                switch entry.effect {
                case .applied: break
                case .appliedWithConflict(let conflict): line += "  (konflik \(conflict))"
                case .superseded: line += "  (tergantikan)"
                case .conflict(let conflict): line += "  (DITOLAK: konflik \(conflict))"
                }
                if context.config.role != .central, entry.op.origin == origin, entry.op.seq > acknowledged {
                    line += "  [belum terkirim]"
                }
                print(line)
            }
            if !state.notes.isEmpty {
                print("\nCatatan:")
                for note in state.notes {
                    let visibility = note.visibility == .public ? "publik" : "internal"
                    print("  \(Display.time(note.at, calendar))  \(note.actor) (\(visibility)): \(note.text)")
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

        func run() async throws { try await edit.author(.acknowledged, roles: [.office]) }
    }

    /// `sambat case start <id>`.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mulai memproses kasus (start work).")
        @OptionGroup var edit: EditOptions

        func run() async throws { try await edit.author(.started, roles: [.office]) }
    }

    /// `sambat case note <id> --text …`.
    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tambahkan catatan (add a note).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The note.") var text: String
        @Flag(help: "Visible to the reporter (default: internal).") var `public` = false

        func run() async throws {
            let body = OpBody.noted(
                .init(text: try staffText(text, "catatan"), visibility: `public` ? .public : .internal)
            )
            try await edit.author(body, roles: [.office, .central])
        }
    }

    /// `sambat case resolve <id> --summary …`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Laporkan tindak lanjut selesai (report the follow-up done)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "What the office did.") var summary: String

        func run() async throws {
            try await edit.author(.resolved(.init(summary: try staffText(summary, "ringkasan"))), roles: [.office])
        }
    }

    /// `sambat case return <id> --reason …`.
    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kembalikan ke central: bukan wewenang (return to central)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "bukan_wewenang, lokasi_salah, info_kurang or sudah_ditangani.") var reason: String
        @Option(help: "Explanation.") var note: String = ""

        static let reasons: [String: ReturnReason] = [
            "bukan_wewenang": .notOurAuthority, "lokasi_salah": .wrongLocation,
            "info_kurang": .insufficientInformation, "sudah_ditangani": .handledElsewhere,
        ]

        func run() async throws {
            guard let code = Self.reasons[reason] else {
                throw CommandFailure(
                    "Alasan '\(reason)' tidak dikenal: \(Self.reasons.keys.sorted().joined(separator: ", "))."
                )
            }
            try await edit.author(
                .returned(.init(reason: code, note: try staffText(note, "catatan", allowEmpty: true))),
                roles: [.office]
            )
        }
    }

    // MARK: Central actions

    /// `sambat case verify <id> --tier …`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verifikasi pengaduan (verify).")
        @OptionGroup var edit: EditOptions
        @Option(help: "ringan, normatif, tanpa_pengawasan or pemeriksaan.") var tier: String = "normatif"
        @Option(help: "A short topic such as \"jalan rusak\".") var topic: String = ""

        func run() async throws {
            guard let tier = ReferenceData.tierNames[tier] else {
                throw CommandFailure(
                    "Kategori '\(self.tier)' tidak dikenal: \(ReferenceData.tierNames.keys.sorted().joined(separator: ", "))."
                )
            }
            try await edit.author(
                .verified(.init(tier: tier, topic: try staffText(topic, "topik", allowEmpty: true))),
                roles: [.central]
            )
        }
    }

    /// `sambat case pend <id> --request …`.
    struct Pend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tunda: minta kelengkapan dari pelapor (pend).")
        @OptionGroup var edit: EditOptions
        @Option(help: "What the reporter is asked to supply.") var request: String

        func run() async throws {
            try await edit.author(.pended(.init(request: try staffText(request, "permintaan"))), roles: [.central])
        }
    }

    /// `sambat case archive <id> --reason …`.
    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Arsipkan pengaduan (archive).")
        @OptionGroup var edit: EditOptions
        @Option(help: "sara, hoax, insult, no_identity, out_of_remit, duplicate or spam.") var reason: String
        @Option(help: "Explanation.") var note: String = ""

        static let reasons: [String: ArchiveReason] = [
            "sara": .sara, "hoax": .hoax, "insult": .insult, "no_identity": .noIdentity,
            "out_of_remit": .outOfRemit, "duplicate": .duplicate, "spam": .spam,
        ]

        func run() async throws {
            guard let code = Self.reasons[reason] else {
                throw CommandFailure(
                    "Alasan '\(reason)' tidak dikenal: \(Self.reasons.keys.sorted().joined(separator: ", "))."
                )
            }
            try await edit.author(
                .archived(.init(reason: code, note: try staffText(note, "catatan", allowEmpty: true))),
                roles: [.central]
            )
        }
    }

    /// `sambat case dispatch <id> --office …`.
    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disposisikan ke OPD (dispatch to an office).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The office's code, such as dpupr.") var office: String
        @Option(help: "Instructions to the office.") var instructions: String = ""

        func run() async throws {
            let office = try parseNodeID(office)
            let instructions = try staffText(instructions, "instruksi", allowEmpty: true)
            try await edit.author(roles: [.central]) { context, state in
                try await requireEnrolledOffice(office, context)
                let epoch = (state.assignment(for: office)?.epoch ?? 0) + 1
                return .dispatched(.init(office: office, epoch: epoch, instructions: instructions))
            }
        }
    }

    /// `sambat case reassign <id> --from … --to …`.
    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alihkan ke OPD lain (reassign).")
        @OptionGroup var edit: EditOptions
        @Option(help: "The office losing the case.") var from: String
        @Option(help: "The office getting it.") var to: String
        @Option(help: "Why.") var note: String = ""

        func run() async throws {
            let from = try parseNodeID(from)
            let to = try parseNodeID(to)
            let note = try staffText(note, "catatan", allowEmpty: true)
            try await edit.author(roles: [.central]) { context, state in
                try await requireEnrolledOffice(to, context)
                guard state.assignment(for: from)?.status.isActive ?? false else {
                    throw CommandFailure("Kasus \(state.caseID) tidak sedang ditugaskan ke \(from).")
                }
                let epoch = (state.assignment(for: to)?.epoch ?? 0) + 1
                return .reassigned(.init(from: from, to: to, epoch: epoch, note: note))
            }
        }
    }

    /// `sambat case close <id>`.
    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tutup kasus (close).")
        @OptionGroup var edit: EditOptions
        @Option(help: "confirmed (by the reporter), silent (no reply in time) or operator.") var reason: String =
            "operator"

        static let reasons: [String: CloseReason] = [
            "confirmed": .confirmedByReporter, "silent": .reporterSilent, "operator": .byOperator,
        ]

        func run() async throws {
            guard let code = Self.reasons[reason] else {
                throw CommandFailure(
                    "Alasan '\(reason)' tidak dikenal: \(Self.reasons.keys.sorted().joined(separator: ", "))."
                )
            }
            try await edit.author(.closed(.init(reason: code)), roles: [.central])
        }
    }

    /// `sambat case reopen <id> --reason …`.
    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Buka kembali: pelapor menyanggah tindak lanjut (reopen)."
        )
        @OptionGroup var edit: EditOptions
        @Option(help: "Why the reporter disputes the follow-up.") var reason: String

        func run() async throws {
            try await edit.author(.reopened(.init(reason: try staffText(reason, "alasan"))), roles: [.central])
        }
    }
}

/// The case id, `--config` and `--as` every editing command takes.
struct EditOptions: ParsableArguments {
    @OptionGroup var node: ConfigOption
    @OptionGroup var actor: ActorOption
    @Argument(help: "Ticket number, such as MJK-261129-0001.") var id: String

    func author(_ body: OpBody, roles: Set<NodeRole>) async throws {
        try await author(roles: roles) { _, _ in body }
    }

    /// Checks the role and the case, builds the op from the current state and writes it.
    func author(
        roles: Set<NodeRole>,
        _ makeBody: (NodeContext, CaseState) async throws -> OpBody
    ) async throws {
        let caseID = try parseCaseID(id)
        let actor = try actor.resolve()
        let context = try await node.open()
        guard roles.contains(context.config.role) else {
            if context.config.role == .mayor {
                throw CommandFailure("Node mayor hanya-baca: tidak ada yang ditulis.")
            }
            let names = roles.map(\.rawValue).sorted().joined(separator: " atau ")
            throw CommandFailure("Tindakan ini hanya untuk node \(names); tidak ada yang ditulis.")
        }
        guard let state = try await context.store.caseState(caseID) else {
            throw CommandFailure("Kasus \(caseID) tidak ada di node \(context.config.node).")
        }
        let body = try await makeBody(context, state)
        let authored: AuthoredOp
        do {
            authored = try await context.store.append(body, to: caseID, actor: actor, at: Timestamp.now)
        } catch {
            throw CommandFailure(explain(error, caseID: caseID, context: context))
        }
        let sync = context.config.role == .central ? "" : syncHint(context)
        print("\(caseID): \(Display.label(body.kind)) — status kini \(authored.state.status.label).\(sync)")
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

/// A store error as staff should read it.
func explain(_ error: StoreError, caseID: CaseID, context: NodeContext) -> String {
    guard let refusal = error.refusal else { return "Tidak tersimpan: \(error.message)" }
    let action = Display.label(refusal.kind)
    switch refusal.code {
    case .readOnlyRole: return "Node mayor hanya-baca: tidak ada yang ditulis."
    case .kindNotPermitted:
        return "Node \(context.config.role) tidak boleh melakukan '\(action)'; tidak ada yang ditulis."
    case .notAssigned:
        return "Kasus \(caseID) tidak sedang ditugaskan ke \(context.config.node); tidak ada yang ditulis."
    case .staleAssignment:
        return "Penugasan kasus \(caseID) sudah berganti; lihat `sambat case show \(caseID)`. Tidak ada yang ditulis."
    default:
        return
            "'\(action)' tidak diizinkan saat kasus \(caseID) berstatus \(refusal.status.label); tidak ada yang ditulis."
    }
}

/// A staff-typed text: trimmed, numbers masked, within the op limits.
func staffText(_ text: String, _ what: String, allowEmpty: Bool = false) throws -> String {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty, !allowEmpty { throw CommandFailure("Isi \(what) tidak boleh kosong.") }
    let masked = PIIMasker.mask(trimmed)
    guard masked.utf8.count <= OpLimits.maximumShortText else {
        throw CommandFailure("Isi \(what) terlalu panjang (maksimal \(OpLimits.maximumShortText) bita).")
    }
    return masked
}

/// Refuses an office that is not in the directory or not enrolled at central.
func requireEnrolledOffice(_ office: NodeID, _ context: NodeContext) async throws {
    guard context.reference.office(office) != nil else {
        throw CommandFailure("OPD '\(office)' tidak ada di direktori OPD; tidak ada yang ditulis.")
    }
    let peer = try await context.store.peer(office)
    guard let peer, peer.status == .active, peer.role == .office else {
        throw CommandFailure(
            "OPD '\(office)' belum terdaftar sebagai node office di central (`sambat node enrol`); tidak ada yang ditulis."
        )
    }
}
