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

/// An office's console as its liaison officer uses it: the office's cases, the actions it
/// takes written as the signed-in account, refusals that write nothing, and what has not
/// reached central yet, online or not.
@Suite struct OfficeConsoleTests {
    static let central = DashboardRouteTests.central
    static let dpupr = DashboardRouteTests.dpupr
    static let start = DashboardRouteTests.start
    static let password = "kata-sandi-dpupr"

    /// An office store holding one case dispatched to it (from central's feed) and an account,
    /// behind a console whose link to central is `linkUp`.
    struct Office {
        let store: Store
        let caseID: CaseID
        let application: Application<RouterResponder<WebContext>>

        init(_ scratch: Scratch, linkUp: Bool) async throws {
            let reference = ReferenceData(
                offices: [Office.directoryEntry],
                calendar: WorkingCalendar(),
                targets: ServiceTargets(),
                routing: RoutingRules(rules: [])
            )
            var configuration = StoreConfiguration(path: scratch.file("central.sqlite"))
            configuration.deadlines = reference.deadlinePolicy
            let centralStore = try Store.open(
                configuration,
                identity: NodeIdentity(node: central, role: .central, central: central)
            )
            try await centralStore.enrolPeer(dpupr, role: .office, publicKey: "", at: start)
            let caseID = try CaseID(prefix: "MJK", year: 2026, month: 11, day: 30, serial: 7)
            let staff = try ActorID("op.rina")
            _ = try await centralStore.append(
                [
                    LocalEdit(
                        .opened(.init(channel: .sms, reporterRef: "rpt-7", text: "Jalan berlubang di Jl. Mojopahit")),
                        to: caseID
                    ),
                    LocalEdit(.verified(.init(tier: .normatif)), to: caseID),
                    LocalEdit(.dispatched(.init(office: dpupr, epoch: 1)), to: caseID),
                ],
                actor: staff,
                at: start
            )
            var officeConfiguration = StoreConfiguration(path: scratch.file("dpupr.sqlite"))
            officeConfiguration.deadlines = reference.deadlinePolicy
            let store = try Store.open(
                officeConfiguration,
                identity: NodeIdentity(node: dpupr, role: .office, central: central)
            )
            let feed = try await centralStore.feed(for: dpupr, after: 0, limit: 100)
            _ = try await store.applyRemote(
                feed.map { RemoteOp($0.op.sealed, centralReceivedAt: $0.op.receivedAt) },
                from: .feed(from: central),
                receivedAt: start,
                feedPosition: feed.last?.feedSeq ?? 0
            )
            var accounts = StaffAccounts(store: store)
            accounts.hashCost = 4
            try await accounts.add(name: "dpupr.budi", displayName: "Budi (DPUPR)", password: password, at: start)
            let origin = try await store.currentOrigin()
            let console = WebConsoleConfiguration(
                book: CaseBook(store: store, reference: reference),
                accounts: accounts,
                node: dpupr,
                now: { DashboardRouteTests.at(minutes: 60) },
                actions: CaseActions(store: store, reference: reference),
                syncState: {
                    // Central has acknowledged nothing of this office's own.
                    WebConsoleConfiguration.SyncState(
                        linkUp: linkUp,
                        origin: origin,
                        centralFrontier: 0,
                        unsent: (try? await store.localHead()) ?? 0
                    )
                }
            )
            let router = WebServer.router(
                configuration: WebConfiguration(port: 0),
                whatsApp: nil,
                office: console,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            self.store = store
            self.caseID = caseID
            application = Application(router: router)
        }

        static let directoryEntry = SambatDesk.Office(
            code: OfficeConsoleTests.dpupr,
            name: "Dinas Pekerjaan Umum dan Penataan Ruang"
        )
    }

    static func signIn(_ client: some TestClientProtocol) async throws -> DashboardRouteTests.Browser {
        let (browser, answer) = try await DashboardRouteTests.signIn(client, as: "dpupr.budi", password: password)
        #expect(answer.status == .seeOther)
        return browser
    }

    /// Posts a case page's form with the page's own anti-forgery token.
    static func act(
        _ client: some TestClientProtocol,
        _ browser: DashboardRouteTests.Browser,
        _ caseID: CaseID,
        _ fields: [String: String],
        token: String? = nil
    ) async throws -> TestResponse {
        let page = try await client.execute(uri: "/kasus/\(caseID.rawValue)", method: .get, headers: browser.header)
        var fields = fields
        fields["_csrf"] = token ?? DashboardRouteTests.csrf(in: String(buffer: page.body)) ?? ""
        let (headers, body) = browser.form(fields)
        return try await client.execute(uri: "/kasus/\(caseID.rawValue)", method: .post, headers: headers, body: body)
    }

    @Test func theOfficeSeesItsCaseAndItsActionsAreWrittenAsTheSignedInAccount() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let office = try await Office(scratch, linkUp: false)
        try await office.application.test(.router) { client in
            let browser = try await Self.signIn(client)
            let list = try await client.execute(uri: "/", method: .get, headers: browser.header)
            let listed = String(buffer: list.body)
            #expect(listed.contains(office.caseID.rawValue))
            // Cut off from central: it says so, and work goes on.
            #expect(listed.contains("Tidak tersambung ke central"))

            let acknowledged = try await Self.act(client, browser, office.caseID, ["aksi": "terima"])
            #expect(acknowledged.status == .seeOther)
            #expect(acknowledged.headers[.location] == "/kasus/\(office.caseID.rawValue)?ok=terima")
            let page = try await client.execute(
                uri: "/kasus/\(office.caseID.rawValue)?ok=terima",
                method: .get,
                headers: browser.header
            )
            let html = String(buffer: page.body)
            #expect(html.contains("Kasus diterima."))
            #expect(html.contains("belum terkirim"), "the office's own change is marked until central has it")
            #expect(html.contains("1 perubahan belum terkirim"))

            let noted = try await Self.act(
                client,
                browser,
                office.caseID,
                ["aksi": "catatan", "catatan": "Tim survei dijadwalkan Rabu", "publik": "1"]
            )
            #expect(noted.status == .seeOther)
            let state = try #require(try await office.store.caseState(office.caseID))
            #expect(state.assignment(for: Self.dpupr)?.status == .acknowledged)
            #expect(state.notes.last?.visibility == .public)
            #expect(state.notes.last?.text == "Tim survei dijadwalkan Rabu")
            // The account that acted is the ops' actor.
            let ops = try await office.store.ops(ofCase: office.caseID)
            #expect(ops.suffix(2).allSatisfy { $0.sealed.op.actor.rawValue == "dpupr.budi" })
        }
    }

    @Test func refusedAndForgedActionsExplainThemselvesAndWriteNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let office = try await Office(scratch, linkUp: true)
        try await office.application.test(.router) { client in
            let browser = try await Self.signIn(client)
            let before = try await office.store.ops(ofCase: office.caseID).count

            let forged = try await Self.act(client, browser, office.caseID, ["aksi": "terima"], token: "forged")
            #expect(forged.status == .forbidden)

            let empty = try await Self.act(client, browser, office.caseID, ["aksi": "selesai", "ringkasan": "  "])
            #expect(empty.status == .badRequest)
            #expect(String(buffer: empty.body).contains("tidak boleh kosong"))

            let badReason = try await Self.act(
                client,
                browser,
                office.caseID,
                ["aksi": "kembalikan", "alasan": "malas"]
            )
            #expect(badReason.status == .badRequest)
            #expect(String(buffer: badReason.body).contains("bukan_wewenang"))

            let unknown = try await Self.act(client, browser, office.caseID, ["aksi": "hapus"])
            #expect(unknown.status == .badRequest)
            // Resolving before acknowledging is a step the case's state does not allow now.
            let early = try await Self.act(client, browser, office.caseID, ["aksi": "selesai", "ringkasan": "Sudah"])
            #expect(early.status == .conflict)
            #expect(try await office.store.ops(ofCase: office.caseID).count == before, "nothing was written")

            // Another office's case is simply not here.
            let elsewhere = try await client.execute(
                uri: "/kasus/MJK-261130-0099",
                method: .get,
                headers: browser.header
            )
            #expect(elsewhere.status == .notFound)

            // A return with its coded reason goes through; the case leaves the office's list.
            let returned = try await Self.act(
                client,
                browser,
                office.caseID,
                ["aksi": "kembalikan", "alasan": "bukan_wewenang", "catatan": "Jalan provinsi"]
            )
            #expect(returned.status == .seeOther)
            let state = try #require(try await office.store.caseState(office.caseID))
            #expect(state.assignment(for: Self.dpupr)?.status == .returned)
            let list = try await client.execute(uri: "/api/kasus", method: .get, headers: browser.header)
            let cases = try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [[String: Any]]
            #expect(cases?.isEmpty == true)
        }
    }
}
