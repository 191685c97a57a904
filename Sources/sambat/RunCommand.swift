import ArgumentParser
import Foundation
import Logging
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat run --config Config/<node>.yaml`: runs a node in the role its configuration names.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Jalankan node (run a node: central, office or mayor).",
        discussion: """
            The configuration is checked completely before anything starts; every problem is
            listed. SAMBAT_… environment variables override keys (SAMBAT_NODE_DATA_DIR for
            node.data_dir). Stops gracefully on SIGTERM or Ctrl-C.
            """
    )
    @OptionGroup var node: ConfigOption

    func run() async throws {
        let config = try await NodeConfigLoader.load(path: try node.path())
        _ = try loadReference(config)
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        let label = "sambat.\(config.node)"
        var logger =
            config.logFormat == "json"
            ? Logger(label: label) { JSONLogHandler(label: $0) }
            : Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        logger[metadataKey: "node"] = "\(config.node)"
        do {
            var runtime = NodeRuntime(config: config, logger: logger)
            runtime.metricsRegistry = NodeRuntime.bootstrapMetrics()
            try await runtime.run()
        } catch let error as NodeStartError {
            throw CommandFailure(error.description)
        }
    }
}

/// `sambat status`: is the node running, is central reachable, what is not yet sent.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Status node: sambungan, sinkron terakhir, perubahan belum terkirim (node status)."
    )
    @OptionGroup var node: ConfigOption
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let context = try await node.open()
        let now = Timestamp.now.millisecondsSinceEpoch
        let file = NodeStatus.read(from: context.config.statusPath)
        let live = file?.isLive(now: now) ?? false
        let origin = try await context.store.currentOrigin()
        let head = try await context.store.localHead()
        let acknowledged = await context.acknowledgedSeq()
        let unsent = context.config.role == .central ? 0 : head > acknowledged ? head - acknowledged : 0
        let cases = try await context.store.caseCount()
        if json {
            let object: [String: Any] = [
                "node": context.config.node.rawValue, "role": context.config.role.rawValue, "running": live,
                "link_up": live && (file?.linkUp ?? false), "last_contact_ms": file?.lastContactAt ?? NSNull(),
                "unsent": unsent, "cases": cases, "origin": origin.description,
                "connected_peers": file?.connectedPeers ?? [],
                "central_silent": live && (file?.centralSilent ?? false),
                "central_answered_before": live && (file?.centralAnsweredBefore ?? false),
                "central_refusal": (live ? file?.centralRefusal : nil) ?? NSNull(),
                "sms_modems": (live ? file?.smsModems ?? [] : []).map {
                    ["id": $0.id, "last_seen_ms": $0.lastSeenAt ?? -1, "signal_percent": $0.signalPercent]
                        as [String: Any]
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("Node      : \(context.config.node) (\(context.config.role))")
        print("Berjalan  : \(live ? "ya (pid \(file?.pid ?? 0))" : "tidak")")
        if context.config.role == .central {
            let peers = live ? (file?.connectedPeers ?? []) : []
            print("Tersambung: \(peers.isEmpty ? "tidak ada node" : peers.joined(separator: ", "))")
            for modem in live ? (file?.smsModems ?? []) : [] {
                let seen = modem.lastSeenAt.map {
                    Presentation.time(Timestamp(millisecondsSinceEpoch: $0), context.calendar) + " WIB"
                }
                let stale = modem.lastSeenAt.map { now - $0 > 120_000 } ?? true
                let signal = modem.signalPercent >= 0 ? "sinyal \(modem.signalPercent)%" : "sinyal tidak diketahui"
                print(
                    "Modem SMS : \(modem.id.isEmpty ? "gammu" : modem.id), \(signal), terakhir terlihat \(seen ?? "belum pernah")"
                        + (stale ? "  PERIKSA: gammu-smsd tidak melapor lebih dari 2 menit" : "")
                )
            }
        } else {
            print("Sambungan : \(live && (file?.linkUp ?? false) ? "TERSAMBUNG ke central" : "TERPUTUS")")
            if live, let refusal = file?.centralRefusal {
                print("Peringatan: \(Self.explain(refusal: refusal, node: context.config.node.rawValue))")
            } else if live, file?.centralSilent == true, file?.centralAnsweredBefore == true {
                print(
                    """
                    Peringatan: central tidak menjawab. Node ini sudah tersambung sebelumnya, jadi kemungkinan
                                jaringan atau central sedang terputus; perubahan tetap tersimpan di sini dan
                                terkirim otomatis begitu tersambung lagi.
                    """
                )
            } else if live, file?.centralSilent == true {
                print(
                    """
                    Peringatan: central tidak menjawab. Periksa alamat central (central.endpoint), kunci publik
                                central di konfigurasi (central.public_key), dan apakah node ini sudah didaftarkan
                                di central (`sambat node enrol \(context.config.node) ...`).
                    """
                )
            }
            if let contact = file?.lastContactAt {
                print(
                    "Sinkron terakhir: \(Presentation.time(Timestamp(millisecondsSinceEpoch: contact), context.calendar)) WIB"
                )
            } else {
                print("Sinkron terakhir: belum pernah")
            }
            print("Belum terkirim: \(unsent) perubahan")
        }
        print("Kasus     : \(cases)")
        // Exit non-zero while central refuses or ignores the node (not enrolled, a wrong key, a
        // second process with this id), so scripts and monitors notice.
        if live, file?.centralRefusal != nil || file?.centralSilent == true { throw ExitCode(3) }
    }

    /// Why central refuses this node, for staff.
    static func explain(refusal: String, node: String) -> String {
        switch refusal {
        case "duplicate_node":
            "central menolak: node lain dengan id \(node) sedang tersambung. Jalankan hanya satu proses per id node."
        case "store_behind":
            "central menolak: penyimpanan ini tidak memuat perubahan yang sudah diterima central dari id \(node) "
                + "(id ini dipakai penyimpanan lain, atau penyimpanan disalin ulang). Hubungi TI kota sebelum bekerja."
        case "not_enrolled":
            "central menolak: node ini belum atau tidak lagi terdaftar (`sambat node enrol \(node) ...` di central)."
        case "identity_mismatch":
            "central menolak: id node di konfigurasi tidak cocok dengan kunci yang terdaftar di central."
        case "unsupported_version":
            "central memakai versi protokol sinkronisasi lain: samakan versi sambat node ini dengan central "
                + "(lihat log node untuk versinya)."
        default:
            "central menolak sesi node ini; lihat log node."
        }
    }
}
