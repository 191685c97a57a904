import Foundation
public import Logging
public import Prometheus
public import SambatCore
import SambatDesk
import SambatIntake
public import SambatStore
import SambatSync
import SambatWeb
import SambatWire
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import CMalloc
#endif

/// Why a node could not start.
public struct NodeStartError: Error, CustomStringConvertible {
    /// What happened and what to do, in Bahasa Indonesia.
    public let description: String
}

/// Runs one node in the role its configuration names: the sync service of that role and the
/// status writer, as Services in one ServiceGroup that stops gracefully on SIGTERM or SIGINT.
///
/// Owned by `sambat run`. Every change the node has committed is in SQLite (WAL, synchronous
/// FULL) before it is acknowledged, so a shutdown, graceful or not, loses nothing committed.
public struct NodeRuntime: Sendable {
    /// The configuration it runs.
    public let config: NodeConfig
    private let logger: Logger
    /// Where `/metrics` finds the process's counters: the registry ``bootstrapMetrics()``
    /// returned (a private one by default, which swift-metrics does not feed).
    public var metricsRegistry = PrometheusCollectorRegistry()

    /// Prepares a node; nothing is opened yet.
    public init(config: NodeConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// How a node's log begins the notice that its store's open rebuilt every case's
    /// projection rows; `sambat bench sync --processes` looks for it.
    public static let projectionRebuildNotice = "rebuilt every case's projection rows from the op log"

    /// Opens the store for this configuration, creating the data directory on first start.
    ///
    /// - Parameters:
    ///   - config: the node's configuration.
    ///   - create: whether a missing store may be created (only `sambat run` creates one).
    ///   - deadlines: the policy the store keeps due times by (from the node's reference
    ///     files), so listings read them instead of folding every case.
    /// - Returns: the open store.
    /// - Throws: ``NodeStartError`` naming the problem: the directory belongs to another node,
    ///   the file is not a Sambat store, the disk is read-only…
    public static func openStore(
        _ config: NodeConfig,
        create: Bool,
        deadlines: DeadlinePolicy? = nil
    ) throws(NodeStartError) -> Store {
        if !FileManager.default.fileExists(atPath: config.storePath) {
            guard create else {
                throw NodeStartError(
                    description:
                        "penyimpanan \(config.storePath) belum ada; jalankan node sekali dengan `sambat run --config \(config.sourcePath)`"
                )
            }
            do {
                try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
            } catch {
                throw NodeStartError(description: "direktori data \(config.dataDirectory) tidak dapat dibuat: \(error)")
            }
        }
        do {
            var storeConfiguration = StoreConfiguration(path: config.storePath)
            storeConfiguration.deadlines = deadlines
            return try Store.open(
                storeConfiguration,
                identity: NodeIdentity(node: config.node, role: config.role, central: config.central)
            )
        } catch {
            throw NodeStartError(description: "penyimpanan tidak dapat dibuka: \(error)")
        }
    }

    /// Runs until SIGTERM or SIGINT (or until a service fails).
    public func run() async throws {
        try? FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock(path: config.lockPath)
        } catch {
            throw NodeStartError(description: "node \(config.node) tidak dijalankan: \(error.description)")
        }
        defer { withExtendedLifetime(lock) {} }
        // Read once: the store keeps due times by it, and central's intake routes by it.
        let reference: ReferenceData
        do {
            reference = try ReferenceData.load(config.reference)
        } catch {
            throw NodeStartError(description: "data acuan ditolak: \(Presentation.renderReference(error))")
        }
        let opening = ContinuousClock.now
        let store = try Self.openStore(config, create: true, deadlines: reference.deadlinePolicy)
        // At a year of a city the open's checks are a noticeable part of a restart.
        let openSeconds = String(format: "%.2f", (ContinuousClock.now - opening) / .seconds(1))
        if store.projectionsRebuiltOnOpen {
            // Once after a change of the deadline files (or of the release's projection); at a
            // year of a city it is most of a start, so say why the start took long.
            logger.notice(
                "\(Self.projectionRebuildNotice): the deadline policy changed or the rows were missing",
                metadata: ["node": "\(config.node)", "store.open_s": "\(openSeconds)"]
            )
        }
        let keyPair: CurveKeyPair
        do {
            keyPair = try CurveKeyFile.read(from: config.keyFile)
        } catch {
            throw NodeStartError(description: "node.key_file: \(error)")
        }
        let role = try Self.roleServices(
            config: config,
            reference: reference,
            store: store,
            keyPair: keyPair,
            registry: metricsRegistry,
            logger: logger
        )
        logger.info(
            "node starting",
            metadata: [
                "node": "\(config.node)", "role": "\(config.role)", "data": "\(config.dataDirectory)",
                "store.open_s": "\(openSeconds)",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: role.services.map { .init(service: NamedService($0)) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await role.status.writeFinal()
            throw error
        }
        // What the projection has not caught up with would be projected at the next open;
        // doing it now keeps that start quick.
        do {
            try await store.projectPendingOps()
        } catch {
            logger.warning("could not bring the projection up to date at shutdown", metadata: ["error": "\(error)"])
        }
        await role.status.writeFinal()
        logger.info("node stopped", metadata: ["node": "\(config.node)"])
    }
}

extension NodeRuntime {
    /// What a role runs: its services in start order, and the status writer among them,
    /// whose final write ends a run.
    struct RoleServices {
        let services: [any Service]
        let status: StatusWriter
    }

    /// Builds the services of the node's role: the one place that says what each role runs.
    ///
    /// Front doors that belong to a role (central's HTTP intake, every node's metrics) are
    /// added to its list here.
    static func roleServices(
        config: NodeConfig,
        reference: ReferenceData,
        store: Store,
        keyPair: CurveKeyPair,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger
    ) throws(NodeStartError) -> RoleServices {
        let role: RoleServices
        switch config.roleConfiguration {
        case .central(let central):
            role = try centralServices(
                central,
                config: config,
                reference: reference,
                store: store,
                keyPair: keyPair,
                registry: registry,
                logger: logger
            )
        case .office(let link), .mayor(let link):
            role = linkedServices(
                link,
                config: config,
                reference: reference,
                store: store,
                keyPair: keyPair,
                registry: registry,
                logger: logger
            )
        }
        // Every role receives peers' batches, whose projection rows follow their commit.
        let follower = ProjectionFollower(store: store, logger: logger)
        return RoleServices(services: role.services + [follower], status: role.status)
    }

    /// Central: the sync hub every office and the mayor connect to, the intake processor, the
    /// HTTP server (webhooks) where configured, and the status writer.
    static func centralServices(
        _ central: CentralConfiguration,
        config: NodeConfig,
        reference: ReferenceData,
        store: Store,
        keyPair: CurveKeyPair,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) throws(NodeStartError) -> RoleServices {
        var desk: IntakeDesk
        do {
            let identityKey = try IdentityKeyFile.read(from: central.identityKeyFile)
            desk = try IntakeDesk(store: store, identityKey: identityKey, calendar: reference.calendar)
            desk.whatsAppTemplate = central.whatsApp?.template
        } catch {
            throw NodeStartError(description: "intake tidak dapat disiapkan: \(error)")
        }
        var policy = central.intake
        policy.routing = reference.routing
        let unknown = policy.identityOptionalFor.subtracting(reference.offices.map(\.code)).map(\.rawValue).sorted()
        guard unknown.isEmpty else {
            throw NodeStartError(
                description:
                    "intake.identity_optional_for: OPD \(unknown.joined(separator: ", ")) tidak ada di direktori OPD"
            )
        }
        var intakeLogger = logger
        intakeLogger[metadataKey: "component"] = "intake"
        let intake = IntakeProcessor(
            desk: desk,
            policy: policy,
            officeNames: Dictionary(
                reference.offices.map { ($0.code, $0.name) },
                uniquingKeysWith: { first, _ in first }
            ),
            logger: intakeLogger
        )
        let sync = CentralSyncService(
            store: store,
            configuration: .init(bindEndpoint: central.bindEndpoint, keyPair: keyPair, settings: config.sync),
            logger: logger
        )
        let status = StatusWriter(config: config, store: store, central: sync)
        var services: [any Service] = [sync, intake]
        if let database = central.smsDatabase {
            let gateway: GammuGateway
            do {
                gateway = try GammuGateway(.init(databasePath: database))
            } catch {
                throw NodeStartError(description: "smsd.database: \(error.description)")
            }
            var smsLogger = logger
            smsLogger[metadataKey: "component"] = "sms"
            services.append(SMSPoller(gateway: gateway, desk: desk, logger: smsLogger))
            status.smsGateway = gateway
        }
        if let whatsApp = central.whatsApp, let phoneNumberID = whatsApp.phoneNumberID,
            let tokenFile = whatsApp.accessTokenFile
        {
            let token: [UInt8]
            do {
                token = try SecretFile.read(tokenFile)
            } catch {
                throw NodeStartError(description: "whatsapp.access_token_file: \(error.description)")
            }
            var senderLogger = logger
            senderLogger[metadataKey: "component"] = "whatsapp"
            let graph = WhatsAppSenderConfiguration(
                graphBaseURL: whatsApp.graphBaseURL,
                phoneNumberID: phoneNumberID,
                accessToken: token
            )
            services.append(WhatsAppSender(configuration: graph, desk: desk, logger: senderLogger))
            services.append(
                WhatsAppMediaFetcher(
                    configuration: graph,
                    desk: desk,
                    maximumBytes: whatsApp.mediaMaximumBytes,
                    logger: senderLogger
                )
            )
        }
        if let web = central.web {
            var webhook: (WhatsAppWebhookConfiguration, WhatsAppIntake)?
            if let whatsApp = central.whatsApp {
                let secret: [UInt8]
                do {
                    secret = try SecretFile.read(whatsApp.appSecretFile)
                } catch {
                    throw NodeStartError(description: "whatsapp.app_secret_file: \(error.description)")
                }
                webhook = (
                    WhatsAppWebhookConfiguration(verifyToken: whatsApp.verifyToken, appSecret: secret),
                    WhatsAppIntake(desk: desk)
                )
            }
            var webLogger = logger
            webLogger[metadataKey: "component"] = "http"
            let console = WebConsoleConfiguration(
                book: CaseBook(store: store, reference: reference),
                accounts: StaffAccounts(store: store),
                node: config.node,
                secureCookies: web.secureCookies,
                now: { Timestamp.now },
                actions: CaseActions(store: store, reference: reference)
            )
            let probe = probe(
                registry: registry,
                config: config,
                reference: reference,
                store: store,
                central: sync,
                status: status
            )
            let router = WebServer.router(
                configuration: web,
                whatsApp: webhook,
                hotline: (console, desk),
                probe: probe,
                logger: webLogger
            )
            services.append(WebServer.application(configuration: web, router: router, logger: webLogger))
            services.append(status)
            services.append(ShutdownWatcher(probe: probe))
            return RoleServices(services: services, status: status)
        }
        services.append(status)
        return RoleServices(services: services, status: status)
    }

    /// An office or the mayor: the link to central, the office's console or the mayor's
    /// dashboard where `http.port` is configured, and the status writer.
    static func linkedServices(
        _ link: CentralLinkConfiguration,
        config: NodeConfig,
        reference: ReferenceData,
        store: Store,
        keyPair: CurveKeyPair,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) -> RoleServices {
        let sync = NodeSyncService(
            store: store,
            configuration: .init(
                centralEndpoint: link.endpoint,
                centralPublicKey: link.publicKey,
                nextCentralPublicKey: link.nextPublicKey,
                keyPair: keyPair,
                settings: config.sync
            ),
            logger: logger
        )
        let status = StatusWriter(config: config, store: store, node: sync)
        var services: [any Service] = [sync]
        if let web = link.web {
            var webLogger = logger
            webLogger[metadataKey: "component"] = "http"
            var console = WebConsoleConfiguration(
                book: CaseBook(store: store, reference: reference),
                accounts: StaffAccounts(store: store),
                node: config.node,
                secureCookies: web.secureCookies,
                now: { Timestamp.now }
            )
            if config.role == .office {
                console.actions = CaseActions(store: store, reference: reference)
                console.syncState = {
                    let status = sync.status
                    return WebConsoleConfiguration.SyncState(
                        linkUp: status.linkUp,
                        origin: try? await store.currentOrigin(),
                        centralFrontier: status.centralFrontier,
                        unsent: status.unsent
                    )
                }
            }
            let probe = probe(
                registry: registry,
                config: config,
                reference: reference,
                store: store,
                node: sync,
                status: status
            )
            let router = WebServer.router(
                configuration: web,
                whatsApp: nil,
                dashboard: config.role == .mayor ? console : nil,
                office: config.role == .office ? console : nil,
                probe: probe,
                logger: webLogger
            )
            services.append(WebServer.application(configuration: web, router: router, logger: webLogger))
            services.append(status)
            services.append(ShutdownWatcher(probe: probe))
            return RoleServices(services: services, status: status)
        }
        services.append(status)
        return RoleServices(services: services, status: status)
    }
}

/// A service as ServiceLifecycle's log lines name it: by its type, never by its contents.
///
/// ServiceLifecycle logs every service with `"\(service)"` (at debug level, and at the info
/// level of some events), and a struct's default description prints all its stored
/// properties: central's intake processor printed its identity key bytes and the secret
/// behind reporter references that way. Owned by ``NodeRuntime``, which wraps every service.
struct NamedService: Service, CustomStringConvertible {
    let service: any Service

    init(_ service: any Service) { self.service = service }

    var description: String { String(describing: type(of: service)) }

    func run() async throws { try await service.run() }
}

/// Writes `status.json` every second until graceful shutdown.
final class StatusWriter: Service, Sendable {
    /// The sync service of the node's role: central's or an office's (or the mayor's).
    private let central: CentralSyncService?
    private let node: NodeSyncService?
    private let config: NodeConfig
    private let store: Store
    private let lastContact: Mutex<Int64?>
    /// What the previous run last knew, kept until this run hears from central: a restart
    /// while central is unreachable must not make acknowledged changes look unsent.
    private let previous: NodeStatus?
    private let heardFromCentral = Mutex(false)
    /// Central with an SMS gateway: where modem heartbeats are read.
    private let gateway = Mutex<GammuGateway?>(nil)
    /// Where the file is written, off Swift's cooperative pool.
    ///
    /// An atomic write syncs the file to disk, which must not hold a thread of the pool: under
    /// a back-fill's writes it took up to 21 ms.
    private let fileQueue = DispatchQueue(label: "sambat.status-file")

    /// Central's SMS gateway, set once before the group runs.
    var smsGateway: GammuGateway? {
        get { gateway.withLock { $0 } }
        set { gateway.withLock { $0 = newValue } }
    }

    init(config: NodeConfig, store: Store, central: CentralSyncService? = nil, node: NodeSyncService? = nil) {
        self.config = config
        self.store = store
        self.central = central
        self.node = node
        previous = NodeStatus.read(from: config.statusPath)
        lastContact = Mutex(previous?.lastContactAt)
    }

    /// How often an idle node gives its store's caches back (``Store/releaseMemoryIfIdle()``).
    static let memoryLookInterval = 30

    func run() async throws {
        var seconds = 0
        var trimPending = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await write(running: true)
            try? await Task.sleep(for: .seconds(1))
            seconds += 1
            if trimPending {
                // The store gave its caches back a second ago; hand the freed pages to the
                // system, or glibc keeps them in its arenas and the process's RSS stays.
                trimPending = false
                #if canImport(Glibc)
                _ = malloc_trim(0)
                #endif
            }
            if seconds % Self.memoryLookInterval == 0 { trimPending = await store.releaseMemoryIfIdle() }
        }
    }

    func writeFinal() async { await write(running: false) }

    /// When the link to central was last seen up (ms since the epoch), this run or the last.
    var lastContactAt: Int64? { lastContact.withLock { $0 } }

    static func name(of code: Sambat_Sync_V1_Error.Code) -> String {
        switch code {
        case .notEnrolled: "not_enrolled"
        case .identityMismatch: "identity_mismatch"
        case .duplicateNode: "duplicate_node"
        case .storeBehind: "store_behind"
        case .unsupportedVersion: "unsupported_version"
        default: "other"
        }
    }

    private func write(running: Bool) async {
        let now = Timestamp.now.millisecondsSinceEpoch
        var status = NodeStatus(
            node: config.node.rawValue,
            role: config.role.rawValue,
            pid: getpid(),
            updatedAt: now,
            running: running,
            linkUp: false,
            lastContactAt: nil,
            origin: nil,
            centralFrontier: 0,
            unsent: 0,
            centralSilent: nil,
            centralRefusal: nil,
            connectedPeers: []
        )
        if let central {
            status.connectedPeers = central.connectedPeers.map(\.rawValue).sorted()
            status.linkUp = true
        }
        if let gateway = smsGateway, let modems = try? await gateway.modems() {
            status.smsModems = modems.map {
                .init(id: $0.id, lastSeenAt: $0.lastSeen?.millisecondsSinceEpoch, signalPercent: $0.signalPercent)
            }
        }
        if let node {
            let link = node.status
            status.linkUp = running && link.linkUp
            if link.linkUp { lastContact.withLock { $0 = now } }
            status.lastContactAt = lastContact.withLock { $0 }
            status.origin = (try? await store.currentOrigin())?.description
            status.centralFrontier = link.centralFrontier
            status.unsent = link.unsent
            status.syncBytesSent = link.bytesSent
            status.syncBytesReceived = link.bytesReceived
            if link.linkUp { heardFromCentral.withLock { $0 = true } }
            if !heardFromCentral.withLock({ $0 }), let previous, previous.origin == status.origin,
                previous.centralFrontier > status.centralFrontier
            {
                let head = (try? await store.localHead()) ?? 0
                status.centralFrontier = previous.centralFrontier
                status.unsent = head > previous.centralFrontier ? head - previous.centralFrontier : 0
            }
            status.centralSilent = link.centralSilent
            status.centralAnsweredBefore = heardFromCentral.withLock { $0 }
            status.centralRefusal = link.centralRefusal.map(Self.name(of:))
        }
        let path = config.statusPath
        await withCheckedContinuation { (written: CheckedContinuation<Void, Never>) in
            fileQueue.async { [status] in
                try? status.write(to: path)
                written.resume()
            }
        }
    }
}
