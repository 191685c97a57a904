import ArgumentParser
import Foundation
import SambatCore
import SambatNode
import SambatStore

/// `sambat backup --out FILE`: a consistent copy of a node's store, taken while it runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cadangkan penyimpanan node (take a consistent online backup of the node's store).",
        discussion: """
            Works while the node runs (SQLite's online backup). The file is checked after it is
            written. Evidence files (the data directory's blobs folder) are not in it: at an
            office they come back from central by themselves; at central, copy the folder too.
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(help: "The backup file to write; it must not exist yet.") var out: String

    func run() async throws {
        let context = try await options.open()
        let config = context.config
        do {
            try await context.store.backup(to: out)
        } catch {
            throw CommandFailure("Cadangan tidak dapat ditulis ke \(out): \(error.message)")
        }
        let identity = NodeIdentity(node: config.node, role: config.role, central: config.central)
        let summary: BackupSummary
        do {
            summary = try Store.checkBackup(at: out, for: identity)
        } catch {
            throw CommandFailure("Cadangan \(out) tertulis tetapi tidak lolos pemeriksaan: \(error.message)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print(
            "Cadangan node \(config.node) ditulis ke \(out): \(summary.opCount) op, \(summary.caseCount) kasus, "
                + "\(Self.megabytes(bytes))."
        )
        print("Memulihkan: hentikan node, lalu `sambat restore --from \(out) --config \(config.sourcePath)`.")
        if config.role == .central {
            print("Berkas bukti tidak termasuk: salin juga folder \(config.dataDirectory)/blobs.")
        }
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10),\(tenths % 10) MB"
    }
}

/// `sambat restore --from FILE`: puts a backup in place of a stopped node's store.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pulihkan penyimpanan node dari cadangan (restore a stopped node's store from a backup).",
        discussion: """
            The node must be stopped. The backup is checked first (whole, this node's, not from a
            newer release). The current store is kept beside it as sambat.sqlite.before-restore-…,
            never deleted. The restored store starts a new incarnation, so no seq is ever used
            twice, and when the node runs again the sync brings back what it is missing.
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(name: .customLong("from"), help: "The backup file, from `sambat backup`.") var from: String
    @Option(
        name: .customLong("incarnation-above"),
        help: "With the old store lost: the later origin number central names in a store_behind refusal."
    )
    var incarnationAbove: UInt64 = 0

    func run() async throws {
        let config = try await NodeConfigLoader.load(path: try options.path())
        do {
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("Direktori data \(config.dataDirectory) tidak dapat dibuat: \(error)")
        }
        // Held until the restored store is open: the node cannot start in between.
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock(path: config.lockPath)
        } catch {
            throw CommandFailure("Node \(config.node) masih berjalan: hentikan dulu sebelum memulihkan (\(error)).")
        }
        let identity = NodeIdentity(node: config.node, role: config.role, central: config.central)
        let summary: BackupSummary
        do {
            summary = try Store.checkBackup(at: from, for: identity)
        } catch {
            throw CommandFailure("Cadangan \(from) ditolak, tidak ada yang diubah: \(error.message)")
        }
        let hadStore = FileManager.default.fileExists(atPath: config.storePath)
        // A second restore within the same second must not meet the first one's file.
        var setAside = config.storePath + ".before-restore-" + Self.stamp()
        var attempt = 1
        while FileManager.default.fileExists(atPath: setAside) {
            attempt += 1
            setAside = config.storePath + ".before-restore-" + Self.stamp() + "-\(attempt)"
        }
        do {
            try Store.restore(
                backup: from,
                to: config.storePath,
                settingAsideTo: hadStore ? setAside : nil,
                incarnationAbove: incarnationAbove
            )
        } catch {
            throw CommandFailure("Pemulihan gagal: \(error.message)")
        }
        let origin: Origin
        do {
            let store = try NodeRuntime.openStore(config, create: false)
            origin = try await store.currentOrigin()
        } catch {
            throw CommandFailure("Penyimpanan hasil pemulihan tidak dapat dibuka: \(error)")
        }
        withExtendedLifetime(lock) {}
        print(
            "Node \(config.node) dipulihkan dari \(from): \(summary.opCount) op, \(summary.caseCount) kasus "
                + "(inkarnasi \(summary.incarnation) → \(origin))."
        )
        if hadStore { print("Penyimpanan sebelumnya disimpan sebagai \(setAside).") }
        print("Jalankan node: sinkronisasi mengambil dari central apa yang tidak ada di cadangan.")
    }

    /// `20261204T113000Z`: when the old store was set aside.
    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: Date())
    }
}
