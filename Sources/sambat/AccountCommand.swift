import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore

#if canImport(Glibc)
import Glibc
#endif

/// `sambat account`: the staff accounts of this node's web console.
struct Account: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kelola akun petugas untuk konsol web node ini (staff accounts of the web console).",
        discussion: """
            Accounts belong to the node whose store they are in and are never synced. The account
            name is the actor of every change the account makes. Passwords are read from standard
            input (--password-stdin, one line) or asked for without echo; they are kept only as
            bcrypt hashes. Changing a password or disabling an account signs it out everywhere.
            """,
        subcommands: [Add.self, Password.self, Disable.self, Enable.self, List.self]
    )

    /// `sambat account add <name> --display-name "Rina Wulandari"`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tambah akun (add an account).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The account name, such as op.rina or walikota.ani.") var name: String
        @Option(name: .customLong("display-name"), help: "The name the console shows.") var displayName: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
        var passwordStdin = false

        func run() async throws {
            let context = try await node.open()
            let password = try PasswordInput.read(fromStandardInput: passwordStdin, confirm: true)
            try await StaffAccounts(store: context.store).add(
                name: name,
                displayName: displayName,
                password: password,
                at: Timestamp.now
            )
            print("Akun \(name) dibuat di node \(context.config.node).")
        }
    }

    /// `sambat account password <name>`.
    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ganti kata sandi (set a new password).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The account name.") var name: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
        var passwordStdin = false

        func run() async throws {
            let context = try await node.open()
            let password = try PasswordInput.read(fromStandardInput: passwordStdin, confirm: true)
            try await StaffAccounts(store: context.store).setPassword(of: name, to: password, at: Timestamp.now)
            print("Kata sandi \(name) diganti; semua sesinya berakhir.")
        }
    }

    /// `sambat account disable <name>`.
    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Nonaktifkan akun (disable an account).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The account name.") var name: String

        func run() async throws {
            let context = try await node.open()
            try await StaffAccounts(store: context.store).setDisabled(name, true, at: Timestamp.now)
            print("Akun \(name) dinonaktifkan; semua sesinya berakhir.")
        }
    }

    /// `sambat account enable <name>`.
    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Aktifkan lagi akun (enable an account).")
        @OptionGroup var node: ConfigOption
        @Argument(help: "The account name.") var name: String

        func run() async throws {
            let context = try await node.open()
            try await StaffAccounts(store: context.store).setDisabled(name, false, at: Timestamp.now)
            print("Akun \(name) aktif lagi.")
        }
    }

    /// `sambat account list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Daftar akun (list accounts).")
        @OptionGroup var node: ConfigOption

        func run() async throws {
            let context = try await node.open()
            let accounts = try await StaffAccounts(store: context.store).list()
            guard !accounts.isEmpty else {
                print("Belum ada akun. Buat dengan `sambat account add`.")
                return
            }
            let width = max(6, accounts.map(\.name.count).max() ?? 0) + 2
            print(Presentation.column("AKUN", width) + Presentation.column("STATUS", 10) + "NAMA")
            for account in accounts {
                print(
                    Presentation.column(account.name, width)
                        + Presentation.column(account.isDisabled ? "nonaktif" : "aktif", 10) + account.displayName
                )
            }
        }
    }
}

/// Reads a password: one line of standard input, or asked twice without echo on a terminal.
enum PasswordInput {
    static func read(fromStandardInput: Bool, confirm: Bool) throws -> String {
        if fromStandardInput || isatty(STDIN_FILENO) == 0 {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CommandFailure("Kata sandi tidak terbaca dari masukan standar.")
            }
            return line
        }
        let first = prompt("Kata sandi: ")
        if confirm, prompt("Ulangi kata sandi: ") != first {
            throw CommandFailure("Kedua kata sandi berbeda; tidak ada yang diubah.")
        }
        return first
    }

    /// Reads a line from the terminal with echo off.
    private static func prompt(_ text: String) -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
