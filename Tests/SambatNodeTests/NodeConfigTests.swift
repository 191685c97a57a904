import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatSync
import SambatTestKit
import SambatWire
import Testing

/// Loading and checking node configurations and the shipped example deployment.
@Suite struct NodeConfigTests {
    @Test(arguments: [
        "central.yaml", "office-dpupr.yaml", "office-dlh.yaml", "office-perkim.yaml", "office-dishub.yaml",
        "mayor.yaml",
    ])
    func theShippedExampleConfigsLoadOnceTheirKeysExist(name: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = try scratch.keyFile("node.key")
        let central = try scratch.keyFile("central.key")
        try IdentityKeyFile.generate(at: scratch.file("identity.key"))
        var environment = Repository.referenceOverrides
        environment["SAMBAT_NODE_KEY_FILE"] = key.path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("data")
        environment["SAMBAT_IDENTITY_KEY_FILE"] = scratch.file("identity.key")
        environment["SAMBAT_CENTRAL_PUBLIC_KEY"] = central.pair.publicKey
        if name != "central.yaml" {
            environment.removeValue(forKey: "SAMBAT_REFERENCE_ROUTING")
            environment.removeValue(forKey: "SAMBAT_REFERENCE_SCREENING")
        }
        let config = try await NodeConfigLoader.load(path: Repository.config(name), environment: environment)
        // The environment wins over the file.
        #expect(config.dataDirectory == scratch.file("data"))
        #expect(config.keyFile == key.path)
        switch config.roleConfiguration {
        case .central(let settings):
            #expect(settings.bindEndpoint == "tcp://127.0.0.1:7301")
            #expect(settings.identityKeyFile == scratch.file("identity.key"))
            #expect(config.reference.routing != nil)
        case .office(let link), .mayor(let link):
            #expect(link.publicKey == central.pair.publicKey)
            #expect(link.endpoint == "tcp://127.0.0.1:7301")
            #expect(config.reference.routing == nil)
        }
        let reference = try ReferenceData.load(config.reference)
        #expect(reference.offices.count >= 3)
        #expect(reference.office(try NodeID("dpupr"))?.name == "Dinas Pekerjaan Umum dan Penataan Ruang")
        #expect(reference.calendar.holidays.contains(CivilDate(iso: "2026-12-25")!))
        #expect(reference.calendar.holidays.contains(CivilDate(iso: "2026-12-24")!))  // cuti bersama
        #expect(reference.calendar.holidays.contains(CivilDate(iso: "2027-08-17")!))
        #expect(reference.targets == ServiceTargets())  // the file states Mojokerto's defaults
        if config.role == .central {
            #expect(
                reference.routing.suggest(for: "sampah di TPS menumpuk sudah seminggu").first?.office
                    == (try NodeID("dlh"))
            )
            #expect(reference.screening.flags(for: "Kata grup WA air diracun, sebarkan!").map(\.kind) == [.hoax])
        } else {
            #expect(reference.screening.lists.isEmpty)
        }
    }

    @Test func theShippedPlaceholderKeyIsRefusedWithAHint() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var environment = Repository.referenceOverrides
        environment["SAMBAT_NODE_KEY_FILE"] = try scratch.keyFile("node.key").path
        environment.removeValue(forKey: "SAMBAT_REFERENCE_ROUTING")
        environment.removeValue(forKey: "SAMBAT_REFERENCE_SCREENING")
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: Repository.config("office-dpupr.yaml"), environment: environment)
        }
        #expect(error?.problems.map(Presentation.render) == ["central.public_key bukan kunci publik Z85 (40 karakter)"])
        #expect(error?.problems.map(\.code) == [.invalidPublicKey])
        #expect(error?.problems.first?.key == "central.public_key")
    }

    @Test func centralsNextKeyIsReadForARotationAndABadOneIsRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try Self.officeWithSync("  ping_interval: 5s", in: scratch)
        let next = try scratch.keyFile("central-next.key").pair.publicKey
        let config = try await NodeConfigLoader.load(
            path: path,
            environment: ["SAMBAT_CENTRAL_NEXT_PUBLIC_KEY": next]
        )
        guard case .office(let link) = config.roleConfiguration else {
            Issue.record("expected an office")
            return
        }
        #expect(link.nextPublicKey == next)
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: path, environment: ["SAMBAT_CENTRAL_NEXT_PUBLIC_KEY": "short"])
        }
        #expect(error?.problems.map(\.key) == ["central.next_public_key"])
        #expect(error?.problems.map(\.code) == [.invalidPublicKey])
    }

    @Test func anInvalidConfigIsRefusedWithEveryProblemListed() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(
            "bad.yaml",
            """
            node:
              role: office
              dta_dir: /tmp/typo
              key_file: \(scratch.file("missing.key"))
              log_level: loud
            central:
              endpoint: tcp://central.example
              public_key: "short"
            sync:
              bind: tcp://*:7301
            reference:
              directory: \(scratch.file("nope.yaml"))
              deadlines: \(Repository.config("deadlines.yaml"))
              holidays: \(Repository.config("holidays.yaml"))
            """
        )
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: path, environment: [:])
        }
        let problems = (error?.problems ?? []).map(Presentation.render)
        for expected in [
            "kunci tidak dikenal: node.dta_dir",
            "kunci sync.bind tidak berlaku untuk peran office",
            "kunci wajib tidak ada: node.id",
            "kunci wajib tidak ada: node.data_dir",
            "central.public_key bukan kunci publik Z85 (40 karakter)",
            "reference.directory: berkas tidak ada: \(scratch.file("nope.yaml"))",
        ] {
            #expect(problems.contains(expected), "missing: \(expected) in \(problems)")
        }
        #expect(problems.contains { $0.hasPrefix("node.key_file:") })
        #expect(problems.contains { $0.hasPrefix("node.log_level") })
        #expect(problems.contains { $0.hasPrefix("central.endpoint: port tidak ada") })
        #expect(problems.count == 9)
        #expect(error.map(Presentation.render)?.contains("9 masalah") == true)
        #expect(error?.description.contains("9 problems") == true)  // English, for logs
    }

    /// The path of a complete office config with `body` as its `sync:` section.
    static func officeWithSync(_ body: String, in scratch: Scratch) throws -> String {
        let path = try scratch.write(
            "office.yaml",
            """
            node: {id: dpupr, role: office, data_dir: \(scratch.file("data")), key_file: \(try scratch.keyFile("node.key").path)}
            central: {endpoint: "tcp://127.0.0.1:7301", public_key: "\(try scratch.keyFile("central.key").pair.publicKey)"}
            sync:
            \(body)
            reference:
              directory: \(Repository.config("opd-directory.yaml"))
              deadlines: \(Repository.config("deadlines.yaml"))
              holidays: \(Repository.config("holidays.yaml"))
            """
        )
        return path
    }

    @Test func syncTunablesAreReadWithUnitsAndTheEnvironmentWins() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try Self.officeWithSync(
            """
              ping_interval: 2s
              link_timeout: 1m
              hello_timeout: 20s
              reconnect_initial: 250ms
              reconnect_max: 10s
              batch_ops: 200
              credit: 8
            """,
            in: scratch
        )
        let config = try await NodeConfigLoader.load(path: path, environment: ["SAMBAT_SYNC_CREDIT": "2"])
        #expect(config.sync.pingInterval == .seconds(2))
        #expect(config.sync.linkTimeout == .seconds(60))
        #expect(config.sync.helloTimeout == .seconds(20))
        #expect(config.sync.reconnectInitial == .milliseconds(250))
        #expect(config.sync.reconnectMaximum == .seconds(10))
        #expect(config.sync.maximumBatchOps == 200)
        #expect(config.sync.credit == 2)
        // What is not set keeps design.md's default.
        #expect(config.sync.maximumBatchBytes == SyncSettings().maximumBatchBytes)
        #expect(config.sync.heartbeatInterval == SyncSettings().heartbeatInterval)
    }

    @Test func syncTunablesOutOfBoundsOrInconsistentAreRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try Self.officeWithSync(
            """
              ping_interval: 10s
              link_timeout: 15s
              hello_timeout: 5
              batch_ops: 0
              credit: many
              reconnect_initial: 1m
              reconnect_max: 30s
            """,
            in: scratch
        )
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: path, environment: [:])
        }
        let problems = (error?.problems ?? []).map(Presentation.render)
        for expected in [
            "sync.hello_timeout harus durasi 1s–30m dengan satuan ms, s atau m (mis. 5s), bukan '5'",
            "sync.batch_ops harus bilangan bulat 1–5000, bukan '0'",
            "sync.credit harus bilangan bulat 1–64, bukan 'many'",
            "sync.link_timeout (15s) harus paling sedikit dua kali sync.ping_interval (10s)",
            "sync.reconnect_initial (1m) tidak boleh lebih dari sync.reconnect_max (30s)",
        ] {
            #expect(problems.contains(expected), "missing: \(expected) in \(problems)")
        }
        #expect(problems.count == 5)
    }

    @Test func aRefusedTunableAddsNoSecondProblemAndCentralMayPingSlowly() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try Self.officeWithSync("  ping_interval: 10x\n  link_timeout: 5s\n  hello_timeout: 2s", in: scratch)
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: path, environment: [:])
        }
        // Only the refused value, not "link_timeout shorter than two (default) pings".
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first.map(Presentation.render)?.hasPrefix("sync.ping_interval harus durasi") == true)
        #expect(error?.problems.first?.code == .durationOutOfRange)

        // Central has no link timeout of its own to compare with.
        var environment = Repository.referenceOverrides
        environment["SAMBAT_NODE_KEY_FILE"] = try scratch.keyFile("central-node.key").path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("central")
        try IdentityKeyFile.generate(at: scratch.file("identity.key"))
        environment["SAMBAT_IDENTITY_KEY_FILE"] = scratch.file("identity.key")
        environment["SAMBAT_SYNC_PING_INTERVAL"] = "1m"
        let central = try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        #expect(central.sync.pingInterval == .seconds(60))
    }

    @Test func aFileThatIsNotYAMLOrNotThereIsRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let broken = try scratch.write("broken.yaml", "node: [unclosed\n  id: x")
        await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: broken, environment: [:])
        }
        let list = try scratch.write("list.yaml", "- a\n- b\n")
        await #expect(throws: ConfigurationError.self) { try await NodeConfigLoader.load(path: list, environment: [:]) }
        let missing = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: scratch.file("absent.yaml"), environment: [:])
        }
        #expect(missing?.problems.first.map(Presentation.render)?.contains("tidak ada") == true)
    }

    @Test(arguments: [
        ("tcp://127.0.0.1:7301", false, true), ("tcp://*:7301", true, true), ("tcp://*:7301", false, false),
        ("tcp://host:0", false, false), ("tcp://host:70000", false, false), ("udp://host:1", false, false),
        ("ipc:///run/sambat.sock", false, true), ("tcp://:7301", true, false),
    ])
    func endpoints(endpoint: String, binding: Bool, valid: Bool) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = try scratch.keyFile("c.key")
        try IdentityKeyFile.generate(at: scratch.file("id.key"))
        let path = try scratch.write(
            "central.yaml",
            """
            node: {id: central, role: central, data_dir: \(scratch.file("data")), key_file: \(key.path)}
            sync: {bind: "\(endpoint)"}
            identity: {key_file: \(scratch.file("id.key"))}
            reference:
              directory: \(Repository.config("opd-directory.yaml"))
              routing: \(Repository.config("routing.yaml"))
              deadlines: \(Repository.config("deadlines.yaml"))
              holidays: \(Repository.config("holidays.yaml"))
            """
        )
        guard binding else {
            #expect((NodeConfigLoader.endpointProblem(endpoint, binding: false) == nil) == valid)
            return
        }
        if valid {
            _ = try await NodeConfigLoader.load(path: path, environment: [:])
        } else {
            await #expect(throws: ConfigurationError.self) {
                try await NodeConfigLoader.load(path: path, environment: [:])
            }
        }
    }

    /// Found while writing the config fuzz target: a tier of 10^11 working days was accepted,
    /// and computing its deadline would loop for ever.
    @Test func deadlineValuesOutOfBoundsAreRefused() throws {
        let text = """
            targets:
              verify: {working_minutes: 30}
              dispatch: {hours: 0}
              acknowledge: {working_days: 1}
            tiers: {ringan: 99999999999, normatif: 5, tanpa_pengawasan: 14, pemeriksaan: 60}
            utc_offset_minutes: 100000
            """
        let error = #expect(throws: ConfigurationError.self) { try ReferenceData.check(.deadlines, yaml: text) }
        let description = error.map(Presentation.renderReference) ?? ""
        #expect(description.contains("tiers.ringan harus 1–365 hari kerja"))
        #expect(description.contains("targets.dispatch di luar batas"))
        #expect(description.contains("utc_offset_minutes harus -720 sampai 840"))
        // The shipped file passes the same check.
        let shipped = try String(contentsOfFile: Repository.config("deadlines.yaml"), encoding: .utf8)
        try ReferenceData.check(.deadlines, yaml: shipped)
    }

    @Test func intakeSettingsAreReadAndCheckedAtCentral() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var environment = try Self.centralEnvironment(scratch)
        environment["SAMBAT_INTAKE_CONFIRM_WORDS"] = "Beres, mantap"
        environment["SAMBAT_INTAKE_REQUIRE_IDENTITY"] = "false"
        environment["SAMBAT_INTAKE_MAX_MESSAGES_PER_HOUR"] = "12"
        let config = try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        guard case .central(let central) = config.roleConfiguration else {
            Issue.record("not central")
            return
        }
        #expect(central.intake.words.confirm == ["beres", "mantap"])
        #expect(central.intake.words.dispute == ThreadingWords().dispute)
        #expect(!central.intake.requireIdentity && central.intake.maximumMessagesPerHour == 12)
        #expect(central.web == nil && central.whatsApp == nil && central.smsDatabase == nil)
        environment["SAMBAT_INTAKE_REQUIRE_IDENTITY"] = "kadang"
        environment["SAMBAT_INTAKE_MAX_MESSAGES_PER_HOUR"] = "0"
        environment["SAMBAT_HTTP_PORT"] = "99999"
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        }
        #expect(
            Set(error?.problems.map(\.key) ?? [])
                == ["intake.require_identity", "intake.max_messages_per_hour", "http.port"]
        )
    }

    /// The overrides that make `Config/central.yaml` load in `scratch`, with a fresh identity key.
    static func centralEnvironment(_ scratch: Scratch) throws -> [String: String] {
        try IdentityKeyFile.generate(at: scratch.file("identity.key"))
        var environment = Repository.referenceOverrides
        environment["SAMBAT_NODE_KEY_FILE"] = try scratch.keyFile("central.key").path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("data")
        environment["SAMBAT_IDENTITY_KEY_FILE"] = scratch.file("identity.key")
        return environment
    }

    @Test func whatsAppTemplateAndMediaLimitAreReadAndChecked() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var environment = try Self.centralEnvironment(scratch)
        environment["SAMBAT_WHATSAPP_VERIFY_TOKEN"] = "tok"
        environment["SAMBAT_WHATSAPP_APP_SECRET_FILE"] = try scratch.write("secret", "s\n")
        environment["SAMBAT_WHATSAPP_TEMPLATE"] = "sambat_pembaruan"
        environment["SAMBAT_WHATSAPP_MEDIA_MAX_BYTES"] = "5000000"
        // A template needs the sender's settings.
        let unsendable = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        }
        #expect(unsendable?.problems.map(\.key) == ["whatsapp.phone_number_id"])
        environment["SAMBAT_WHATSAPP_PHONE_NUMBER_ID"] = "100200300"
        environment["SAMBAT_WHATSAPP_ACCESS_TOKEN_FILE"] = try scratch.write("token", "t\n")
        let config = try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        guard case .central(let central) = config.roleConfiguration, let whatsApp = central.whatsApp else {
            Issue.record("not central with whatsapp")
            return
        }
        #expect(whatsApp.template == WhatsAppTemplate(name: "sambat_pembaruan", language: "id"))
        #expect(whatsApp.mediaMaximumBytes == 5_000_000)
        environment["SAMBAT_WHATSAPP_TEMPLATE"] = "Status Laporan"
        environment["SAMBAT_WHATSAPP_MEDIA_MAX_BYTES"] = "999999999999"
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        }
        #expect(
            error?.problems.map(\.code) == [.invalidTemplateName, .integerOutOfRange],
            "\(error?.description ?? "")"
        )
    }

    @Test func anIdentityKeyInsideTheDataDirectoryIsRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("data"), withIntermediateDirectories: true)
        try IdentityKeyFile.generate(at: scratch.file("data/identity.key"))
        var environment = Repository.referenceOverrides
        environment["SAMBAT_NODE_KEY_FILE"] = try scratch.keyFile("central.key").path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("data")
        environment["SAMBAT_IDENTITY_KEY_FILE"] = scratch.file("data/../data/identity.key")
        let error = await #expect(throws: ConfigurationError.self) {
            try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
        }
        #expect(error?.problems.map(\.code) == [.identityKeyInDataDirectory])
        #expect(error.map(Presentation.render)?.contains("di luar direktori data") == true)
        // Beside the data directory, not in it: accepted.
        try IdentityKeyFile.generate(at: scratch.file("identity.key"))
        environment["SAMBAT_IDENTITY_KEY_FILE"] = scratch.file("identity.key")
        _ = try await NodeConfigLoader.load(path: Repository.config("central.yaml"), environment: environment)
    }

    @Test func anIdentityKeyFileOthersCanReadIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("identity.key")
        try IdentityKeyFile.generate(at: path)
        #expect(try IdentityKeyFile.read(from: path).count == 32)
        #expect(throws: IdentityKeyFile.Failure.self) { try IdentityKeyFile.generate(at: path) }  // never overwritten
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: IdentityKeyFile.Failure.self) { try IdentityKeyFile.read(from: path) }
    }
}
