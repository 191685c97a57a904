public import Hummingbird
public import Logging
import SambatCore
public import SambatDesk
public import SambatIntake
import SambatStore

/// Builds a node's HTTP application: `/healthz`, `/readyz` and `/metrics` on every node, the
/// WhatsApp webhook where configured, and the console of the node's role (the operator's at
/// central, an office's, the mayor's dashboard) where one is configured.
///
/// The application is a `Service` for the node's ServiceGroup. Routes only parse, call the
/// intake or use-case layer, and answer; the body limit is enforced before anything is read
/// into memory.
public enum WebServer {
    /// The routes, for tests (`app.test(.router)`) and for ``application(configuration:routes:logger:)``.
    public static func router(
        configuration: WebConfiguration,
        whatsApp: (WhatsAppWebhookConfiguration, WhatsAppIntake)?,
        dashboard: WebConsoleConfiguration? = nil,
        office: WebConsoleConfiguration? = nil,
        hotline: (WebConsoleConfiguration, IntakeDesk)? = nil,
        probe: NodeProbe? = nil,
        logger: Logger
    ) -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.get("healthz") { _, _ -> String in "ok\n" }
        if let probe { addProbeRoutes(probe, to: router, logger: logger) }
        if let (webhook, intake) = whatsApp {
            WhatsAppRoutes(configuration: webhook, intake: intake, bodyLimit: configuration.bodyLimit, logger: logger)
                .add(to: router)
        }
        if let dashboard {
            let console = dashboardConsole(dashboard, logger: logger)
            console.add(to: router)
            DashboardRoutes(console: console).add(to: router)
        }
        if let office, let actions = office.actions {
            let console = WebConsole(
                configuration: office,
                logger: logger,
                links: OfficeRoutes.links,
                nodeLabel: "Konsol OPD — node \(office.node)"
            )
            console.add(to: router)
            OfficeRoutes(console: console, actions: actions).add(to: router)
        }
        if let (hotline, desk) = hotline, let actions = hotline.actions {
            let console = WebConsole(
                configuration: hotline,
                logger: logger,
                links: OperatorRoutes.links,
                nodeLabel: "Konsol operator — node \(hotline.node)"
            )
            console.add(to: router)
            OperatorRoutes(console: console, actions: actions, desk: desk).add(to: router)
            Open311Routes(desk: desk, book: hotline.book, now: hotline.now, logger: logger).add(to: router)
        }
        return router
    }

    /// `/readyz` (200 while the node serves, 503 once it stops or when its store does not
    /// answer) and `/metrics` (Prometheus text; 503 while stopping).
    static func addProbeRoutes(_ probe: NodeProbe, to router: Router<WebContext>, logger: Logger) {
        router.get("readyz") { _, _ -> Response in
            if probe.isStopping { return plainText(.serviceUnavailable, "stopping\n") }
            guard await probe.isReady() else {
                return plainText(.serviceUnavailable, "not ready: the store does not answer\n")
            }
            return plainText(.ok, "ready\n")
        }
        router.get("metrics") { _, _ -> Response in
            if probe.isStopping { return plainText(.serviceUnavailable, "stopping\n") }
            do {
                let bytes = try await probe.exposition()
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes))
                )
            } catch {
                logger.error("metrics could not be read", metadata: ["error": "\(type(of: error))"])
                return plainText(.serviceUnavailable, "metrics could not be read\n")
            }
        }
    }

    /// A short plain-text answer that no cache keeps.
    static func plainText(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    /// The HTML of the mayor's dashboard's first page, as `GET /` renders it: for the reads
    /// benchmark, which times it on a year of a city.
    ///
    /// - Returns: the page's bytes.
    /// - Throws: ``DeskError`` when the store cannot be read.
    public static func dashboardFirstPage(_ dashboard: WebConsoleConfiguration) async throws -> [UInt8] {
        let routes = DashboardRoutes(console: dashboardConsole(dashboard, logger: Logger(label: "sambat.web")))
        return Array(try await routes.overviewPage(period: TrendPeriod.day, session: nil).utf8)
    }

    static func dashboardConsole(_ dashboard: WebConsoleConfiguration, logger: Logger) -> WebConsole {
        WebConsole(
            configuration: dashboard,
            logger: logger,
            links: DashboardRoutes.links,
            nodeLabel: "Dasbor wali kota — node \(dashboard.node)"
        )
    }

    /// The application serving `router` at the configured address.
    public static func application(
        configuration: WebConfiguration,
        router: Router<WebContext>,
        logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.bindAddress, port: configuration.port),
                serverName: "sambat"
            ),
            onServerRunning: { channel in
                logger.info(
                    "http listening",
                    metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? configuration.bindAddress)"]
                )
            },
            logger: logger
        )
    }
}

/// `GET` and `POST /webhooks/whatsapp`: Meta's subscribe handshake and event delivery.
struct WhatsAppRoutes: Sendable {
    let configuration: WhatsAppWebhookConfiguration
    let intake: WhatsAppIntake
    let bodyLimit: Int
    let logger: Logger

    func add(to router: Router<WebContext>) {
        router.get("webhooks/whatsapp") { request, _ -> Response in
            let query = request.uri.queryParameters
            let answer = WhatsAppSubscription.answer(
                mode: query["hub.mode"].map(String.init),
                token: query["hub.verify_token"].map(String.init),
                challenge: query["hub.challenge"].map(String.init),
                verifyToken: configuration.verifyToken
            )
            guard let answer else {
                logger.notice("whatsapp subscribe refused", metadata: ["reason": "mode or verify token"])
                return Response(status: .forbidden)
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        router.post("webhooks/whatsapp") { request, _ -> Response in
            try await receive(request)
        }
    }

    func receive(_ request: Request) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bodyLimit)
        } catch {
            logger.notice("whatsapp webhook refused", metadata: ["reason": "body over \(bodyLimit) bytes"])
            return Response(status: .contentTooLarge)
        }
        let body = Array(buffer.readableBytesView)
        // The signature is checked over the raw bytes before anything is parsed.
        let signature = WhatsAppSignature(appSecret: configuration.appSecret)
        let header = request.headers.first { $0.name.canonicalName == "x-hub-signature-256" }?.value
        guard signature.isValid(header: header, body: body) else {
            logger.notice("whatsapp webhook refused", metadata: ["reason": "bad signature"])
            return Response(status: .unauthorized)
        }
        let events: WhatsAppEvents
        do {
            events = try WhatsAppEvents.parse(body, maximumBytes: bodyLimit)
        } catch {
            logger.notice("whatsapp webhook refused", metadata: ["reason": "\(error.code)"])
            return Response(status: .badRequest)
        }
        do {
            let accepted = try await intake.accept(events, at: Timestamp.now)
            logger.info(
                "whatsapp webhook stored",
                metadata: [
                    "intake.stored": "\(accepted.stored)", "intake.duplicates": "\(accepted.duplicates)",
                    "intake.deliveries": "\(accepted.deliveries)",
                ]
            )
            return Response(status: .ok)
        } catch {
            // Not stored: Meta retries, and what was stored is deduplicated then.
            logger.error("whatsapp webhook not stored", metadata: ["error": "\(type(of: error))"])
            return Response(status: .serviceUnavailable)
        }
    }
}
