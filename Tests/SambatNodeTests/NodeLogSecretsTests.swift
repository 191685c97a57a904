import Foundation
import Logging
import SambatNode
import SambatTestKit
import Synchronization
import Testing

/// What a node writes to its log never carries its secrets, at any level.
@Suite struct NodeLogSecretsTests {
    /// Every line, rendered with its metadata.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }

    /// Found by `make scale` reading central's debug log: ServiceLifecycle logged each service
    /// with its default description, and central's intake processor printed the identity
    /// key's bytes and the secret behind reporter references.
    @Test func centralLogsNoKeyOrTokenEvenAtTraceLevel() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var environment = try NodeConfigTests.centralEnvironment(scratch)
        let appSecret = "app-secret-\(UUID().uuidString)"
        let accessToken = "access-token-\(UUID().uuidString)"
        environment["SAMBAT_WHATSAPP_VERIFY_TOKEN"] = "verify-\(UUID().uuidString)"
        environment["SAMBAT_WHATSAPP_APP_SECRET_FILE"] = try scratch.write("app-secret", appSecret + "\n")
        environment["SAMBAT_WHATSAPP_PHONE_NUMBER_ID"] = "100200300"
        environment["SAMBAT_WHATSAPP_ACCESS_TOKEN_FILE"] = try scratch.write("token", accessToken + "\n")
        environment["SAMBAT_SYNC_BIND"] = "tcp://127.0.0.1:\(try ProcessTestKit.freePort())"
        environment["SAMBAT_HTTP_PORT"] = "\(try ProcessTestKit.freePort())"
        for secret in ["app-secret", "token"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: scratch.file(secret))
        }
        let config = try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        let identityKey = try IdentityKeyFile.read(from: scratch.file("identity.key"))

        let lines = Lines()
        let logger = Logger(label: "secrets") { _ in Capture(lines: lines) }
        let node = Task { try await NodeRuntime(config: config, logger: logger).run() }
        let clock = ContinuousClock()
        let start = clock.now
        // ServiceLifecycle names the services as it starts them; central's sync service may
        // take a while to listen on a busy machine, and is not what this test is about.
        while !lines.text.contains("central listening"), clock.now - start < .seconds(60) {
            try await Task.sleep(for: .milliseconds(20))
        }
        node.cancel()
        let outcome = await node.result
        let text = lines.text
        // The services were logged, by name.
        #expect(text.contains("Starting service"), "the node did not start (\(outcome)):\n\(text.suffix(2_000))")
        #expect(text.contains("IntakeProcessor"))
        #expect(!text.contains(appSecret))
        #expect(!text.contains(accessToken))
        // The identity key, however rendered: as hex, or as Swift prints a byte array.
        let hex = identityKey.map { String(format: "%02x", $0) }.joined()
        #expect(!text.contains(hex))
        #expect(!text.contains(identityKey.prefix(6).map(String.init).joined(separator: ", ")))
        #expect(!text.contains("keyBytes"))
        #expect(!text.contains("referenceSecret"))
    }
}
