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

/// The hotline operator's console: the queue, central's actions written as the signed-in
/// account, a dispatch to two offices at once, and the reporter's identity only behind an
/// audited action.
@Suite struct OperatorConsoleTests {
    static let central = DashboardRouteTests.central
    static let password = "kata-sandi-operator"

    struct Hotline {
        let store: Store
        let caseID: CaseID
        let application: Application<RouterResponder<WebContext>>

        init(_ scratch: Scratch) async throws {
            let reference = ReferenceData(
                offices: [
                    SambatDesk.Office(code: DashboardRouteTests.dpupr, name: "Dinas Pekerjaan Umum dan Penataan Ruang"),
                    SambatDesk.Office(code: DashboardRouteTests.dlh, name: "Dinas Lingkungan Hidup"),
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
            for office in [DashboardRouteTests.dpupr, DashboardRouteTests.dlh] {
                try await store.enrolPeer(office, role: .office, publicKey: "", at: DashboardRouteTests.start)
            }
            let desk = try IntakeDesk(
                store: store,
                identityKey: Array(repeating: 7, count: 32),
                calendar: reference.calendar
            )
            let registered = try await desk.register(
                IntakeComplaint(
                    channel: .phone,
                    name: "Siti Rahayu",
                    nik: "3576014506880002",
                    phone: "+6281233445566",
                    text: "Sampah menumpuk dan saluran tersumbat di Jl. Majapahit sejak seminggu",
                    location: "Jl. Majapahit"
                ),
                actor: try ActorID("op.rina"),
                at: DashboardRouteTests.start
            )
            var accounts = StaffAccounts(store: store)
            accounts.hashCost = 4
            try await accounts.add(
                name: "op.rina",
                displayName: "Rina (operator)",
                password: password,
                at: DashboardRouteTests.start
            )
            let console = WebConsoleConfiguration(
                book: CaseBook(store: store, reference: reference),
                accounts: accounts,
                node: central,
                now: { DashboardRouteTests.at(minutes: 30) },
                actions: CaseActions(store: store, reference: reference)
            )
            let router = WebServer.router(
                configuration: WebConfiguration(port: 0),
                whatsApp: nil,
                hotline: (console, desk),
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            self.store = store
            caseID = registered.caseID
            application = Application(router: router)
        }
    }

    static func signIn(_ client: some TestClientProtocol) async throws -> DashboardRouteTests.Browser {
        let (browser, answer) = try await DashboardRouteTests.signIn(client, as: "op.rina", password: password)
        #expect(answer.status == .seeOther)
        return browser
    }

    static func post(
        _ client: some TestClientProtocol,
        _ browser: DashboardRouteTests.Browser,
        _ path: String,
        _ fields: [String: String],
        token: String? = nil
    ) async throws -> TestResponse {
        let caseURI = path.replacingOccurrences(of: "/identitas", with: "")
        let page = try await client.execute(uri: caseURI, method: .get, headers: browser.header)
        var fields = fields
        fields["_csrf"] = token ?? DashboardRouteTests.csrf(in: String(buffer: page.body)) ?? ""
        let (headers, body) = browser.form(fields)
        return try await client.execute(uri: path, method: .post, headers: headers, body: body)
    }

    @Test func theQueueLeadsToVerifyingAndDispatchingToTwoOfficesAsTheSignedInAccount() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let hotline = try await Hotline(scratch)
        try await hotline.application.test(.router) { client in
            let browser = try await Self.signIn(client)
            let queue = try await client.execute(uri: "/", method: .get, headers: browser.header)
            let listed = String(buffer: queue.body)
            #expect(listed.contains(hotline.caseID.rawValue))
            #expect(listed.contains("verifikasi"))
            #expect(!listed.contains("Siti Rahayu"), "the queue shows the masked complaint, never the reporter")

            let path = "/kasus/\(hotline.caseID.rawValue)"
            let verified = try await Self.post(
                client,
                browser,
                path,
                ["aksi": "verifikasi", "kategori": "normatif", "topik": "sampah"]
            )
            #expect(verified.status == .seeOther)
            let dispatched = try await Self.post(
                client,
                browser,
                path,
                ["aksi": "disposisi", "opd_dpupr": "1", "opd_dlh": "1", "instruksi": "Tangani bersama"]
            )
            #expect(dispatched.status == .seeOther)
            let state = try #require(try await hotline.store.caseState(hotline.caseID))
            #expect(Set(state.activeAssignments.map(\.office.rawValue)) == ["dpupr", "dlh"])
            #expect(state.topic == "sampah")
            let ops = try await hotline.store.ops(ofCase: hotline.caseID)
            #expect(ops.suffix(3).allSatisfy { $0.sealed.op.actor.rawValue == "op.rina" })

            // A dispatch naming no office, or an office outside the directory, writes nothing.
            let before = ops.count
            for fields in [["aksi": "disposisi"], ["aksi": "disposisi", "opd_dinkes": "1"]] {
                let refused = try await Self.post(client, browser, path, fields)
                #expect(refused.status == .badRequest, "\(fields)")
            }
            #expect(try await hotline.store.ops(ofCase: hotline.caseID).count == before)
        }
    }

    @Test func theIdentityIsShownOnlyBehindAnAuditedReason() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let hotline = try await Hotline(scratch)
        try await hotline.application.test(.router) { client in
            let browser = try await Self.signIn(client)
            let path = "/kasus/\(hotline.caseID.rawValue)"
            let page = String(buffer: try await client.execute(uri: path, method: .get, headers: browser.header).body)
            #expect(!page.contains("Siti Rahayu"))
            #expect(!page.contains("3576014506880002"))

            // No reason, or a forged form: refused, nothing audited, nothing shown.
            let noReason = try await Self.post(client, browser, path + "/identitas", ["alasan": " "])
            #expect(noReason.status == .badRequest)
            #expect(!String(buffer: noReason.body).contains("Siti Rahayu"))
            let forged = try await Self.post(client, browser, path + "/identitas", ["alasan": "cek"], token: "forged")
            #expect(forged.status == .forbidden)
            #expect(try await hotline.store.identityAudit(of: hotline.caseID).isEmpty)

            let shown = try await Self.post(
                client,
                browser,
                path + "/identitas",
                ["alasan": "Konfirmasi lokasi lewat telepon"]
            )
            #expect(shown.status == .ok)
            let html = String(buffer: shown.body)
            #expect(html.contains("Siti Rahayu"))
            #expect(html.contains("3576014506880002"))
            #expect(shown.headers[.cacheControl] == "no-store")
            let audit = try await hotline.store.identityAudit(of: hotline.caseID)
            #expect(audit.map(\.actor) == ["op.rina"])
            #expect(audit.first?.reason == "Konfirmasi lokasi lewat telepon")
            // The next ordinary page shows the audit line, not the identity.
            let after = String(buffer: try await client.execute(uri: path, method: .get, headers: browser.header).body)
            #expect(!after.contains("Siti Rahayu"))
            #expect(after.contains("Konfirmasi lokasi lewat telepon"))
        }
    }
}
