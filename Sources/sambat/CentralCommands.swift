import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat intake`: a complaint taken by phone (or at the desk), with the reporter's identity.
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Catat pengaduan telepon/loket dengan identitas pelapor (register a complaint).",
        discussion: """
            The identity stays at central, sealed; the case carries a pseudonymous reporter
            reference and the text with phone numbers, NIKs and the reporter's name masked.
            --batch FILE reads JSON lines with channel, name, nik, phone, text, location.
            """
    )
    @OptionGroup var node: ConfigOption
    @OptionGroup var actor: ActorOption
    @Option(help: "Reporter's full name.") var name: String?
    @Option(help: "Reporter's 16-digit NIK.") var nik: String?
    @Option(help: "Reporter's phone or WhatsApp number.") var phone: String?
    @Option(help: "The complaint.") var text: String?
    @Option(help: "Where.") var location: String = ""
    @Option(help: "\(IntakeChannel.codeNames.joined(separator: ", ")).", transform: coded(.channel))
    var channel: IntakeChannel = .phone
    @Option(help: "A JSON-lines file of complaints to register.") var batch: String?

    func run() async throws {
        let context = try await node.open(requiring: [.central])
        let actor = try actor.resolve()
        let desk = try intakeDesk(context)
        var complaints: [(Int, IntakeComplaint)] = []
        if let batch {
            complaints = try readBatch(batch)
        } else {
            guard let name, let nik, let phone, let text else {
                throw CommandFailure("Isi --name, --nik, --phone dan --text (atau --batch BERKAS).")
            }
            complaints = [
                (
                    1,
                    IntakeComplaint(
                        channel: channel,
                        name: name,
                        nik: nik,
                        phone: phone,
                        text: text,
                        location: location
                    )
                )
            ]
        }
        var failures = 0
        for (line, complaint) in complaints {
            do {
                let registered = try await desk.register(complaint, actor: actor, at: Timestamp.now)
                let suggestion = context.reference.routing.suggest(for: registered.maskedText).map(\.office.rawValue)
                let hint = suggestion.isEmpty ? "" : "  saran OPD: \(suggestion.joined(separator: ", "))"
                print("\(registered.caseID)  diterima\(hint)")
            } catch let error as IntakeError {
                failures += 1
                let prefix = batch == nil ? "" : "baris \(line): "
                FileHandle.standardError.write(Data("\(prefix)ditolak: \(Presentation.render(error))\n".utf8))
            }
        }
        if failures > 0 { throw CommandFailure("\(failures) pengaduan ditolak; yang lain tersimpan.") }
    }

    private struct Line: Decodable {
        var channel: String?
        var name: String
        var nik: String
        var phone: String
        var text: String
        var location: String?
    }

    private func readBatch(_ path: String) throws -> [(Int, IntakeComplaint)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("Berkas \(path) tidak dapat dibaca.")
        }
        var result: [(Int, IntakeComplaint)] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let entry = try? JSONDecoder().decode(Line.self, from: Data(trimmed.utf8)) else {
                throw CommandFailure(
                    "\(path) baris \(index + 1): bukan JSON pengaduan yang sah; tidak ada yang disimpan."
                )
            }
            guard let channel = IntakeChannel(codeName: entry.channel ?? "phone") else {
                throw CommandFailure("\(path) baris \(index + 1): saluran tidak dikenal; tidak ada yang disimpan.")
            }
            result.append(
                (
                    index + 1,
                    IntakeComplaint(
                        channel: channel,
                        name: entry.name,
                        nik: entry.nik,
                        phone: entry.phone,
                        text: entry.text,
                        location: entry.location ?? ""
                    )
                )
            )
        }
        return result
    }
}

/// `sambat queue`: what central must verify or dispatch, oldest deadline first.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Antrean verifikasi dan disposisi, dengan saran OPD (verification and dispatch queue)."
    )
    @OptionGroup var node: ConfigOption

    func run() async throws {
        let context = try await node.open(requiring: [.central])
        let waiting = try await context.book.queue(at: Timestamp.now)
        guard !waiting.isEmpty else {
            print("Antrean kosong.")
            return
        }
        for entry in waiting {
            let step =
                entry.status == .verified ? "disposisi" : entry.status == .pending ? "menunggu pelapor" : "verifikasi"
            let due = entry.nextDue.map { Presentation.time($0, context.calendar) } ?? "-"
            let late = entry.isOverdue ? "  TERLAMBAT" : ""
            let hint =
                entry.suggestions.isEmpty
                ? "tidak ada saran"
                : entry.suggestions.map { "\($0.office) (\($0.matched.joined(separator: ", ")))" }
                    .joined(separator: "; ")
            print(
                "\(entry.caseID)  \(Presentation.column(Presentation.label(entry.status), 14)) \(step), batas \(due)\(late)"
            )
            print("    \(entry.text.prefix(110))")
            print("    saran OPD: \(hint)")
            if !entry.flags.isEmpty {
                print("    TANDA (periksa, jangan langsung arsipkan): \(Presentation.label(entry.flags))")
            }
        }
        print("\(waiting.count) kasus dalam antrean.")
    }
}

/// `sambat conflicts`: conflicts recorded by the merge, open ones first.
struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Daftar konflik (list conflicts).")
    @OptionGroup var node: ConfigOption
    @Flag(help: "Include resolved conflicts.") var all = false

    func run() async throws {
        let context = try await node.open()
        let entries = try await context.book.conflicts(includeResolved: all)
        for entry in entries {
            let conflict = entry.conflict
            let status = conflict.isResolved ? "selesai" : "TERBUKA"
            let ops = conflict.ops.map(\.description).joined(separator: ", ")
            print(
                "\(entry.caseID)  \(conflict.id)  \(conflict.reason.rawValue)  OPD \(conflict.office?.rawValue ?? "-")  \(status)"
            )
            print("    op: \(ops)")
        }
        print(entries.isEmpty ? "Tidak ada konflik\(all ? "" : " terbuka")." : "\(entries.count) konflik.")
    }
}

/// `sambat conflict resolve <case> <conflict-id>`.
struct ConflictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflict",
        abstract: "Selesaikan konflik (resolve a conflict).",
        subcommands: [Resolve.self]
    )

    /// `sambat conflict resolve`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Selesaikan konflik di central.")
        @OptionGroup var edit: EditOptions
        @Argument(help: "The conflict id, from `sambat conflicts`.") var conflict: String
        @Option(
            help: "kept (the current state stands) or corrected (central corrects with its own ops).",
            transform: coded(.outcome)
        )
        var outcome: ConflictOutcome = .keptCurrent
        @Option(help: "Explanation.") var note: String = ""

        func run() async throws {
            try await edit.perform(.resolveConflict(id: conflict, outcome: outcome, note: note))
        }
    }
}

/// Central's intake desk for a CLI command, with the identity key from the configuration.
func intakeDesk(_ context: NodeContext) throws -> IntakeDesk {
    guard case .central(let central) = context.config.roleConfiguration else {
        throw CommandFailure("Perintah ini hanya untuk node central.")
    }
    let key: [UInt8]
    do {
        key = try IdentityKeyFile.read(from: central.identityKeyFile)
    } catch {
        throw CommandFailure(error.description)
    }
    return try IntakeDesk(store: context.store, identityKey: key, calendar: context.calendar)
}

/// `sambat reporter show <case> --reason …`: the reporter's identity, audited.
struct Reporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Identitas pelapor (hanya di central, tercatat dalam audit).",
        subcommands: [Show.self]
    )

    /// `sambat reporter show`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tampilkan identitas pelapor sebuah kasus; siapa, kapan dan alasannya dicatat dalam audit.",
            discussion: """
                Central only. The audit entry (staff account, time, case, reason) is written before
                the identity is read, and never holds the identity itself. Offices and the mayor
                never hold identities.
                """
        )
        @OptionGroup var node: ConfigOption
        @OptionGroup var actor: ActorOption
        @Argument(help: "Ticket number, such as MJK-261129-0001.") var id: String
        @Option(help: "Why you need the identity (required; kept in the audit).") var reason: String

        func run() async throws {
            let caseID = try StaffInput.caseID(id)
            let actor = try actor.resolve()
            let context = try await node.open(requiring: [.central])
            let desk = try intakeDesk(context)
            guard let identity = try await desk.revealIdentity(of: caseID, actor: actor, reason: reason, at: .now)
            else {
                print("Identitas pelapor kasus \(caseID) tidak tercatat. (Akses ini tetap dicatat dalam audit.)")
                return
            }
            print("Pelapor kasus \(caseID) — RAHASIA, jangan diteruskan ke OPD")
            print("Nama    : \(identity.name.isEmpty ? "(belum diberikan)" : identity.name)")
            print("NIK     : \(identity.nik.isEmpty ? "(belum diberikan)" : identity.nik)")
            print("Telepon : \(identity.phone)")
            print("Akses ini dicatat atas nama \(actor) beserta alasannya.")
        }
    }
}
