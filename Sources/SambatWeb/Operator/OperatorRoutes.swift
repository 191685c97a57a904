import Foundation
import Hummingbird
import Logging
import SambatCore
import SambatDesk
import SambatStore

/// The hotline operator's console at central: the verification queue with its flags, routing
/// suggestions and due times; each case with the actions central takes (verify, pend,
/// archive, dispatch to one or more offices, reassign, close, reopen, note); the reporter's
/// identity only behind an explicit, audited action; and the messages sent to the reporter
/// with their delivery state.
///
/// Owned by the router of central's HTTP server, beside the WhatsApp webhook. Every action
/// goes through ``CaseActions`` as the signed-in account; the identity through
/// ``IntakeDesk/revealIdentity(of:actor:reason:at:)``, which writes the audit entry before it
/// reads the identity. The identity is shown on the answer to that post only: never in a
/// page that can be reloaded, cached or linked to, and never in a log.
struct OperatorRoutes: Sendable {
    let console: WebConsole
    let cases: DashboardRoutes
    let actions: CaseActions
    let desk: IntakeDesk
    var configuration: WebConsoleConfiguration { console.configuration }
    var reference: ReferenceData { configuration.book.reference }

    static let links: [(label: String, href: String)] = [
        ("Antrean", "/"), ("Kasus", "/kasus"), ("Terlambat", "/kasus?terlambat=1"),
    ]

    init(console: WebConsole, actions: CaseActions, desk: IntakeDesk) {
        self.console = console
        self.actions = actions
        self.desk = desk
        cases = DashboardRoutes(console: console)
    }

    func add(to router: Router<WebContext>) {
        router.get(
            "/",
            use: console.signedIn { _, _, session in
                let queue = try await queueModel()
                var content = try DashboardRoutes.values(of: ["queue": queue])
                content["count"] = queue.count
                return console.renderer.page("queue", content, chrome: console.chrome("Antrean verifikasi", session))
            }
        )
        router.get(
            "api/antrean",
            use: console.signedIn { _, _, _ in
                try await DashboardRoutes.json { () async throws(DeskError) in try await queueModel() }
            }
        )
        cases.addCaseListRoutes(to: router)
        router.get(
            "kasus/:id",
            use: console.signedIn { request, context, session in
                let done = request.uri.queryParameters["ok"].flatMap { Self.doneText[String($0)] }
                return try await casePage(context.parameters.get("id") ?? "", session: session, done: done)
            }
        )
        router.get(
            "api/kasus/:id",
            use: console.signedIn { _, context, _ in
                let ticket = context.parameters.get("id") ?? ""
                return try await DashboardRoutes.json { () async throws(DeskError) in try await cases.detail(ticket) }
            }
        )
        router.post(
            "kasus/:id",
            use: console.signedIn { request, context, session in
                try await act(request, ticket: context.parameters.get("id") ?? "", session: session)
            }
        )
        router.post(
            "kasus/:id/identitas",
            use: console.signedIn { request, context, session in
                try await reveal(request, ticket: context.parameters.get("id") ?? "", session: session)
            }
        )
    }

    // MARK: The queue

    /// One case waiting for central.
    struct QueueLine: Encodable {
        let caseID: String
        let status: String
        let statusLabel: String
        let step: String
        let dueAt: String?
        let due: String
        let isOverdue: Bool
        let text: String
        let suggestions: [String]
        let flags: String
    }

    func queueModel() async throws(DeskError) -> [QueueLine] {
        let now = configuration.now()
        return try await configuration.book.queue(at: now).map { entry in
            QueueLine(
                caseID: entry.caseID.rawValue,
                status: entry.status.description,
                statusLabel: Presentation.label(entry.status),
                step: entry.status == .verified
                    ? "disposisi" : entry.status == .pending ? "menunggu pelapor" : "verifikasi",
                dueAt: entry.nextDue?.iso,
                due: entry.nextDue.map { Presentation.time($0, reference.calendar) } ?? "-",
                isOverdue: entry.isOverdue,
                text: entry.text,
                suggestions: entry.suggestions.map { suggestion in
                    let name = reference.office(suggestion.office)?.name ?? suggestion.office.rawValue
                    return "\(name) (\(suggestion.matched.joined(separator: ", ")))"
                },
                flags: entry.flags.isEmpty ? "" : Presentation.label(entry.flags)
            )
        }
    }

    // MARK: Actions

    /// What the page says after each action went through.
    static let doneText: [String: String] = [
        "verifikasi": "Kasus diverifikasi.",
        "tunda": "Kasus ditunda; pelapor diminta melengkapi.",
        "arsip": "Kasus diarsipkan.",
        "disposisi": "Kasus didisposisikan.",
        "alihkan": "Kasus dialihkan.",
        "tutup": "Kasus ditutup.",
        "buka": "Kasus dibuka kembali.",
        "catatan": "Catatan ditambahkan.",
    ]

    /// The staff actions a form names; a dispatch to several offices is one action each.
    func staffActions(_ verb: String, _ form: [String: String]) throws(DeskError) -> [StaffAction] {
        switch verb {
        case "verifikasi":
            let tier = try StaffInput.code(form["kategori"] ?? "", as: DeadlineTier.self, field: .tier)
            return [.verify(tier: tier, topic: form["topik"] ?? "")]
        case "tunda":
            return [.pend(request: form["permintaan"] ?? "")]
        case "arsip":
            let reason = try StaffInput.code(form["alasan"] ?? "", as: ArchiveReason.self, field: .reason)
            return [.archive(reason: reason, note: form["catatan"] ?? "")]
        case "disposisi":
            // One checkbox per office, named `opd_<code>`.
            let offices = form.keys.filter { $0.hasPrefix("opd_") }.sorted().map { String($0.dropFirst(4)) }
            guard !offices.isEmpty else {
                var refused = DeskError(.emptyText)
                refused.field = .instructions
                throw refused
            }
            return try offices.map { code throws(DeskError) in
                .dispatch(office: try StaffInput.nodeID(code), instructions: form["instruksi"] ?? "")
            }
        case "alihkan":
            return [
                .reassign(
                    from: try StaffInput.nodeID(form["dari"] ?? ""),
                    to: try StaffInput.nodeID(form["ke"] ?? ""),
                    note: form["catatan"] ?? ""
                )
            ]
        case "tutup":
            return [.close(reason: try StaffInput.code(form["alasan"] ?? "", as: CloseReason.self, field: .reason))]
        case "buka":
            return [.reopen(reason: form["alasan"] ?? "")]
        case "catatan":
            return [.note(text: form["catatan"] ?? "", visibility: form["publik"] == "1" ? .public : .internal)]
        default:
            var refused = DeskError(.unknownValue)
            refused.field = .request
            refused.value = String(verb.prefix(20))
            refused.allowed = Self.doneText.keys.sorted()
            throw refused
        }
    }

    /// Carries out a case page's form as the signed-in account.
    private func act(_ request: Request, ticket: String, session: StaffSession) async throws -> Response {
        try await console.submitCaseForm(
            request,
            ticket: ticket,
            session: session,
            actions: actions,
            parse: { verb, form throws(DeskError) in try staffActions(verb, form) },
            refused: { error in
                try await casePage(
                    ticket,
                    session: session,
                    error: Presentation.render(error),
                    status: JSONAnswer.status(of: error)
                )
            }
        )
    }

    /// Shows the reporter's identity once, after writing the audit entry.
    private func reveal(_ request: Request, ticket: String, session: StaffSession) async throws -> Response {
        let form = try await WebConsole.form(request)
        guard WebConsole.matches(form["_csrf"], session.csrfToken) else { return console.forbidden(session) }
        let identity: ReporterIdentity?
        do {
            let caseID = try StaffInput.caseID(ticket)
            identity = try await desk.revealIdentity(
                of: caseID,
                actor: session.account.actor,
                reason: form["alasan"] ?? "",
                at: configuration.now()
            )
        } catch let error as DeskError {
            return try await casePage(
                ticket,
                session: session,
                error: Presentation.render(error),
                status: JSONAnswer.status(of: error)
            )
        }
        console.logger.notice("reporter identity shown", metadata: ["web.account": "\(session.account.name)"])
        let shown: [String: Any] =
            identity.map {
                [
                    "name": $0.name.isEmpty ? "(belum diberikan)" : $0.name,
                    "nik": $0.nik.isEmpty ? "(belum diberikan)" : $0.nik,
                    "phone": $0.phone,
                ]
            } ?? ["missing": true]
        return try await casePage(ticket, session: session, identity: shown)
    }

    // MARK: The case page

    private func casePage(
        _ ticket: String,
        session: StaffSession,
        done: String? = nil,
        error: String? = nil,
        identity: [String: Any]? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let model: CaseDetailModel
        var content: [String: Any]
        switch try await cases.casePage(ticket, session: session) {
        case .refused(let response): return response
        case .shown(let shown, let values): (model, content) = (shown, values)
        }
        let caseID = try StaffInput.caseID(model.caseID)
        let state = model.statusCode
        let active = model.assignments.filter {
            ["dispatched", "acknowledged", "in_progress", "resolved", "reopened"].contains($0.statusCode)
        }
        .map(\.office)
        var forms: [String: Any] = [
            "csrf": session.csrfToken,
            "canVerify": ["received", "pending"].contains(state),
            "canPend": state == "received",
            "canArchive": ["received", "pending", "verified"].contains(state),
            "canDispatch": ["verified", "dispatched", "acknowledged", "in_progress", "reopened"].contains(state),
            "canReassign": !active.isEmpty && state != "closed" && state != "archived",
            "canClose": ["resolved", "dispatched", "acknowledged", "in_progress", "reopened"].contains(state),
            "canReopen": ["resolved", "closed"].contains(state),
            "canNote": true,
            "tiers": DeadlineTier.allCases.map { ["code": $0.codeName, "label": Presentation.label($0)] },
            "archiveReasons": ArchiveReason.allCases.map { ["code": $0.codeName, "label": Presentation.label($0)] },
            "closeReasons": CloseReason.allCases.map { ["code": $0.codeName, "label": Presentation.label($0)] },
            "offices": reference.offices.map { ["code": $0.code.rawValue, "name": $0.name] },
            "activeOffices": active.map { ["code": $0] },
        ]
        if let done { forms["done"] = done }
        if let error { forms["error"] = error }
        content["operator"] = forms
        if let identity { content["identity"] = identity }
        content["replies"] = try await replies(of: caseID)
        let audit = (try? await desk.store.identityAudit(of: caseID)) ?? []
        content["audit"] = audit.map { entry in
            [
                "time": Presentation.time(entry.at, reference.calendar), "actor": entry.actor,
                "reason": entry.reason,
            ]
        }
        content["hasAudit"] = !audit.isEmpty
        return console.renderer.page(
            "operatorCase",
            content,
            chrome: console.chrome("Kasus \(model.caseID)", session),
            status: status
        )
    }

    /// The messages to the reporter: channel, state and text, never the number they went to.
    private func replies(of caseID: CaseID) async throws -> [[String: Any]] {
        try await desk.replies(of: caseID).map { reply in
            [
                "time": Presentation.time(reply.createdAt, reference.calendar),
                "channel": Presentation.label(reply.channel) + (reply.template == nil ? "" : " (templat)"),
                "state": Presentation.label(reply.state),
                "text": reply.body,
            ]
        }
    }
}
