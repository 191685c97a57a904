// The merge rules of design §3, as one decision function and one apply function. Both the
// fold and ``RolePolicy`` go through `decide`, so the policy never allows an op the fold would
// refuse in the same state. (The policy is stricter in two places: an office may author notes
// only on its current assignment, and central's ops must carry epoch 0.)
//
// Central lifecycle ops count for the "central wins" rule whether or not they were applied:
// with a single central incarnation every central op follows the ones before it, so a refused
// one can only arise after a central restore, and treating it alike keeps the rule simple.

/// What the fold does with one op.
enum FoldDecision: Hashable, Sendable {
    /// Apply the op's effect.
    case apply
    /// Apply the effect and record a conflict (returned winning over a concurrent resolved).
    case applyWithConflict(Conflict.Reason, [OpID])
    /// A concurrent op of the same assignment is further along: no effect, no conflict.
    case supersede
    /// No status effect; record a conflict. Texts the op carries are still kept as notes.
    case refuse(Conflict.Reason, [OpID])
}

extension CaseState {
    /// Decides what `op` does in this state.
    ///
    /// - Parameters:
    ///   - op: the op to classify.
    ///   - central: the central node's id; every other author is treated as an office.
    ///   - centralOps: every central lifecycle op in the op set, for the "central wins" rule.
    /// - Returns: whether to apply, supersede or refuse the op, and the conflict to record.
    func decide(_ op: Op, central: NodeID, centralOps: [CentralLifecycleRef]) -> FoldDecision {
        let author = op.id.origin.node
        let byCentral = author == central
        switch op.kind {
        case .noted, .evidenceAdded:
            if byCentral || assignments.contains(where: { $0.office == author }) { return .apply }
            return .refuse(.notPermitted, [op.id])
        case .acknowledged, .started, .resolved, .returned:
            if byCentral { return .refuse(.notPermitted, [op.id]) }
            return decideOffice(op, office: author, centralOps: centralOps)
        default:
            if !byCentral { return .refuse(.notPermitted, [op.id]) }
            return decideCentral(op, central: central) ? .apply : .refuse(.illegalTransition, [op.id])
        }
    }

    private func decideCentral(_ op: Op, central: NodeID) -> Bool {
        switch op.body {
        case .opened:
            return phase == .unopened
        case .verified:
            return phase == .received || phase == .pending
        case .pended:
            return phase == .received || phase == .verified
        case .archived:
            return phase == .received || phase == .pending || phase == .verified
        case .reporterWrote, .conflictResolved:
            return phase != .unopened
        case .dispatched(let p):
            guard phase == .verified || phase == .dispatched, p.office != central else { return false }
            return canStartAssignment(p.office, epoch: p.epoch)
        case .reassigned(let p):
            guard phase == .dispatched, p.from != p.to, p.to != central,
                let from = assignment(for: p.from), from.status.isActive
            else { return false }
            return canStartAssignment(p.to, epoch: p.epoch)
        case .closed:
            return phase == .dispatched
        case .reopened:
            return phase == .closed || (phase == .dispatched && activeAssignments.contains { $0.status == .resolved })
        case .acknowledged, .started, .resolved, .returned, .noted, .evidenceAdded:
            return false
        }
    }

    private func canStartAssignment(_ office: NodeID, epoch: UInt32) -> Bool {
        guard let existing = assignment(for: office) else { return epoch >= 1 }
        return !existing.status.isActive && epoch > existing.epoch
    }

    private func decideOffice(_ op: Op, office: NodeID, centralOps: [CentralLifecycleRef]) -> FoldDecision {
        // Fields are read through `assignments[index]` in place: a copy of the assignment
        // would retain every stamp and its status context, on every office op.
        guard let index = assignments.firstIndex(where: { $0.office == office }) else {
            return .refuse(.notPermitted, [op.id])
        }
        if centralOps.contains(where: { $0.touches(office) && $0.isConcurrent(with: op) }) {
            let clashing = centralOps.filter { $0.touches(office) && $0.isConcurrent(with: op) }
            return .refuse(.concurrentWithCentral, [op.id] + clashing.map(\.id))
        }
        if op.epoch != assignments[index].epoch || assignments[index].status == .revoked {
            return .refuse(.staleEpoch, [op.id])
        }
        if phase != .dispatched { return .refuse(.illegalTransition, [op.id]) }

        let concurrent = assignments[index].isConcurrentWithStatusOp(op)
        if op.kind == .returned {
            switch assignments[index].status {
            case .dispatched, .acknowledged, .inProgress, .reopened:
                return .apply
            case .resolved:
                return concurrent
                    ? .applyWithConflict(.resolvedVersusReturned, [assignments[index].statusOp, op.id])
                    : .refuse(.illegalTransition, [op.id])
            case .returned, .revoked:
                // Revoked was refused above as a stale epoch; two concurrent returns merge.
                return concurrent ? .apply : .refuse(.illegalTransition, [op.id])
            }
        }

        let target: AssignmentStatus =
            op.kind == .acknowledged ? .acknowledged : op.kind == .started ? .inProgress : .resolved
        if assignments[index].status == .returned {
            guard concurrent else { return .refuse(.illegalTransition, [op.id]) }
            return op.kind == .resolved
                ? .refuse(.resolvedVersusReturned, [assignments[index].statusOp, op.id]) : .supersede
        }
        switch (assignments[index].status, target) {
        case (.dispatched, .acknowledged), (.acknowledged, .inProgress), (.reopened, .inProgress),
            (.inProgress, .resolved):
            return .apply
        default:
            guard concurrent else { return .refuse(.illegalTransition, [op.id]) }
            // Further along wins; equal progress goes to the later op in fold order, which is
            // the higher (lamport, origin).
            return target.progressRank >= assignments[index].status.progressRank ? .apply : .supersede
        }
    }

    /// Folds one op that sorts after every op folded so far.
    mutating func step(_ op: Op, central: NodeID, centralOps: [CentralLifecycleRef]) {
        let decision = decide(op, central: central, centralOps: centralOps)
        let effect: HistoryEntry.Effect
        switch decision {
        case .apply:
            applyEffect(of: op)
            effect = .applied
        case .applyWithConflict(let reason, let ops):
            applyEffect(of: op)
            effect = .appliedWithConflict(recordConflict(reason, ops: ops, office: op.id.origin.node, central: central))
        case .supersede:
            keepTexts(of: op)
            effect = .superseded
        case .refuse(let reason, let ops):
            keepTexts(of: op)
            effect = .conflict(recordConflict(reason, ops: ops, office: op.id.origin.node, central: central))
        }
        // The kind first: the initializer takes its op by value, a retain per field of every op.
        if op.kind.isCentralLifecycle, op.id.origin.node == central, let ref = CentralLifecycleRef(op) {
            centralLifecycle.append(ref)
        }
        history.append(HistoryEntry(op: op.id, kind: op.kind, actor: op.actor, at: op.at, effect: effect))
        vector.record(op.id)
        lamport = max(lamport, op.lamport)
        lastKey = op.foldKey
        status = derivedStatus()
    }

    private mutating func recordConflict(
        _ reason: Conflict.Reason,
        ops: [OpID],
        office: NodeID,
        central: NodeID
    ) -> String {
        var conflict = Conflict(reason: reason, ops: ops, office: office == central ? nil : office)
        conflict.resolution = resolutions[conflict.id]
        if !conflicts.contains(where: { $0.id == conflict.id }) {
            conflicts.append(conflict)
        }
        return conflict.id
    }

    /// Keeps the free text of a refused or superseded office op: notes are never lost.
    private mutating func keepTexts(of op: Op) {
        switch op.body {
        case .resolved(let p): addNote(op, .followUp, .public, p.summary)
        case .returned(let p): addNote(op, .returnNote, .internal, p.note)
        default: break
        }
    }

    private mutating func addNote(_ op: Op, _ source: CaseNote.Source, _ visibility: NoteVisibility, _ text: String) {
        guard !text.isEmpty else { return }
        notes.append(
            CaseNote(op: op.id, actor: op.actor, at: op.at, source: source, visibility: visibility, text: text)
        )
    }

    private mutating func applyEffect(of op: Op) {
        let stamp = Stamp(op: op.id, at: op.at)
        switch op.body {
        case .opened(let p):
            complaint = p
            phase = .received
            milestones.received = stamp
        case .verified(let p):
            tier = p.tier
            topic = p.topic
            phase = .verified
            if milestones.verified == nil { milestones.verified = stamp }
        case .pended(let p):
            phase = .pending
            milestones.pended = stamp
            addNote(op, .note, .public, p.request)
        case .archived(let p):
            phase = .archived
            archiveReason = p.reason
            milestones.archived = stamp
            addNote(op, .note, .internal, p.note)
        case .reporterWrote(let p):
            if phase == .pending { phase = .received }
            addNote(op, .reporter, .internal, p.text)
        case .dispatched(let p):
            startAssignment(p.office, epoch: p.epoch, by: op)
            phase = .dispatched
            if milestones.dispatched == nil { milestones.dispatched = stamp }
            addNote(op, .instructions, .internal, p.instructions)
        case .reassigned(let p):
            updateAssignment(p.from) {
                $0.setStatus(.revoked, by: op)
                $0.ended = stamp
            }
            startAssignment(p.to, epoch: p.epoch, by: op)
            addNote(op, .instructions, .internal, p.note)
        case .closed(let p):
            phase = .closed
            closeReason = p.reason
            milestones.closed = stamp
        case .reopened(let p):
            phase = .dispatched
            closeReason = nil
            milestones.reopened = stamp
            for index in assignments.indices where assignments[index].status == .resolved {
                assignments[index].setStatus(.reopened, by: op)
            }
            addNote(op, .reporter, .internal, p.reason)
        case .conflictResolved(let p):
            let resolution = Conflict.Resolution(op: op.id, outcome: p.outcome)
            if resolutions[p.conflict] == nil { resolutions[p.conflict] = resolution }
            for index in conflicts.indices where conflicts[index].id == p.conflict && conflicts[index].resolution == nil
            {
                conflicts[index].resolution = resolution
            }
            addNote(op, .note, .internal, p.note)
        case .acknowledged:
            updateAssignment(op.id.origin.node) {
                $0.setStatus(.acknowledged, by: op)
                $0.acknowledged = stamp
            }
        case .started:
            updateAssignment(op.id.origin.node) {
                $0.setStatus(.inProgress, by: op)
                $0.started = stamp
            }
        case .resolved(let p):
            updateAssignment(op.id.origin.node) {
                $0.setStatus(.resolved, by: op)
                $0.resolved = stamp
            }
            addNote(op, .followUp, .public, p.summary)
        case .returned(let p):
            updateAssignment(op.id.origin.node) {
                $0.setStatus(.returned, by: op)
                $0.ended = stamp
                // Returned wins over a concurrent resolved: the follow-up stamp no longer stands,
                // whichever of the two sorted first.
                $0.resolved = nil
                $0.returnReason = p.reason
            }
            addNote(op, .returnNote, .internal, p.note)
        case .noted(let p):
            addNote(op, .note, p.visibility, p.text)
        case .evidenceAdded(let p):
            evidence.append(
                EvidenceRef(op: op.id, sha256: p.sha256, size: p.size, mimeType: p.mimeType, name: p.name)
            )
        }
    }

    private mutating func startAssignment(_ office: NodeID, epoch: UInt32, by op: Op) {
        let fresh = Assignment(office: office, epoch: epoch, by: op)
        if let index = assignments.firstIndex(where: { $0.office == office }) {
            assignments[index] = fresh
        } else {
            let position = assignments.firstIndex { office < $0.office } ?? assignments.endIndex
            assignments.insert(fresh, at: position)
        }
    }

    private mutating func updateAssignment(_ office: NodeID, _ change: (inout Assignment) -> Void) {
        guard let index = assignments.firstIndex(where: { $0.office == office }) else { return }
        change(&assignments[index])
    }

    private func derivedStatus() -> CaseStatus {
        switch phase {
        case .unopened, .received: return .received
        case .pending: return .pending
        case .verified: return .verified
        case .archived: return .archived
        case .closed: return .closed
        case .dispatched:
            // The least advanced active assignment, read in place (this runs on every op).
            var least: AssignmentStatus?
            for index in assignments.indices where assignments[index].status.isActive {
                let status = assignments[index].status
                if least.map({ status.progressRank < $0.progressRank }) ?? true { least = status }
            }
            return least?.caseStatus ?? .verified
        }
    }
}
