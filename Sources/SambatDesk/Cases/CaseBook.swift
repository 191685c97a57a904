import Crypto
public import SambatCore
public import SambatStore

/// A case as the CLI and reports show it: its folded state, the receive time of each op,
/// its stage clocks and its canonical digest.
public struct CaseRecord: Sendable {
    /// The folded case.
    public let state: CaseState
    /// Central's receive time of each op of the case.
    public let receivedAt: [OpID: Timestamp]
    /// The case's stages against their deadlines.
    public let clocks: [StageClock]
    /// SHA-256 over the sorted hashes of the case's ops: equal on two nodes exactly when they
    /// hold the same ops, and so the same folded case.
    public let digest: String

    /// The case id.
    public var caseID: CaseID { state.caseID }

    /// The earliest deadline among stages still open (for `office`'s stages only, if given).
    public func nextDue(for office: NodeID? = nil) -> Timestamp? {
        clocks.filter {
            $0.doneAt == nil && (office == nil || $0.office == office)
        }
        .map(\.dueAt).min()
    }

    /// The case's history as staff read it: each op in fold order with who did it, when
    /// central received it (the author's own time where central's is not known), and what it
    /// did.
    public var timeline: [TimelineEntry] {
        state.history.map { entry in
            TimelineEntry(
                op: entry.op,
                time: receivedAt[entry.op] ?? entry.at,
                actor: entry.actor,
                kind: entry.kind,
                effect: entry.effect
            )
        }
    }

    /// Whether a stage (of `office`, if given) is open past its deadline at `now`.
    public func isOverdue(at now: Timestamp, office: NodeID? = nil) -> Bool {
        clocks.contains { $0.isOverdue(at: now) && (office == nil || $0.office == office) }
    }
}

/// One line of a case's timeline.
public struct TimelineEntry: Hashable, Sendable {
    /// The op.
    public let op: OpID
    /// Central's receive time, or the author's time where central's is not known.
    public let time: Timestamp
    /// Who did it.
    public let actor: ActorID
    /// What it was.
    public let kind: OpKind
    /// Whether it applied, or was a conflict.
    public let effect: HistoryEntry.Effect
}

/// Reads cases from a store and puts deadlines on them.
///
/// What every listing, report and recap starts from. Owned by the CLI command or service that opened the store.
public struct CaseBook: Sendable {
    /// The store read.
    public let store: Store
    /// Calendar and targets.
    public let reference: ReferenceData
    /// Folds every case even where the projection could be read: the reference the
    /// projection's reads are tested against.
    package var foldsEveryCase = false

    /// A book over `store`.
    public init(store: Store, reference: ReferenceData) {
        self.store = store
        self.reference = reference
    }

    /// One case; `nil` when this store holds no op of it.
    public func record(_ caseID: CaseID) async throws(StoreError) -> CaseRecord? {
        let stored = try await store.ops(ofCase: caseID)
        guard !stored.isEmpty else { return nil }
        return record(caseID, stored: stored)
    }

    /// Every case this store holds, in case id order.
    public func records() async throws(StoreError) -> [CaseRecord] {
        var records: [CaseRecord] = []
        for caseID in try await store.caseIDs() {
            if let record = try await record(caseID) { records.append(record) }
        }
        return records
    }

    func record(_ caseID: CaseID, stored: [StoredOp]) -> CaseRecord {
        let fold = CaseFold(central: store.identity.central)
        let state = fold.fold(stored.map(\.sealed.op), caseID: caseID)
        var receivedAt: [OpID: Timestamp] = [:]
        for op in stored { receivedAt[op.sealed.op.id] = op.receivedAt }
        let clocks = CaseDeadlines.clocks(
            for: state,
            receivedAt: { receivedAt[$0] },
            targets: reference.targets,
            calendar: reference.calendar
        )
        var hasher = SHA256()
        for hash in stored.map({ $0.sealed.hash.description }).sorted() { hasher.update(data: Array(hash.utf8)) }
        let digest = Hex.encode(Array(hasher.finalize()))
        return CaseRecord(state: state, receivedAt: receivedAt, clocks: clocks, digest: digest)
    }
}
