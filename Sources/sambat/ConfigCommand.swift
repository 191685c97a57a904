import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatWire

/// `sambat config office CODE` and `sambat config mayor`: a node's configuration, written
/// from the OPD directory and checked the way `sambat run` checks it.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Tulis konfigurasi node (write a node's configuration file).",
        subcommands: [Office.self, Mayor.self]
    )

    /// What every generated node configuration needs.
    struct Common: ParsableArguments {
        @Option(name: .customLong("central-endpoint"), help: "Central's sync endpoint, e.g. tcp://10.20.0.5:7301.")
        var centralEndpoint: String
        @Option(
            name: .customLong("central-public-key"),
            help: "Central's public key (Z85): `sambat keys public --key …` on central."
        )
        var centralPublicKey: String
        @Option(name: .customLong("central-id"), help: "Central's node id.") var centralID = "central"
        @Option(name: .customLong("data-dir"), help: "The node's data directory (default /var/lib/sambat/<id>).")
        var dataDirectory: String?
        @Option(name: .customLong("key-file"), help: "The node's key file (default /etc/sambat/keys/<id>.key).")
        var keyFile: String?
        @Option(
            name: .customLong("reference-dir"),
            help: "Folder with opd-directory.yaml, deadlines.yaml and holidays.yaml."
        )
        var referenceDirectory = "/etc/sambat"
        @Option(name: .customLong("http-port"), help: "The console's port (none: no console).") var httpPort: Int?
        @Option(help: "Where to write the configuration.") var out: String
        @Flag(help: "Replace an existing file at --out.") var force = false

        /// Writes the configuration of node `id`, making its key when it has none, and checks
        /// it completely; prints what to do next.
        func write(id: NodeID, role: NodeRole, title: String) async throws {
            guard Self.isZ85Key(centralPublicKey) else {
                throw ValidationError("--central-public-key harus kunci publik Z85 (40 karakter) dari central.")
            }
            if let httpPort, !(1...65_535).contains(httpPort) {
                throw ValidationError("--http-port harus 1–65535.")
            }
            if FileManager.default.fileExists(atPath: out), !force {
                throw CommandFailure("Berkas \(out) sudah ada; tidak ditimpa (pakai --force untuk menggantinya).")
            }
            let dataDirectory = dataDirectory ?? "/var/lib/sambat/\(id)"
            let keyFile = keyFile ?? "/etc/sambat/keys/\(id).key"
            let reference = (referenceDirectory as NSString).standardizingPath
            var lines = [
                "# Sambat \(title), written by `sambat config`. Check it, then: sambat run --config \(out)",
                "node:",
                "  id: \(id)",
                "  role: \(role)",
                "  data_dir: \(Self.quoted(dataDirectory))",
                "  key_file: \(Self.quoted(keyFile))",
                "  log_level: info",
                "central:",
                "  id: \(centralID)",
                "  endpoint: \(Self.quoted(centralEndpoint))",
                "  public_key: \(Self.quoted(centralPublicKey))",
            ]
            if let httpPort {
                lines += ["http:", "  port: \(httpPort)", "  bind: 127.0.0.1"]
            }
            lines += [
                "reference:",
                "  directory: \(Self.quoted(reference + "/opd-directory.yaml"))",
                "  deadlines: \(Self.quoted(reference + "/deadlines.yaml"))",
                "  holidays: \(Self.quoted(reference + "/holidays.yaml"))",
            ]
            var madeKey: String?
            if !FileManager.default.fileExists(atPath: keyFile) {
                let pair = try CurveKeyPair.generate()
                do {
                    try createKeyFolder(for: keyFile)
                    try CurveKeyFile.write(pair, to: keyFile, node: id.rawValue)
                } catch {
                    throw CommandFailure("Kunci \(keyFile) tidak dapat dibuat: \(error)")
                }
                madeKey = pair.publicKey
            }
            do {
                try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("Berkas \(out) tidak dapat ditulis: \(error)")
            }
            let config = try await NodeConfigLoader.load(path: out)
            _ = try loadReference(config)
            print("Konfigurasi node \(id) (\(role)) ditulis ke \(out) dan lolos pemeriksaan.")
            let publicKey = try madeKey ?? CurveKeyFile.read(from: keyFile).publicKey
            if madeKey != nil { print("Kunci baru: \(keyFile) (mode 0600).") }
            print("Daftarkan di central: sambat node enrol \(id) --role \(role) --public-key \(publicKey)")
        }

        static func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }

        static func isZ85Key(_ key: String) -> Bool {
            let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
            return key.count == 40 && key.allSatisfy { alphabet.contains($0) }
        }
    }

    /// `sambat config office CODE`: any office of the OPD directory.
    struct Office: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Konfigurasi node OPD dari direktori OPD (an office node's configuration).",
            discussion: """
                CODE must be an office of the directory in --reference-dir. Makes the node's key
                file when it does not exist, writes the configuration, checks it as `sambat run`
                would, and prints the command that enrols the node at central.
                """
        )

        @Argument(help: "The office's code in the OPD directory, such as dpupr.") var code: String
        @OptionGroup var common: Common

        func run() async throws {
            let directory = (common.referenceDirectory as NSString).standardizingPath
            let reference: ReferenceData
            do {
                reference = try ReferenceData.load(
                    ReferenceFiles(
                        directory: directory + "/opd-directory.yaml",
                        deadlines: directory + "/deadlines.yaml",
                        holidays: directory + "/holidays.yaml",
                        routing: nil
                    )
                )
            } catch {
                throw CommandFailure("Data acuan di \(directory) ditolak: " + Presentation.renderReference(error))
            }
            guard let id = try? NodeID(code), let office = reference.office(id) else {
                let codes = reference.offices.map(\.code.rawValue).joined(separator: ", ")
                throw CommandFailure("OPD \(code) tidak ada di direktori OPD. Kode yang ada: \(codes).")
            }
            try await common.write(id: id, role: .office, title: "office node of \(office.name) (\(id))")
        }
    }

    /// `sambat config mayor`: the mayor's node.
    struct Mayor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Konfigurasi node wali kota (the mayor node's configuration)."
        )

        @Option(help: "The mayor node's id.") var id = "mayor"
        @OptionGroup var common: Common

        func run() async throws {
            let node = try nodeID(id)
            try await common.write(id: node, role: .mayor, title: "mayor node (\(node))")
        }
    }
}
