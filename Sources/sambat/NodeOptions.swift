import ArgumentParser
import Foundation
import SambatCore
import SambatNode
import SambatStore

/// `--config`, shared by every command that works on a node's own store.
struct ConfigOption: ParsableArguments {
    @Option(help: "The node's configuration file (default: $SAMBAT_CONFIG).")
    var config: String?

    /// The path given, or `$SAMBAT_CONFIG`.
    func path() throws -> String {
        if let config { return config }
        if let fromEnvironment = ProcessInfo.processInfo.environment["SAMBAT_CONFIG"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        throw CommandFailure(
            "Berkas konfigurasi belum ditentukan: pakai --config Config/<node>.yaml atau SAMBAT_CONFIG."
        )
    }

    /// Loads the configuration and reference data and opens the node's existing store.
    func open(requiring roles: Set<NodeRole>? = nil) async throws -> NodeContext {
        let config: NodeConfig
        do {
            config = try await NodeConfigLoader.load(path: try path())
        } catch let error as NodeConfigError {
            throw CommandFailure(error.description)
        }
        if let roles, !roles.contains(config.role) {
            let names = roles.map(\.rawValue).sorted().joined(separator: " atau ")
            throw CommandFailure("Perintah ini hanya untuk node \(names); node \(config.node) berperan \(config.role).")
        }
        let reference: ReferenceData
        do {
            reference = try ReferenceData.load(for: config)
        } catch {
            throw CommandFailure("Data acuan ditolak: \(error)")
        }
        let store: Store
        do {
            store = try NodeRuntime.openStore(config, create: false)
        } catch {
            throw CommandFailure(error.description)
        }
        return NodeContext(config: config, reference: reference, store: store)
    }
}

/// `--as`: the staff account acting.
struct ActorOption: ParsableArguments {
    @Option(name: .customLong("as"), help: "Your staff account id (default: $SAMBAT_ACTOR, else $USER).")
    var actor: String?

    func resolve() throws -> ActorID {
        let environment = ProcessInfo.processInfo.environment
        let text = actor ?? environment["SAMBAT_ACTOR"] ?? environment["USER"] ?? "petugas"
        do {
            return try ActorID(text)
        } catch {
            throw CommandFailure("Akun petugas '\(text)' tidak sah: 1–64 karakter tanpa spasi.")
        }
    }
}

/// What a command works with: the node's configuration, reference data and store.
struct NodeContext {
    let config: NodeConfig
    let reference: ReferenceData
    let store: Store

    var book: CaseBook { CaseBook(store: store, reference: reference) }
    var calendar: WorkingCalendar { reference.calendar }

    /// The office's display name, or its id.
    func officeName(_ office: NodeID) -> String { reference.office(office)?.name ?? office.rawValue }

    /// The status the running node last wrote, if it is running.
    func liveStatus() -> NodeStatus? {
        guard let status = NodeStatus.read(from: config.statusPath),
            status.isLive(now: Timestamp.now.millisecondsSinceEpoch)
        else { return nil }
        return status
    }

    /// The highest own seq central has acknowledged, for the store's current origin (0 when unknown).
    func acknowledgedSeq() async -> UInt64 {
        guard let status = NodeStatus.read(from: config.statusPath),
            let origin = try? await store.currentOrigin(), status.origin == origin.description
        else { return 0 }
        return status.centralFrontier
    }
}

/// Formatting for staff: WIB times and office-hour durations, in Bahasa Indonesia.
enum Display {
    static let months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]

    /// "29 Nov 2026 14:05".
    static func time(_ timestamp: Timestamp, _ calendar: WorkingCalendar) -> String {
        let date = calendar.localDate(of: timestamp)
        let minute = calendar.localMinute(of: timestamp)
        return "\(date.day) \(months[date.month - 1]) \(date.year) \(pad(minute / 60)):\(pad(minute % 60))"
    }

    /// "3 j 20 m" for a duration in milliseconds.
    static func duration(_ milliseconds: Int64) -> String {
        let minutes = max(0, milliseconds) / 60_000
        if minutes < 60 { return "\(minutes) m" }
        return "\(minutes / 60) j \(pad(Int(minutes % 60))) m"
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Pads or cuts `text` to `width` characters.
    static func column(_ text: String, _ width: Int) -> String {
        text.count >= width
            ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// Bahasa label of an op kind, as on a timeline.
    static func label(_ kind: OpKind) -> String {
        switch kind {
        case .opened: "pengaduan diterima"
        case .verified: "diverifikasi"
        case .pended: "ditunda (menunggu pelapor)"
        case .archived: "diarsipkan"
        case .dispatched: "didisposisikan"
        case .acknowledged: "diterima OPD"
        case .started: "mulai diproses"
        case .noted: "catatan"
        case .resolved: "tindak lanjut dilaporkan"
        case .returned: "dikembalikan (bukan wewenang)"
        case .reassigned: "dialihkan"
        case .closed: "ditutup"
        case .reopened: "dibuka kembali"
        case .evidenceAdded: "bukti dilampirkan"
        case .reporterWrote: "pesan lanjutan pelapor"
        case .conflictResolved: "konflik diselesaikan"
        }
    }

    /// Bahasa label of an assignment status.
    static func label(_ status: AssignmentStatus) -> String {
        switch status {
        case .dispatched: "TERDISPOSISI"
        case .acknowledged: "DITERIMA_OPD"
        case .inProgress: "DIPROSES"
        case .resolved: "SELESAI_OPD"
        case .reopened: "DIBUKA_KEMBALI"
        case .returned: "DIKEMBALIKAN"
        case .revoked: "DIALIHKAN"
        }
    }
}

/// Parses a case id argument with a Bahasa message.
func parseCaseID(_ text: String) throws -> CaseID {
    do {
        return try CaseID(text.uppercased())
    } catch {
        throw CommandFailure("Nomor tiket '\(text)' tidak sah; bentuknya seperti MJK-261129-0001.")
    }
}

/// Parses a node id argument with a Bahasa message.
func parseNodeID(_ text: String, what: String = "OPD") throws -> NodeID {
    do {
        return try NodeID(text)
    } catch {
        throw CommandFailure("Kode \(what) '\(text)' tidak sah.")
    }
}
