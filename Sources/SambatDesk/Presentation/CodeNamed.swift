public import SambatCore

/// A closed set of coded values with a stable machine name for arguments, configuration files
/// and JSON (`out_of_remit`, `bukan_wewenang`, `walk_in`).
///
/// The names are part of the CLI and the documented JSON, so they never change; the numeric
/// codes inside ops are a separate, equally stable, mapping (docs/protocol.md).
public protocol CodeNamed: CaseIterable, Hashable, Sendable {
    /// The machine name.
    var codeName: String { get }
}

extension CodeNamed {
    /// The value with this machine name, or `nil` for an unknown name.
    public init?(codeName: String) {
        guard let found = Self.allCases.first(where: { $0.codeName == codeName }) else { return nil }
        self = found
    }

    /// Every machine name, in declaration order.
    public static var codeNames: [String] { allCases.map(\.codeName) }
}

extension ArchiveReason: CodeNamed {
    /// `sara`, `hoax`, `insult`, `no_identity`, `out_of_remit`, `duplicate` or `spam`.
    public var codeName: String {
        switch self {
        case .sara: "sara"
        case .hoax: "hoax"
        case .insult: "insult"
        case .noIdentity: "no_identity"
        case .outOfRemit: "out_of_remit"
        case .duplicate: "duplicate"
        case .spam: "spam"
        }
    }
}

extension ReturnReason: CodeNamed {
    /// `bukan_wewenang`, `lokasi_salah`, `info_kurang` or `sudah_ditangani`.
    public var codeName: String {
        switch self {
        case .notOurAuthority: "bukan_wewenang"
        case .wrongLocation: "lokasi_salah"
        case .insufficientInformation: "info_kurang"
        case .handledElsewhere: "sudah_ditangani"
        }
    }
}

extension CloseReason: CodeNamed {
    /// `confirmed`, `silent` or `operator`.
    public var codeName: String {
        switch self {
        case .confirmedByReporter: "confirmed"
        case .reporterSilent: "silent"
        case .byOperator: "operator"
        }
    }
}

extension IntakeChannel: CodeNamed {
    /// `sms`, `whatsapp`, `web`, `open311`, `phone` or `walk_in`.
    public var codeName: String {
        switch self {
        case .sms: "sms"
        case .whatsapp: "whatsapp"
        case .web: "web"
        case .open311: "open311"
        case .phone: "phone"
        case .walkIn: "walk_in"
        }
    }
}

extension DeadlineTier: CodeNamed {
    /// `ringan`, `normatif`, `tanpa_pengawasan` or `pemeriksaan`: the names in `deadlines.yaml`.
    public var codeName: String {
        switch self {
        case .ringan: "ringan"
        case .normatif: "normatif"
        case .withoutOversight: "tanpa_pengawasan"
        case .needsExamination: "pemeriksaan"
        }
    }
}

extension ConflictOutcome: CodeNamed {
    /// `kept` or `corrected`.
    public var codeName: String {
        switch self {
        case .keptCurrent: "kept"
        case .corrected: "corrected"
        }
    }
}

extension NoteVisibility: CodeNamed {
    /// `internal` or `public`.
    public var codeName: String {
        switch self {
        case .internal: "internal"
        case .public: "public"
        }
    }
}
