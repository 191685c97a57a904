extension Presentation {
    /// A refused configuration: the file, the count, one problem per line.
    public static func render(_ error: ConfigurationError) -> String {
        "Konfigurasi \(error.path) ditolak (\(error.problems.count) masalah):\n"
            + error.problems.map { "  - " + render($0) }.joined(separator: "\n")
    }

    /// A refused reference file: the file, then one problem per line.
    public static func renderReference(_ error: ConfigurationError) -> String {
        "\(error.path):\n" + error.problems.map { "  - " + render($0) }.joined(separator: "\n")
    }

    /// One configuration problem, naming its key.
    public static func render(_ problem: ConfigurationProblem) -> String {
        let key = problem.key
        let first = problem.value(0)
        let second = problem.value(1)
        let third = problem.value(2)
        switch problem.code {
        case .unreadable:
            return first.isEmpty
                ? "berkas konfigurasi tidak ada atau tidak dapat dibaca" : "tidak dapat dibaca: \(first)"
        case .notYAML: return "bukan YAML yang sah: \(first)"
        case .notAMapping: return "tingkat teratas harus berupa pemetaan (key: value)"
        case .missingKey: return "kunci wajib tidak ada: \(key)"
        case .unknownKey: return "kunci tidak dikenal: \(key)"
        case .keyNotForRole: return "kunci \(key) tidak berlaku untuk peran \(first)"
        case .invalidRole: return "\(key) harus central, office atau mayor, bukan '\(first)'"
        case .invalidNodeID:
            return "\(key) '\(first)' bukan id node yang sah: huruf kecil, angka, '-' atau '_', diawali huruf"
        case .centralIDMismatch: return "node.id (\(first)) dan central.id (\(second)) harus sama di central"
        case .nodeIsCentral: return "node.id tidak boleh sama dengan central.id (\(first))"
        case .keyFileUnusable: return "\(key): \(first) (\(second)); buat dengan `sambat keys generate --out \(second)`"
        case .identityKeyUnusable: return "\(key): \(first)"
        case .invalidLogLevel, .invalidLogFormat:
            return "\(key) harus salah satu dari \(problem.values.joined(separator: ", "))"
        case .invalidEndpoint: return "\(key): " + endpoint(problem)
        case .invalidPublicKey: return "\(key) bukan kunci publik Z85 (40 karakter)"
        case .fileMissing: return "\(key): berkas tidak ada: \(first)"
        case .integerOutOfRange: return "\(key) harus bilangan bulat \(first)–\(second), bukan '\(third)'"
        case .durationOutOfRange:
            return "\(key) harus durasi \(first)–\(second) dengan satuan ms, s atau m (mis. 5s), bukan '\(third)'"
        case .linkTimeoutTooShort:
            return "\(key) (\(first)) harus paling sedikit dua kali sync.ping_interval (\(second))"
        case .mustNotExceed: return "\(key) (\(first)) tidak boleh lebih dari \(second) (\(third))"
        case .invalidOffice: return "kode OPD tidak sah: '\(first)'"
        case .duplicateOffice: return "kode OPD ganda: \(first)"
        case .noOffices: return "tidak ada OPD"
        case .invalidDate: return "tanggal tidak sah: '\(first)' (\(second))"
        case .invalidHolidayKind: return "\(first): kind harus libur_nasional atau cuti_bersama"
        case .invalidTimeOfDay: return "\(key) harus JJ:MM, bukan '\(first)'"
        case .utcOffsetOutOfRange: return "\(key) harus -720 sampai 840"
        case .closesBeforeOpens: return "\(key) harus setelah opens"
        case .invalidWeekdays: return "\(key): angka 1 (Senin) sampai 7 (Minggu)"
        case .missingEntry: return "\(key) tidak ada"
        case .unknownEntry: return "\(key) tidak dikenal (\(problem.values.joined(separator: ", ")))"
        case .targetUnitAmbiguous: return "\(key): tulis tepat satu dari working_minutes, hours, working_days"
        case .targetOutOfRange: return "\(key) di luar batas (menit 1–100000, jam 1–10000, hari kerja 1–365)"
        case .tierDaysOutOfRange: return "\(key) harus 1–365 hari kerja"
        case .unknownDefaultTier: return "\(key) '\(first)' tidak dikenal"
        case .unknownRoutingOffice: return "OPD '\(first)' tidak ada di direktori OPD"
        case .invalidBoolean: return "\(key) harus true atau false, bukan '\(first)'"
        case .invalidURL: return "\(key) harus alamat https://…, bukan '\(first)'"
        case .invalidTemplateName:
            return "\(key) harus nama templat WhatsApp (huruf kecil, angka, _), bukan '\(first)'"
        case .identityKeyInDataDirectory:
            return "\(key) (\(first)) berada di dalam node.data_dir: simpan kunci identitas di luar direktori data "
                + "(mis. keys/central/identity.key), agar salinan data saja tidak membuka identitas pelapor"
        default: return "\(key): \(problem.code)"
        }
    }

    /// What is wrong with an endpoint (values: the problem's name, the endpoint).
    private static func endpoint(_ problem: ConfigurationProblem) -> String {
        let endpoint = problem.value(1)
        switch ConfigurationProblem.EndpointProblem(rawValue: problem.value(0)) {
        case .emptyIPCPath: return "jalur ipc kosong"
        case .scheme: return "harus tcp://HOST:PORT atau ipc://JALUR, bukan '\(endpoint)'"
        case .noPort: return "port tidak ada di '\(endpoint)'"
        case .badPort: return "port harus 1–65535 di '\(endpoint)'"
        case .noHost: return "host tidak ada di '\(endpoint)'"
        case .wildcard: return "'*' hanya untuk sync.bind; tulis alamat central"
        case nil: return "alamat tidak sah: '\(endpoint)'"
        }
    }
}
