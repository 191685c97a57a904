import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
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

    /// Loads the configuration and reference data and opens the node's store: an existing
    /// one, or a new one when `create` (enrolment before central's first run).
    func open(requiring roles: Set<NodeRole>? = nil, create: Bool = false) async throws -> NodeContext {
        let config = try await NodeConfigLoader.load(path: try path())
        if let roles, !roles.contains(config.role) {
            let names = roles.map(\.rawValue).sorted().joined(separator: " atau ")
            throw CommandFailure("Perintah ini hanya untuk node \(names); node \(config.node) berperan \(config.role).")
        }
        let reference = try loadReference(config)
        let store: Store
        do {
            store = try NodeRuntime.openStore(config, create: create, deadlines: reference.deadlinePolicy)
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
        return try StaffInput.actor(actor ?? environment["SAMBAT_ACTOR"] ?? environment["USER"] ?? "petugas")
    }
}

/// What a command works with: the node's configuration, reference data and store.
struct NodeContext {
    let config: NodeConfig
    let reference: ReferenceData
    let store: Store

    /// Reads: listings, detail, queue, conflicts, report, recap.
    var book: CaseBook { CaseBook(store: store, reference: reference) }
    /// Staff actions.
    var actions: CaseActions { CaseActions(store: store, reference: reference) }
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

/// A node id typed on the command line, or a usage error saying why it is not one.
func nodeID(_ text: String) throws -> NodeID {
    do {
        return try NodeID(text)
    } catch {
        throw ValidationError("Id node tidak sah: \(error)")
    }
}

/// Reads the reference files a configuration names, refusing in Bahasa.
func loadReference(_ config: NodeConfig) throws -> ReferenceData {
    do {
        return try ReferenceData.load(config.reference)
    } catch {
        throw CommandFailure("Data acuan ditolak: " + Presentation.renderReference(error))
    }
}
