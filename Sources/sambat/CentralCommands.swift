import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat intake`: a complaint taken by phone or at the desk.
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Catat pengaduan telepon/loket (register a complaint).",
        discussion: """
            Required: --phone and --text. With --name and --nik the reporter's identity is recorded at once; without them the case opens with the number alone and, where the city requires identity (intake.require_identity, default true), waits as pending until the reporter sends name and NIK.

            The identity stays at central, sealed; the case carries a pseudonymous reporter reference and the text with phone numbers, NIKs and names masked.

            --batch FILE reads JSON lines: "phone" and "text" required; "name", "nik", "channel" (\(IntakeChannel.codeNames.joined(separator: ", "))) and "location" optional. A line with a missing or non-text field is named with its line and field, and nothing of the batch is written; a complaint that intake's checks refuse is reported with its line while the others are registered.
            """
    )
    @OptionGroup var node: ConfigOption
    @OptionGroup var actor: ActorOption
    @Option(help: "Reporter's full name (with --nik).") var name: String?
    @Option(help: "Reporter's 16-digit NIK; spaces and dots allowed (with --name).") var nik: String?
    @Option(help: "Reporter's phone or WhatsApp number (required).") var phone: String?
    @Option(help: "The complaint (required).") var text: String?
    @Option(help: "Where.") var location: String = ""
    @Option(help: "\(IntakeChannel.codeNames.joined(separator: ", ")).", transform: coded(.channel))
    var channel: IntakeChannel = .phone
    @Option(help: "A JSON-lines file of complaints to register.") var batch: String?

    func run() async throws {
        let context = try await node.open(requiring: [.central])
        let actor = try actor.resolve()
        let desk = try intakeDesk(context)
        guard case .central(let central) = context.config.roleConfiguration else { return }
        var complaints: [(Int, IntakeComplaint)] = []
        if let batch {
            complaints = try Self.readBatch(batch)
        } else {
            guard let phone, let text else {
                throw CommandFailure("Isi --phone dan --text (serta --name dan --nik bila ada), atau --batch BERKAS.")
            }
            complaints = [
                (
                    1,
                    IntakeComplaint(
                        channel: channel,
                        name: name ?? "",
                        nik: nik ?? "",
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
                let caseID: CaseID
                var waits = false
                if complaint.name.isEmpty, complaint.nik.isEmpty {
                    // The number alone: as a message would come in, through the same intake.
                    let outcome = try await desk.receive(
                        InboundMessage(
                            channel: complaint.channel,
                            externalID: "cli-" + UUID().uuidString,
                            sender: complaint.phone,
                            text: complaint.text,
                            location: complaint.location
                        ),
                        policy: central.intake,
                        at: Timestamp.now
                    )
                    guard let opened = outcome.caseID else {
                        throw IntakeError(problems: [.init(.text, .missing)])
                    }
                    caseID = opened
                    if case .opened(_, awaitsIdentity: true) = outcome { waits = true }
                } else {
                    caseID = try await desk.register(complaint, actor: actor, at: Timestamp.now).caseID
                }
                let masked = try await context.store.caseState(caseID)?.complaint?.text ?? ""
                let suggestion = context.reference.routing.suggest(for: masked).map(\.office.rawValue)
                let hint = suggestion.isEmpty ? "" : "  saran OPD: \(suggestion.joined(separator: ", "))"
                print("\(caseID)  diterima\(waits ? ", menunggu identitas pelapor (nama dan NIK)" : "")\(hint)")
            } catch let error as IntakeError {
                failures += 1
                let prefix = batch == nil ? "" : "baris \(line): "
                FileHandle.standardError.write(Data("\(prefix)ditolak: \(Presentation.render(error))\n".utf8))
            }
        }
        if failures > 0 { throw CommandFailure("\(failures) pengaduan ditolak; yang lain tersimpan.") }
    }

    /// The complaints of a JSON-lines file; a malformed line names its field and stops
    /// everything before anything is written.
    static func readBatch(_ path: String) throws -> [(Int, IntakeComplaint)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("Berkas \(path) tidak dapat dibaca.")
        }
        var result: [(Int, IntakeComplaint)] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let number = index + 1
            func refuse(_ why: String) -> CommandFailure {
                CommandFailure("\(path) baris \(number): \(why); tidak ada yang disimpan.")
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw refuse("bukan objek JSON")
            }
            func field(_ key: String, required: Bool) throws -> String? {
                guard let value = object[key], !(value is NSNull) else {
                    if required { throw refuse("kolom '\(key)' wajib ada") }
                    return nil
                }
                guard let text = value as? String else { throw refuse("kolom '\(key)' harus berupa teks") }
                return text
            }
            let channelName = try field("channel", required: false) ?? "phone"
            guard let channel = IntakeChannel(codeName: channelName) else {
                throw refuse(
                    "kolom 'channel' tidak dikenal: '\(channelName)' (\(IntakeChannel.codeNames.joined(separator: ", ")))"
                )
            }
            result.append(
                (
                    number,
                    IntakeComplaint(
                        channel: channel,
                        name: try field("name", required: false) ?? "",
                        nik: try field("nik", required: false) ?? "",
                        phone: try field("phone", required: true) ?? "",
                        text: try field("text", required: true) ?? "",
                        location: try field("location", required: false) ?? ""
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
                Central only. The audit entry (staff account, time, case, reason) is written before the identity is read, and never holds the identity itself. Offices and the mayor never hold identities.
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
