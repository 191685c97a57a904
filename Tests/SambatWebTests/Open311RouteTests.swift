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

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Open311 GeoReport v2 as a city app meets it: services, a request posted with a key,
/// requests read back in XML and JSON without the reporter, and every bad request refused
/// with its status and nothing written.
@Suite struct Open311RouteTests {
    struct Central {
        let store: Store
        let key: String
        let application: Application<RouterResponder<WebContext>>

        init(_ scratch: Scratch) async throws {
            let central = DashboardRouteTests.central
            let reference = ReferenceData(
                offices: [
                    SambatDesk.Office(code: DashboardRouteTests.dpupr, name: "Dinas Pekerjaan Umum dan Penataan Ruang"),
                    SambatDesk.Office(code: DashboardRouteTests.dlh, name: "Dinas Lingkungan Hidup"),
                ],
                calendar: WorkingCalendar(),
                targets: ServiceTargets(),
                routing: RoutingRules(rules: [
                    RoutingRules.Rule(office: DashboardRouteTests.dpupr, keywords: ["jalan rusak", "berlubang"]),
                    RoutingRules.Rule(office: DashboardRouteTests.dlh, keywords: ["sampah"]),
                ])
            )
            var configuration = StoreConfiguration(path: scratch.file("central.sqlite"))
            configuration.deadlines = reference.deadlinePolicy
            let store = try Store.open(
                configuration,
                identity: NodeIdentity(node: central, role: .central, central: central)
            )
            let desk = try IntakeDesk(
                store: store,
                identityKey: Array(repeating: 9, count: 32),
                calendar: reference.calendar
            )
            key = try await desk.newOpen311Key(name: "lapor-app", at: DashboardRouteTests.start)
            var accounts = StaffAccounts(store: store)
            accounts.hashCost = 4
            let console = WebConsoleConfiguration(
                book: CaseBook(store: store, reference: reference),
                accounts: accounts,
                node: central,
                now: { DashboardRouteTests.at(minutes: 10) },
                actions: CaseActions(store: store, reference: reference)
            )
            let router = WebServer.router(
                configuration: WebConfiguration(port: 0),
                whatsApp: nil,
                hotline: (console, desk),
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            self.store = store
            application = Application(router: router)
        }
    }

    static func post(
        _ client: some TestClientProtocol,
        _ path: String,
        _ fields: [String: String]
    ) async throws
        -> TestResponse
    {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-www-form-urlencoded"
        let body = fields.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }
        .sorted().joined(separator: "&")
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func json(_ response: TestResponse) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
    }

    @Test func aCityAppPostsARequestAndReadsItBackWithoutTheReporter() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try await Central(scratch)
        try await central.application.test(.router) { client in
            let services = try Self.json(try await client.execute(uri: "/open311/v2/services.json", method: .get))
            #expect(services.compactMap { $0["service_code"] as? String } == ["dlh", "dpupr"])
            let xmlServices = try await client.execute(uri: "/open311/v2/services.xml", method: .get)
            #expect(String(buffer: xmlServices.body).contains("<service_code>dpupr</service_code>"))

            let posted = try await Self.post(
                client,
                "/open311/v2/requests.json",
                [
                    "api_key": central.key, "service_code": "dpupr",
                    "description":
                        "Jalan berlubang besar di depan SDN 2, sudah tiga minggu. Saya Budi Santoso 081234567890.",
                    "lat": "-7.4726", "long": "112.4381", "first_name": "Budi", "last_name": "Santoso",
                    "phone": "081234567890", "email": "budi@example.com",
                ]
            )
            #expect(posted.status == .ok)
            let answer = try #require(try Self.json(posted).first)
            let id = try #require(answer["service_request_id"] as? String)
            let caseID = try CaseID(id)
            #expect(try await central.store.caseState(caseID)?.complaint?.channel == .open311)

            for format in ["json", "xml"] {
                let read = try await client.execute(uri: "/open311/v2/requests/\(id).\(format)", method: .get)
                #expect(read.status == .ok)
                let text = String(buffer: read.body)
                #expect(text.contains(id))
                for secret in ["Budi", "Santoso", "081234567890", "6281234567890", "budi@example.com", "p-"] {
                    #expect(!text.contains(secret), "\(format) answer leaks \(secret)")
                }
            }
            let one = try #require(
                try Self.json(try await client.execute(uri: "/open311/v2/requests/\(id).json", method: .get)).first
            )
            #expect(one["status"] as? String == "open")
            #expect(one["service_code"] as? String == "dpupr")
            #expect(one["lat"] as? Double == -7.4726)
            // The XML is well-formed.
            let xml = try await client.execute(uri: "/open311/v2/requests.xml", method: .get)
            #expect(XMLParser(data: Data(xml.body.readableBytesView)).parse())
            let listed = try Self.json(
                try await client.execute(uri: "/open311/v2/requests.json?status=open", method: .get)
            )
            #expect(listed.compactMap { $0["service_request_id"] as? String } == [id])
            let token = try Self.json(try await client.execute(uri: "/open311/v2/tokens/\(id).json", method: .get))
            #expect(token.first?["service_request_id"] as? String == id)
        }
    }

    @Test func badKeysServicesRangesAndTextsAreRefusedAndWriteNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try await Central(scratch)
        try await central.application.test(.router) { client in
            let good: [String: String] = [
                "api_key": central.key, "service_code": "dlh",
                "description": "Sampah menumpuk di pinggir sungai sejak minggu lalu", "address_string": "Jl. Brawijaya",
            ]
            var cases: [(String, [String: String], HTTPResponse.Status)] = [
                ("no key", good.filter { $0.key != "api_key" }, .forbidden),
                ("a wrong key", good.merging(["api_key": "s311_salah"]) { $1 }, .forbidden),
                ("an unknown service", good.merging(["service_code": "dinkes"]) { $1 }, .badRequest),
                ("no location", good.filter { $0.key != "address_string" }, .badRequest),
                ("half a coordinate", good.merging(["lat": "-7.47"]) { $1 }, .badRequest),
                (
                    "a text too long", good.merging(["description": String(repeating: "a", count: 4_001)]) { $1 },
                    .badRequest
                ),
                ("a text too short", good.merging(["description": "sampah"]) { $1 }, .badRequest),
            ]
            cases.append(("an unknown resource", good, .notFound))
            for (what, fields, status) in cases {
                let path = what == "an unknown resource" ? "/open311/v2/laporan.json" : "/open311/v2/requests.json"
                let answer = try await Self.post(client, path, fields)
                #expect(answer.status == status, "\(what)")
                let errors = try Self.json(answer)
                #expect(errors.first?["code"] as? Int == Int(status.code), "\(what)")
                let description = errors.first?["description"] as? String ?? ""
                #expect(!description.isEmpty, "\(what)")
            }
            #expect(try await central.store.caseIDs().isEmpty, "nothing was written")

            let wide = try await client.execute(
                uri: "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
                method: .get
            )
            #expect(wide.status == .badRequest)
            let badDate = try await client.execute(uri: "/open311/v2/requests.json?start_date=kemarin", method: .get)
            #expect(badDate.status == .badRequest)
            let xmlError = try await client.execute(uri: "/open311/v2/requests/MJK-261130-9999.xml", method: .get)
            #expect(xmlError.status == .notFound)
            #expect(String(buffer: xmlError.body).contains("<errors><error><code>404</code>"))

            // A revoked key is refused at once.
            try await central.store.revokeOpen311Key(name: "lapor-app", at: DashboardRouteTests.start)
            let revoked = try await Self.post(client, "/open311/v2/requests.json", good)
            #expect(revoked.status == .forbidden)
        }
    }
}
