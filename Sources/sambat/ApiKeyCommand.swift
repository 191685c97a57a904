import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

/// `sambat apikey`: the API keys of Open311 clients (the city's apps and CRMs) at central.
struct ApiKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "Kelola kunci API Open311 di central (API keys of Open311 clients).",
        discussion: """
            A key lets a client post requests to /open311/v2/requests.{xml|json}. It is printed
            once, when made; central keeps only its SHA-256. Revoking a key refuses it at once.
            """,
        subcommands: [Add.self, Revoke.self, List.self]
    )

    /// `sambat apikey add <client>`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Buat kunci untuk klien (make a key).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The client's name, such as lapor-app (2-64 of a-z 0-9 . _ -).") var client: String

        func run() async throws {
            let context = try await node.open(requiring: [.central])
            let name = try StaffAccounts.validName(client)
            let desk = try intakeDesk(context)
            let key = try await desk.newOpen311Key(name: name, at: Timestamp.now)
            print("Kunci API untuk \(name) (simpan sekarang; tidak ditampilkan lagi):")
            print(key)
        }
    }

    /// `sambat apikey revoke <client>`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cabut kunci klien (revoke a key).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The client's name.") var client: String

        func run() async throws {
            let context = try await node.open(requiring: [.central])
            guard try await context.store.revokeOpen311Key(name: client, at: Timestamp.now) else {
                throw CommandFailure("Tidak ada kunci aktif bernama \(client).")
            }
            print("Kunci \(client) dicabut.")
        }
    }

    /// `sambat apikey list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Daftar kunci (list keys).")
        @OptionGroup var node: ConfigOption

        func run() async throws {
            let context = try await node.open(requiring: [.central])
            let keys = try await context.store.open311Keys()
            guard !keys.isEmpty else {
                print("Belum ada kunci. Buat dengan `sambat apikey add`.")
                return
            }
            let width = max(6, keys.map(\.name.count).max() ?? 0) + 2
            print(Presentation.column("KLIEN", width) + Presentation.column("DIBUAT (WIB)", 22) + "STATUS")
            for key in keys {
                let status = key.revokedAt.map { "dicabut " + Presentation.time($0, context.calendar) } ?? "aktif"
                print(
                    Presentation.column(key.name, width)
                        + Presentation.column(Presentation.time(key.createdAt, context.calendar), 22) + status
                )
            }
        }
    }
}
