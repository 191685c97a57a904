import Testing

@testable import SambatCore

/// One row of the transition table: a role attempting a kind at a lifecycle point.
struct TransitionRow: Sendable, CustomTestStringConvertible {
    let point: CaseScript.Point
    let role: NodeRole
    let kind: OpKind
    let allowed: Bool

    var testDescription: String { "\(role) \(kind) at \(point): \(allowed ? "allowed" : "refused")" }
}

@Suite struct LifecycleTableTests {
    /// What central may do at each point; everything else is refused.
    static let centralAllowed: [CaseScript.Point: Set<OpKind>] = {
        let always: Set<OpKind> = [.noted, .evidenceAdded]
        let anyOpened = always.union([.reporterWrote, .conflictResolved])
        let working = anyOpened.union([.dispatched, .reassigned, .closed])
        return [
            .unopened: always.union([.opened]),
            .received: anyOpened.union([.verified, .pended, .archived]),
            .pending: anyOpened.union([.verified, .archived]),
            .verified: anyOpened.union([.pended, .archived, .dispatched]),
            .archived: anyOpened,
            .dispatched: working,
            .acknowledged: working,
            .inProgress: working,
            .resolved: working.union([.reopened]),
            .closed: anyOpened.union([.reopened]),
            .reopened: working,
            // dpupr's assignment ended: dispatch elsewhere or close, but nothing to reassign or reopen.
            .returned: anyOpened.union([.dispatched, .closed]),
        ]
    }()

    /// What the assigned office (dpupr) may do at each point.
    static let officeAllowed: [CaseScript.Point: Set<OpKind>] = {
        let always: Set<OpKind> = [.noted, .evidenceAdded]
        return [
            .dispatched: always.union([.acknowledged, .returned]),
            .acknowledged: always.union([.started, .returned]),
            .inProgress: always.union([.resolved, .returned]),
            .resolved: always,
            .closed: always,
            .reopened: always.union([.started, .returned]),
        ]
    }()

    static let rows: [TransitionRow] = CaseScript.Point.allCases.flatMap { point in
        OpKind.allCases.flatMap { kind in
            [
                TransitionRow(
                    point: point,
                    role: .central,
                    kind: kind,
                    allowed: centralAllowed[point, default: []].contains(kind)
                ),
                TransitionRow(
                    point: point,
                    role: .office,
                    kind: kind,
                    allowed: officeAllowed[point, default: []].contains(kind)
                ),
                TransitionRow(point: point, role: .mayor, kind: kind, allowed: false),
            ]
        }
    }

    static func body(for kind: OpKind) -> OpBody {
        switch kind {
        case .dispatched: .dispatched(.init(office: Fixtures.dlh, epoch: 1))
        case .reassigned: .reassigned(.init(from: Fixtures.dpupr, to: Fixtures.dlh, epoch: 1))
        case .conflictResolved:
            .conflictResolved(.init(conflict: "illegal_transition:dpupr#1/9", outcome: .keptCurrent))
        default: OpCodecTests.everyBody.first { $0.kind == kind } ?? .acknowledged
        }
    }

    @Test(arguments: rows)
    func policyAndFoldAgree(_ row: TransitionRow) {
        let script = CaseScript.at(row.point)
        let state = script.central.state
        let node: NodeID =
            switch row.role {
            case .central: Fixtures.central
            case .office: Fixtures.dpupr
            case .mayor: Fixtures.node("mayor")
            }
        let epoch = Fixtures.policy.authoringEpoch(for: node, in: state) ?? 1
        let refusal = Fixtures.policy.check(
            role: row.role,
            node: node,
            body: Self.body(for: row.kind),
            epoch: epoch,
            in: state
        )
        #expect((refusal == nil) == row.allowed, "\(refusal?.description ?? "allowed")")

        // Author the op anyway and fold it: an allowed op is applied, a refused one becomes a
        // recorded conflict — never silently dropped.
        var author =
            switch row.role {
            case .central: script.central
            case .office: script.dpupr
            case .mayor: TestReplica(Fixtures.origin("mayor"))
            }
        author.receive(script.central.known.values)
        let op = author.author(Self.body(for: row.kind), epoch: epoch)
        let folded = Fixtures.fold.fold(Array(script.central.known.values) + [op], caseID: op.caseID)
        let effect = folded.history.last { $0.op == op.id }?.effect
        // Notes and evidence form a grow-only set: the fold keeps them from any office that was
        // ever assigned, even where the policy no longer lets that office author them.
        let keptAnyway =
            (row.kind == .noted || row.kind == .evidenceAdded) && state.assignment(for: node) != nil
        if row.allowed || keptAnyway {
            #expect(effect == .applied)
        } else {
            guard case .conflict(let id) = effect else {
                Issue.record("expected a conflict, got \(String(describing: effect))")
                return
            }
            #expect(folded.conflicts.contains { $0.id == id && $0.ops.contains(op.id) })
        }
    }

    @Test func refusalsCarryTheRightCode() throws {
        let verified = CaseScript.at(.verified).central.state
        let dispatched = CaseScript.at(.dispatched).central.state
        let policy = Fixtures.policy
        #expect(
            policy.check(role: .mayor, node: Fixtures.node("mayor"), body: .acknowledged, epoch: 0, in: dispatched)?
                .code == .readOnlyRole
        )
        #expect(
            policy.check(
                role: .office,
                node: Fixtures.dpupr,
                body: .closed(.init(reason: .byOperator)),
                epoch: 1,
                in: dispatched
            )?.code == .kindNotPermitted
        )
        #expect(
            policy.check(role: .central, node: Fixtures.central, body: .acknowledged, epoch: 0, in: dispatched)?.code
                == .kindNotPermitted
        )
        #expect(
            policy.check(role: .office, node: Fixtures.dlh, body: .acknowledged, epoch: 1, in: dispatched)?.code
                == .notAssigned
        )
        #expect(
            policy.check(role: .office, node: Fixtures.dpupr, body: .acknowledged, epoch: 1, in: verified)?.code
                == .notAssigned
        )
        #expect(
            policy.check(role: .office, node: Fixtures.dpupr, body: .acknowledged, epoch: 2, in: dispatched)?.code
                == .staleAssignment
        )
        #expect(
            policy.check(
                role: .office,
                node: Fixtures.dpupr,
                body: .resolved(.init(summary: "x")),
                epoch: 1,
                in: dispatched
            )?.code == .illegalTransition
        )
        #expect(policy.authoringEpoch(for: Fixtures.dpupr, in: dispatched) == 1)
        #expect(policy.authoringEpoch(for: Fixtures.dlh, in: dispatched) == nil)
        #expect(policy.authoringEpoch(for: Fixtures.central, in: dispatched) == 0)
    }

    @Test(arguments: [
        (CaseScript.Point.received, CaseStatus.received), (.pending, .pending), (.verified, .verified),
        (.archived, .archived), (.dispatched, .dispatched), (.acknowledged, .acknowledged),
        (.inProgress, .inProgress), (.resolved, .resolved), (.closed, .closed), (.reopened, .reopened),
        (.returned, .verified),
    ])
    func statusAtEachPoint(_ point: CaseScript.Point, _ status: CaseStatus) {
        let state = CaseScript.at(point).central.state
        #expect(state.status == status)
        #expect(state.conflicts.isEmpty)
        #expect(state.history.allSatisfy { $0.effect == .applied })
    }

    @Test func transitionsAreStamped() {
        let script = CaseScript.at(.closed)
        let state = script.central.state
        #expect(state.milestones.received != nil)
        #expect(state.milestones.verified != nil)
        #expect(state.milestones.dispatched != nil)
        #expect(state.milestones.closed != nil)
        let assignment = state.assignment(for: Fixtures.dpupr)
        #expect(assignment?.acknowledged != nil)
        #expect(assignment?.started != nil)
        #expect(assignment?.resolved != nil)
        if let assignment {
            #expect(assignment.acknowledged.map { $0.at > assignment.dispatched.at } == true)
        }
        #expect(state.tier == .normatif)
        #expect(state.notes.contains { $0.source == .followUp && $0.text == "Sudah ditambal" })
    }

    @Test func pendingCaseReturnsToReceivedWhenTheReporterWrites() {
        var script = CaseScript.at(.pending)
        script.centralDoes(.reporterWrote(.init(channel: .sms, text: "Alamatnya Jl. Mawar 3")))
        #expect(script.central.state.status == .received)
    }
}
