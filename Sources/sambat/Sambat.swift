import ArgumentParser
import Dispatch
import SambatCore
import SambatDesk
import SambatWire

/// The process entry: the command runs on the cooperative pool while the main thread waits.
///
/// Why not an `async` main: on Linux it parks the main thread in `dispatch_main`, and
/// valgrind 3.19 (Debian 12's) crashes on the next thread the process creates, so no
/// `sambat bench` could be profiled with callgrind (see docs/benchmarks.md). Nothing in Sambat
/// or its dependencies runs on the main actor or the main dispatch queue. Keep it so: the main
/// queue never runs here, so `@MainActor` code, or a GRDB `ValueObservation` left on its
/// default main-queue scheduling, would wait forever without an error.
@main
enum SambatEntry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await Sambat.main()
            finished.signal()
        }
        finished.wait()
    }
}

/// The `sambat` command: one executable for every role and tool.
struct Sambat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sambat",
        abstract: "Sambat: sistem pengaduan warga (central, office, mayor).",
        discussion: """
            One program in three roles. `sambat run --config Config/<node>.yaml` runs a node;
            the other commands work on that node's own store with the same --config (or
            $SAMBAT_CONFIG), whether the node runs or not.
            Office: case list|show|ack|start|note|resolve|return, status.
            Central: intake, queue, case verify|pend|archive|dispatch|reassign|close|reopen,
            conflicts, conflict resolve, reporter show (audited), node enrol|revoke|list,
            apikey add|revoke|list (Open311 clients).
            Mayor: report, recap, and the dashboard (http.port).
            Every node with a web console: account add|password|disable|enable|list.
            """,
        version: SambatVersion.current,
        subcommands: [
            Info.self, Run.self, Status.self, Case.self, Intake.self, Queue.self, Conflicts.self,
            ConflictCommand.self, Reporter.self, Report.self, Recap.self, Keys.self, Node.self, Account.self,
            ApiKey.self, Backup.self, Restore.self, ConfigCommand.self,
            Inspect.self, Bench.self,
        ]
    )

    /// Runs the chosen command; the use-case layer's refusals are printed in Bahasa, as staff
    /// read them everywhere else.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: staffFacing(error))
        }
    }

    /// `error` with the Bahasa text staff read, for the layers' own error types.
    static func staffFacing(_ error: any Error) -> any Error {
        switch error {
        case let refused as DeskError: CommandFailure(Presentation.render(refused))
        case let refused as IntakeError: CommandFailure("Pengaduan ditolak: " + Presentation.render(refused))
        case let refused as ConfigurationError: CommandFailure(Presentation.render(refused))
        default: error
        }
    }
}

/// The version string printed by `sambat --version`.
enum SambatVersion {
    static let current = "0.1.0"
}

/// `sambat info`: versions and capabilities of this build.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tampilkan versi dan kemampuan build ini (show build versions and capabilities)."
    )

    func run() throws {
        print("sambat \(SambatVersion.current)")
        print("op format version: \(SealedOp.formatVersion)")
        print("libzmq: \(ZMQLibrary.version) (curve: \(ZMQLibrary.hasCurve ? "yes" : "no"))")
        if ZMQLibrary.version < ZMQLibrary.minimumVersion {
            throw ValidationError("libzmq \(ZMQLibrary.version) is older than \(ZMQLibrary.minimumVersion)")
        }
    }
}

/// `sambat bench`: benchmarks of the running system's parts.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Jalankan tolok ukur (run benchmarks).",
        subcommands: [
            StoreBenchmark.self, SyncBenchmark.self, ReadsBenchmark.self, WebhookBenchmark.self, ScaleHistory.self,
        ]
    )
}
