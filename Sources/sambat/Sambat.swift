import ArgumentParser
import SambatCore
import SambatWire

/// The `sambat` command: one executable for every role and tool.
@main
struct Sambat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sambat",
        abstract: "Sambat: sistem pengaduan warga (central, office, mayor).",
        discussion: """
            One program in three roles. `sambat info` shows what this build links against.
            `sambat keys` manages the node's CURVE keys; node commands (run, case, queue,
            report) arrive with later milestones.
            """,
        version: SambatVersion.current,
        subcommands: [Info.self, Keys.self, Node.self, Bench.self]
    )
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
        subcommands: [StoreBenchmark.self, SyncBenchmark.self]
    )
}
