import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SambatCore
import SambatDesk
import SambatStore

/// Open311 GeoReport v2 at central, for the city's apps and CRMs: services, posting a
/// request with an API key, reading requests, and tokens; in XML and JSON.
///
/// Owned by the router of central's HTTP server, under `/open311/v2/`. A posted request
/// becomes a case through ``IntakeDesk/registerOpen311(text:location:serviceCode:client:name:phone:latitude:longitude:at:)``,
/// as other channels' complaints do. Answers carry public facts only: the masked complaint
/// and location, never a name, phone, email or the reporter's pseudonym. Errors are
/// `[{"code", "description"}]` (or their XML): 403 for a missing or bad key, 404 for an
/// unknown resource, 400 otherwise.
struct Open311Routes: Sendable {
    let desk: IntakeDesk
    let book: CaseBook
    let now: @Sendable () -> Timestamp
    let logger: Logger

    /// The most requests a listing answers, and the longest date range it takes.
    static let listLimit = 1_000
    static let longestRange: Int64 = 90 * 86_400_000
    static let descriptionLimit = 4_000

    /// An Open311 refusal.
    struct Failure: Error {
        let status: HTTPResponse.Status
        let description: String
    }

    enum Format: String {
        case xml, json
    }

    func add(to router: Router<WebContext>) {
        router.get("open311/v2/:resource") { request, context in
            try await answer(context.parameters.get("resource") ?? "") { name, format in
                guard name == "services" else {
                    guard name == "requests" else { throw Failure(status: .notFound, description: "unknown resource") }
                    return try await list(request, format: format)
                }
                return Self.services(IntakeDesk.open311Services(book.reference), format: format)
            }
        }
        router.post("open311/v2/:resource") { request, context in
            try await answer(context.parameters.get("resource") ?? "") { name, format in
                guard name == "requests" else { throw Failure(status: .notFound, description: "unknown resource") }
                return try await submit(request, format: format)
            }
        }
        router.get("open311/v2/services/:resource") { _, context in
            try await answer(context.parameters.get("resource") ?? "") { code, format in
                guard let service = IntakeDesk.open311Services(book.reference).first(where: { $0.code == code }) else {
                    throw Failure(status: .notFound, description: "unknown service_code \(code.prefix(40))")
                }
                // No attributes: every service takes a description and a location.
                return Self.encode(
                    ["service_code": service.code, "attributes": [[String: String]]()],
                    root: "service_definition",
                    element: nil,
                    format: format
                )
            }
        }
        router.get("open311/v2/requests/:resource") { _, context in
            try await answer(context.parameters.get("resource") ?? "") { id, format in
                guard let caseID = try? CaseID(id), let found = try await desk.open311Request(caseID, book: book) else {
                    throw Failure(status: .notFound, description: "unknown service_request_id \(id.prefix(40))")
                }
                return Self.requests([found], format: format)
            }
        }
        router.get("open311/v2/tokens/:resource") { _, context in
            try await answer(context.parameters.get("resource") ?? "") { token, format in
                // Requests get their id at once; a token is that id.
                guard let caseID = try? CaseID(token), try await book.record(caseID) != nil else {
                    throw Failure(status: .notFound, description: "unknown token \(token.prefix(40))")
                }
                return Self.encode(
                    [["token": token, "service_request_id": caseID.rawValue]],
                    root: "service_requests",
                    element: "request",
                    format: format
                )
            }
        }
    }

    /// Splits `name.format`, runs `body`, and turns refusals into Open311 errors.
    private func answer(
        _ resource: String,
        _ body: (String, Format) async throws -> Response
    ) async throws -> Response {
        let parts = resource.split(separator: ".")
        let format = parts.count == 2 ? Format(rawValue: String(parts[1])) : nil
        guard let format else { return Self.error(.notFound, "use .xml or .json", format: .xml) }
        do {
            return try await body(String(parts[0]), format)
        } catch let failure as Failure {
            logger.notice("open311 refused", metadata: ["open311.status": "\(failure.status.code)"])
            return Self.error(failure.status, failure.description, format: format)
        }
    }

    // MARK: Requests

    private func submit(_ request: Request, format: Format) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 64 * 1024)
        } catch {
            throw Failure(status: .contentTooLarge, description: "request body over 64 KiB")
        }
        let form = WebConsole.fields(in: String(buffer: buffer))
        guard let client = try await desk.open311Client(key: form["api_key"] ?? "") else {
            throw Failure(status: .forbidden, description: "api_key missing or not valid")
        }
        let code = form["service_code"] ?? ""
        guard let service = IntakeDesk.open311Services(book.reference).first(where: { $0.code == code }) else {
            throw Failure(status: .badRequest, description: "unknown service_code \(code.prefix(40))")
        }
        let description = form["description"] ?? ""
        guard description.count <= Self.descriptionLimit else {
            throw Failure(status: .badRequest, description: "description over \(Self.descriptionLimit) characters")
        }
        let latitude = form["lat"].flatMap(Double.init)
        let longitude = form["long"].flatMap(Double.init)
        if form["lat"] != nil || form["long"] != nil {
            guard let latitude, let longitude, (-90...90).contains(latitude), (-180...180).contains(longitude) else {
                throw Failure(status: .badRequest, description: "lat and long must be decimal degrees, both given")
            }
        }
        let address = form["address_string"] ?? form["address_id"] ?? ""
        guard latitude != nil || !address.isEmpty else {
            throw Failure(status: .badRequest, description: "a location is required: lat and long, or address_string")
        }
        let location =
            address.isEmpty ? String(format: "%.6f, %.6f", latitude ?? 0, longitude ?? 0) : address
        let name = [form["first_name"], form["last_name"]].compactMap { $0 }.joined(separator: " ")
        let caseID: CaseID
        do {
            caseID = try await desk.registerOpen311(
                text: description,
                location: location,
                serviceCode: service.code,
                client: client,
                name: name,
                phone: form["phone"] ?? "",
                latitude: latitude,
                longitude: longitude,
                at: now()
            )
        } catch let error as IntakeError {
            throw Failure(status: .badRequest, description: error.description)
        }
        logger.info("open311 request stored", metadata: ["open311.client": "\(client)", "case": "\(caseID)"])
        let notice = "Pengaduan diterima dengan nomor tiket \(caseID.rawValue) dan akan diverifikasi petugas."
        return Self.encode(
            [["service_request_id": caseID.rawValue, "service_notice": notice, "account_id": ""]],
            root: "service_requests",
            element: "request",
            format: format
        )
    }

    private func list(_ request: Request, format: Format) async throws -> Response {
        let query = request.uri.queryParameters
        if let ids = query["service_request_id"].map(String.init), !ids.isEmpty {
            var found: [Open311ServiceRequest] = []
            for id in ids.split(separator: ",").prefix(Self.listLimit) {
                if let caseID = try? CaseID(String(id)), let one = try await desk.open311Request(caseID, book: book) {
                    found.append(one)
                }
            }
            return Self.requests(found, format: format)
        }
        let end = try Self.date(query["end_date"].map(String.init)) ?? now()
        let start =
            try Self.date(query["start_date"].map(String.init))
            ?? Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch - Self.longestRange)
        guard start <= end, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch <= Self.longestRange else {
            throw Failure(status: .badRequest, description: "start_date and end_date must be at most 90 days apart")
        }
        let status = query["status"].map(String.init)
        guard status == nil || status == "open" || status == "closed" else {
            throw Failure(status: .badRequest, description: "status is open or closed")
        }
        let code = query["service_code"].map(String.init)
        var found: [Open311ServiceRequest] = []
        // The end date is inclusive.
        let until = Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch + 1)
        for caseID in try await book.store.caseIDs(receivedFrom: start, to: until, limit: Self.listLimit * 2) {
            guard found.count < Self.listLimit, let one = try await desk.open311Request(caseID, book: book) else {
                continue
            }
            if let status, one.status != status { continue }
            if let code, one.serviceCode != code { continue }
            found.append(one)
        }
        return Self.requests(found, format: format)
    }

    /// An ISO 8601 date-time with its zone; `nil` when not given.
    static func date(_ text: String?) throws -> Timestamp? {
        guard let text, !text.isEmpty else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime]
        guard let date = parser.date(from: text) else {
            throw Failure(
                status: .badRequest,
                description: "dates are ISO 8601 with a zone, e.g. 2026-12-04T08:00:00+07:00"
            )
        }
        return Timestamp(millisecondsSinceEpoch: Int64(date.timeIntervalSince1970 * 1_000))
    }

    // MARK: Encoding

    static func services(_ services: [Open311Service], format: Format) -> Response {
        encode(
            services.map { service in
                [
                    "service_code": service.code, "service_name": service.name, "description": service.description,
                    "metadata": false, "type": "realtime", "keywords": service.keywords.joined(separator: ","),
                    "group": "OPD",
                ] as [String: Any]
            },
            root: "services",
            element: "service",
            format: format
        )
    }

    static func requests(_ requests: [Open311ServiceRequest], format: Format) -> Response {
        func time(_ stamp: Timestamp?) -> Any { stamp.map { $0.iso } ?? NSNull() }
        return encode(
            requests.map { request in
                [
                    "service_request_id": request.id, "status": request.status, "status_notes": request.statusNotes,
                    "service_name": request.serviceName, "service_code": request.serviceCode,
                    "description": request.description, "agency_responsible": request.agencyResponsible,
                    "service_notice": "", "requested_datetime": time(request.requested),
                    "updated_datetime": time(request.updated), "expected_datetime": time(request.expected),
                    "address": request.address, "address_id": "", "zipcode": "",
                    "lat": request.latitude.map { $0 as Any } ?? NSNull(),
                    "long": request.longitude.map { $0 as Any } ?? NSNull(), "media_url": "",
                ] as [String: Any]
            },
            root: "service_requests",
            element: "request",
            format: format
        )
    }

    static func error(_ status: HTTPResponse.Status, _ description: String, format: Format) -> Response {
        var response = encode(
            [["code": Int(status.code), "description": description] as [String: Any]],
            root: "errors",
            element: "error",
            format: format
        )
        response.status = status
        return response
    }

    /// `value` as JSON, or as XML under `root` with each array item an `element`.
    static func encode(_ value: Any, root: String, element: String?, format: Format) -> Response {
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        let text: String
        switch format {
        case .json:
            headers[.contentType] = "application/json; charset=utf-8"
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("[]".utf8)
            text = String(decoding: data, as: UTF8.self)
        case .xml:
            headers[.contentType] = "text/xml; charset=utf-8"
            text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>" + xml(value, name: root, item: element)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func xml(_ value: Any, name: String, item: String?) -> String {
        switch value {
        case let array as [Any]:
            return "<\(name)>" + array.map { xml($0, name: item ?? "item", item: nil) }.joined() + "</\(name)>"
        case let dictionary as [String: Any]:
            let children = dictionary.keys.sorted().map { key -> String in
                if let list = dictionary[key] as? [Any] {
                    return xml(list, name: key, item: key == "attributes" ? "attribute" : "item")
                }
                return xml(dictionary[key] ?? "", name: key, item: nil)
            }
            return "<\(name)>" + children.joined() + "</\(name)>"
        case is NSNull:
            return "<\(name)/>"
        case let flag as Bool:
            return "<\(name)>\(flag)</\(name)>"
        default:
            return "<\(name)>" + escape("\(value)") + "</\(name)>"
        }
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&apos;")
    }
}
