import Configuration
import Foundation
import SambatCore
public import SambatDesk
import SambatSync
import SambatWeb
import SambatWire
import SystemPackage
import Yams

/// Reads a node's YAML configuration through swift-configuration, with `SAMBAT_…`
/// environment variables taking precedence (`SAMBAT_NODE_DATA_DIR` overrides
/// `node.data_dir`), and checks it completely before anything starts.
public enum NodeConfigLoader {
    /// Every key a configuration may hold, with the roles it applies to.
    static let keys: [String: Set<NodeRole>] = [
        "node.id": [.central, .office, .mayor],
        "node.role": [.central, .office, .mayor],
        "node.data_dir": [.central, .office, .mayor],
        "node.key_file": [.central, .office, .mayor],
        "node.log_level": [.central, .office, .mayor],
        "node.log_format": [.central, .office, .mayor],
        "central.id": [.central, .office, .mayor],
        "central.endpoint": [.office, .mayor],
        "central.public_key": [.office, .mayor],
        "central.next_public_key": [.office, .mayor],
        "sync.bind": [.central],
        "sync.batch_ops": [.central, .office, .mayor],
        "sync.batch_bytes": [.central, .office, .mayor],
        "sync.credit": [.central, .office, .mayor],
        "sync.ping_interval": [.central, .office, .mayor],
        "sync.link_timeout": [.office, .mayor],
        "sync.hello_timeout": [.office, .mayor],
        "sync.heartbeat_interval": [.central, .office, .mayor],
        "sync.poll_interval": [.central, .office, .mayor],
        "sync.reconnect_initial": [.office, .mayor],
        "sync.reconnect_max": [.office, .mayor],
        "sync.blob_chunk_bytes": [.office, .mayor],
        "identity.key_file": [.central],
        "http.bind": [.central, .office, .mayor],
        "http.port": [.central, .office, .mayor],
        "http.body_limit": [.central, .office, .mayor],
        "http.secure_cookies": [.central, .office, .mayor],
        "whatsapp.verify_token": [.central],
        "whatsapp.app_secret_file": [.central],
        "whatsapp.phone_number_id": [.central],
        "whatsapp.access_token_file": [.central],
        "whatsapp.graph_base_url": [.central],
        "whatsapp.template": [.central],
        "whatsapp.template_language": [.central],
        "whatsapp.media_max_bytes": [.central],
        "intake.require_identity": [.central],
        "intake.identity_optional_for": [.central],
        "intake.max_messages_per_hour": [.central],
        "intake.new_complaint_words": [.central],
        "intake.confirm_words": [.central],
        "intake.dispute_words": [.central],
        "smsd.database": [.central],
        "reference.directory": [.central, .office, .mayor],
        "reference.deadlines": [.central, .office, .mayor],
        "reference.holidays": [.central, .office, .mayor],
        "reference.routing": [.central],
        "reference.screening": [.central],
    ]

    static let logLevels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Loads and checks `path`.
    ///
    /// `environment` holds the overrides; the process environment is used when it is `nil`
    /// (tests pass their own). Each part is read through a reader scoped to its section
    /// (`node`, `central`, `sync`, `identity`, `reference`).
    ///
    /// - Returns: the checked configuration.
    /// - Throws: ``ConfigurationError`` listing every problem: unknown or missing keys, keys
    ///   of another role, bad ids and endpoints, missing key and reference files.
    public static func load(
        path: String,
        environment: [String: String]? = nil
    ) async throws(ConfigurationError) -> NodeConfig {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(path: path, problems: [.init("", .unreadable)])
        }
        let fileKeys: [String]
        do {
            fileKeys = try yamlLeafKeys(path: path)
        } catch {
            throw ConfigurationError(path: path, problems: [.init("", .notYAML, "\(error)")])
        }
        let reader: ConfigReader
        do {
            let file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            let overrides = EnvironmentVariablesProvider(
                environmentVariables: environment.filter { $0.key.hasPrefix("SAMBAT_") }
            )
            .prefixKeys(with: ["sambat"])
            reader = ConfigReader(providers: [overrides, file])
        } catch {
            throw ConfigurationError(path: path, problems: [.init("", .unreadable, "\(error)")])
        }
        var problems = Problems()
        let nodeSection = Section(reader, "node")
        let centralSection = Section(reader, "central")
        let referenceSection = Section(reader, "reference")

        let role: NodeRole?
        if let text = nodeSection.required("role", &problems) {
            role = NodeRole(rawValue: text)
            if role == nil { problems.add(.init("node.role", .invalidRole, text)) }
        } else {
            role = nil
        }
        for key in fileKeys {
            guard let roles = keys[key] else {
                problems.add(.init(key, .unknownKey))
                continue
            }
            if let role, !roles.contains(role) { problems.add(.init(key, .keyNotForRole, role.rawValue)) }
        }
        let node = nodeID(nodeSection.required("id", &problems), key: "node.id", &problems)
        let central = nodeID(centralSection.value("id") ?? "central", key: "central.id", &problems)
        if role == .central, let node, let central, node != central {
            problems.add(.init("central.id", .centralIDMismatch, node.rawValue, central.rawValue))
        }
        if role != .central, let node, let central, node == central {
            problems.add(.init("node.id", .nodeIsCentral, central.rawValue))
        }
        let dataDirectory = nodeSection.required("data_dir", &problems)
        let keyFile = nodeSection.required("key_file", &problems)
        if let keyFile {
            do {
                _ = try CurveKeyFile.read(from: keyFile)
            } catch {
                problems.add(.init("node.key_file", .keyFileUnusable, error.reason, keyFile))
            }
        }
        let logLevel = nodeSection.value("log_level") ?? "info"
        if !logLevels.contains(logLevel) {
            problems.add(.init("node.log_level", .invalidLogLevel, values: logLevels.sorted()))
        }
        let logFormat = nodeSection.value("log_format") ?? "text"
        if !["text", "json"].contains(logFormat) {
            problems.add(.init("node.log_format", .invalidLogFormat, values: ["json", "text"]))
        }
        let roleConfiguration = roleSettings(role, reader: reader, &problems)
        let sync = syncSettings(Section(reader, "sync").value, role: role, problems: &problems)
        let directory = referenceSection.required("directory", &problems)
        let deadlines = referenceSection.required("deadlines", &problems)
        let holidays = referenceSection.required("holidays", &problems)
        let routing = role == .central ? referenceSection.required("routing", &problems) : nil
        let screening = role == .central ? referenceSection.value("screening") : nil
        for (key, file) in [
            ("reference.directory", directory), ("reference.deadlines", deadlines),
            ("reference.holidays", holidays), ("reference.routing", routing), ("reference.screening", screening),
        ] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                problems.add(.init(key, .fileMissing, file))
            }
        }
        guard problems.list.isEmpty, let node, let roleConfiguration, let central, let dataDirectory, let keyFile,
            let directory, let deadlines, let holidays
        else {
            throw ConfigurationError(path: path, problems: problems.list)
        }
        var config = NodeConfig(
            node: node,
            roleConfiguration: roleConfiguration,
            central: central,
            dataDirectory: dataDirectory,
            keyFile: keyFile,
            logLevel: logLevel,
            reference: ReferenceFiles(
                directory: directory,
                deadlines: deadlines,
                holidays: holidays,
                routing: routing,
                screening: screening
            ),
            sourcePath: path
        )
        config.logFormat = logFormat
        config.sync = sync
        return config
    }

    /// The settings only `role` has, checked; `nil` when the role is unknown or a key is bad.
    static func roleSettings(
        _ role: NodeRole?,
        reader: ConfigReader,
        _ problems: inout Problems
    )
        -> RoleConfiguration?
    {
        switch role {
        case .central:
            let sync = Section(reader, "sync")
            let identity = Section(reader, "identity")
            let bind = sync.required("bind", &problems)
            if let bind, let problem = endpointProblem(bind, binding: true) {
                problems.add(.init("sync.bind", .invalidEndpoint, problem.rawValue, bind))
            }
            let identityKeyFile = identity.required("key_file", &problems)
            if let identityKeyFile, let dataDirectory = Section(reader, "node").value("data_dir"),
                isInside(identityKeyFile, directory: dataDirectory)
            {
                problems.add(.init("identity.key_file", .identityKeyInDataDirectory, identityKeyFile))
            }
            if let identityKeyFile {
                do {
                    _ = try IdentityKeyFile.read(from: identityKeyFile)
                } catch {
                    problems.add(.init("identity.key_file", .identityKeyUnusable, error.description))
                }
            }
            let web = webSettings(Section(reader, "http"), &problems)
            let whatsApp = whatsAppSettings(Section(reader, "whatsapp"), &problems)
            var intake = IntakePolicy()
            if let text = Section(reader, "intake").value("require_identity") {
                switch text.lowercased() {
                case "true", "yes": intake.requireIdentity = true
                case "false", "no": intake.requireIdentity = false
                default: problems.add(.init("intake.require_identity", .invalidBoolean, text))
                }
            }
            let intakeSection = Section(reader, "intake")
            // Word lists are written comma-separated: "baru, aduan baru, laporan baru".
            func words(_ key: String) -> [String]? {
                guard let text = intakeSection.value(key) else { return nil }
                let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    .filter { !$0.isEmpty }
                if list.isEmpty { problems.add(.init("intake.\(key)", .missingEntry)) }
                return list
            }
            if let list = words("new_complaint_words") { intake.words.newComplaint = list }
            if let list = words("confirm_words") { intake.words.confirm = list }
            if let list = words("dispute_words") { intake.words.dispute = list }
            // Office codes as in the OPD directory, comma-separated; checked against the
            // directory when the node starts.
            for code in words("identity_optional_for") ?? [] {
                if let office = try? NodeID(code) {
                    intake.identityOptionalFor.insert(office)
                } else {
                    problems.add(.init("intake.identity_optional_for", .invalidOffice, code))
                }
            }
            if let text = intakeSection.value("max_messages_per_hour") {
                if let limit = Int(text), (1...10_000).contains(limit) {
                    intake.maximumMessagesPerHour = limit
                } else {
                    problems.add(.init("intake.max_messages_per_hour", .integerOutOfRange, "1", "10000", text))
                }
            }
            let smsDatabase = Section(reader, "smsd").value("database")
            if let smsDatabase, !FileManager.default.fileExists(atPath: smsDatabase) {
                problems.add(.init("smsd.database", .fileMissing, smsDatabase))
            }
            guard let bind, let identityKeyFile else { return nil }
            return .central(
                CentralConfiguration(
                    bindEndpoint: bind,
                    identityKeyFile: identityKeyFile,
                    web: web,
                    whatsApp: whatsApp,
                    intake: intake,
                    smsDatabase: smsDatabase
                )
            )
        case .office, .mayor:
            let central = Section(reader, "central")
            let endpoint = central.required("endpoint", &problems)
            if let endpoint, let problem = endpointProblem(endpoint, binding: false) {
                problems.add(.init("central.endpoint", .invalidEndpoint, problem.rawValue, endpoint))
            }
            let publicKey = central.required("public_key", &problems)
            if let publicKey, !isZ85Key(publicKey) { problems.add(.init("central.public_key", .invalidPublicKey)) }
            let nextKey = central.value("next_public_key")
            if let nextKey, !isZ85Key(nextKey) { problems.add(.init("central.next_public_key", .invalidPublicKey)) }
            let web = webSettings(Section(reader, "http"), &problems)
            guard let endpoint, let publicKey else { return nil }
            var link = CentralLinkConfiguration(endpoint: endpoint, publicKey: publicKey, web: web)
            link.nextPublicKey = nextKey == publicKey ? nil : nextKey
            return role == .office ? .office(link) : .mayor(link)
        case nil:
            return nil
        }
    }

    /// The HTTP server's settings; `nil` (no server) when `http.port` is not set.
    static func webSettings(_ section: Section, _ problems: inout Problems) -> WebConfiguration? {
        guard let portText = section.value("port") else { return nil }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            problems.add(.init("http.port", .integerOutOfRange, "0", "65535", portText))
            return nil
        }
        var web = WebConfiguration(port: port)
        if let bind = section.value("bind") { web.bindAddress = bind }
        if let text = section.value("secure_cookies") {
            switch text.lowercased() {
            case "true", "yes": web.secureCookies = true
            case "false", "no": web.secureCookies = false
            default: problems.add(.init("http.secure_cookies", .invalidBoolean, text))
            }
        }
        if let limitText = section.value("body_limit") {
            if let limit = Int(limitText), (4_096...(64 << 20)).contains(limit) {
                web.bodyLimit = limit
            } else {
                problems.add(.init("http.body_limit", .integerOutOfRange, "4096", "\(64 << 20)", limitText))
            }
        }
        return web
    }

    /// The webhook's settings; both keys or neither.
    static func whatsAppSettings(_ section: Section, _ problems: inout Problems) -> WhatsAppSettings? {
        let token = section.value("verify_token")
        let secretFile = section.value("app_secret_file")
        guard token != nil || secretFile != nil else { return nil }
        guard let token, let secretFile else {
            problems.add(.init(token == nil ? "whatsapp.verify_token" : "whatsapp.app_secret_file", .missingKey))
            return nil
        }
        if !FileManager.default.isReadableFile(atPath: secretFile) {
            problems.add(.init("whatsapp.app_secret_file", .fileMissing, secretFile))
        }
        var settings = WhatsAppSettings(verifyToken: token, appSecretFile: secretFile)
        let phoneNumberID = section.value("phone_number_id")
        let tokenFile = section.value("access_token_file")
        if (phoneNumberID == nil) != (tokenFile == nil) {
            problems.add(
                .init(phoneNumberID == nil ? "whatsapp.phone_number_id" : "whatsapp.access_token_file", .missingKey)
            )
        }
        if let tokenFile, !FileManager.default.isReadableFile(atPath: tokenFile) {
            problems.add(.init("whatsapp.access_token_file", .fileMissing, tokenFile))
        }
        settings.phoneNumberID = phoneNumberID
        settings.accessTokenFile = tokenFile
        if let base = section.value("graph_base_url") {
            if base.hasPrefix("https://") || base.hasPrefix("http://127.0.0.1") || base.hasPrefix("http://localhost") {
                settings.graphBaseURL = base
            } else {
                problems.add(.init("whatsapp.graph_base_url", .invalidURL, base))
            }
        }
        if let name = section.value("template") {
            // A template is sent through the Cloud API: without a sender it would never leave.
            if phoneNumberID == nil, tokenFile == nil {
                problems.add(.init("whatsapp.phone_number_id", .missingKey))
            }
            let language = section.value("template_language") ?? "id"
            if Self.isTemplateName(name) {
                settings.template = WhatsAppTemplate(name: name, language: language)
            } else {
                problems.add(.init("whatsapp.template", .invalidTemplateName, name))
            }
            if !Self.isTemplateName(language) {
                problems.add(.init("whatsapp.template_language", .invalidTemplateName, language))
            }
        }
        if let text = section.value("media_max_bytes") {
            let upper = Int(OpLimits.maximumEvidenceBytes)
            if let bytes = Int(text), (1_024...upper).contains(bytes) {
                settings.mediaMaximumBytes = bytes
            } else {
                problems.add(.init("whatsapp.media_max_bytes", .integerOutOfRange, "1024", "\(upper)", text))
            }
        }
        return settings
    }

    /// Meta's template names and language codes: lowercase letters, digits and `_` (`en_US`
    /// has capitals, so letters of either case are let through).
    static func isTemplateName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 512
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
            }
    }

    /// Whether `path` lies inside `directory` (both resolved against the working directory).
    static func isInside(_ path: String, directory: String) -> Bool {
        let file = URL(fileURLWithPath: path).standardizedFileURL.path
        let folder = URL(fileURLWithPath: directory).standardizedFileURL.path
        return file.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    /// Problems found so far, in the order found.
    struct Problems {
        private(set) var list: [ConfigurationProblem] = []

        mutating func add(_ problem: ConfigurationProblem) { list.append(problem) }
    }

    /// One section of the configuration (`node`, `sync`, …) read through a scoped reader, so
    /// that problems still name the full key.
    struct Section {
        let reader: ConfigReader
        let name: String

        init(_ reader: ConfigReader, _ name: String) {
            self.reader = reader.scoped(to: ConfigKey(name))
            self.name = name
        }

        /// The trimmed value of `key` in this section, or `nil` when absent or blank.
        func value(_ key: String) -> String? {
            guard let text = reader.string(forKey: ConfigKey(key)) else { return nil }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }

        /// Like ``value(_:)``, recording a missing-key problem when absent.
        func required(_ key: String, _ problems: inout Problems) -> String? {
            let found = value(key)
            if found == nil { problems.add(.init(name + "." + key, .missingKey)) }
            return found
        }
    }

    /// The sync tunables (`sync.*`, all optional), checked against sane bounds and each other.
    ///
    /// Durations are written with a unit (`250ms`, `5s`, `2m`); sizes in bytes.
    static func syncSettings(
        _ value: (String) -> String?,
        role: NodeRole?,
        problems: inout Problems
    ) -> SyncSettings {
        var settings = SyncSettings()
        // Keys refused on their own are left out of the checks between keys, which would
        // otherwise compare against a default the operator never wrote.
        var refused: Set<String> = []
        func count(_ key: String, _ bounds: ClosedRange<Int>) -> Int? {
            guard let text = value(String(key.dropFirst("sync.".count))) else { return nil }
            guard let number = Int(text), bounds.contains(number) else {
                problems.add(.init(key, .integerOutOfRange, "\(bounds.lowerBound)", "\(bounds.upperBound)", text))
                refused.insert(key)
                return nil
            }
            return number
        }
        func duration(_ key: String, _ bounds: ClosedRange<Duration>) -> Duration? {
            guard let text = value(String(key.dropFirst("sync.".count))) else { return nil }
            guard let parsed = parseDuration(text), bounds.contains(parsed) else {
                problems.add(
                    .init(key, .durationOutOfRange, format(bounds.lowerBound), format(bounds.upperBound), text)
                )
                refused.insert(key)
                return nil
            }
            return parsed
        }
        func consistent(_ keys: String...) -> Bool { role != .central && refused.isDisjoint(with: keys) }
        if let ops = count("sync.batch_ops", 1...5_000) { settings.maximumBatchOps = ops }
        if let bytes = count("sync.batch_bytes", 4_096...(1 << 20)) { settings.maximumBatchBytes = bytes }
        if let credit = count("sync.credit", 1...64) { settings.credit = credit }
        if let chunk = count("sync.blob_chunk_bytes", 4_096...(256 * 1_024)) { settings.blobChunkBytes = chunk }
        if let ping = duration("sync.ping_interval", .milliseconds(100)...(.seconds(300))) {
            settings.pingInterval = ping
        }
        if let timeout = duration("sync.link_timeout", .seconds(1)...(.seconds(1_800))) {
            settings.linkTimeout = timeout
        }
        if let timeout = duration("sync.hello_timeout", .seconds(1)...(.seconds(1_800))) {
            settings.helloTimeout = timeout
        }
        if let heartbeat = duration("sync.heartbeat_interval", .milliseconds(100)...(.seconds(300))) {
            settings.heartbeatInterval = heartbeat
        }
        if let poll = duration("sync.poll_interval", .milliseconds(5)...(.seconds(5))) { settings.pollInterval = poll }
        if let initial = duration("sync.reconnect_initial", .milliseconds(10)...(.seconds(300))) {
            settings.reconnectInitial = initial
        }
        if let maximum = duration("sync.reconnect_max", .milliseconds(10)...(.seconds(1_800))) {
            settings.reconnectMaximum = maximum
        }
        // At a node: a link must survive a lost ping, and the hint about a silent central must
        // come before the node gives up on its HELLO. (Central has no link or HELLO timeout;
        // its ping interval only sets how long a node's session counts as live.)
        if consistent("sync.link_timeout", "sync.ping_interval"), settings.linkTimeout < settings.pingInterval * 2 {
            problems.add(
                .init(
                    "sync.link_timeout",
                    .linkTimeoutTooShort,
                    format(settings.linkTimeout),
                    format(settings.pingInterval)
                )
            )
        }
        if consistent("sync.hello_timeout", "sync.link_timeout"), settings.helloTimeout > settings.linkTimeout {
            problems.add(
                .init(
                    "sync.hello_timeout",
                    .mustNotExceed,
                    format(settings.helloTimeout),
                    "sync.link_timeout",
                    format(settings.linkTimeout)
                )
            )
        }
        if consistent("sync.reconnect_initial", "sync.reconnect_max"),
            settings.reconnectInitial > settings.reconnectMaximum
        {
            problems.add(
                .init(
                    "sync.reconnect_initial",
                    .mustNotExceed,
                    format(settings.reconnectInitial),
                    "sync.reconnect_max",
                    format(settings.reconnectMaximum)
                )
            )
        }
        return settings
    }

    /// `250ms`, `5s` or `2m` as a duration; `nil` for anything else.
    static func parseDuration(_ text: String) -> Duration? {
        for (unit, milliseconds) in [("ms", 1), ("s", 1_000), ("m", 60_000)] where text.hasSuffix(unit) {
            let digits = text.dropLast(unit.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let number = Int(digits), number <= 1_000_000_000
            else { continue }
            return .milliseconds(number * milliseconds)
        }
        return nil
    }

    /// A duration as an operator would write it (`500ms`, `5s`, `2m`).
    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }

    /// Dotted paths of every scalar or sequence in the file (`node.id`, `sync.bind`, …).
    static func yamlLeafKeys(path: String) throws -> [String] {
        try leafKeys(yaml: try String(contentsOfFile: path, encoding: .utf8))
    }

    /// Dotted paths of every scalar or sequence in a YAML text; how unknown keys are found.
    ///
    /// - Throws: when the text is not YAML or its top level is not a mapping.
    /// - Returns: the paths, sorted.
    public static func leafKeys(yaml text: String) throws -> [String] {
        guard let root = try Yams.compose(yaml: text) else { return [] }
        guard case .mapping = root else { throw ConfigurationError(path: "", problems: [.init("", .notAMapping)]) }
        var keys: [String] = []
        // A configuration is a few levels deep; deeper nesting is cut off rather than walked.
        func walk(_ node: Yams.Node, prefix: String, depth: Int) {
            if case .mapping(let mapping) = node, depth < 16 {
                for (key, child) in mapping {
                    let name = key.string ?? "?"
                    walk(child, prefix: prefix.isEmpty ? name : prefix + "." + name, depth: depth + 1)
                }
            } else {
                keys.append(prefix)
            }
        }
        walk(root, prefix: "", depth: 0)
        return keys.sorted()
    }

    static func nodeID(_ text: String?, key: String, _ problems: inout Problems) -> NodeID? {
        guard let text else { return nil }
        do {
            return try NodeID(text)
        } catch {
            problems.add(.init(key, .invalidNodeID, text))
            return nil
        }
    }

    /// What is wrong with a ZeroMQ endpoint, or `nil` when it is usable.
    ///
    /// `binding` is `true` for an endpoint to bind, where `*` (every interface) is allowed.
    ///
    /// - Returns: the problem, or `nil`.
    public static func endpointProblem(
        _ endpoint: String,
        binding: Bool
    ) -> ConfigurationProblem.EndpointProblem? {
        if endpoint.hasPrefix("ipc://") { return endpoint.count > "ipc://".count ? nil : .emptyIPCPath }
        guard endpoint.hasPrefix("tcp://") else { return .scheme }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return .noPort }
        let host = rest[..<colon]
        guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return .badPort }
        if host.isEmpty { return .noHost }
        if host == "*", !binding { return .wildcard }
        return nil
    }

    static func isZ85Key(_ key: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return key.count == 40 && key.allSatisfy { alphabet.contains($0) }
    }
}
