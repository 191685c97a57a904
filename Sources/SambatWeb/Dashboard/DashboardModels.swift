import Foundation
import HTTPTypes
import Hummingbird
import SambatCore
import SambatDesk
import SambatStore

/// The dashboard's first page: the ranking, the backlog, overdue cases, conflicts, the trend.
///
/// Its JSON is `GET /api/ringkasan`.
struct OverviewModel: Encodable {
    let generatedAt: String
    let ranking: [RankingModel]
    let centralOverdue: Int
    let overdue: [CaseLineModel]
    let conflicts: [ConflictModel]
    let trend: TrendModel
    let syncHealth: SyncHealthModel
}

/// The sync health of every node as central last reported it to the mayor.
///
/// Its JSON is part of `GET /api/ringkasan` and is `GET /api/kesehatan`.
struct SyncHealthModel: Encodable {
    /// When central took the readings (ISO 8601); `nil` before the first report.
    let reportedAt: String?
    /// How old the report is, in seconds; `nil` before the first report.
    let ageSeconds: Int64?
    /// Older than ``staleAfterSeconds``: the mayor node has not heard from central lately.
    let stale: Bool
    /// Problem nodes first: not connected, then most ops behind.
    let nodes: [NodeHealthModel]
    // For the page.
    let reported: String
    let hasReport: Bool

    /// Central reports every 5 s; three missed reports mean the mayor's link is down.
    static let staleAfterSeconds: Int64 = 30

    init(_ report: NodeHealthReport?, now: Timestamp, book: CaseBook) {
        let calendar = book.reference.calendar
        guard let report else {
            reportedAt = nil
            ageSeconds = nil
            stale = true
            nodes = []
            reported = "Belum ada laporan dari pusat."
            hasReport = false
            return
        }
        let age = now.millisecondsSinceEpoch - report.reportedAt.millisecondsSinceEpoch
        reportedAt = report.reportedAt.iso
        ageSeconds = max(0, age / 1_000)
        stale = age > Self.staleAfterSeconds * 1_000
        nodes = report.nodes
            .sorted { lhs, rhs in
                if lhs.connected != rhs.connected { return !lhs.connected }
                if lhs.opsBehind != rhs.opsBehind { return lhs.opsBehind > rhs.opsBehind }
                return lhs.node < rhs.node
            }
            .map { NodeHealthModel($0, now: now, book: book) }
        reported =
            "Laporan pusat \(Presentation.time(report.reportedAt, calendar)) WIB (\(Presentation.ago(max(0, age))))."
        hasReport = true
    }
}

/// One node's line of the sync-health table.
struct NodeHealthModel: Encodable {
    let node: String
    let name: String
    let role: String
    let connected: Bool
    /// ISO 8601; `nil` when central never heard from the node.
    let lastSeenAt: String?
    let feedBehind: UInt64
    let uploadBehind: UInt64
    // For the page.
    let status: String
    let lastSeen: String
    let lagging: Bool

    init(_ health: NodeSyncHealth, now: Timestamp, book: CaseBook) {
        node = health.node.rawValue
        name = health.role == .mayor ? "Kantor Wali Kota" : book.reference.office(health.node)?.name ?? ""
        role = health.role.rawValue
        connected = health.connected
        lastSeenAt = health.lastSeenAt?.iso
        feedBehind = health.feedBehind
        uploadBehind = health.uploadBehind
        status = health.connected ? "terhubung" : "terputus"
        lastSeen =
            health.lastSeenAt.map {
                health.connected
                    ? "sekarang"
                    : "\(Presentation.time($0, book.reference.calendar)) (\(Presentation.ago(now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch)))"
            } ?? "belum pernah"
        lagging = !health.connected || health.opsBehind > 0
    }
}

/// One office's line of the ranking, slowest first: raw figures for tools, Bahasa text for
/// the page.
struct RankingModel: Encodable {
    let rank: Int
    let code: String
    let name: String
    let assigned: Int
    let open: Int
    let overdue: Int
    let returned: Int
    let resolved: Int
    let resolvedLate: Int
    /// Office minutes; `nil` without samples.
    let acknowledgeMedianMinutes: Int64?
    let acknowledgeP90Minutes: Int64?
    let followUpMedianMinutes: Int64?
    let followUpP90Minutes: Int64?
    /// Shares as fractions (0…1); `nil` when there is nothing to divide.
    let overdueRatio: Double?
    let onTimeRatio: Double?
    let returnRatio: Double?
    // For the page.
    let overdueShare: String
    let onTimeShare: String
    let returnShare: String
    let acknowledge: String
    let followUp: String
    let slow: Bool

    init(rank: Int, line: ResponsivenessReport.Line, book: CaseBook) {
        func minutes(_ milliseconds: Int64?) -> Int64? { milliseconds.map { $0 / 60_000 } }
        func ratio(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        func share(_ value: Double?) -> String { value.map { "\(Int(($0 * 100).rounded()))%" } ?? "-" }
        func pair(_ median: Int64?, _ p90: Int64?) -> String {
            guard let median, let p90 else { return "-" }
            return "\(Presentation.duration(median)) / \(Presentation.duration(p90))"
        }
        self.rank = rank
        code = line.office.rawValue
        name = book.reference.office(line.office)?.name ?? ""
        assigned = line.assigned
        open = line.open
        overdue = line.overdue
        returned = line.returned
        resolved = line.resolved
        resolvedLate = line.resolvedLate
        acknowledgeMedianMinutes = minutes(line.acknowledgeMedian)
        acknowledgeP90Minutes = minutes(line.acknowledgeP90)
        followUpMedianMinutes = minutes(line.followUpMedian)
        followUpP90Minutes = minutes(line.followUpP90)
        overdueRatio = ratio(line.overdue, line.open)
        onTimeRatio = ratio(line.resolved - line.resolvedLate, line.resolved)
        returnRatio = ratio(line.returned, line.assigned)
        overdueShare = share(overdueRatio)
        onTimeShare = share(onTimeRatio)
        returnShare = share(returnRatio)
        acknowledge = pair(line.acknowledgeMedian, line.acknowledgeP90)
        followUp = pair(line.followUpMedian, line.followUpP90)
        slow = line.overdue > 0
    }
}

/// One case in a listing.
struct CaseLineModel: Encodable {
    let caseID: String
    let status: String
    let statusLabel: String
    /// The earliest open deadline, ISO 8601; `nil` when none.
    let dueAt: String?
    let isOverdue: Bool
    /// How long past its deadline, in minutes; 0 when not overdue.
    let overdueMinutes: Int64
    let subject: String
    let openConflicts: Int
    // For the page.
    let due: String
    let late: String
    let overdue: Bool
    let hasConflicts: Bool

    init(_ entry: CaseListEntry, now: Timestamp, calendar: WorkingCalendar) {
        caseID = entry.caseID.rawValue
        status = entry.status.description
        statusLabel = entry.officeStatus.map(Presentation.label) ?? Presentation.label(entry.status)
        dueAt = entry.nextDue?.iso
        isOverdue = entry.isOverdue
        let past = entry.nextDue.map { now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch } ?? 0
        overdueMinutes = entry.isOverdue ? max(0, past / 60_000) : 0
        subject = entry.subject
        openConflicts = entry.openConflicts
        due = entry.nextDue.map { Presentation.time($0, calendar) } ?? "-"
        late = entry.isOverdue ? Presentation.duration(max(0, past)) : ""
        overdue = entry.isOverdue
        hasConflicts = entry.openConflicts > 0
    }
}

/// A conflict needing attention.
struct ConflictModel: Encodable {
    let caseID: String
    let id: String
    let reasonCode: String
    let reason: String
    let office: String?
    let resolved: Bool

    init(caseID: String, conflict: Conflict) {
        self.caseID = caseID
        id = conflict.id
        reasonCode = conflict.reason.rawValue
        reason = Presentation.label(conflict.reason)
        office = conflict.office?.rawValue
        resolved = conflict.isResolved
    }
}

/// Cases received and closed per span.
struct TrendModel: Encodable {
    struct Point: Encodable {
        let start: String
        let received: Int
        let closed: Int
    }
    let period: String
    let spans: [Point]
    /// The points as the chart draws them (not in the JSON).
    let points: [TrendPoint]

    init(period: String, points: [TrendPoint]) {
        self.period = period
        self.points = points
        spans = points.map { Point(start: $0.start.description, received: $0.received, closed: $0.closed) }
    }

    enum CodingKeys: String, CodingKey { case period, spans }
}

/// One case: its facts, assignments, deadlines, timeline, notes and conflicts.
///
/// The complaint text is as stored (masked at intake); the reporter is a pseudonym.
struct CaseDetailModel: Encodable {
    struct Assignment: Encodable {
        let office: String
        let name: String
        let status: String
        let statusCode: String
    }
    struct Clock: Encodable {
        let stage: String
        let dueAt: String
        let doneAt: String?
        let due: String
        let done: String
        let late: Bool
    }
    struct Step: Encodable {
        let op: String
        let at: String
        let time: String
        let actor: String
        let kind: String
        let what: String
        let effect: String
        /// This node's own change that central has not acknowledged yet (an office's console).
        let unsent: Bool
    }
    struct Note: Encodable {
        let time: String
        let actor: String
        let visibility: String
        let text: String
    }

    let caseID: String
    let status: String
    let statusCode: String
    let channel: String
    let reporter: String
    let location: String
    let text: String
    let tier: String
    let archived: String
    let assignments: [Assignment]
    let clocks: [Clock]
    let timeline: [Step]
    let notes: [Note]
    let conflicts: [ConflictModel]

    init(_ record: CaseRecord, now: Timestamp, book: CaseBook, sync: WebConsoleConfiguration.SyncState? = nil) {
        let calendar = book.reference.calendar
        let state = record.state
        caseID = state.caseID.rawValue
        status = Presentation.label(state.status)
        statusCode = state.status.description
        channel = state.complaint.map { Presentation.label($0.channel) } ?? ""
        reporter = state.complaint?.reporterRef ?? ""
        location = state.complaint?.location ?? ""
        text = state.complaint?.text ?? ""
        tier = state.tier.map { Presentation.label($0) + (state.topic.isEmpty ? "" : " — \(state.topic)") } ?? ""
        archived = state.archiveReason.map(Presentation.label) ?? ""
        assignments = state.assignments.map {
            Assignment(
                office: $0.office.rawValue,
                name: book.reference.office($0.office)?.name ?? "",
                status: Presentation.label($0.status),
                statusCode: $0.status.description
            )
        }
        clocks = record.clocks.map { clock in
            Clock(
                stage: Presentation.label(clock.stage) + (clock.office.map { " (\($0))" } ?? ""),
                dueAt: clock.dueAt.iso,
                doneAt: clock.doneAt?.iso,
                due: Presentation.time(clock.dueAt, calendar),
                done: clock.doneAt.map { Presentation.time($0, calendar) + (clock.wasLate ? " (terlambat)" : "") }
                    ?? (clock.isOverdue(at: now) ? "TERLAMBAT" : "-"),
                late: clock.isOverdue(at: now) || clock.wasLate
            )
        }
        timeline = record.timeline.map { entry in
            Step(
                op: entry.op.description,
                at: entry.time.iso,
                time: Presentation.time(entry.time, calendar),
                actor: entry.actor.rawValue,
                kind: entry.kind.description,
                what: Presentation.label(entry.kind),
                effect: Presentation.label(entry.effect),
                unsent: sync.map { entry.op.origin == $0.origin && entry.op.seq > $0.centralFrontier } ?? false
            )
        }
        notes = state.notes.map {
            Note(
                time: Presentation.time($0.at, calendar),
                actor: $0.actor.rawValue,
                visibility: $0.visibility == .public ? "publik" : "internal",
                text: $0.text
            )
        }
        conflicts = state.conflicts.map { ConflictModel(caseID: state.caseID.rawValue, conflict: $0) }
    }
}

/// The day's recap: one section per kind of event, each with its cases.
///
/// `sambat recap` prints the same sections from the same ``DailyRecap``.
struct RecapModel: Encodable {
    struct Section: Encodable {
        let key: String
        let heading: String
        let count: Int
        let items: [String]
        let rows: [[String]]
    }
    let date: String
    let sections: [Section]

    init(_ recap: DailyRecap) {
        date = recap.date.description
        func describe(_ id: CaseID) -> String {
            let topic = recap.topics[id] ?? ""
            return topic.isEmpty ? id.rawValue : "\(id.rawValue) (\(topic))"
        }
        func section(_ key: String, _ heading: String, _ rows: [(CaseID, String, String)]) -> Section {
            Section(
                key: key,
                heading: heading,
                count: rows.count,
                items: rows.map { describe($0.0) + ($0.2.isEmpty ? "" : " — \($0.2)") },
                rows: rows.map { [$0.0.rawValue, $0.1, $0.2] }
            )
        }
        sections = [
            section("new", "Pengaduan baru", recap.newCases.map { ($0, "", "") }),
            section("dispatched", "Didisposisikan", recap.dispatched.map { ($0.0, $0.1.rawValue, "ke \($0.1)") }),
            section(
                "resolved",
                "Tindak lanjut selesai (OPD)",
                recap.resolved.map { ($0.0, $0.1.rawValue, "oleh \($0.1)") }
            ),
            section("closed", "Ditutup", recap.closed.map { ($0, "", "") }),
            section(
                "archived",
                "Diarsipkan",
                recap.archived.map { ($0.0, "", "\(Presentation.label($0.1)) (\($0.1.codeName))") }
            ),
            section("overdue", "Terlambat pada akhir hari", recap.overdue.map { ($0, "", "") }),
            section("conflicts", "Konflik", recap.conflicts.map { ($0.0, "", $0.1) }),
        ]
    }
}

/// The recap as CSV (RFC 4180): one row per case and section, for a spreadsheet.
enum RecapCSV {
    static func response(_ recap: RecapModel) -> Response {
        var lines = ["tanggal,bagian,tiket,opd,keterangan"]
        for section in recap.sections {
            for row in section.rows {
                lines.append(([recap.date, section.key] + row).map(field).joined(separator: ","))
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"rekap-\(recap.date).csv\""
        headers[.cacheControl] = "no-store"
        let text = lines.joined(separator: "\r\n") + "\r\n"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A field quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
    /// `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
    static func field(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { ",\"\r\n".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// JSON answers of the `/api/` endpoints.
enum JSONAnswer {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// `200` with `value` as JSON.
    static func ok(_ value: some Encodable) throws -> Response {
        response(.ok, try encoder.encode(value))
    }

    /// A refusal of the use-case layer as its HTTP status and `{"error": …}` (English).
    static func refusal(_ error: DeskError) throws -> Response {
        try self.error(status(of: error), error.description)
    }

    /// The status a refusal answers: 404 for a case that is not there (or a ticket that cannot
    /// be one), 409 for an action the case's state does not allow now, 503 when the store
    /// could not be read, 400 for other bad input.
    static func status(of error: DeskError) -> HTTPResponse.Status {
        switch error.code {
        case .caseNotFound, .invalidCaseID: .notFound
        case .illegalTransition, .staleAssignment, .notAssigned, .conflictAlreadyResolved: .conflict
        case .storage: .serviceUnavailable
        default: .badRequest
        }
    }

    /// An error as `{"error": …}`.
    static func error(_ status: HTTPResponse.Status, _ message: String) throws -> Response {
        response(status, try encoder.encode(["error": message]))
    }

    private static func response(_ status: HTTPResponse.Status, _ data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
