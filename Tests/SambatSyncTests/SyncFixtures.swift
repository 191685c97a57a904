import Foundation
import Logging
import SambatCore
import SambatStore
import SambatSync
import SambatWire
import Synchronization
import Testing

/// Nodes on loopback for the sync tests: stores in a temporary directory, fresh CURVE keys,
/// and services started and stopped as tasks.
final class SyncWorld: Sendable {
    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("bad node id") }
        return id
    }

    static let central = node("central")
    static let dpupr = node("dpupr")
    static let dlh = node("dlh")
    static let mayor = node("mayor")
    static let operatorActor = actor("op.rina")

    static func actor(_ name: String) -> ActorID {
        guard let id = try? ActorID(name) else { preconditionFailure("bad actor") }
        return id
    }

    static func caseID(_ serial: Int) -> CaseID {
        guard let id = try? CaseID(prefix: "MJK", year: 2026, month: 11, day: 29, serial: serial) else {
            preconditionFailure("bad case id")
        }
        return id
    }

    /// The test settings with the default link and HELLO timeouts (15 s and 10 s), for tests
    /// that must show a node does not wait for them.
    static var productionTimeouts: SyncSettings {
        var settings = Self.settings
        settings.linkTimeout = SyncSettings().linkTimeout
        settings.helloTimeout = SyncSettings().helloTimeout
        return settings
    }

    /// The test settings with every node timer (link and HELLO timeouts, ping interval) at ten
    /// minutes: a link that comes back within a test's patience came back through the socket
    /// monitor, not a timer.
    static var patientTimers: SyncSettings {
        var settings = Self.settings
        settings.linkTimeout = .seconds(600)
        settings.helloTimeout = .seconds(600)
        settings.pingInterval = .seconds(600)
        return settings
    }

    /// Quick timings, so link loss and hints show within a test's patience.
    static var settings: SyncSettings {
        var settings = SyncSettings()
        settings.pollInterval = .milliseconds(10)
        settings.pingInterval = .milliseconds(500)
        settings.linkTimeout = .seconds(2)
        settings.helloTimeout = .milliseconds(700)
        settings.heartbeatInterval = .milliseconds(500)
        settings.reconnectInitial = .milliseconds(100)
        settings.reconnectMaximum = .milliseconds(500)
        return settings
    }

    let directory: String
    let centralKeys: CurveKeyPair
    let keys: [NodeID: CurveKeyPair]
    let log = LogRecorder()

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("sambat-sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        centralKeys = try CurveKeyPair.generate()
        var keys: [NodeID: CurveKeyPair] = [:]
        for node in [Self.dpupr, Self.dlh, Self.mayor] { keys[node] = try CurveKeyPair.generate() }
        self.keys = keys
    }

    func key(_ node: NodeID) -> CurveKeyPair {
        guard let key = keys[node] else { preconditionFailure("no key for \(node)") }
        return key
    }

    func open(_ node: NodeID, _ role: NodeRole) throws -> Store {
        try Store.open(
            StoreConfiguration(path: "\(directory)/\(node).sqlite"),
            identity: NodeIdentity(node: node, role: role, central: Self.central)
        )
    }

    /// Central's store restored from `backup` into a new file (as `sambat restore` does).
    func restoreCentral(from backup: String) throws -> Store {
        let path = "\(directory)/central-restored.sqlite"
        try Store.restore(backup: backup, to: path)
        return try Store.open(
            StoreConfiguration(path: path),
            identity: NodeIdentity(node: Self.central, role: .central, central: Self.central)
        )
    }

    /// Central's store with dpupr, dlh (offices) and the mayor enrolled.
    func openCentral() async throws -> Store {
        let store = try open(Self.central, .central)
        try await store.enrolPeer(Self.dpupr, role: .office, publicKey: key(Self.dpupr).publicKey, at: .now)
        try await store.enrolPeer(Self.dlh, role: .office, publicKey: key(Self.dlh).publicKey, at: .now)
        try await store.enrolPeer(Self.mayor, role: .mayor, publicKey: key(Self.mayor).publicKey, at: .now)
        return store
    }

    func logger(_ label: String) -> Logger {
        let recorder = log
        var logger = Logger(label: label) { _ in RecordingLogHandler(recorder: recorder) }
        logger.logLevel = .debug
        return logger
    }

    /// Starts central on `endpoint` and returns the task and the bound endpoint.
    func startCentral(
        _ store: Store,
        endpoint: String = "tcp://127.0.0.1:*",
        keyPair: CurveKeyPair? = nil,
        settings: SyncSettings = SyncWorld.settings
    ) async throws -> (
        task: Task<Void, any Error>, service: CentralSyncService, endpoint: String
    ) {
        let service = CentralSyncService(
            store: store,
            configuration: .init(bindEndpoint: endpoint, keyPair: keyPair ?? centralKeys, settings: settings),
            logger: logger("central")
        )
        let bound = Mutex<String?>(nil)
        let task = Task { try await service.run { address in bound.withLock { $0 = address } } }
        let address = try await eventually("central binds") { bound.withLock { $0 } }
        return (task, service, address)
    }

    /// Central running with one case dispatched to dpupr, which synced it once and stopped
    /// (its task ended, its socket closed); the caller cancels `hub.task`.
    func centralWithAnOfficeThatSyncedOnce() async throws -> (
        central: Store, office: Store, caseID: CaseID,
        hub: (task: Task<Void, any Error>, service: CentralSyncService, endpoint: String)
    ) {
        let central = try await openCentral()
        let office = try open(Self.dpupr, .office)
        let caseID = try await Self.dispatch(central, serial: 1)
        let hub = try await startCentral(central)
        let first = startNode(office, endpoint: hub.endpoint)
        try await eventually("the office holds the case") { try await office.caseState(caseID) != nil }
        first.task.cancel()
        _ = await first.task.result
        return (central, office, caseID, hub)
    }

    /// Central, dpupr and the mayor syncing over real sockets, with one case dispatched to
    /// dpupr before they started; ``stop()`` cancels all three.
    struct Star {
        let central: Store
        let office: Store
        let mayor: Store
        let caseID: CaseID
        let hub: (task: Task<Void, any Error>, service: CentralSyncService, endpoint: String)
        let officeLink: (task: Task<Void, any Error>, service: NodeSyncService)
        let mayorLink: (task: Task<Void, any Error>, service: NodeSyncService)

        func stop() {
            officeLink.task.cancel()
            mayorLink.task.cancel()
            hub.task.cancel()
        }
    }

    /// Starts a ``Star`` whose dispatched case has `serial`, central with `centralSettings`.
    func startStar(serial: Int = 1, centralSettings: SyncSettings = SyncWorld.settings) async throws -> Star {
        let central = try await openCentral()
        let office = try open(Self.dpupr, .office)
        let mayor = try open(Self.mayor, .mayor)
        let caseID = try await Self.dispatch(central, serial: serial)
        let hub = try await startCentral(central, settings: centralSettings)
        return Star(
            central: central,
            office: office,
            mayor: mayor,
            caseID: caseID,
            hub: hub,
            officeLink: startNode(office, endpoint: hub.endpoint),
            mayorLink: startNode(mayor, endpoint: hub.endpoint)
        )
    }

    /// Starts a node's sync service against central at `endpoint`.
    func startNode(
        _ store: Store,
        endpoint: String,
        keys: CurveKeyPair? = nil,
        centralKey: String? = nil,
        nextCentralKey: String? = nil,
        settings: SyncSettings = SyncWorld.settings
    ) -> (task: Task<Void, any Error>, service: NodeSyncService) {
        let node = store.identity.node
        let service = NodeSyncService(
            store: store,
            configuration: .init(
                centralEndpoint: endpoint,
                centralPublicKey: centralKey ?? centralKeys.publicKey,
                nextCentralPublicKey: nextCentralKey,
                keyPair: keys ?? key(node),
                settings: settings
            ),
            logger: logger(node.rawValue)
        )
        return (Task { try await service.run() }, service)
    }

    /// Verifies and dispatches a new complaint at central.
    static func dispatch(_ central: Store, serial: Int, to office: NodeID = dpupr) async throws -> CaseID {
        let caseID = caseID(serial)
        let opened = OpBody.opened(
            .init(channel: .sms, reporterRef: "rpt-\(serial)", text: "Jalan rusak di gang \(serial)")
        )
        _ = try await central.append(opened, to: caseID, actor: operatorActor, at: .now)
        _ = try await central.append(.verified(.init(tier: .normatif)), to: caseID, actor: operatorActor, at: .now)
        _ = try await central.append(
            .dispatched(.init(office: office, epoch: 1)),
            to: caseID,
            actor: operatorActor,
            at: .now
        )
        return caseID
    }

    /// The canonical hashes of a case's ops, sorted: equal on two nodes iff they hold the same ops.
    static func hashes(_ store: Store, _ caseID: CaseID) async throws -> [String] {
        try await store.ops(ofCase: caseID).map { $0.sealed.hash.description }.sorted()
    }
}

/// Waits up to `timeout` for `probe` to return a value.
func eventually<T>(
    _ what: String,
    timeout: Duration = .seconds(20),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

/// Waits up to `timeout` for `condition` to hold.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    _ = try await eventually(what, timeout: timeout) { try await condition() ? true : nil }
}

/// Log lines kept for assertions.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.append("\(event.level) \(event.message) \(event.metadata ?? [:])")
    }
}
