import Foundation
import Logging
import SambatCore
import SambatStore
import SambatSync
import SambatTestKit
import Synchronization

/// One seeded world: central, offices and the mayor, each a real store driven by the real
/// sync state machines (`NodeLink`, `PeerSession`), over a simulated network and clock.
///
/// Everything random comes from the seed, and the loop handles one event at a time in
/// simulated time order, so a seed replays exactly. Faults: message loss, duplication,
/// delay and reordering, partitions, crashes and restarts of any node (a crash loses only
/// the machines' memory; the stores keep what they committed), and offices restored from an
/// old backup under a new incarnation.
final class SimulatedWorld {
    /// What a run found; `problems` is empty when every promise held.
    struct Outcome {
        var problems: [String] = []
        var opsAuthored = 0
        var messagesSent = 0
        var messagesLost = 0
        var messagesDuplicated = 0
        var crashes = 0
        var partitions = 0
        var restores = 0
        var healedAfterMilliseconds = 0
    }

    /// The fault rates and sizes drawn for this seed.
    struct Plan {
        var offices: Int
        var opBudget: Int
        var lossRate: Double
        var duplicateRate: Double
        var maximumDelay: Int
        var faultyMilliseconds: Int
        var crashesPerNode: Int
        var partitionsPerNode: Int
        var restores: Int
    }

    static let central = node("central")
    static let mayor = node("mayor")
    static let officeNames = ["dpupr", "dlh", "perkim"]
    /// Simulated wall time starts here (2026-11-30 08:00 WIB), so receive times replay too.
    static let epochMilliseconds: Int64 = 1_796_000_400_000

    /// The store work's logger: the simulation reads outcomes, not log lines.
    static let quiet = Logger(label: "sambat.simulation") { _ in SwiftLogNoOpLogHandler() }

    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("bad node id \(name)") }
        return id
    }

    static var settings: SyncSettings {
        var settings = SyncSettings()
        settings.maximumBatchOps = 16
        settings.credit = 2
        settings.pingInterval = .milliseconds(500)
        settings.linkTimeout = .seconds(2)
        settings.helloTimeout = .seconds(1)
        settings.pollInterval = .milliseconds(50)
        return settings
    }

    let seed: UInt64
    let directory: String
    var random: SplitMix64
    let plan: Plan
    var outcome = Outcome()

    /// Simulated time in milliseconds since the start of the run.
    var now = 0
    let clockBase = ContinuousClock.now
    var instant: ContinuousClock.Instant { clockBase + .milliseconds(now) }
    var wallTime: Timestamp { Timestamp(millisecondsSinceEpoch: Self.epochMilliseconds + Int64(now)) }

    private var agenda: [(at: Int, order: Int, event: WorldEvent)] = []
    private var order = 0
    var faulty = true

    // Central: the product's hub over the real store; only the network is simulated.
    var centralStore: Store
    var centralUp = true
    var hub = CentralHub(settings: SimulatedWorld.settings)
    /// Central's store work, made once: the service makes it once per run, too.
    let centralWork: CentralStoreWork
    /// Bumped when central crashes: messages in flight to or from it die with its connections.
    var centralGeneration = 0
    /// The key each peer is enrolled with (ZAP's answer in the product).
    var peerKeys: [NodeID: String] = [:]
    var centralTicks = 0

    // Offices and the mayor.
    var nodes: [NodeID: SimulatedNode] = [:]
    var offices: [NodeID] = []

    /// Every op authored anywhere, by id: its hash.
    ///
    /// A second hash for one id is a seq reused.
    var ledger: [OpID: OpHash] = [:]
    /// Origins abandoned by a restore: their ops central never got are lost by design.
    var abandonedOrigins: Set<Origin> = []
    var serial = 0

    enum WorldEvent {
        case deliverToCentral(from: NodeID, connection: Int, generation: Int, frames: [[UInt8]])
        case deliverToNode(NodeID, connection: Int, generation: Int, frames: [[UInt8]])
        case nodeTick(NodeID)
        case centralTick
        case work
        case crash(NodeID)
        case restart(NodeID)
        case partition(NodeID, on: Bool)
        case takeBackup(NodeID)
        case restore(NodeID)

        var isDelivery: Bool {
            switch self {
            case .deliverToCentral, .deliverToNode: true
            default: false
            }
        }
    }

    init(seed: UInt64, directory: String) throws {
        self.seed = seed
        self.directory = directory
        var random = SplitMix64(seed: seed)
        plan = Plan(
            offices: 2 + random.next(below: 2),
            opBudget: 20 + random.next(below: 131),
            lossRate: Double(random.next(below: 20)) / 100,
            duplicateRate: Double(random.next(below: 10)) / 100,
            maximumDelay: 1 + random.next(below: 300),
            faultyMilliseconds: 2_000 + random.next(below: 8_000),
            crashesPerNode: random.next(below: 3),
            partitionsPerNode: random.next(below: 3),
            restores: random.chance(0.3) ? 1 : 0
        )
        self.random = random
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        centralStore = try StoreTemplates.open(directory + "/central.sqlite", node: Self.central, role: .central)
        centralWork = CentralStoreWork(store: centralStore, logger: Self.quiet)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    // MARK: Running

    func run() async throws -> Outcome {
        offices = Self.officeNames.prefix(plan.offices).map(Self.node)
        var index = 0
        for node in offices + [Self.mayor] {
            index += 1
            let role: NodeRole = node == Self.mayor ? .mayor : .office
            // Enrolment wants a well-formed Z85 key; the simulation has no CURVE.
            let key = String(repeating: "a", count: 36) + String(1000 + index)
            try await centralStore.enrolPeer(node, role: role, publicKey: key, at: wallTime)
            peerKeys[node] = key
            nodes[node] = try SimulatedNode(world: self, node: node, role: role)
        }
        for node in nodes.keys.sorted() { await connect(node) }
        schedule(.centralTick, after: 100)
        for node in nodes.keys.sorted() { schedule(.nodeTick(node), after: 50) }
        schedule(.work, after: 10)
        for node in [Self.central] + nodes.keys.sorted() {
            for _ in 0..<plan.crashesPerNode {
                schedule(.crash(node), after: random.next(below: plan.faultyMilliseconds))
            }
            for _ in 0..<plan.partitionsPerNode where node != Self.central {
                let start = random.next(below: plan.faultyMilliseconds)
                schedule(.partition(node, on: true), after: start)
                schedule(.partition(node, on: false), after: start + 200 + random.next(below: 3_000))
            }
        }
        for _ in 0..<plan.restores {
            guard let office = offices.randomElement(using: &random) else { break }
            let backupAt = random.next(below: plan.faultyMilliseconds / 2)
            schedule(.takeBackup(office), after: backupAt)
            schedule(.restore(office), after: backupAt + 500 + random.next(below: plan.faultyMilliseconds / 2))
        }

        // The faulty phase, then healing: no more loss, duplication or partitions; every
        // crashed node restarted.
        try await runUntil(plan.faultyMilliseconds)
        faulty = false
        if !centralUp { try await handle(.restart(Self.central)) }
        for node in nodes.keys.sorted() {
            nodes[node]?.partitioned = false
            if nodes[node]?.sync == nil { try await handle(.restart(node)) }
        }
        let healedAt = now
        let limit = now + 120_000
        while now < limit {
            try await runUntil(now + 1_000)
            if try await isQuiet() { break }
        }
        outcome.healedAfterMilliseconds = now - healedAt
        try await check()
        return outcome
    }

    func schedule(_ event: WorldEvent, after delay: Int) {
        order += 1
        let entry = (at: now + max(0, delay), order: order, event: event)
        let position = agenda.firstIndex { ($0.at, $0.order) > (entry.at, entry.order) } ?? agenda.endIndex
        agenda.insert(entry, at: position)
    }

    private func runUntil(_ time: Int) async throws {
        while let first = agenda.first, first.at <= time {
            agenda.removeFirst()
            now = first.at
            try await handle(first.event)
        }
        now = max(now, time)
    }

    private func handle(_ event: WorldEvent) async throws {
        switch event {
        case .deliverToCentral(let from, let connection, let generation, let frames):
            guard centralUp, generation == centralGeneration else { return }
            let arrival = CentralHub.Arrival(
                connection: Self.routingID(from, connection),
                node: from,
                key: peerKeys[from] ?? "",
                frames: frames
            )
            await driveHub(.arrived(arrival))
        case .deliverToNode(let node, let connection, let generation, let frames):
            guard generation == centralGeneration, let simulated = nodes[node], simulated.sync != nil,
                simulated.connection == connection
            else { return }
            await simulated.receive(frames)
        case .nodeTick(let node):
            if let simulated = nodes[node], simulated.sync != nil { await simulated.tick() }
            schedule(.nodeTick(node), after: 200)
        case .centralTick:
            if centralUp {
                await driveHub(.tick)
                // The service reads the peer table about once a second.
                centralTicks += 1
                if centralTicks % 3 == 0, let peers = try? await centralStore.peers() {
                    await driveHub(.peersRead(peers))
                }
            }
            schedule(.centralTick, after: 300)
        case .work:
            // Staff work while the world is faulty; healing only lets it settle.
            if faulty, outcome.opsAuthored < plan.opBudget {
                try await doSomeWork()
                schedule(.work, after: 5 + random.next(below: max(10, plan.faultyMilliseconds / plan.opBudget)))
            }
        case .crash(let node):
            guard faulty else { return }
            outcome.crashes += 1
            if node == Self.central {
                centralUp = false
                centralGeneration += 1
                hub = CentralHub(settings: Self.settings)
            } else {
                nodes[node]?.crash()
            }
            schedule(.restart(node), after: 100 + random.next(below: 2_000))
        case .restart(let node):
            if node == Self.central {
                centralUp = true
            } else if let simulated = nodes[node], simulated.sync == nil {
                await connect(node)
            }
        case .partition(let node, let on):
            guard faulty || !on else { return }
            if on { outcome.partitions += 1 }
            nodes[node]?.partitioned = on
        case .takeBackup(let node):
            try await nodes[node]?.takeBackup()
        case .restore(let node):
            guard faulty, let simulated = nodes[node], simulated.backupPath != nil else { return }
            outcome.restores += 1
            try await simulated.restoreFromBackup()
            await connect(node)
        }
    }

    private func connect(_ node: NodeID) async {
        await nodes[node]?.start()
    }

    // MARK: The network

    /// Sends frames across the simulated network, with loss, duplication and delay while
    /// faulty; a partitioned node neither sends nor receives.
    func transmit(_ frames: [[UInt8]], from node: NodeID, toCentral: Bool, connection: Int) {
        outcome.messagesSent += 1
        if nodes[node]?.partitioned == true { return }
        var copies = 1
        if faulty {
            if random.chance(plan.lossRate) {
                outcome.messagesLost += 1
                return
            }
            if random.chance(plan.duplicateRate) {
                outcome.messagesDuplicated += 1
                copies = 2
            }
        }
        for _ in 0..<copies {
            let delay = faulty ? 1 + random.next(below: plan.maximumDelay) : 1 + random.next(below: 5)
            let event: WorldEvent =
                toCentral
                ? .deliverToCentral(from: node, connection: connection, generation: centralGeneration, frames: frames)
                : .deliverToNode(node, connection: connection, generation: centralGeneration, frames: frames)
            schedule(event, after: delay)
        }
    }

    // MARK: Central (the product's hub and store work; only sending and probing are simulated)

    /// A connection's routing id: the node and its connection number.
    static func routingID(_ node: NodeID, _ connection: Int) -> CentralHub.Connection {
        Array("\(node)#\(connection)".utf8)
    }

    static func endpoint(of routingID: CentralHub.Connection) -> (node: NodeID, connection: Int)? {
        let parts = String(decoding: routingID, as: UTF8.self).split(separator: "#")
        guard parts.count == 2, let node = try? NodeID(String(parts[0])), let connection = Int(parts[1]) else {
            return nil
        }
        return (node, connection)
    }

    /// Feeds the hub an event and carries out its actions, and theirs, as the service does.
    private func driveHub(_ first: CentralHub.Event) async {
        let work = centralWork
        var pending = [first]
        while !pending.isEmpty, centralUp {
            for action in hub.handle(pending.removeFirst(), at: instant) {
                switch action {
                case .send(let message, let connection, _):
                    sendFromCentral(message, to: connection)
                case .probe(let hello, let connection):
                    // One process per node here: its old connection is gone once it reconnected
                    // or crashed.
                    let old = Self.endpoint(of: connection)
                    let gone = old.flatMap { nodes[$0.node] }.map { $0.sync == nil || $0.connection != old?.connection }
                    pending.append(.probed(hello, connectionGone: gone ?? true))
                case .serveBlob(let ask, let node, let role, let connection):
                    sendFromCentral(await work.blobChunk(for: ask, node: node, role: role), to: connection)
                case .connectedChanged, .log:
                    break
                case .lookUpSender, .lookUpHello, .readFeed, .applyUpload, .saveAcknowledged, .resetAcknowledged,
                    .readFeedHeads,
                    .recordContact, .readSyncHealth:
                    if let next = await work.perform(action, receivedAt: wallTime) { pending.append(next) }
                }
            }
        }
    }

    private func sendFromCentral(_ message: SyncMessage, to connection: CentralHub.Connection) {
        guard let endpoint = Self.endpoint(of: connection) else { return }
        transmit(SyncFrames.encode(message), from: endpoint.node, toCentral: false, connection: endpoint.connection)
    }

    // MARK: Workload

    /// One change by central or an office (offline or not), as staff would make it; a change
    /// the store's policy refuses is simply not made.
    private func doSomeWork() async throws {
        let candidates: [NodeID] = (centralUp ? [Self.central] : []) + offices.filter { nodes[$0]?.sync != nil }
        guard let author = candidates.randomElement(using: &random) else { return }
        if author == Self.central {
            try await centralWork()
        } else if let simulated = nodes[author] {
            try await officeWork(simulated)
        }
    }

    private func centralWork() async throws {
        let caseIDs = try await centralStore.caseIDs()
        if caseIDs.isEmpty || random.chance(0.25) {
            serial += 1
            guard let caseID = try? CaseID(prefix: "SIM", year: 2026, month: 11, day: 30, serial: serial) else {
                return
            }
            let body = OpBody.opened(.init(channel: .phone, reporterRef: "p-\(serial)", text: "Keluhan \(serial)"))
            await author(body, on: caseID, in: centralStore)
            return
        }
        guard let caseID = caseIDs.randomElement(using: &random),
            let state = try await centralStore.caseState(caseID)
        else { return }
        let office = offices.randomElement(using: &random) ?? offices[0]
        let body: OpBody
        switch state.status {
        case .received: body = .verified(.init(tier: .normatif))
        case .verified:
            body = .dispatched(.init(office: office, epoch: (state.assignment(for: office)?.epoch ?? 0) + 1))
        case .resolved:
            body = random.chance(0.7) ? .closed(.init(reason: .byOperator)) : .reopened(.init(reason: "Belum beres"))
        default:
            if let from = state.activeAssignments.randomElement(using: &random), random.chance(0.3),
                let to = offices.filter({ $0 != from.office }).randomElement(using: &random)
            {
                body = .reassigned(.init(from: from.office, to: to, epoch: (state.assignment(for: to)?.epoch ?? 0) + 1))
            } else if let conflict = state.openConflicts.first {
                body = .conflictResolved(.init(conflict: conflict.id, outcome: .keptCurrent))
            } else {
                body = .noted(.init(text: "Dipantau", visibility: .internal))
            }
        }
        await author(body, on: caseID, in: centralStore)
    }

    private func officeWork(_ office: SimulatedNode) async throws {
        let store = office.store
        // A few random cases, the first one assigned to this office: folding every case on
        // every change would cost more than the rest of the world.
        let caseIDs = try await store.caseIDs()
        var picked: CaseState?
        for _ in 0..<min(6, caseIDs.count) {
            guard let caseID = caseIDs.randomElement(using: &random) else { break }
            if let state = try await store.caseState(caseID),
                state.assignment(for: office.node)?.status.isActive == true
            {
                picked = state
                break
            }
        }
        guard let state = picked else { return }
        let choices: [OpBody] = [
            .acknowledged, .started, .noted(.init(text: "Dicek ke lokasi", visibility: .public)),
            .resolved(.init(summary: "Sudah ditangani")), .returned(.init(reason: .notOurAuthority)),
        ]
        let weights = [3, 3, 2, 3, 1]
        var pick = random.next(below: weights.reduce(0, +))
        var index = 0
        while pick >= weights[index] {
            pick -= weights[index]
            index += 1
        }
        await author(choices[index], on: state.caseID, in: store)
    }

    private func author(_ body: OpBody, on caseID: CaseID, in store: Store) async {
        guard let actor = try? ActorID("sim.\(store.identity.node)") else { return }
        guard let authored = try? await store.append(body, to: caseID, actor: actor, at: wallTime) else { return }
        outcome.opsAuthored += 1
        if let node = nodes[store.identity.node] { node.localHead = authored.sealed.op.id.seq }
        record(authored.sealed)
    }

    func record(_ sealed: SealedOp) {
        if let known = ledger[sealed.op.id], known != sealed.hash {
            outcome.problems.append("seq reused: \(sealed.op.id) was authored twice with different content")
        }
        ledger[sealed.op.id] = sealed.hash
    }

    // MARK: Checks

    private func isQuiet() async throws -> Bool {
        // Pings keep messages in flight for ever, so quiet means: every link ready, nothing
        // unsent, every feed applied by the node and acknowledged.
        for (node, simulated) in nodes {
            guard let sync = simulated.sync, let link = sync.link, link.phase == .ready, link.unsentCount == 0,
                !sync.isDraining
            else { return false }
            let head = try await centralStore.feedHead(for: node)
            guard try await centralStore.checkpoint(for: node) == head,
                try await simulated.store.checkpoint(for: Self.central) == head
            else { return false }
        }
        return true
    }

    private func check() async throws {
        func hashes(_ store: Store, _ caseID: CaseID) async throws -> [OpHash] {
            try await store.ops(ofCase: caseID).map(\.sealed.hash).sorted { $0.description < $1.description }
        }
        if !(try await isQuiet()) {
            var state: [String] = []
            for node in nodes.keys.sorted() {
                guard let simulated = nodes[node] else { continue }
                let head = try await centralStore.feedHead(for: node)
                let acknowledged = try await centralStore.checkpoint(for: node)
                state.append(
                    "\(node): phase \(simulated.sync?.link.map { "\($0.phase)" } ?? "down"), unsent "
                        + "\(simulated.sync?.link?.unsentCount ?? 0), feed \(acknowledged)/\(head), session "
                        + "\(hub.sessions[node].map { "ready \($0.isReady) ack \($0.acknowledged)" } ?? "none")"
                )
            }
            outcome.problems.append(
                "not quiet \(outcome.healedAfterMilliseconds) ms after healing: " + state.joined(separator: "; ")
            )
        }
        // No seq reuse anywhere: every stored op agrees with the ledger.
        var atCentral: Set<OpID> = []
        for caseID in try await centralStore.caseIDs() {
            for op in try await centralStore.ops(ofCase: caseID) {
                atCentral.insert(op.sealed.op.id)
                if let known = ledger[op.sealed.op.id], known != op.sealed.hash {
                    outcome.problems.append("central holds \(op.sealed.op.id) with content never authored so")
                }
            }
        }
        let quarantined = Set(try await centralStore.quarantine().map(\.id))
        if try await centralStore.integrityAlarmCount() > 0 {
            outcome.problems.append("central raised an integrity alarm")
        }
        // No lost op: every op authored reached central (applied or refused), except ops of
        // an incarnation abandoned by a restore that its backup did not hold.
        var inRestoredStores: Set<OpID> = []
        for simulated in nodes.values {
            for origin in abandonedOrigins where origin.node == simulated.node {
                for op in try await simulated.store.ops(of: origin, after: 0, limit: 100_000) {
                    inRestoredStores.insert(op.sealed.op.id)
                }
            }
        }
        for (id, _) in ledger where !atCentral.contains(id) && !quarantined.contains(id) {
            if !abandonedOrigins.contains(id.origin) || inRestoredStores.contains(id) {
                outcome.problems.append("op \(id) never reached central")
            }
        }
        if !quarantined.isEmpty {
            outcome.problems.append("central quarantined \(quarantined.count) ops: none should be refused")
        }
        // Convergence: the mayor holds every case as central does; an office every case
        // currently assigned to it; and so the same conflicts.
        for caseID in try await centralStore.caseIDs() {
            let reference = try await hashes(centralStore, caseID)
            guard let state = try await centralStore.caseState(caseID) else { continue }
            var holders: [NodeID] = [Self.mayor]
            holders += state.activeAssignments.map(\.office)
            for holder in holders {
                guard let store = nodes[holder]?.store else { continue }
                let held = try await hashes(store, caseID)
                if held != reference {
                    let ids = try await store.ops(ofCase: caseID).map(\.sealed.op.id)
                    let centralIDs = try await centralStore.ops(ofCase: caseID).map(\.sealed.op.id)
                    let missing = Set(centralIDs).subtracting(ids).map(\.description).sorted()
                    let extra = Set(ids).subtracting(centralIDs).map(\.description).sorted()
                    let reasons = try await centralStore.quarantine()
                        .filter { extra.contains($0.id.description) }.map { "\($0.id): \($0.reason)" }
                    outcome.problems.append(
                        "\(holder) differs from central on \(caseID): missing \(missing), extra \(extra), "
                            + "quarantined \(reasons)"
                    )
                    continue
                }
                let conflicts = try await store.caseState(caseID)?.conflicts.map(\.id) ?? []
                if conflicts != state.conflicts.map(\.id) {
                    outcome.problems.append("\(holder) sees other conflicts than central on \(caseID)")
                }
            }
        }
        // Every node's own stored ops are consistent with the ledger too.
        for (node, simulated) in nodes {
            for caseID in try await simulated.store.caseIDs() {
                for op in try await simulated.store.ops(ofCase: caseID) {
                    if let known = ledger[op.sealed.op.id], known != op.sealed.hash {
                        outcome.problems.append("\(node) holds \(op.sealed.op.id) with other content")
                    }
                }
            }
        }
    }
}

/// An office or the mayor in the simulation: its store and, while running, its `NodeLink`.
final class SimulatedNode {
    unowned let world: SimulatedWorld
    let node: NodeID
    let role: NodeRole
    let path: String
    var store: Store {
        didSet { work = NodeStoreWork(store: store, logger: SimulatedWorld.quiet) }
    }
    /// The store work on `store`, made again only when a restore replaces the store.
    var work: NodeStoreWork
    /// The product's node-side machine; `nil` while the node is down.
    var sync: NodeSync?
    /// Bumped on every (re)connect: messages to an older connection are dropped.
    var connection = 0
    var partitioned = false
    var backupPath: String?
    /// This store's highest own seq, kept here so ticks need no query.
    var localHead: UInt64 = 0

    init(world: SimulatedWorld, node: NodeID, role: NodeRole) throws {
        self.world = world
        self.node = node
        self.role = role
        path = world.directory + "/\(node).sqlite"
        let opened = try Self.open(path, node: node, role: role)
        store = opened
        work = NodeStoreWork(store: opened, logger: SimulatedWorld.quiet)
    }

    static func open(_ path: String, node: NodeID, role: NodeRole) throws -> Store {
        try StoreTemplates.open(path, node: node, role: role)
    }

    func start() async {
        connection += 1
        localHead = (try? await store.localHead()) ?? 0
        guard let started = try? await work.start() else { return }
        sync = NodeSync(
            central: SimulatedWorld.central,
            settings: SimulatedWorld.settings,
            fetchesBlobs: role == .office,
            keepsNodeHealth: role == .mayor
        )
        await handle(started)
    }

    func crash() {
        sync = nil
        connection += 1
    }

    func tick() async {
        await handle(.tick(localHead: localHead))
    }

    func receive(_ frames: [[UInt8]]) async {
        guard let message = try? SyncFrames.decode(frames) else { return }
        await handle(.received(message))
    }

    /// Feeds the machine an event and carries out its actions, and theirs, as the service does.
    private func handle(_ first: NodeSync.Event) async {
        var pending = [first]
        while !pending.isEmpty, var sync {
            let actions = sync.handle(pending.removeFirst(), at: world.instant)
            self.sync = sync
            for action in actions {
                switch action {
                case .send(let message, _):
                    world.transmit(SyncFrames.encode(message), from: node, toCentral: true, connection: connection)
                case .serveBlob(let ask):
                    let chunk = await work.blobChunk(for: ask)
                    world.transmit(SyncFrames.encode(chunk), from: node, toCentral: true, connection: connection)
                case .reconnect:
                    connection += 1
                case .linkChanged, .log:
                    break
                case .readLocalOps, .applyFeed, .resetCheckpoint, .readLinkStart, .blob, .readMissingBlobs,
                    .saveNodeHealth:
                    guard let next = await work.perform(action, receivedAt: world.wallTime) else { continue }
                    if case .feedNotStored = next {
                        world.outcome.problems.append("\(node) could not apply a feed batch")
                    }
                    pending.append(next)
                }
            }
        }
    }

    func takeBackup() async throws {
        let destination = path + ".backup"
        try? FileManager.default.removeItem(atPath: destination)
        try await store.backup(to: destination)
        backupPath = destination
    }

    /// A crash, then the store replaced by its old backup: a new incarnation on open.
    func restoreFromBackup() async throws {
        guard let backupPath else { return }
        crash()
        world.abandonedOrigins.insert(try await store.currentOrigin())
        store = try Self.open(path + ".scratch", node: node, role: role)  // release the old file
        try Store.restore(backup: backupPath, to: path)
        store = try Self.open(path, node: node, role: role)
        try? FileManager.default.removeItem(atPath: path + ".scratch")
    }
}

/// Freshly migrated empty stores, made once per node and copied for every world: opening and
/// migrating a store costs more than a small world's whole run.
enum StoreTemplates {
    private static let made = Mutex<[String: String]>([:])

    static func open(_ path: String, node: NodeID, role: NodeRole) throws -> Store {
        let identity = NodeIdentity(node: node, role: role, central: SimulatedWorld.central)
        if !FileManager.default.fileExists(atPath: path) {
            let template = try made.withLock { made -> String in
                if let known = made[node.rawValue] { return known }
                let template = NSTemporaryDirectory() + "sambat-sim-template-\(UUID().uuidString)-\(node).sqlite"
                do {
                    _ = try Store.open(StoreConfiguration(path: template), identity: identity)
                }
                made[node.rawValue] = template
                return template
            }
            try FileManager.default.copyItem(atPath: template, toPath: path)
        }
        var configuration = StoreConfiguration(path: path)
        // Central and the mayor fold every peer's batch beside the writer, however small
        // (uploads authorized at central, the feed at the mayor); offices fold on the writer,
        // as every store does below the lane's threshold. Their writers take every cached
        // case's slot from the lane (the default takes those the lane has made by the time the
        // writer gets to them, which `FoldLaneTests` check against this).
        if role != .office {
            configuration.foldLaneBatchOps = 1
            configuration.foldLaneSlots = .fromLane
        }
        return try Store.open(configuration, identity: identity)
    }
}
