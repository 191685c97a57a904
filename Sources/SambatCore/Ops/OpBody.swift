/// What an op does: its kind together with that kind's typed payload.
///
/// Free texts in payloads are already masked when the op is authored (phone numbers, NIKs and
/// the reporter's name replaced), so ops carry no personal data and are the same bytes on
/// every node.
public enum OpBody: Hashable, Sendable {
    /// A new complaint was registered at central.
    case opened(Opened)
    /// The operator verified the complaint and set its tier.
    case verified(Verified)
    /// Tunda: waiting for the reporter to supply information.
    case pended(Pended)
    /// The operator refused the complaint with a coded reason.
    case archived(Archived)
    /// Disposisi: the case was sent to an office, starting an assignment epoch.
    case dispatched(Dispatched)
    /// The office took note of the case (DITERIMA_OPD).
    case acknowledged
    /// The office started work (DIPROSES).
    case started
    /// A note was added; notes never conflict.
    case noted(Noted)
    /// Tindak lanjut: the office reports the follow-up done (SELESAI_OPD).
    case resolved(Resolved)
    /// Bukan wewenang: the office hands the case back to central.
    case returned(Returned)
    /// Central moved an assignment from one office to another.
    case reassigned(Reassigned)
    /// Central closed the case (SELESAI).
    case closed(Closed)
    /// The reporter disputed the follow-up; the case goes back to the offices.
    case reopened(Reopened)
    /// Evidence (a photo or document) was attached, by content hash.
    case evidenceAdded(EvidenceAdded)
    /// The reporter sent more information on the case (threaded follow-up message).
    case reporterWrote(ReporterWrote)
    /// Central resolved a recorded conflict.
    case conflictResolved(ConflictResolved)

    /// The kind of this body.
    public var kind: OpKind {
        switch self {
        case .opened: .opened
        case .verified: .verified
        case .pended: .pended
        case .archived: .archived
        case .dispatched: .dispatched
        case .acknowledged: .acknowledged
        case .started: .started
        case .noted: .noted
        case .resolved: .resolved
        case .returned: .returned
        case .reassigned: .reassigned
        case .closed: .closed
        case .reopened: .reopened
        case .evidenceAdded: .evidenceAdded
        case .reporterWrote: .reporterWrote
        case .conflictResolved: .conflictResolved
        }
    }

    /// Payload of ``OpBody/opened(_:)``.
    public struct Opened: Hashable, Sendable {
        /// Where the complaint came in.
        public var channel: IntakeChannel
        /// Pseudonymous reporter reference, stable per reporter, not reversible without central's secret.
        public var reporterRef: String
        /// The complaint text, masked.
        public var text: String
        /// A place description or coordinates the reporter gave, masked; empty when none.
        public var location: String

        public init(channel: IntakeChannel, reporterRef: String, text: String, location: String = "") {
            self.channel = channel
            self.reporterRef = reporterRef
            self.text = text
            self.location = location
        }
    }

    /// Payload of ``OpBody/verified(_:)``.
    public struct Verified: Hashable, Sendable {
        /// The service-standard tier that sets the follow-up deadline.
        public var tier: DeadlineTier
        /// A short topic such as "jalan rusak"; empty when none.
        public var topic: String

        public init(tier: DeadlineTier, topic: String = "") {
            self.tier = tier
            self.topic = topic
        }
    }

    /// Payload of ``OpBody/pended(_:)``.
    public struct Pended: Hashable, Sendable {
        /// What the reporter is asked to supply.
        public var request: String

        public init(request: String) { self.request = request }
    }

    /// Payload of ``OpBody/archived(_:)``.
    public struct Archived: Hashable, Sendable {
        /// The coded reason.
        public var reason: ArchiveReason
        /// The operator's explanation; may be empty.
        public var note: String

        public init(reason: ArchiveReason, note: String = "") {
            self.reason = reason
            self.note = note
        }
    }

    /// Payload of ``OpBody/dispatched(_:)``.
    public struct Dispatched: Hashable, Sendable {
        /// The office that must act.
        public var office: NodeID
        /// The new assignment epoch for (case, office); greater than any earlier one.
        public var epoch: UInt32
        /// Instructions to the office; may be empty.
        public var instructions: String

        public init(office: NodeID, epoch: UInt32, instructions: String = "") {
            self.office = office
            self.epoch = epoch
            self.instructions = instructions
        }
    }

    /// Payload of ``OpBody/noted(_:)``.
    public struct Noted: Hashable, Sendable {
        /// The note, masked.
        public var text: String
        /// Who may read it.
        public var visibility: NoteVisibility

        public init(text: String, visibility: NoteVisibility) {
            self.text = text
            self.visibility = visibility
        }
    }

    /// Payload of ``OpBody/resolved(_:)``.
    public struct Resolved: Hashable, Sendable {
        /// What the office did (tindak lanjut); kept as a public note even if the status change is refused.
        public var summary: String

        public init(summary: String) { self.summary = summary }
    }

    /// Payload of ``OpBody/returned(_:)``.
    public struct Returned: Hashable, Sendable {
        /// The coded reason.
        public var reason: ReturnReason
        /// The office's explanation; may be empty.
        public var note: String

        public init(reason: ReturnReason, note: String = "") {
            self.reason = reason
            self.note = note
        }
    }

    /// Payload of ``OpBody/reassigned(_:)``.
    public struct Reassigned: Hashable, Sendable {
        /// The office whose assignment ends (revoked).
        public var from: NodeID
        /// The office that gets a new assignment.
        public var to: NodeID
        /// The new epoch for (case, `to`).
        public var epoch: UInt32
        /// Why; may be empty.
        public var note: String

        public init(from: NodeID, to: NodeID, epoch: UInt32, note: String = "") {
            self.from = from
            self.to = to
            self.epoch = epoch
            self.note = note
        }
    }

    /// Payload of ``OpBody/closed(_:)``.
    public struct Closed: Hashable, Sendable {
        /// The coded reason.
        public var reason: CloseReason

        public init(reason: CloseReason) { self.reason = reason }
    }

    /// Payload of ``OpBody/reopened(_:)``.
    public struct Reopened: Hashable, Sendable {
        /// Why the reporter disputes the follow-up, masked.
        public var reason: String

        public init(reason: String) { self.reason = reason }
    }

    /// Payload of ``OpBody/evidenceAdded(_:)``.
    public struct EvidenceAdded: Hashable, Sendable {
        /// SHA-256 of the blob (32 bytes); the blob travels separately, content-addressed.
        public var sha256: [UInt8]
        /// Size in bytes.
        public var size: UInt64
        /// MIME type such as `image/jpeg`.
        public var mimeType: String
        /// A display name; may be empty.
        public var name: String

        public init(sha256: [UInt8], size: UInt64, mimeType: String, name: String = "") {
            self.sha256 = sha256
            self.size = size
            self.mimeType = mimeType
            self.name = name
        }
    }

    /// Payload of ``OpBody/reporterWrote(_:)``.
    public struct ReporterWrote: Hashable, Sendable {
        /// The channel of the follow-up message.
        public var channel: IntakeChannel
        /// The message text, masked.
        public var text: String

        public init(channel: IntakeChannel, text: String) {
            self.channel = channel
            self.text = text
        }
    }

    /// Payload of ``OpBody/conflictResolved(_:)``.
    public struct ConflictResolved: Hashable, Sendable {
        /// The id of the conflict being resolved (see ``Conflict/id``).
        public var conflict: String
        /// What central decided.
        public var outcome: ConflictOutcome
        /// The operator's explanation; may be empty.
        public var note: String

        public init(conflict: String, outcome: ConflictOutcome, note: String = "") {
            self.conflict = conflict
            self.outcome = outcome
            self.note = note
        }
    }
}
