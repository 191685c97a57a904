public import SambatCore
public import SambatStore

/// Staff actions on cases: checks who may act, validates and masks the texts, builds the op
/// from the case as this node holds it, and writes it.
///
/// Every front door (the CLI, the operator and office consoles) calls this, so the rules and
/// refusals are the same everywhere. Safe from any task; the store serialises writes.
public struct CaseActions: Sendable {
    /// This node's store.
    public let store: Store
    /// The OPD directory, for dispatch and reassign.
    public let reference: ReferenceData

    /// Actions on `store`.
    public init(store: Store, reference: ReferenceData) {
        self.store = store
        self.reference = reference
    }

    /// Carries out `action` on `caseID` as `actor`.
    ///
    /// - Throws: ``DeskError``; nothing was written.
    public func perform(
        _ action: StaffAction,
        on caseID: CaseID,
        actor: ActorID,
        at now: Timestamp
    ) async throws(DeskError) -> ActionOutcome {
        let identity = store.identity
        guard action.roles.contains(identity.role) else {
            if identity.role == .mayor { throw DeskError(.readOnlyNode) }
            var refused = DeskError(.wrongRole)
            refused.roles = action.roles
            refused.role = identity.role
            refused.kind = action.kind
            throw refused
        }
        let state: CaseState?
        do {
            state = try await store.caseState(caseID)
        } catch {
            throw .storage(error)
        }
        guard let state else { throw .caseNotFound(caseID, on: identity.node) }
        let body = try await body(of: action, on: state)
        let authored: AuthoredOp
        do {
            authored = try await store.append(body, to: caseID, actor: actor, at: now)
        } catch {
            throw Self.explain(error, caseID: caseID, identity: identity)
        }
        return ActionOutcome(
            caseID: caseID,
            op: authored.sealed.op.id,
            kind: body.kind,
            status: authored.state.status
        )
    }

    /// The op body for `action` on the case as it stands.
    private func body(of action: StaffAction, on state: CaseState) async throws(DeskError) -> OpBody {
        switch action {
        case .acknowledge:
            return .acknowledged
        case .start:
            return .started
        case .note(let text, let visibility):
            return .noted(.init(text: try StaffInput.text(text, field: .note), visibility: visibility))
        case .resolve(let summary):
            return .resolved(.init(summary: try StaffInput.text(summary, field: .summary)))
        case .returnToCentral(let reason, let note):
            return .returned(.init(reason: reason, note: try StaffInput.text(note, field: .note, allowEmpty: true)))
        case .verify(let tier, let topic):
            return .verified(.init(tier: tier, topic: try StaffInput.text(topic, field: .topic, allowEmpty: true)))
        case .pend(let request):
            return .pended(.init(request: try StaffInput.text(request, field: .request)))
        case .archive(let reason, let note):
            return .archived(.init(reason: reason, note: try StaffInput.text(note, field: .note, allowEmpty: true)))
        case .dispatch(let office, let instructions):
            let instructions = try StaffInput.text(instructions, field: .instructions, allowEmpty: true)
            try await requireEnrolledOffice(office)
            let epoch = (state.assignment(for: office)?.epoch ?? 0) + 1
            return .dispatched(.init(office: office, epoch: epoch, instructions: instructions))
        case .reassign(let from, let to, let note):
            let note = try StaffInput.text(note, field: .note, allowEmpty: true)
            try await requireEnrolledOffice(to)
            guard state.assignment(for: from)?.status.isActive ?? false else {
                var refused = DeskError(.notAssignedTo)
                refused.caseID = state.caseID
                refused.office = from
                throw refused
            }
            let epoch = (state.assignment(for: to)?.epoch ?? 0) + 1
            return .reassigned(.init(from: from, to: to, epoch: epoch, note: note))
        case .close(let reason):
            return .closed(.init(reason: reason))
        case .reopen(let reason):
            return .reopened(.init(reason: try StaffInput.text(reason, field: .reason)))
        case .resolveConflict(let id, let outcome, let note):
            let note = try StaffInput.text(note, field: .note, allowEmpty: true)
            guard let found = state.conflicts.first(where: { $0.id == id }) else {
                var refused = DeskError(.conflictNotFound)
                refused.caseID = state.caseID
                refused.conflict = String(id.prefix(200))
                throw refused
            }
            guard !found.isResolved else {
                var refused = DeskError(.conflictAlreadyResolved)
                refused.caseID = state.caseID
                refused.conflict = id
                throw refused
            }
            return .conflictResolved(.init(conflict: id, outcome: outcome, note: note))
        }
    }

    /// Refuses an office that is not in the directory or not enrolled at central.
    private func requireEnrolledOffice(_ office: NodeID) async throws(DeskError) {
        guard reference.office(office) != nil else {
            var refused = DeskError(.unknownOffice)
            refused.office = office
            throw refused
        }
        let peer: EnrolledPeer?
        do {
            peer = try await store.peer(office)
        } catch {
            throw .storage(error)
        }
        guard let peer, peer.status == .active, peer.role == .office else {
            var refused = DeskError(.officeNotEnrolled)
            refused.office = office
            throw refused
        }
    }

    /// A store refusal in the desk's terms.
    static func explain(_ error: StoreError, caseID: CaseID, identity: NodeIdentity) -> DeskError {
        guard let refusal = error.refusal else { return .storage(error) }
        var refused: DeskError
        switch refusal.code {
        case .readOnlyRole: refused = DeskError(.readOnlyNode)
        case .kindNotPermitted: refused = DeskError(.kindNotPermitted)
        case .notAssigned: refused = DeskError(.notAssigned)
        case .staleAssignment: refused = DeskError(.staleAssignment)
        default: refused = DeskError(.illegalTransition)
        }
        refused.caseID = caseID
        refused.node = identity.node
        refused.role = identity.role
        refused.kind = refusal.kind
        refused.status = refusal.status
        return refused
    }
}
