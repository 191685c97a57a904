import Foundation
import GRDB
import SambatCore
import SambatStore

/// Temporary directories, identities and helpers shared by the store tests.
enum StoreFixtures {
    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("bad node id") }
        return id
    }

    static let central = node("central")
    static let dpupr = node("dpupr")
    static let dlh = node("dlh")
    static let mayor = node("mayor")

    static func identity(_ node: NodeID, _ role: NodeRole) -> NodeIdentity {
        NodeIdentity(node: node, role: role, central: central)
    }

    static func caseID(_ serial: Int) -> CaseID {
        guard let id = try? CaseID(prefix: "MJK", year: 2026, month: 11, day: 29, serial: serial) else {
            preconditionFailure("bad case id")
        }
        return id
    }

    static let operatorActor = actor("op.rina")
    static let officer = actor("dpupr.budi")

    static func actor(_ name: String) -> ActorID {
        guard let id = try? ActorID(name) else { preconditionFailure("bad actor") }
        return id
    }

    static let now = Timestamp(millisecondsSinceEpoch: 1_764_400_000_000)

    /// A fresh, empty temporary directory.
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sambat-store-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func open(
        _ directory: String,
        _ node: NodeID,
        _ role: NodeRole,
        file: String = "sambat.sqlite",
        deadlines: DeadlinePolicy? = nil
    ) throws -> Store {
        var configuration = StoreConfiguration(path: directory + "/" + file)
        configuration.deadlines = deadlines
        return try Store.open(configuration, identity: identity(node, role))
    }

    /// The deadline policy of the SOP's defaults, as a node opens its store with.
    static let deadlines = DeadlinePolicy(targets: ServiceTargets(), calendar: WorkingCalendar())

    /// Central with a complaint verified and dispatched to `office`.
    static func dispatchedCase(_ central: Store, serial: Int = 1, to office: NodeID = dpupr) async throws -> CaseID {
        let caseID = caseID(serial)
        let opened = OpBody.opened(.init(channel: .sms, reporterRef: "rpt-\(serial)", text: "Jalan rusak [NAMA]"))
        _ = try await central.append(opened, to: caseID, actor: operatorActor, at: now)
        _ = try await central.append(.verified(.init(tier: .normatif)), to: caseID, actor: operatorActor, at: now)
        _ = try await central.append(
            .dispatched(.init(office: office, epoch: 1)),
            to: caseID,
            actor: operatorActor,
            at: now
        )
        return caseID
    }

    /// Central's operator closes each of `cases`, one write each.
    static func close(_ cases: [CaseID], at central: Store) async throws {
        for caseID in cases {
            _ = try await central.append(
                .closed(.init(reason: .byOperator)),
                to: caseID,
                actor: operatorActor,
                at: now
            )
        }
    }

    /// Moves central's feed for `office` into the office store (as the sync layer will).
    @discardableResult
    static func deliverFeed(from central: Store, to office: Store) async throws -> RemoteApplyResult {
        let node = office.identity.node
        let position = try await office.checkpoint(for: StoreFixtures.central)
        let entries = try await central.feed(for: node, after: position, limit: 10_000)
        guard let last = entries.last else { return RemoteApplyResult() }
        return try await office.applyRemote(
            entries.map { RemoteOp($0.op.sealed, centralReceivedAt: $0.op.receivedAt) },
            from: .feed(from: StoreFixtures.central),
            receivedAt: now,
            feedPosition: last.feedSeq
        )
    }

    /// Uploads the office's own ops above central's frontier (as the sync layer will).
    @discardableResult
    static func upload(
        from office: Store,
        to central: Store,
        at time: Timestamp = now
    ) async throws
        -> RemoteApplyResult
    {
        let origin = try await office.currentOrigin()
        let frontier = try await central.frontier(of: origin)
        let ops = try await office.ops(of: origin, after: frontier, limit: 10_000)
        return try await central.applyRemote(
            ops.map { RemoteOp($0.sealed) },
            from: .peer(office.identity.node, .office),
            receivedAt: time
        )
    }

    /// One integer from a query on a database file.
    static func scalar(_ path: String, _ sql: String) throws -> Int64? {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int64.fetchOne(db, sql: sql) }
    }

    /// Every row of every table, in a stable order: equal dumps mean byte-identical content.
    static func dump(_ path: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let tables = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
            var out = ""
            for table in tables {
                out += "# \(table)\n"
                out += try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map(\.description).sorted()
                    .joined(separator: "\n")
            }
            return out
        }
    }

    /// The rows of some tables of a database file, each table's rows sorted.
    static func rows(of tables: [String], in path: String) throws -> [String: [String]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            var rows: [String: [String]] = [:]
            for table in tables {
                rows[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map(\.description).sorted()
            }
            return rows
        }
    }

    /// A sealed op authored by hand (for ops a well-behaved node would never write).
    static func forged(
        origin: String,
        seq: UInt64,
        caseID: CaseID,
        epoch: UInt32 = 1,
        context: VersionVector = VersionVector(),
        lamport: UInt64 = 50,
        body: OpBody
    ) throws -> SealedOp {
        let op = Op(
            id: try OpID(parsing: "\(origin)/\(seq)"),
            lamport: lamport,
            caseID: caseID,
            epoch: epoch,
            context: context,
            actor: officer,
            at: now,
            body: body
        )
        return try SealedOp(sealing: op)
    }
}
