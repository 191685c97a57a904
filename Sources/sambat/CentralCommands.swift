import ArgumentParser
import Foundation
import SambatCore
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
    @Option(help: "phone, walk_in, sms or whatsapp.") var channel: String = "phone"
    @Option(help: "A JSON-lines file of complaints to register.") var batch: String?

    static let channels: [String: IntakeChannel] = [
        "phone": .phone, "walk_in": .walkIn, "sms": .sms, "whatsapp": .whatsapp, "web": .web,
    ]

    func run() async throws {
        let context = try await node.open(requiring: [.central])
        let actor = try actor.resolve()
        guard let keyFile = context.config.identityKeyFile else { throw CommandFailure("identity.key_file tidak ada.") }
        let key: [UInt8]
        do {
            key = try IdentityKeyFile.read(from: keyFile)
        } catch {
            throw CommandFailure(error.description)
        }
        let desk = try IntakeDesk(store: context.store, identityKey: key, calendar: context.calendar)
        var complaints: [(Int, IntakeComplaint)] = []
        if let batch {
            complaints = try readBatch(batch)
        } else {
            guard let name, let nik, let phone, let text else {
                throw CommandFailure("Isi --name, --nik, --phone dan --text (atau --batch BERKAS).")
            }
            guard let channel = Self.channels[channel] else {
                throw CommandFailure(
                    "Saluran '\(self.channel)' tidak dikenal: \(Self.channels.keys.sorted().joined(separator: ", "))."
                )
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
                FileHandle.standardError.write(Data("\(prefix)ditolak: \(error.description)\n".utf8))
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
            guard let channel = Self.channels[entry.channel ?? "phone"] else {
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
        let now = Timestamp.now
        let waiting = try await context.book.records().filter { record in
            let status = record.state.status
            return status == .received || status == .pending || status == .verified
        }.sorted {
            ($0.nextDue() ?? Timestamp(millisecondsSinceEpoch: .max))
                < ($1.nextDue() ?? Timestamp(millisecondsSinceEpoch: .max))
        }
        guard !waiting.isEmpty else {
            print("Antrean kosong.")
            return
        }
        for record in waiting {
            let state = record.state
            let step =
                state.status == .verified ? "disposisi" : state.status == .pending ? "menunggu pelapor" : "verifikasi"
            let due = record.nextDue().map { Display.time($0, context.calendar) } ?? "-"
            let late = record.isOverdue(at: now) ? "  TERLAMBAT" : ""
            let text = state.complaint?.text ?? ""
            let suggestions = context.reference.routing.suggest(for: text)
            let hint =
                suggestions.isEmpty
                ? "tidak ada saran"
                : suggestions.map { "\($0.office) (\($0.matched.joined(separator: ", ")))" }.joined(separator: "; ")
            print("\(state.caseID)  \(Display.column(state.status.label, 14)) \(step), batas \(due)\(late)")
            print("    \(text.prefix(110))")
            print("    saran OPD: \(hint)")
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
        var count = 0
        for record in try await context.book.records() {
            for conflict in record.state.conflicts where all || !conflict.isResolved {
                count += 1
                let status = conflict.isResolved ? "selesai" : "TERBUKA"
                let ops = conflict.ops.map(\.description).joined(separator: ", ")
                print(
                    "\(record.caseID)  \(conflict.id)  \(conflict.reason.rawValue)  OPD \(conflict.office?.rawValue ?? "-")  \(status)"
                )
                print("    op: \(ops)")
            }
        }
        print(count == 0 ? "Tidak ada konflik\(all ? "" : " terbuka")." : "\(count) konflik.")
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
        @Option(help: "kept (the current state stands) or corrected (central corrects with its own ops).")
        var outcome: String = "kept"
        @Option(help: "Explanation.") var note: String = ""

        func run() async throws {
            let outcome: ConflictOutcome
            switch self.outcome {
            case "kept": outcome = .keptCurrent
            case "corrected": outcome = .corrected
            default: throw CommandFailure("--outcome harus kept atau corrected.")
            }
            let note = try staffText(note, "catatan", allowEmpty: true)
            let conflictID = conflict
            try await edit.author(roles: [.central]) { _, state in
                guard let found = state.conflicts.first(where: { $0.id == conflictID }) else {
                    throw CommandFailure("Konflik \(conflictID) tidak ada di kasus \(state.caseID).")
                }
                guard !found.isResolved else { throw CommandFailure("Konflik \(conflictID) sudah diselesaikan.") }
                return .conflictResolved(.init(conflict: conflictID, outcome: outcome, note: note))
            }
        }
    }
}
