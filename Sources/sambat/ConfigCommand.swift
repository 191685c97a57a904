import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatWire

/// `sambat config central|office CODE|mayor`: a node's configuration, written from the OPD
/// directory and checked the way `sambat run` checks it.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Tulis konfigurasi node (write a node's configuration file).",
        subcommands: [Central.self, Office.self, Mayor.self]
    )

    /// Where a node's files go, and what every generated configuration needs.
    struct NodeFiles: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "The node's data directory (default /var/lib/sambat/<id>).")
        var dataDirectory: String?
        @Option(name: .customLong("key-file"), help: "The node's key file (default /etc/sambat/keys/<id>.key).")
        var keyFile: String?
        @Option(
            name: .customLong("reference-dir"),
            help: "Folder with opd-directory.yaml, deadlines.yaml and holidays.yaml (central: also routing.yaml)."
        )
        var referenceDirectory = "/etc/sambat"
        @Option(name: .customLong("http-port"), help: "The console's port (none: no console).") var httpPort: Int?
        @Option(help: "Where to write the configuration.") var out: String
        @Flag(help: "Replace an existing file at --out.") var force = false

        var reference: String { (referenceDirectory as NSString).standardizingPath }

        /// Writes the configuration of node `id` with its role's `sections`, making its key
        /// when it has none, and checks it completely; prints what to do next.
        func write(id: NodeID, role: NodeRole, title: String, sections: [String]) async throws {
            if let httpPort, !(1...65_535).contains(httpPort) {
                throw ValidationError("--http-port harus 1–65535.")
            }
            if FileManager.default.fileExists(atPath: out), !force {
                throw CommandFailure("Berkas \(out) sudah ada; tidak ditimpa (pakai --force untuk menggantinya).")
            }
            let dataDirectory = dataDirectory ?? "/var/lib/sambat/\(id)"
            let keyFile = keyFile ?? "/etc/sambat/keys/\(id).key"
            var lines = [
                "# Sambat \(title), written by `sambat config`. Check it, then: sambat run --config \(out)",
                "node:",
                "  id: \(id)",
                "  role: \(role)",
                "  data_dir: \(quoted(dataDirectory))",
                "  key_file: \(quoted(keyFile))",
                "  log_level: info",
            ]
            lines += sections
            if let httpPort {
                lines += ["http:", "  port: \(httpPort)", "  bind: 127.0.0.1"]
            }
            lines += [
                "reference:",
                "  directory: \(quoted(reference + "/opd-directory.yaml"))",
                "  deadlines: \(quoted(reference + "/deadlines.yaml"))",
                "  holidays: \(quoted(reference + "/holidays.yaml"))",
            ]
            if role == .central { lines.append("  routing: \(quoted(reference + "/routing.yaml"))") }
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
            // Checked under a temporary name first: a refused config never replaces a good one.
            let draft = out + ".draft"
            do {
                try (lines.joined(separator: "\n") + "\n").write(toFile: draft, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("Berkas \(out) tidak dapat ditulis: \(error)")
            }
            do {
                let config = try await NodeConfigLoader.load(path: draft)
                _ = try loadReference(config)
                if FileManager.default.fileExists(atPath: out) { try FileManager.default.removeItem(atPath: out) }
                try FileManager.default.moveItem(atPath: draft, toPath: out)
            } catch {
                try? FileManager.default.removeItem(atPath: draft)
                throw error
            }
            print("Konfigurasi node \(id) (\(role)) ditulis ke \(out) dan lolos pemeriksaan.")
            let publicKey = try madeKey ?? CurveKeyFile.read(from: keyFile).publicKey
            if madeKey != nil { print("Kunci baru: \(keyFile) (mode 0600).") }
            if role == .central {
                print("Kunci publik central (untuk konfigurasi setiap OPD dan wali kota): \(publicKey)")
            } else {
                print("Daftarkan di central: sambat node enrol \(id) --role \(role) --public-key \(publicKey)")
            }
        }
    }

    /// How an office or the mayor reaches central.
    struct CentralLink: ParsableArguments {
        @Option(name: .customLong("central-endpoint"), help: "Central's sync endpoint, e.g. tcp://10.20.0.5:7301.")
        var centralEndpoint: String
        @Option(
            name: .customLong("central-public-key"),
            help: "Central's public key (Z85): `sambat keys public --key …` on central."
        )
        var centralPublicKey: String
        @Option(name: .customLong("central-id"), help: "Central's node id.") var centralID = "central"

        /// The `central:` section; the configuration check refuses a key that is not Z85.
        func section() throws -> [String] {
            [
                "central:",
                "  id: \(try nodeID(centralID))",
                "  endpoint: \(quoted(centralEndpoint))",
                "  public_key: \(quoted(centralPublicKey))",
            ]
        }
    }

    /// `sambat config central`: the hotline's node.
    struct Central: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Konfigurasi node central (the central node's configuration).",
            discussion: """
                Makes central's key and its identity key (which seals reporters' identities; keep
                it outside the data directory and back it up apart) when they do not exist.
                """
        )

        @Option(help: "Central's node id.") var id = "central"
        @Option(help: "Where offices and the mayor connect, e.g. tcp://0.0.0.0:7301.") var bind: String
        @Option(
            name: .customLong("identity-key-file"),
            help: "Central's identity key (default /etc/sambat/keys/identity.key)."
        )
        var identityKeyFile = "/etc/sambat/keys/identity.key"
        @OptionGroup var files: NodeFiles

        func run() async throws {
            let node = try nodeID(id)
            if FileManager.default.fileExists(atPath: files.out), !files.force {
                throw CommandFailure("Berkas \(files.out) sudah ada; tidak ditimpa (pakai --force untuk menggantinya).")
            }
            if !FileManager.default.fileExists(atPath: identityKeyFile) {
                do {
                    try createKeyFolder(for: identityKeyFile)
                    try IdentityKeyFile.generate(at: identityKeyFile)
                } catch {
                    throw CommandFailure("Kunci identitas \(identityKeyFile) tidak dapat dibuat: \(error)")
                }
                print("Kunci identitas baru: \(identityKeyFile) (mode 0600). Cadangkan terpisah dari data.")
            }
            try await files.write(
                id: node,
                role: .central,
                title: "central node (\(node))",
                sections: [
                    "central:", "  id: \(node)",
                    "sync:", "  bind: \(quoted(bind))",
                    "identity:", "  key_file: \(quoted(identityKeyFile))",
                ]
            )
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
        @OptionGroup var link: CentralLink
        @OptionGroup var files: NodeFiles

        func run() async throws {
            let directory = files.reference
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
            try await files.write(
                id: id,
                role: .office,
                title: "office node of \(office.name) (\(id))",
                sections: try link.section()
            )
        }
    }

    /// `sambat config mayor`: the mayor's node.
    struct Mayor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Konfigurasi node wali kota (the mayor node's configuration)."
        )

        @Option(help: "The mayor node's id.") var id = "mayor"
        @OptionGroup var link: CentralLink
        @OptionGroup var files: NodeFiles

        func run() async throws {
            let node = try nodeID(id)
            try await files.write(id: node, role: .mayor, title: "mayor node (\(node))", sections: try link.section())
        }
    }
}

/// `text` as a double-quoted YAML scalar.
private func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
