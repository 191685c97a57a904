public import SambatCore
public import SambatDesk
public import SambatSync
public import SambatWeb

/// A node's configuration: who it is, where its data and keys live, its role with that
/// role's own settings, and which reference files it uses.
///
/// Loaded once at start by ``NodeConfigLoader`` from a YAML file with `SAMBAT_…` environment
/// overrides; every CLI command of the node reads the same file, so the CLI and the running
/// node always agree on the data directory.
public struct NodeConfig: Hashable, Sendable {
    /// This node's id (`node.id`).
    public var node: NodeID
    /// The role with its own settings (`node.role` and the keys that role has).
    public var roleConfiguration: RoleConfiguration
    /// Central's id: this node's own id at central (`central.id`, default `central`).
    public var central: NodeID
    /// The data directory: `sambat.sqlite`, evidence blobs and `status.json` (`node.data_dir`).
    public var dataDirectory: String
    /// This node's CURVE key file (`node.key_file`).
    public var keyFile: String
    /// Log level (`node.log_level`, default `info`).
    public var logLevel: String
    /// `text` (default: one readable line with key=value metadata) or `json` (one object per
    /// line, for log shippers) (`node.log_format`).
    public var logFormat: String = "text"
    /// The reference files (`reference.*`).
    public var reference: ReferenceFiles
    /// The sync protocol's tunables (`sync.*`); design.md §4's defaults where not set.
    public var sync = SyncSettings()
    /// The file the configuration came from.
    public var sourcePath: String

    /// The role's name.
    public var role: NodeRole { roleConfiguration.role }

    /// The SQLite store in the data directory.
    public var storePath: String { dataDirectory + "/sambat.sqlite" }
    /// The status file the running node rewrites every second.
    public var statusPath: String { dataDirectory + "/status.json" }
    /// The lock file that keeps a second node off the same data directory.
    public var lockPath: String { dataDirectory + "/sambat.lock" }
}

/// A node's role, carrying the settings only that role has.
public enum RoleConfiguration: Hashable, Sendable {
    /// The hotline hub.
    case central(CentralConfiguration)
    /// A city office.
    case office(CentralLinkConfiguration)
    /// The mayor's read-only replica.
    case mayor(CentralLinkConfiguration)

    /// The role's name.
    public var role: NodeRole {
        switch self {
        case .central: .central
        case .office: .office
        case .mayor: .mayor
        }
    }

    /// How an office or the mayor reaches central; `nil` at central.
    public var centralLink: CentralLinkConfiguration? {
        switch self {
        case .central: nil
        case .office(let link), .mayor(let link): link
        }
    }
}

/// What only central has: where it listens, the key that seals reporter identities, and
/// how complaints come in.
public struct CentralConfiguration: Hashable, Sendable {
    /// Where it listens for offices and the mayor (`sync.bind`).
    public var bindEndpoint: String
    /// The AES-GCM key sealing reporter identities (`identity.key_file`).
    public var identityKeyFile: String
    /// The HTTP server (`http.*`); `nil` when no `http.port` is configured.
    public var web: WebConfiguration?
    /// The WhatsApp Cloud API webhook (`whatsapp.*`); `nil` when not configured.
    public var whatsApp: WhatsAppSettings?
    /// How messages are taken in (`intake.*`).
    public var intake: IntakePolicy
    /// Gammu SMSD's SQLite database (`smsd.database`); `nil` when central takes no SMS.
    public var smsDatabase: String?

    /// Central's settings.
    public init(
        bindEndpoint: String,
        identityKeyFile: String,
        web: WebConfiguration? = nil,
        whatsApp: WhatsAppSettings? = nil,
        intake: IntakePolicy = IntakePolicy(),
        smsDatabase: String? = nil
    ) {
        self.bindEndpoint = bindEndpoint
        self.identityKeyFile = identityKeyFile
        self.web = web
        self.whatsApp = whatsApp
        self.intake = intake
        self.smsDatabase = smsDatabase
    }
}

/// The WhatsApp Cloud API settings; secrets stay in their files until the node starts.
public struct WhatsAppSettings: Hashable, Sendable {
    /// The subscribe handshake's token (`whatsapp.verify_token`).
    public var verifyToken: String
    /// The file holding the app secret (`whatsapp.app_secret_file`, mode 0600).
    public var appSecretFile: String
    /// The business phone number's id for sending (`whatsapp.phone_number_id`); no sending
    /// without it.
    public var phoneNumberID: String?
    /// The file holding the access token for sending (`whatsapp.access_token_file`, 0600).
    public var accessTokenFile: String?
    /// The Graph API base (`whatsapp.graph_base_url`).
    public var graphBaseURL: String
    /// The approved template for notices outside the 24-hour window (`whatsapp.template`,
    /// `whatsapp.template_language`); without one those go by SMS.
    public var template: WhatsAppTemplate?
    /// The largest reporter media kept as evidence (`whatsapp.media_max_bytes`).
    public var mediaMaximumBytes = IntakeDesk.defaultMediaBytes

    /// The settings.
    public init(
        verifyToken: String,
        appSecretFile: String,
        phoneNumberID: String? = nil,
        accessTokenFile: String? = nil,
        graphBaseURL: String = "https://graph.facebook.com/v21.0"
    ) {
        self.verifyToken = verifyToken
        self.appSecretFile = appSecretFile
        self.phoneNumberID = phoneNumberID
        self.accessTokenFile = accessTokenFile
        self.graphBaseURL = graphBaseURL
    }
}

/// How an office or the mayor reaches central.
public struct CentralLinkConfiguration: Hashable, Sendable {
    /// Central's endpoint (`central.endpoint`).
    public var endpoint: String
    /// Central's pinned public key, Z85 (`central.public_key`).
    public var publicKey: String
    /// Central's next public key while central's key is being rotated
    /// (`central.next_public_key`): tried when central does not answer on the current one.
    public var nextPublicKey: String?
    /// The dashboard's (mayor) or the console's (office) server (`http.*`); `nil` when no
    /// `http.port` is configured.
    public var web: WebConfiguration?

    /// A link to central.
    public init(endpoint: String, publicKey: String, web: WebConfiguration? = nil) {
        self.endpoint = endpoint
        self.publicKey = publicKey
        self.web = web
    }
}
