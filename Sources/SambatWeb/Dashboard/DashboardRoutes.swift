import Foundation
import Hummingbird
import SambatCore
import SambatDesk

/// The mayor's read-only dashboard: the ranking of offices, trends, overdue cases, conflicts,
/// each case's timeline and the daily recap, as pages and as JSON under `/api/`.
///
/// Owned by the router of the mayor node's HTTP server. Every figure comes from the
/// use-case layer (``CaseBook``), which reads the projections of the merged history; a page
/// and its JSON endpoint are built from the same model, so they never disagree.
struct DashboardRoutes: Sendable {
    let console: WebConsole
    var book: CaseBook { console.configuration.book }
    var calendar: WorkingCalendar { book.reference.calendar }
    /// Overdue cases shown on the first page.
    static let firstPage = 20
    /// Cases a listing shows at most.
    static let listLimit = 500

    static let links: [(label: String, href: String)] = [
        ("Ringkasan", "/"), ("Kasus", "/kasus"), ("Terlambat", "/kasus?terlambat=1"), ("Rekap harian", "/rekap"),
    ]

    func add(to router: Router<WebContext>) {
        router.get(
            "/",
            use: console.signedIn { request, _, session in
                let period = TrendPeriod(query: request.uri.queryParameters["tren"].map(String.init))
                return PageRenderer.html(try await overviewPage(period: period, session: session))
            }
        )
        router.get(
            "api/ringkasan",
            use: console.signedIn { request, _, _ in
                let period = TrendPeriod(query: request.uri.queryParameters["tren"].map(String.init))
                return try await Self.json { () async throws(DeskError) in try await overview(period: period) }
            }
        )
        router.get(
            "api/kesehatan",
            use: console.signedIn { _, _, _ in
                try await Self.json { () async throws(DeskError) in
                    SyncHealthModel(try await book.syncHealth(), now: console.configuration.now(), book: book)
                }
            }
        )
        addCaseListRoutes(to: router)
        router.get(
            "kasus/:id",
            use: console.signedIn { _, context, session in
                switch try await casePage(context.parameters.get("id") ?? "", session: session) {
                case .refused(let response):
                    return response
                case .shown(let model, let content):
                    return console.renderer.page(
                        "caseDetail",
                        content,
                        chrome: console.chrome("Kasus \(model.caseID)", session)
                    )
                }
            }
        )
        router.get(
            "api/kasus/:id",
            use: console.signedIn { _, context, _ in
                let ticket = context.parameters.get("id") ?? ""
                return try await Self.json { () async throws(DeskError) in try await detail(ticket) }
            }
        )
        router.get(
            "rekap",
            use: console.signedIn { request, _, session in
                let date: CivilDate
                do throws(DeskError) {
                    date = try day(request)
                } catch {
                    return console.message(
                        "Tanggal tidak sah",
                        Presentation.render(error),
                        session: session,
                        status: .badRequest
                    )
                }
                let model = try await recap(of: date)
                let content = try Self.values(of: model)
                return console.renderer.page(
                    "recap",
                    content,
                    chrome: console.chrome("Rekap pengaduan \(Presentation.date(date))", session)
                )
            }
        )
        router.get(
            "rekap.csv",
            use: console.signedIn { request, _, _ in
                let model: RecapModel
                do throws(DeskError) {
                    model = try await recap(of: try day(request))
                } catch {
                    return try JSONAnswer.refusal(error)
                }
                return RecapCSV.response(model)
            }
        )
        router.get(
            "api/rekap",
            use: console.signedIn { request, _, _ in
                try await Self.json { () async throws(DeskError) in try await recap(of: try day(request)) }
            }
        )
    }

    /// The dashboard's first page for `session`: what `GET /` answers, and what the reads
    /// benchmark times.
    func overviewPage(period: TrendPeriod, session: StaffSession?) async throws -> String {
        let model = try await overview(period: period)
        var content = try Self.values(of: model)
        content["cases"] = content["overdue"]
        content["chart"] = TrendChart.svg(model.trend.points, period: period)
        content["periods"] = TrendPeriod.allCases.map { candidate in
            [
                "label": "Per " + TrendChart.label(candidate), "href": "/?tren=\(candidate.rawValue)",
                "current": candidate == period,
            ]
        }
        return console.renderer.render("dashboard", content, chrome: console.chrome("Ringkasan kinerja", session))
    }

    /// `/kasus` and `/api/kasus`: every open case, or the overdue ones, overdue first.
    func addCaseListRoutes(to router: Router<WebContext>) {
        router.get(
            "kasus",
            use: console.signedIn { request, _, session in
                let overdueOnly = request.uri.queryParameters["terlambat"] == "1"
                return try await listPage(
                    overdueOnly: overdueOnly,
                    listHref: "/kasus",
                    title: overdueOnly ? "Kasus terlambat" : "Kasus terbuka",
                    session: session
                )
            }
        )
        router.get(
            "api/kasus",
            use: console.signedIn { request, _, _ in
                let overdueOnly = request.uri.queryParameters["terlambat"] == "1"
                return try await Self.json { () async throws(DeskError) in
                    try await listing(overdueOnly: overdueOnly, limit: Self.listLimit)
                }
            }
        )
    }

    /// A case page's model and template values, or the page saying why it cannot be shown.
    enum CasePage {
        case shown(CaseDetailModel, [String: Any])
        case refused(Response)
    }

    /// The values every console's case page starts from (its own unsent changes marked when
    /// `sync` is given), or the "not found" page.
    func casePage(
        _ ticket: String,
        session: StaffSession,
        sync: WebConsoleConfiguration.SyncState? = nil
    ) async throws -> CasePage {
        let model: CaseDetailModel
        do throws(DeskError) {
            model = try await detail(ticket, sync: sync)
        } catch {
            return .refused(
                console.message(
                    "Kasus tidak ditemukan",
                    Presentation.render(error),
                    session: session,
                    status: JSONAnswer.status(of: error)
                )
            )
        }
        var content = try Self.values(of: model)
        content["hasNotes"] = !model.notes.isEmpty
        content["hasConflicts"] = !model.conflicts.isEmpty
        return .shown(model, content)
    }

    /// `model`'s JSON, or the refusal's status and `{"error": …}`.
    static func json<Model: Encodable>(_ model: () async throws(DeskError) -> Model) async throws -> Response {
        let value: Model
        do throws(DeskError) {
            value = try await model()
        } catch {
            return try JSONAnswer.refusal(error)
        }
        return try JSONAnswer.ok(value)
    }

    /// The day a recap request names (`tanggal=YYYY-MM-DD`), today in WIB by default.
    private func day(_ request: Request) throws(DeskError) -> CivilDate {
        guard let text = request.uri.queryParameters["tanggal"].map(String.init), !text.isEmpty else {
            return calendar.localDate(of: console.configuration.now())
        }
        return try StaffInput.date(text)
    }

    // MARK: Models

    func overview(period: TrendPeriod) async throws(DeskError) -> OverviewModel {
        let now = console.configuration.now()
        let report = try await book.report(at: now)
        let overdue = try await book.list(CaseListFilter(overdueOnly: true), at: now, limit: Self.firstPage)
        let conflicts = try await book.conflicts(includeResolved: false, cases: Self.firstPage)
        let points = try await book.trend(period, through: calendar.localDate(of: now))
        return OverviewModel(
            generatedAt: now.iso,
            ranking: report.lines.enumerated().map { RankingModel(rank: $0.offset + 1, line: $0.element, book: book) },
            centralOverdue: report.centralOverdue,
            overdue: overdue.map { CaseLineModel($0, now: now, calendar: calendar) },
            conflicts: conflicts.map { ConflictModel(caseID: $0.caseID.rawValue, conflict: $0.conflict) },
            trend: TrendModel(period: period.rawValue, points: points),
            syncHealth: SyncHealthModel(try await book.syncHealth(), now: now, book: book)
        )
    }

    /// A listing's page: open cases (of `office` only, when given), overdue first, with the
    /// sync line when `sync` is given.
    func listPage(
        overdueOnly: Bool,
        office: NodeID? = nil,
        listHref: String,
        title: String,
        session: StaffSession,
        sync: [String: Any]? = nil
    ) async throws -> Response {
        let cases = try await listing(overdueOnly: overdueOnly, office: office, limit: Self.listLimit)
        var content = try Self.values(of: ["cases": cases])
        content["overdueOnly"] = overdueOnly
        content["listHref"] = listHref
        content["more"] = cases.count == Self.listLimit
        content["shown"] = cases.count
        content["sync"] = sync
        return console.renderer.page("caseList", content, chrome: console.chrome(title, session))
    }

    /// Open cases (of `office` only, by urgency, when given), overdue first.
    func listing(overdueOnly: Bool, office: NodeID? = nil, limit: Int) async throws(DeskError) -> [CaseLineModel] {
        let now = console.configuration.now()
        return try await book.list(CaseListFilter(office: office, overdueOnly: overdueOnly), at: now, limit: limit)
            .map { CaseLineModel($0, now: now, calendar: calendar) }
    }

    /// One case; its own unsent changes marked when `sync` is given.
    func detail(
        _ ticket: String,
        sync: WebConsoleConfiguration.SyncState? = nil
    ) async throws(DeskError)
        -> CaseDetailModel
    {
        let caseID = try StaffInput.caseID(ticket)
        return CaseDetailModel(try await book.detail(caseID), now: console.configuration.now(), book: book, sync: sync)
    }

    func recap(of date: CivilDate) async throws(DeskError) -> RecapModel {
        RecapModel(try await book.recap(of: date))
    }

    /// A model as the templates read it: its JSON form, as dictionaries and arrays.
    ///
    /// Empty texts become null, so a template's `{{#location}}` section shows only when there
    /// is a location.
    static func values(of model: some Encodable) throws -> [String: Any] {
        let data = try JSONAnswer.encoder.encode(model)
        let object = try JSONSerialization.jsonObject(with: data)
        return (blanksAsNull(object) as? [String: Any]) ?? [:]
    }

    private static func blanksAsNull(_ value: Any) -> Any {
        switch value {
        case let text as String: text.isEmpty ? NSNull() : text
        case let array as [Any]: array.map(blanksAsNull)
        case let dictionary as [String: Any]: dictionary.mapValues(blanksAsNull)
        default: value
        }
    }
}

extension TrendPeriod {
    /// The period a `tren=` query names; days by default.
    init(query: String?) {
        self = query.flatMap(TrendPeriod.init(rawValue:)) ?? .day
    }
}

extension Timestamp {
    /// ISO 8601 in UTC with milliseconds, for JSON.
    var iso: String {
        let date = Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1_000)
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
