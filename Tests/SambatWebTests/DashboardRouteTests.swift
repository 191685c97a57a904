import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import SambatWeb
import Testing

/// The mayor's dashboard as a browser and city IT's tools meet it: sign-in with its
/// anti-forgery token and throttle, the pages and their JSON, and bad input.
@Suite struct DashboardRouteTests {
    static let central = node("central")
    static let dpupr = node("dpupr")
    static let dlh = node("dlh")
    /// Monday 30 November 2026, 08:00 WIB.
    static let start = Timestamp(millisecondsSinceEpoch: 1_796_000_400_000 + 3_600_000)
    /// A week later: the undispatched and unacknowledged cases are overdue.
    static let now = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 7 * 86_400_000)
    static let password = "rahasia-wali-kota"

    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("\(name) is a valid node id") }
        return id
    }

    static func at(minutes: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + minutes * 60_000)
    }

    /// A store with four cases: one dispatched to dpupr and never acknowledged, one whose text
    /// holds markup, one archived, one dispatched to dlh; and an account.
    struct Dashboard {
        let store: Store
        let book: CaseBook
        let application: Application<RouterResponder<WebContext>>
        let overdueCase: CaseID
        let markupCase: CaseID

        init(_ scratch: Scratch) async throws {
            let reference = ReferenceData(
                offices: [
                    Office(code: DashboardRouteTests.dpupr, name: "Dinas Pekerjaan Umum dan Penataan Ruang"),
                    Office(code: DashboardRouteTests.dlh, name: "Dinas Lingkungan Hidup"),
                ],
                calendar: WorkingCalendar(),
                targets: ServiceTargets(),
                routing: RoutingRules(rules: [])
            )
            var configuration = StoreConfiguration(path: scratch.file("central.sqlite"))
            configuration.deadlines = reference.deadlinePolicy
            let store = try Store.open(
                configuration,
                identity: NodeIdentity(node: central, role: .central, central: central)
            )
            self.store = store
            for office in [dpupr, dlh] {
                try await store.enrolPeer(office, role: .office, publicKey: "", at: start)
            }
            let staff = try ActorID("op.rina")
            func open(_ serial: Int, _ text: String, minutes: Int64) async throws -> CaseID {
                let caseID = try CaseID(prefix: "MJK", year: 2026, month: 11, day: 30, serial: serial)
                _ = try await store.append(
                    .opened(.init(channel: .whatsapp, reporterRef: "rpt-\(serial)", text: text)),
                    to: caseID,
                    actor: staff,
                    at: at(minutes: minutes)
                )
                return caseID
            }
            let overdueCase = try await open(1, "Jalan berlubang di Jl. Gajah Mada dekat pasar", minutes: 0)
            _ = try await store.append(
                [
                    LocalEdit(.verified(.init(tier: .normatif)), to: overdueCase),
                    LocalEdit(.dispatched(.init(office: dpupr, epoch: 1)), to: overdueCase),
                ],
                actor: staff,
                at: at(minutes: 30)
            )
            let markupCase = try await open(2, "<script>alert('x')</script> Sampah menumpuk & bau", minutes: 60)
            let archived = try await open(3, "Pesan tidak jelas isinya", minutes: 90)
            _ = try await store.append(.archived(.init(reason: .hoax)), to: archived, actor: staff, at: at(minutes: 95))
            let fresh = try await open(4, "Saluran air tersumbat di Kel. Kranggan", minutes: 7 * 24 * 60 - 30)
            _ = try await store.append(
                [
                    LocalEdit(.verified(.init(tier: .normatif)), to: fresh),
                    LocalEdit(.dispatched(.init(office: dlh, epoch: 1)), to: fresh),
                ],
                actor: staff,
                at: at(minutes: 7 * 24 * 60 - 20)
            )
            let book = CaseBook(store: store, reference: reference)
            self.book = book
            self.overdueCase = overdueCase
            self.markupCase = markupCase
            var accounts = StaffAccounts(store: store)
            accounts.hashCost = 4
            try await accounts.add(
                name: "walikota.ani",
                displayName: "Ani Wakil Wali Kota",
                password: DashboardRouteTests.password,
                at: start
            )
            let router = WebServer.router(
                configuration: WebConfiguration(port: 0),
                whatsApp: nil,
                dashboard: WebConsoleConfiguration(
                    book: book,
                    accounts: accounts,
                    node: node("mayor"),
                    now: { DashboardRouteTests.now }
                ),
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            application = Application(router: router)
        }
    }

    /// A browser's cookie jar, as much of one as these tests need.
    struct Browser {
        var cookies: [String: String] = [:]

        var header: HTTPFields {
            var fields = HTTPFields()
            if !cookies.isEmpty {
                fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
            }
            return fields
        }

        mutating func keep(_ response: TestResponse) {
            for value in response.headers[values: .setCookie] {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let name = String(pair[0])
                if pair[1].isEmpty || value.contains("Max-Age=0") {
                    cookies[name] = nil
                } else {
                    cookies[name] = String(pair[1])
                }
            }
        }

        func form(_ fields: [String: String]) -> (HTTPFields, ByteBuffer) {
            var headers = header
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = fields.map { key, value in
                "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            .sorted().joined(separator: "&")
            return (headers, ByteBuffer(string: body))
        }
    }

    /// The hidden anti-forgery token in a page's form.
    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: "name=\"_csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in through the form, as a browser does; returns the browser and the dashboard's page.
    static func signIn(
        _ client: some TestClientProtocol,
        as name: String = "walikota.ani",
        password: String = password
    ) async throws -> (Browser, TestResponse) {
        var browser = Browser()
        let form = try await client.execute(uri: "/masuk", method: .get, headers: browser.header)
        browser.keep(form)
        let token = try #require(csrf(in: String(buffer: form.body)))
        let (headers, body) = browser.form(["_csrf": token, "name": name, "password": password, "ke": "/"])
        let answer = try await client.execute(uri: "/masuk", method: .post, headers: headers, body: body)
        browser.keep(answer)
        return (browser, answer)
    }

    @Test func strangersAreSentToSignInAndToolsAreToldUnauthorized() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            try await client.execute(uri: "/kasus?terlambat=1", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/masuk?ke=%2Fkasus%3Fterlambat%3D1")
            }
            try await client.execute(uri: "/api/ringkasan", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func signingInSetsAStrictHttpOnlyCookieAndShowsTheDashboard() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            let (browser, answer) = try await Self.signIn(client)
            #expect(answer.status == .seeOther)
            let cookie = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix("sambat_sesi_mayor=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            let page = try await client.execute(uri: "/", method: .get, headers: browser.header)
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            // The ranking names each office in full, slowest (with an overdue case) first.
            let dpupr = try #require(html.range(of: "Dinas Pekerjaan Umum dan Penataan Ruang"))
            let dlh = try #require(html.range(of: "Dinas Lingkungan Hidup"))
            #expect(dpupr.lowerBound < dlh.lowerBound)
            #expect(html.contains(dashboard.overdueCase.rawValue), "the overdue case is listed")
            #expect(html.contains("<svg class=\"chart\""), "the trend is drawn")
            #expect(html.contains("Ani Wakil Wali Kota"))
            #expect(page.headers[.named("Content-Security-Policy")]?.contains("default-src 'self'") == true)
            // The stylesheet is the node's own.
            let css = try await client.execute(uri: "/aset/sambat.css", method: .get)
            #expect(css.status == .ok)
            #expect(String(buffer: css.body).contains("@media print"))
        }
    }

    @Test func theJSONSaysWhatThePageSays() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        let report = try await dashboard.book.report(at: Self.now)
        try await dashboard.application.test(.router) { client in
            let (browser, _) = try await Self.signIn(client)
            let answer = try await client.execute(uri: "/api/ringkasan", method: .get, headers: browser.header)
            #expect(answer.status == .ok)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any]
            )
            let ranking = try #require(json["ranking"] as? [[String: Any]])
            #expect(ranking.map { $0["code"] as? String } == report.lines.map(\.office.rawValue))
            #expect(ranking.first?["overdue"] as? Int == report.lines.first?.overdue)
            let overdue = try #require(json["overdue"] as? [[String: Any]])
            #expect(overdue.compactMap { $0["caseID"] as? String }.contains(dashboard.overdueCase.rawValue))
            let trend = try #require(json["trend"] as? [String: Any])
            let spans = try #require(trend["spans"] as? [[String: Any]])
            #expect(spans.count == 30)
            #expect(spans.compactMap { $0["received"] as? Int }.reduce(0, +) == 4)
            // Weeks and months too.
            for period in ["week", "month"] {
                let other = try await client.execute(uri: "/?tren=\(period)", method: .get, headers: browser.header)
                #expect(other.status == .ok)
            }
        }
    }

    @Test func theSyncHealthOfEveryNodeIsListedTroubleFirstAndAnOldReportIsFlagged() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            let (browser, _) = try await Self.signIn(client)
            let before = String(buffer: try await client.execute(uri: "/", method: .get, headers: browser.header).body)
            #expect(before.contains("Kesehatan sinkronisasi"))
            #expect(before.contains("Belum ada laporan dari pusat."))

            let threeDaysAgo = Timestamp(millisecondsSinceEpoch: Self.now.millisecondsSinceEpoch - 3 * 86_400_000)
            func report(ageSeconds: Int64) -> NodeHealthReport {
                NodeHealthReport(
                    reportedAt: Timestamp(millisecondsSinceEpoch: Self.now.millisecondsSinceEpoch - ageSeconds * 1_000),
                    nodes: [
                        NodeSyncHealth(
                            node: Self.dpupr,
                            role: .office,
                            connected: true,
                            lastSeenAt: Self.now,
                            feedBehind: 0,
                            uploadBehind: 0
                        ),
                        NodeSyncHealth(
                            node: Self.dlh,
                            role: .office,
                            connected: false,
                            lastSeenAt: threeDaysAgo,
                            feedBehind: 12,
                            uploadBehind: 3
                        ),
                        NodeSyncHealth(
                            node: Self.node("mayor"),
                            role: .mayor,
                            connected: true,
                            lastSeenAt: Self.now,
                            feedBehind: 4,
                            uploadBehind: 0
                        ),
                    ]
                )
            }
            try await dashboard.store.saveNodeHealth(report(ageSeconds: 4))
            let page = String(buffer: try await client.execute(uri: "/", method: .get, headers: browser.header).body)
            let section = try #require(page.range(of: "Kesehatan sinkronisasi")).upperBound
            let health = String(page[section...])
            // The office cut off for three days comes first, then the one behind, then the rest.
            let dlh = try #require(health.range(of: "Dinas Lingkungan Hidup"))
            let mayor = try #require(health.range(of: "Kantor Wali Kota"))
            let dpupr = try #require(health.range(of: "Dinas Pekerjaan Umum dan Penataan Ruang"))
            #expect(dlh.lowerBound < mayor.lowerBound && mayor.lowerBound < dpupr.lowerBound)
            #expect(health.contains("terputus"))
            #expect(health.contains("3 hari lalu"))
            #expect(health.contains("<td class=\"n\">12</td><td class=\"n\">3</td>"))
            #expect(!health.contains("mungkin sudah berubah"), "a fresh report is not flagged")

            let answer = try await client.execute(uri: "/api/kesehatan", method: .get, headers: browser.header)
            #expect(answer.status == .ok)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any]
            )
            #expect(json["stale"] as? Bool == false)
            #expect(json["ageSeconds"] as? Int == 4)
            // Times are ISO 8601 in UTC, with the zone: a tool must not read them as local time.
            let reportedAt = try #require(json["reportedAt"] as? String)
            let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(reportedAt)
            #expect(Int64((parsed.timeIntervalSince1970 * 1_000).rounded()) == Self.now.millisecondsSinceEpoch - 4_000)
            let nodes = try #require(json["nodes"] as? [[String: Any]])
            #expect(nodes.compactMap { $0["node"] as? String } == ["dlh", "mayor", "dpupr"])
            #expect(nodes.first?["feedBehind"] as? Int == 12)
            #expect(nodes.first?["connected"] as? Bool == false)

            // Three missed reports: the mayor's link to central is down, and the page says so.
            try await dashboard.store.saveNodeHealth(report(ageSeconds: 120))
            let old = String(buffer: try await client.execute(uri: "/", method: .get, headers: browser.header).body)
            #expect(old.contains("(2 menit lalu)"))
            #expect(old.contains("mungkin sudah berubah"))
        }
    }

    @Test func aComplaintsMarkupRendersAsTextAndTheReporterStaysAPseudonym() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            let (browser, _) = try await Self.signIn(client)
            let page = try await client.execute(
                uri: "/kasus/\(dashboard.markupCase.rawValue)",
                method: .get,
                headers: browser.header
            )
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(!html.contains("<script>alert"), "markup in a complaint must never reach the page as markup")
            #expect(html.contains("&lt;script&gt;alert"))
            #expect(html.contains("rpt-2"))
            for bad in ["MJK-261130-9999", "bukan-tiket", "%3Cscript%3E"] {
                let missing = try await client.execute(uri: "/kasus/\(bad)", method: .get, headers: browser.header)
                #expect(missing.status == .notFound, "\(bad)")
                #expect(String(buffer: missing.body).contains("tidak"))
            }
            let api = try await client.execute(uri: "/api/kasus/MJK-261130-9999", method: .get, headers: browser.header)
            #expect(api.status == .notFound)
        }
    }

    @Test func theRecapPageAndItsCSVCountWhatTheRecapCounts() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        let day = try #require(CivilDate(year: 2026, month: 11, day: 30))
        let recap = try await dashboard.book.recap(of: day)
        #expect(recap.newCases.count == 3)
        try await dashboard.application.test(.router) { client in
            let (browser, _) = try await Self.signIn(client)
            let page = try await client.execute(uri: "/rekap?tanggal=2026-11-30", method: .get, headers: browser.header)
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("<th>Pengaduan baru</th><td class=\"n\">\(recap.newCases.count)</td>"))
            #expect(html.contains("<th>Diarsipkan</th><td class=\"n\">\(recap.archived.count)</td>"))
            let csv = try await client.execute(
                uri: "/rekap.csv?tanggal=2026-11-30",
                method: .get,
                headers: browser.header
            )
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let rows = String(buffer: csv.body).split(separator: "\r\n").dropFirst()
            #expect(rows.filter { $0.hasPrefix("2026-11-30,new,") }.count == recap.newCases.count)
            #expect(rows.filter { $0.hasPrefix("2026-11-30,dispatched,") }.count == recap.dispatched.count)
            #expect(rows.filter { $0.hasPrefix("2026-11-30,archived,") }.count == recap.archived.count)
            for bad in ["2026-13-45", "kemarin"] {
                let refused = try await client.execute(
                    uri: "/rekap?tanggal=\(bad)",
                    method: .get,
                    headers: browser.header
                )
                #expect(refused.status == .badRequest)
                let api = try await client.execute(
                    uri: "/api/rekap?tanggal=\(bad)",
                    method: .get,
                    headers: browser.header
                )
                #expect(api.status == .badRequest)
            }
        }
    }

    @Test func formsWithoutTheirTokenAreRefusedAndChangeNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            // A sign-in posted from elsewhere: no token cookie, or a token that does not match.
            var stranger = Browser()
            let (headers, body) = stranger.form([
                "_csrf": "forged", "name": "walikota.ani", "password": Self.password,
            ])
            let forged = try await client.execute(uri: "/masuk", method: .post, headers: headers, body: body)
            stranger.keep(forged)
            #expect(forged.status == .forbidden)
            #expect(stranger.cookies["sambat_sesi_mayor"] == nil)

            // Sign-out without the session's token: still signed in.
            let (browser, _) = try await Self.signIn(client)
            let (outHeaders, outBody) = browser.form(["_csrf": "forged"])
            let refused = try await client.execute(uri: "/keluar", method: .post, headers: outHeaders, body: outBody)
            #expect(refused.status == .forbidden)
            let still = try await client.execute(uri: "/", method: .get, headers: browser.header)
            #expect(still.status == .ok)
            // With it: signed out, and the old cookie opens nothing.
            let token = try #require(Self.csrf(in: String(buffer: still.body)))
            let (goodHeaders, goodBody) = browser.form(["_csrf": token])
            let out = try await client.execute(uri: "/keluar", method: .post, headers: goodHeaders, body: goodBody)
            #expect(out.status == .seeOther)
            let after = try await client.execute(uri: "/", method: .get, headers: browser.header)
            #expect(after.status == .seeOther)
        }
    }

    @Test func fiveWrongPasswordsLockTheAccountForAWhile() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let dashboard = try await Dashboard(scratch)
        try await dashboard.application.test(.router) { client in
            for _ in 0..<5 {
                let (_, answer) = try await Self.signIn(client, password: "salah-salah-salah")
                #expect(answer.status == .unauthorized)
                #expect(String(buffer: answer.body).contains("Nama akun atau kata sandi salah."))
            }
            // Now even the right password is not tried.
            let (browser, locked) = try await Self.signIn(client)
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Terlalu banyak percobaan gagal"))
            #expect(browser.cookies["sambat_sesi_mayor"] == nil)
            // Another account from the same address (everyone behind one proxy) is not locked.
            let (_, other) = try await Self.signIn(client, as: "walikota.budi", password: "salah-salah-salah")
            #expect(other.status == .unauthorized)
        }
    }

    @Test func theThrottleLocksAfterFiveFailuresAndForgetsThemAfterItsWindow() {
        let start = ContinuousClock.now
        var throttle = SignInThrottle(limit: 5, window: .seconds(900))
        let keys = ["account:op.rina", "address:10.0.0.9"]
        for minute in 0..<4 { throttle.recordFailure(keys, at: start + .seconds(60 * minute)) }
        #expect(throttle.lockedUntil(keys, at: start + .seconds(300)) == nil)
        throttle.recordFailure(keys, at: start + .seconds(300))
        #expect(throttle.lockedUntil(keys, at: start + .seconds(301)) == start + .seconds(900))
        #expect(throttle.lockedUntil(["account:op.budi"], at: start + .seconds(301)) == nil)
        // A good password clears the name, not the address.
        throttle.clear("account:op.rina")
        #expect(throttle.lockedUntil(["account:op.rina"], at: start + .seconds(302)) == nil)
        #expect(throttle.lockedUntil(["address:10.0.0.9"], at: start + .seconds(302)) != nil)
        // The oldest failure leaves the window: unlocked.
        #expect(throttle.lockedUntil(keys, at: start + .seconds(901)) == nil)
        // A flood of names is bounded.
        var small = SignInThrottle(limit: 1, window: .seconds(900), maximumKeys: 3)
        for index in 0..<10 { small.recordFailure(["account:x\(index)"], at: start + .seconds(index)) }
        #expect(small.lockedUntil(["account:x9"], at: start + .seconds(20)) != nil)
        #expect(small.lockedUntil(["account:x0"], at: start + .seconds(20)) == nil, "the oldest key was forgotten")
    }
}

extension HTTPField.Name {
    static func named(_ text: String) -> HTTPField.Name {
        guard let name = HTTPField.Name(text) else { preconditionFailure("\(text) is a valid header name") }
        return name
    }
}
