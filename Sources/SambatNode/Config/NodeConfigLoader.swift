import Configuration
import Foundation
import SambatCore
import SambatSync
import SambatWire
import SystemPackage
import Yams

/// Why a configuration was refused: every problem found, not just the first.
public struct NodeConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file that was read.
    public let path: String
    /// Each problem, in Bahasa Indonesia, naming the key.
    public let problems: [String]

    /// All problems, one per line.
    public var description: String {
        "Konfigurasi \(path) ditolak (\(problems.count) masalah):\n"
            + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

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
        "central.id": [.central, .office, .mayor],
        "central.endpoint": [.office, .mayor],
        "central.public_key": [.office, .mayor],
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
        "reference.directory": [.central, .office, .mayor],
        "reference.deadlines": [.central, .office, .mayor],
        "reference.holidays": [.central, .office, .mayor],
        "reference.routing": [.central],
    ]

    static let logLevels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Loads and checks `path`.
    ///
    /// `environment` holds the overrides; the process environment is used when it is `nil`
    /// (tests pass their own).
    ///
    /// - Returns: the checked configuration.
    /// - Throws: ``NodeConfigError`` listing every problem: unknown or missing keys, keys
    ///   of another role, bad ids and endpoints, missing key and reference files.
    public static func load(
        path: String,
        environment: [String: String]? = nil
    ) async throws(NodeConfigError) -> NodeConfig {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var problems: [String] = []
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw NodeConfigError(path: path, problems: ["berkas konfigurasi tidak ada atau tidak dapat dibaca"])
        }
        let fileKeys: [String]
        do {
            fileKeys = try yamlLeafKeys(path: path)
        } catch {
            throw NodeConfigError(path: path, problems: ["bukan YAML yang sah: \(error)"])
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
            throw NodeConfigError(path: path, problems: ["tidak dapat dibaca: \(error)"])
        }
        func value(_ key: String) -> String? {
            guard let text = reader.string(forKey: ConfigKey(key)) else { return nil }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
        func required(_ key: String) -> String? {
            let found = value(key)
            if found == nil { problems.append("kunci wajib tidak ada: \(key)") }
            return found
        }

        let role: NodeRole?
        if let text = required("node.role") {
            role = NodeRole(rawValue: text)
            if role == nil { problems.append("node.role harus central, office atau mayor, bukan '\(text)'") }
        } else {
            role = nil
        }
        for key in fileKeys {
            guard let roles = keys[key] else {
                problems.append("kunci tidak dikenal: \(key)")
                continue
            }
            if let role, !roles.contains(role) {
                problems.append("kunci \(key) tidak berlaku untuk peran \(role)")
            }
        }
        let node = nodeID(required("node.id"), key: "node.id", problems: &problems)
        let central = nodeID(value("central.id") ?? "central", key: "central.id", problems: &problems)
        if role == .central, let node, let central, node != central {
            problems.append("node.id (\(node)) dan central.id (\(central)) harus sama di central")
        }
        if role != .central, let node, let central, node == central {
            problems.append("node.id tidak boleh sama dengan central.id (\(central))")
        }
        let dataDirectory = required("node.data_dir")
        let keyFile = required("node.key_file")
        if let keyFile {
            do {
                _ = try CurveKeyFile.read(from: keyFile)
            } catch {
                problems.append(
                    "node.key_file: \(error.reason) (\(keyFile)); buat dengan `sambat keys generate --out \(keyFile)`"
                )
            }
        }
        let logLevel = value("node.log_level") ?? "info"
        if !logLevels.contains(logLevel) {
            problems.append("node.log_level harus salah satu dari \(logLevels.sorted().joined(separator: ", "))")
        }

        var bindEndpoint: String?
        var identityKeyFile: String?
        var centralEndpoint: String?
        var centralPublicKey: String?
        var routing: String?
        switch role {
        case .central:
            bindEndpoint = required("sync.bind")
            if let bindEndpoint, let problem = endpointProblem(bindEndpoint, binding: true) {
                problems.append("sync.bind: \(problem)")
            }
            identityKeyFile = required("identity.key_file")
            if let identityKeyFile {
                do {
                    _ = try IdentityKeyFile.read(from: identityKeyFile)
                } catch {
                    problems.append("identity.key_file: \(error.description)")
                }
            }
            routing = required("reference.routing")
        case .office, .mayor:
            centralEndpoint = required("central.endpoint")
            if let centralEndpoint, let problem = endpointProblem(centralEndpoint, binding: false) {
                problems.append("central.endpoint: \(problem)")
            }
            centralPublicKey = required("central.public_key")
            if let key = centralPublicKey, !isZ85Key(key) {
                problems.append("central.public_key bukan kunci publik Z85 (40 karakter)")
            }
        case nil:
            break
        }
        let sync = syncSettings(value, role: role, problems: &problems)
        let directory = required("reference.directory")
        let deadlines = required("reference.deadlines")
        let holidays = required("reference.holidays")
        for (key, file) in [
            ("reference.directory", directory), ("reference.deadlines", deadlines),
            ("reference.holidays", holidays), ("reference.routing", routing),
        ] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                problems.append("\(key): berkas tidak ada: \(file)")
            }
        }
        guard problems.isEmpty, let node, let role, let central, let dataDirectory, let keyFile, let directory,
            let deadlines, let holidays
        else {
            throw NodeConfigError(path: path, problems: problems)
        }
        var config = NodeConfig(
            node: node,
            role: role,
            central: central,
            dataDirectory: dataDirectory,
            keyFile: keyFile,
            logLevel: logLevel,
            bindEndpoint: bindEndpoint,
            identityKeyFile: identityKeyFile,
            centralEndpoint: centralEndpoint,
            centralPublicKey: centralPublicKey,
            reference: .init(directory: directory, deadlines: deadlines, holidays: holidays, routing: routing),
            sourcePath: path
        )
        config.sync = sync
        return config
    }

    /// The sync tunables (`sync.*`, all optional), checked against sane bounds and each other.
    ///
    /// Durations are written with a unit (`250ms`, `5s`, `2m`); sizes in bytes.
    static func syncSettings(_ value: (String) -> String?, role: NodeRole?, problems: inout [String]) -> SyncSettings {
        var settings = SyncSettings()
        // Keys refused on their own are left out of the checks between keys, which would
        // otherwise compare against a default the operator never wrote.
        var refused: Set<String> = []
        func count(_ key: String, _ bounds: ClosedRange<Int>) -> Int? {
            guard let text = value(key) else { return nil }
            guard let number = Int(text), bounds.contains(number) else {
                problems.append(
                    "\(key) harus bilangan bulat \(bounds.lowerBound)–\(bounds.upperBound), bukan '\(text)'"
                )
                refused.insert(key)
                return nil
            }
            return number
        }
        func duration(_ key: String, _ bounds: ClosedRange<Duration>) -> Duration? {
            guard let text = value(key) else { return nil }
            guard let parsed = parseDuration(text), bounds.contains(parsed) else {
                problems.append(
                    "\(key) harus durasi \(format(bounds.lowerBound))–\(format(bounds.upperBound)) "
                        + "dengan satuan ms, s atau m (mis. 5s), bukan '\(text)'"
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
            problems.append(
                "sync.link_timeout (\(format(settings.linkTimeout))) harus paling sedikit dua kali "
                    + "sync.ping_interval (\(format(settings.pingInterval)))"
            )
        }
        if consistent("sync.hello_timeout", "sync.link_timeout"), settings.helloTimeout > settings.linkTimeout {
            problems.append(
                "sync.hello_timeout (\(format(settings.helloTimeout))) tidak boleh lebih dari "
                    + "sync.link_timeout (\(format(settings.linkTimeout)))"
            )
        }
        if consistent("sync.reconnect_initial", "sync.reconnect_max"),
            settings.reconnectInitial > settings.reconnectMaximum
        {
            problems.append(
                "sync.reconnect_initial (\(format(settings.reconnectInitial))) tidak boleh lebih dari "
                    + "sync.reconnect_max (\(format(settings.reconnectMaximum)))"
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
        guard case .mapping = root else { throw ReferenceDataError.notAMapping }
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

    static func nodeID(_ text: String?, key: String, problems: inout [String]) -> NodeID? {
        guard let text else { return nil }
        do {
            return try NodeID(text)
        } catch {
            problems.append("\(key) '\(text)' bukan id node yang sah: huruf kecil, angka, '-' atau '_', diawali huruf")
            return nil
        }
    }

    /// What is wrong with a ZeroMQ endpoint, or `nil` when it is usable.
    ///
    /// `binding` is `true` for an endpoint to bind, where `*` (every interface) is allowed.
    ///
    /// - Returns: the problem in Bahasa Indonesia, or `nil`.
    public static func endpointProblem(_ endpoint: String, binding: Bool) -> String? {
        if endpoint.hasPrefix("ipc://") {
            return endpoint.count > "ipc://".count ? nil : "jalur ipc kosong"
        }
        guard endpoint.hasPrefix("tcp://") else { return "harus tcp://HOST:PORT atau ipc://JALUR, bukan '\(endpoint)'" }
        let rest = endpoint.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { return "port tidak ada di '\(endpoint)'" }
        let host = rest[..<colon]
        guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            return "port harus 1–65535 di '\(endpoint)'"
        }
        if host.isEmpty { return "host tidak ada di '\(endpoint)'" }
        if host == "*", !binding { return "'*' hanya untuk sync.bind; tulis alamat central" }
        return nil
    }

    static func isZ85Key(_ key: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return key.count == 40 && key.allSatisfy { alphabet.contains($0) }
    }
}
