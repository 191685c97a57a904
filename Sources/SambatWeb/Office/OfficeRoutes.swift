import Foundation
import Hummingbird
import Logging
import SambatCore
import SambatDesk

/// An office's console: its cases by urgency, each case with the actions the office takes
/// (acknowledge, start, note, resolve, return as not ours), and which of its changes have not
/// reached central yet.
///
/// Owned by the router of an office node's HTTP server. It works while the office is cut off
/// from central: every action is written to the office's own store, and the sync sends it
/// when the link is back. The account that acts is the op's actor. Pages and their `/api/`
/// twins come from the same models as the dashboard's.
struct OfficeRoutes: Sendable {
    let console: WebConsole
    let cases: DashboardRoutes
    let actions: CaseActions
    var configuration: WebConsoleConfiguration { console.configuration }

    static let links: [(label: String, href: String)] = [("Kasus saya", "/"), ("Terlambat", "/?terlambat=1")]

    init(console: WebConsole, actions: CaseActions) {
        self.console = console
        self.actions = actions
        cases = DashboardRoutes(console: console)
    }

    func add(to router: Router<WebContext>) {
        router.get(
            "/",
            use: console.signedIn { request, _, session in
                let overdueOnly = request.uri.queryParameters["terlambat"] == "1"
                return try await cases.listPage(
                    overdueOnly: overdueOnly,
                    office: configuration.node,
                    listHref: "/",
                    title: overdueOnly ? "Kasus terlambat" : "Kasus \(configuration.node)",
                    session: session,
                    sync: Self.syncBanner(await configuration.syncState?())
                )
            }
        )
        router.get(
            "api/kasus",
            use: console.signedIn { request, _, _ in
                let overdueOnly = request.uri.queryParameters["terlambat"] == "1"
                let office = configuration.node
                return try await DashboardRoutes.json { () async throws(DeskError) in
                    try await cases.listing(overdueOnly: overdueOnly, office: office, limit: DashboardRoutes.listLimit)
                }
            }
        )
        router.get(
            "kasus/:id",
            use: console.signedIn { request, context, session in
                let done = request.uri.queryParameters["ok"].flatMap { Self.doneText[String($0)] }
                return try await casePage(context.parameters.get("id") ?? "", session: session, done: done)
            }
        )
        router.post(
            "kasus/:id",
            use: console.signedIn { request, context, session in
                try await act(request, ticket: context.parameters.get("id") ?? "", session: session)
            }
        )
        router.get(
            "api/kasus/:id",
            use: console.signedIn { _, context, _ in
                let ticket = context.parameters.get("id") ?? ""
                let sync = await configuration.syncState?()
                return try await DashboardRoutes.json { () async throws(DeskError) in
                    try await cases.detail(ticket, sync: sync)
                }
            }
        )
    }

    /// What the page says after each action went through.
    static let doneText: [String: String] = [
        "terima": "Kasus diterima.",
        "mulai": "Kasus mulai dikerjakan.",
        "catatan": "Catatan ditambahkan.",
        "selesai": "Tindak lanjut ditandai selesai.",
        "kembalikan": "Kasus dikembalikan ke central.",
    ]

    /// Carries out the action a case page's form asks for, as the signed-in account.
    private func act(_ request: Request, ticket: String, session: StaffSession) async throws -> Response {
        try await console.submitCaseForm(
            request,
            ticket: ticket,
            session: session,
            actions: actions,
            parse: { verb, form throws(DeskError) in [try Self.action(verb, form)] },
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

    /// The staff action a form names.
    static func action(_ verb: String, _ form: [String: String]) throws(DeskError) -> StaffAction {
        switch verb {
        case "terima": return .acknowledge
        case "mulai": return .start
        case "selesai": return .resolve(summary: form["ringkasan"] ?? "")
        case "catatan":
            return .note(text: form["catatan"] ?? "", visibility: form["publik"] == "1" ? .public : .internal)
        case "kembalikan":
            let reason = try StaffInput.code(form["alasan"] ?? "", as: ReturnReason.self, field: .reason)
            return .returnToCentral(reason: reason, note: form["catatan"] ?? "")
        default:
            var refused = DeskError(.unknownValue)
            refused.field = .request
            refused.value = String(verb.prefix(20))
            refused.allowed = doneText.keys.sorted()
            throw refused
        }
    }

    /// A case's page with the forms the office's assignment allows now.
    private func casePage(
        _ ticket: String,
        session: StaffSession,
        done: String? = nil,
        error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let sync = await configuration.syncState?()
        let model: CaseDetailModel
        var content: [String: Any]
        switch try await cases.casePage(ticket, session: session, sync: sync) {
        case .refused(let response): return response
        case .shown(let shown, let values): (model, content) = (shown, values)
        }
        content["sync"] = Self.syncBanner(sync)
        let mine = model.assignments.last { $0.office == configuration.node.rawValue }
        let state = mine?.statusCode ?? ""
        var forms: [String: Any] = [
            "csrf": session.csrfToken,
            "canAcknowledge": ["dispatched", "reopened"].contains(state),
            "canStart": state == "acknowledged",
            "canResolve": ["acknowledged", "in_progress"].contains(state),
            "canReturn": ["dispatched", "acknowledged", "in_progress", "reopened"].contains(state),
            "canNote": ["dispatched", "acknowledged", "in_progress", "reopened", "resolved"].contains(state),
            "reasons": ReturnReason.allCases.map { ["code": $0.codeName, "label": Presentation.label($0)] },
        ]
        if let done { forms["done"] = done }
        if let error { forms["error"] = error }
        content["actions"] = forms
        return console.renderer.page(
            "caseDetail",
            content,
            chrome: console.chrome("Kasus \(model.caseID)", session),
            status: status
        )
    }

    /// The line that says whether this office's changes have reached central.
    private static func syncBanner(_ state: WebConsoleConfiguration.SyncState?) -> [String: Any]? {
        guard let state else { return nil }
        let link =
            state.linkUp ? "Tersambung ke central." : "Tidak tersambung ke central; pekerjaan tetap tersimpan di sini."
        let unsent =
            state.unsent == 0
            ? "Semua perubahan sudah terkirim."
            : "\(state.unsent) perubahan belum terkirim; dikirim otomatis saat tersambung."
        return ["text": "\(link) \(unsent)", "down": !state.linkUp || state.unsent > 0]
    }
}
