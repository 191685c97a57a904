@testable import SambatCore

/// Shorthand constructors for tests; every value here is valid by construction.
enum Fixtures {
    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("bad fixture node id \(name)") }
        return id
    }

    static func origin(_ name: String, _ incarnation: UInt32 = 1) -> Origin {
        guard let origin = try? Origin(node: node(name), incarnation: incarnation) else {
            preconditionFailure("bad fixture origin")
        }
        return origin
    }

    static func opID(_ name: String, _ incarnation: UInt32 = 1, seq: UInt64) -> OpID {
        guard let id = try? OpID(origin: origin(name, incarnation), seq: seq) else { preconditionFailure("bad op id") }
        return id
    }

    static func caseID(_ serial: Int = 42) -> CaseID {
        guard let id = try? CaseID(prefix: "MJK", year: 2026, month: 11, day: 29, serial: serial) else {
            preconditionFailure("bad case id")
        }
        return id
    }

    static func actor(_ name: String) -> ActorID {
        guard let id = try? ActorID(name) else { preconditionFailure("bad actor") }
        return id
    }

    static let central = node("central")
    static let dpupr = node("dpupr")
    static let dlh = node("dlh")
    static let perkim = node("perkim")
    static let fold = CaseFold(central: central)
    static let policy = RolePolicy(central: central)

    static let opened = OpBody.opened(
        .init(channel: .sms, reporterRef: "rpt-7f3a", text: "Jalan berlubang di Jl. Empunala, nama [NAMA] NIK [NIK]")
    )
}

/// A simulated replica authoring ops on one case: it tracks its own seq and Lamport clock
/// and the ops it has seen, so contexts are what a real author would write.
struct TestReplica {
    let origin: Origin
    let caseID: CaseID
    private(set) var seq: UInt64 = 0
    private(set) var lamport: UInt64 = 0
    private(set) var known: [OpID: Op] = [:]

    init(_ origin: Origin, caseID: CaseID = Fixtures.caseID()) {
        self.origin = origin
        self.caseID = caseID
    }

    var node: NodeID { origin.node }

    /// The version vector of everything this replica has seen on the case.
    var vector: VersionVector {
        var vector = VersionVector()
        for id in known.keys { vector.record(id) }
        return vector
    }

    var state: CaseState { Fixtures.fold.fold(known.values, caseID: caseID) }

    /// Authors an op without asking the policy (the fold must cope with anything).
    ///
    /// Wall time is derived from the Lamport clock (one minute per tick), so time moves
    /// forward along every causal chain, as it does on nodes with sane clocks.
    @discardableResult
    mutating func author(_ body: OpBody, epoch: UInt32? = nil) -> Op {
        seq += 1
        lamport = max(lamport, known.values.map(\.lamport).max() ?? 0) + 1
        let resolvedEpoch = epoch ?? (origin.node == Fixtures.central ? 0 : state.assignment(for: node)?.epoch ?? 0)
        guard let id = try? OpID(origin: origin, seq: seq) else { preconditionFailure("seq overflow") }
        let op = Op(
            id: id,
            lamport: lamport,
            caseID: caseID,
            epoch: resolvedEpoch,
            context: vector,
            actor: Fixtures.actor("\(origin.node).staff"),
            at: Timestamp(millisecondsSinceEpoch: 1_764_000_000_000 + Int64(lamport) * 60_000),
            body: body
        )
        known[op.id] = op
        return op
    }

    /// Takes ops seen elsewhere.
    mutating func receive(_ ops: some Sequence<Op>) {
        for op in ops {
            known[op.id] = op
            lamport = max(lamport, op.lamport)
        }
    }

    /// Takes everything `other` has seen.
    mutating func sync(from other: TestReplica) { receive(other.known.values) }

    /// Starts this replica's node again from `backup` under a new incarnation.
    func restored(incarnation: UInt32, from backup: [OpID: Op]) -> TestReplica {
        var replica = TestReplica(Fixtures.origin(origin.node.rawValue, incarnation), caseID: caseID)
        replica.receive(backup.values)
        return replica
    }
}
