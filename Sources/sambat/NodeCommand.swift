import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatStore

/// `sambat node`: enrolment of offices and the mayor at central.
struct Node: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kelola node yang terdaftar di central (enrol, revoke and list nodes at central).",
        discussion: """
            Run on the central machine, against central's store. Only enrolled public keys may
            connect; a revoked node is cut off within a second, even while connected.
            """,
        subcommands: [Enrol.self, Revoke.self, List.self]
    )

    /// Where central's store is.
    struct StoreOptions: ParsableArguments {
        @Option(help: "Central's configuration file (default: $SAMBAT_CONFIG); overrides --store and --central.")
        var config: String?
        @Option(help: "Central's SQLite store.") var store: String = "data/central/sambat.sqlite"
        @Option(help: "Central's node id.") var central: String = "central"

        /// Central's store; `create` makes it when central has never run (enrolment may come
        /// first when a deployment is set up).
        func open(create: Bool = false) async throws -> Store {
            if config != nil || ProcessInfo.processInfo.environment["SAMBAT_CONFIG"] != nil {
                var option = ConfigOption()
                option.config = config
                return try await option.open(requiring: [.central], create: create).store
            }
            let node: NodeID
            do {
                node = try NodeID(central)
            } catch {
                throw ValidationError("Id central tidak sah: \(error)")
            }
            guard FileManager.default.fileExists(atPath: store) else {
                throw CommandFailure("Penyimpanan central tidak ditemukan: \(store). Periksa --store.")
            }
            do {
                return try Store.open(
                    StoreConfiguration(path: store),
                    identity: NodeIdentity(node: node, role: .central, central: node)
                )
            } catch {
                throw CommandFailure("Penyimpanan central tidak dapat dibuka: \(error)")
            }
        }
    }

    /// `sambat node enrol <id> --role office|mayor --public-key <z85>`.
    struct Enrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Daftarkan node dengan kunci publiknya (enrol a node with its public key)."
        )

        @Argument(help: "The node id, such as dpupr.") var id: String
        @Option(help: "office or mayor.") var role: String
        @Option(name: .customLong("public-key"), help: "The node's public key (Z85), from `sambat keys generate`.")
        var publicKey: String
        @OptionGroup var options: StoreOptions

        func run() async throws {
            guard let role = NodeRole(rawValue: role), role != .central else {
                throw ValidationError("--role harus office atau mayor.")
            }
            let node = try nodeID(id)
            let store = try await options.open(create: true)
            do {
                try await store.enrolPeer(node, role: role, publicKey: publicKey, at: .now)
            } catch {
                throw CommandFailure("Pendaftaran gagal: \(error.message)")
            }
            print("Terdaftar: \(node) (\(role)).")
        }
    }

    /// `sambat node revoke <id>`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cabut pendaftaran node (revoke a node; it is cut off at once)."
        )

        @Argument(help: "The node id.") var id: String
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let node = try nodeID(id)
            let store = try await options.open()
            guard try await store.revokePeer(node, at: .now) else {
                throw CommandFailure("Node \(node) tidak terdaftar atau sudah dicabut.")
            }
            print("Dicabut: \(node).")
        }
    }

    /// `sambat node list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Daftar node (list enrolled and revoked nodes).")

        @OptionGroup var options: StoreOptions

        func run() async throws {
            let peers = try await options.open().peers()
            guard !peers.isEmpty else {
                print("Belum ada node terdaftar.")
                return
            }
            print("NODE                             PERAN   STATUS   KUNCI PUBLIK")
            for peer in peers {
                let node = peer.node.rawValue.padding(toLength: 32, withPad: " ", startingAt: 0)
                let role = peer.role.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                let status = (peer.status == .active ? "aktif" : "dicabut").padding(
                    toLength: 8,
                    withPad: " ",
                    startingAt: 0
                )
                print("\(node) \(role) \(status) \(peer.publicKey.isEmpty ? "-" : peer.publicKey)")
            }
        }
    }
}

/// A command that could not do its work: printed as `Error: <message>`, exit code 1, without
/// the usage text (which is for mistakes in the command line itself).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }
}
