/// The role a node plays in a deployment.
public enum NodeRole: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The hotline: owns the lifecycle and the reporters' identities.
    case central
    /// An OPD: works the cases assigned to it.
    case office
    /// The mayor's office: a read-only replica.
    case mayor

    public var description: String { rawValue }
}

/// Why a node may not author an op, as a stable code plus an English explanation.
///
/// Front ends translate the ``code`` for their users (the CLI into Bahasa Indonesia); the
/// ``message`` is for logs and carries no personal data.
public struct PolicyRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of refusal.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case readOnlyRole = "read_only_role"
            case kindNotPermitted = "kind_not_permitted"
            case notAssigned = "not_assigned"
            case staleAssignment = "stale_assignment"
            case illegalTransition = "illegal_transition"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The mayor node writes nothing.
        public static let readOnlyRole = Code(.readOnlyRole)
        /// This role never authors this kind (for example an office verifying).
        public static let kindNotPermitted = Code(.kindNotPermitted)
        /// The office has no current assignment on the case.
        public static let notAssigned = Code(.notAssigned)
        /// The op names an epoch that is not the office's current one.
        public static let staleAssignment = Code(.staleAssignment)
        /// The transition is not legal in the case's current state.
        public static let illegalTransition = Code(.illegalTransition)

        public var description: String { base.rawValue }
    }

    /// The class of refusal.
    public let code: Code
    /// The kind that was attempted.
    public let kind: OpKind
    /// The case's overall status at the time.
    public let status: CaseStatus
    /// What went wrong, in English.
    public let message: String

    public var description: String { "\(code): \(message)" }
}

/// Says whether a node of a given role may author a given op on a case in a given state.
///
/// Central owns verify, pend, archive, dispatch, reassign, close, reopen and conflict
/// resolution; an office may acknowledge, start, note, add evidence, resolve and return —
/// only on its current assignment; the mayor writes nothing. Legality of the transition is
/// decided by the same rules the fold applies, so an op this policy allows is applied by
/// every replica that holds the same ops — unless a concurrent op (one its author had not
/// seen, such as central reassigning the case meanwhile) wins over it, which the fold then
/// records as a conflict.
///
/// Safe from any task: a value with no shared state.
public struct RolePolicy: Hashable, Sendable {
    /// The deployment's central node.
    public let central: NodeID

    /// Creates the policy for a deployment whose central node is `central`.
    public init(central: NodeID) { self.central = central }

    /// The epoch an op by `node` on this case must carry: 0 for central, the current
    /// assignment epoch for an office, `nil` when the office has no active assignment.
    public func authoringEpoch(for node: NodeID, in state: CaseState) -> UInt32? {
        if node == central { return 0 }
        guard let assignment = state.assignment(for: node), assignment.status.isActive else { return nil }
        return assignment.epoch
    }

    /// Checks an op `node` (playing `role`) wants to author on a case now.
    ///
    /// - Returns: `nil` when allowed, otherwise the refusal.
    public func check(role: NodeRole, node: NodeID, body: OpBody, epoch: UInt32, in state: CaseState) -> PolicyRefusal?
    {
        let kind = body.kind
        func refuse(_ code: PolicyRefusal.Code, _ message: String) -> PolicyRefusal {
            PolicyRefusal(code: code, kind: kind, status: state.status, message: message)
        }
        switch role {
        case .mayor:
            return refuse(.readOnlyRole, "the mayor node is a read-only replica")
        case .central:
            guard node == central else {
                return refuse(.kindNotPermitted, "\(node) is not this deployment's central node")
            }
            guard !kind.isOfficeOnly else {
                return refuse(.kindNotPermitted, "only the assigned office may author \(kind)")
            }
            guard epoch == 0 else { return refuse(.staleAssignment, "central's ops carry epoch 0") }
        case .office:
            guard node != central else { return refuse(.kindNotPermitted, "\(node) is the central node") }
            guard !kind.isCentralOnly else { return refuse(.kindNotPermitted, "only central may author \(kind)") }
            guard let assignment = state.assignment(for: node), assignment.status.isActive else {
                return refuse(.notAssigned, "case \(state.caseID) is not currently assigned to \(node)")
            }
            guard assignment.epoch == epoch else {
                return refuse(.staleAssignment, "assignment epoch is \(assignment.epoch), not \(epoch)")
            }
        }
        // Probe the fold with an op that has seen everything: no concurrency can arise, so the
        // decision is exactly the transition rule.
        guard let probe = probeOp(node: node, body: body, epoch: epoch, state: state) else {
            return refuse(.illegalTransition, "cannot author on this case")
        }
        switch state.decide(probe, central: central, centralOps: state.centralLifecycle) {
        case .apply, .applyWithConflict:
            return nil
        case .supersede, .refuse:
            return refuse(.illegalTransition, "\(kind) is not allowed while the case is \(state.status)")
        }
    }

    private func probeOp(node: NodeID, body: OpBody, epoch: UInt32, state: CaseState) -> Op? {
        guard let origin = try? Origin(node: node, incarnation: UInt32.max),
            let id = try? OpID(origin: origin, seq: UInt64(Int64.max)),
            let actor = try? ActorID("policy-probe")
        else { return nil }
        return Op(
            id: id,
            lamport: state.lamport + 1,
            caseID: state.caseID,
            epoch: epoch,
            context: state.vector,
            actor: actor,
            at: Timestamp(millisecondsSinceEpoch: 0),
            body: body
        )
    }
}
