import SambatCore
import SambatDesk
import Testing

/// Pins every refusal code and label to the Bahasa text staff read, so a change of wording is a
/// deliberate change of this table.
@Suite struct PresentationTests {
    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("\(name) is a valid node id") }
        return id
    }

    static func refusal(_ code: DeskError.Code, _ configure: (inout DeskError) -> Void = { _ in }) -> DeskError {
        var error = DeskError(code)
        error.caseID = try? CaseID("MJK-261129-0001")
        error.node = node("dpupr")
        configure(&error)
        return error
    }

    static let deskRefusals: [(DeskError, String)] = [
        (refusal(.caseNotFound), "Kasus MJK-261129-0001 tidak ada di node dpupr."),
        (
            refusal(.invalidCaseID) { $0.value = "bukan-tiket" },
            "Nomor tiket 'bukan-tiket' tidak sah; bentuknya seperti MJK-261129-0001."
        ),
        (refusal(.invalidNodeID) { $0.value = "Bad Id" }, "Kode OPD 'Bad Id' tidak sah."),
        (refusal(.invalidActor) { $0.value = "a b" }, "Akun petugas 'a b' tidak sah: 1–64 karakter tanpa spasi."),
        (refusal(.invalidDate) { $0.value = "2026-13-01" }, "Tanggal '2026-13-01' tidak sah; tulis YYYY-MM-DD."),
        (refusal(.readOnlyNode), "Node mayor hanya-baca: tidak ada yang ditulis."),
        (
            refusal(.wrongRole) { $0.roles = [.central] },
            "Tindakan ini hanya untuk node central; tidak ada yang ditulis."
        ),
        (
            refusal(.kindNotPermitted) {
                $0.role = .office
                $0.kind = .verified
            }, "Node office tidak boleh melakukan 'diverifikasi'; tidak ada yang ditulis."
        ),
        (refusal(.notAssigned), "Kasus MJK-261129-0001 tidak sedang ditugaskan ke dpupr; tidak ada yang ditulis."),
        (
            refusal(.staleAssignment),
            "Penugasan kasus MJK-261129-0001 sudah berganti; lihat `sambat case show MJK-261129-0001`. Tidak ada yang ditulis."
        ),
        (
            refusal(.illegalTransition) {
                $0.kind = .closed
                $0.status = .received
            }, "'ditutup' tidak diizinkan saat kasus MJK-261129-0001 berstatus DITERIMA; tidak ada yang ditulis."
        ),
        (
            refusal(.unknownOffice) { $0.office = node("nosuch") },
            "OPD 'nosuch' tidak ada di direktori OPD; tidak ada yang ditulis."
        ),
        (
            refusal(.officeNotEnrolled) { $0.office = node("dlh") },
            "OPD 'dlh' belum terdaftar sebagai node office di central (`sambat node enrol`); tidak ada yang ditulis."
        ),
        (
            refusal(.notAssignedTo) { $0.office = node("dlh") },
            "Kasus MJK-261129-0001 tidak sedang ditugaskan ke dlh; tidak ada yang ditulis."
        ),
        (
            refusal(.conflictNotFound) { $0.conflict = "stale_epoch:a" },
            "Konflik stale_epoch:a tidak ada di kasus MJK-261129-0001; tidak ada yang ditulis."
        ),
        (
            refusal(.conflictAlreadyResolved) { $0.conflict = "stale_epoch:a" },
            "Konflik stale_epoch:a sudah diselesaikan; tidak ada yang ditulis."
        ),
        (refusal(.emptyText) { $0.field = .summary }, "Isi ringkasan tidak boleh kosong."),
        (
            refusal(.textTooLong) {
                $0.field = .note
                $0.limit = 4096
            }, "Isi catatan terlalu panjang (maksimal 4096 bita)."
        ),
        (
            refusal(.unknownValue) {
                $0.field = .reason
                $0.value = "entah"
                $0.allowed = ["bukan_wewenang", "info_kurang"]
            }, "Alasan 'entah' tidak dikenal: bukan_wewenang, info_kurang."
        ),
        (refusal(.storage) { $0.detail = "disk full" }, "Tidak tersimpan: disk full"),
    ]

    @Test func everyDeskRefusalHasItsBahasaText() {
        for (error, text) in Self.deskRefusals {
            #expect(Presentation.render(error) == text, "\(error.code)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func intakeProblemsRenderAsBefore() {
        let problems: [(IntakeProblem, String)] = [
            (.init(.name, .invalid), "nama pelapor wajib diisi (2–100 karakter)"),
            (.init(.nik, .invalid), "NIK harus 16 angka"),
            (.init(.phone, .invalid), "nomor telepon tidak sah (contoh: 0812xxxxxxxx atau +62812xxxxxxxx)"),
            (.init(.text, .tooShort, limit: 10), "isi pengaduan terlalu pendek (minimal 10 karakter)"),
            (.init(.text, .tooLong, limit: 8192), "isi pengaduan terlalu panjang (maksimal 8192 bita)"),
            (.init(.text, .tooLongWhenMasked), "isi pengaduan terlalu panjang setelah data pribadi disamarkan"),
            (.init(.location, .tooLong, limit: 512), "lokasi terlalu panjang"),
            (.init(.ticket, .unavailable), "nomor tiket tidak dapat dialokasikan; coba lagi"),
        ]
        for (problem, text) in problems { #expect(Presentation.render(problem) == text, "\(problem)") }
        let error = IntakeError(problems: problems.prefix(2).map(\.0))
        #expect(Presentation.render(error) == "nama pelapor wajib diisi (2–100 karakter); NIK harus 16 angka")
        #expect(error.description == "intake refused: name invalid; nik invalid")
    }

    @Test func configurationProblemsRenderAsBefore() {
        let problems: [(ConfigurationProblem, String)] = [
            (.init("node.data_dir", .missingKey), "kunci wajib tidak ada: node.data_dir"),
            (.init("node.dta_dir", .unknownKey), "kunci tidak dikenal: node.dta_dir"),
            (.init("sync.bind", .keyNotForRole, "office"), "kunci sync.bind tidak berlaku untuk peran office"),
            (.init("node.role", .invalidRole, "boss"), "node.role harus central, office atau mayor, bukan 'boss'"),
            (
                .init("node.id", .invalidNodeID, "Bad Id"),
                "node.id 'Bad Id' bukan id node yang sah: huruf kecil, angka, '-' atau '_', diawali huruf"
            ),
            (.init("central.public_key", .invalidPublicKey), "central.public_key bukan kunci publik Z85 (40 karakter)"),
            (
                .init("central.endpoint", .invalidEndpoint, "no_port", "tcp://central.example"),
                "central.endpoint: port tidak ada di 'tcp://central.example'"
            ),
            (
                .init("sync.credit", .integerOutOfRange, "1", "64", "many"),
                "sync.credit harus bilangan bulat 1–64, bukan 'many'"
            ),
            (
                .init("sync.link_timeout", .linkTimeoutTooShort, "15s", "10s"),
                "sync.link_timeout (15s) harus paling sedikit dua kali sync.ping_interval (10s)"
            ),
            (
                .init("sync.reconnect_initial", .mustNotExceed, "1m", "sync.reconnect_max", "30s"),
                "sync.reconnect_initial (1m) tidak boleh lebih dari sync.reconnect_max (30s)"
            ),
            (.init("tiers.ringan", .tierDaysOutOfRange), "tiers.ringan harus 1–365 hari kerja"),
            (.init("utc_offset_minutes", .utcOffsetOutOfRange), "utc_offset_minutes harus -720 sampai 840"),
            (
                .init("targets.x", .unknownEntry, "verify", "dispatch", "acknowledge"),
                "targets.x tidak dikenal (verify, dispatch, acknowledge)"
            ),
            (.init("rules", .unknownRoutingOffice, "nosuch"), "OPD 'nosuch' tidak ada di direktori OPD"),
            (
                .init("intake.require_identity", .invalidBoolean, "ya"),
                "intake.require_identity harus true atau false, bukan 'ya'"
            ),
            (
                .init("whatsapp.graph_base_url", .invalidURL, "ftp://x"),
                "whatsapp.graph_base_url harus alamat https://…, bukan 'ftp://x'"
            ),
            (
                .init("whatsapp.template", .invalidTemplateName, "Status Laporan"),
                "whatsapp.template harus nama templat WhatsApp (huruf kecil, angka, _), bukan 'Status Laporan'"
            ),
        ]
        for (problem, text) in problems { #expect(Presentation.render(problem) == text, "\(problem)") }
        let error = ConfigurationError(path: "bad.yaml", problems: problems.prefix(2).map(\.0))
        #expect(
            Presentation.render(error)
                == "Konfigurasi bad.yaml ditolak (2 masalah):\n  - kunci wajib tidak ada: node.data_dir\n  - kunci tidak dikenal: node.dta_dir"
        )
        #expect(error.description.hasPrefix("configuration bad.yaml refused (2 problems)"))
    }

    @Test func labelsAndCodeNames() {
        #expect(
            CaseStatus.allCases.map(Presentation.label) == [
                "DITERIMA", "TERTUNDA", "TERVERIFIKASI", "DIARSIPKAN", "TERDISPOSISI", "DITERIMA_OPD", "DIPROSES",
                "SELESAI_OPD", "SELESAI", "DIBUKA_KEMBALI",
            ]
        )
        #expect(Presentation.column("dispendukcapil", 12) == "dispendukcapil ", "names are never cut short")
        #expect(Presentation.column("dlh", 6) == "dlh   ")
        #expect(Presentation.duration(3 * 3_600_000 + 20 * 60_000) == "3 j 20 m")
        for reason in ArchiveReason.allCases { #expect(ArchiveReason(codeName: reason.codeName) == reason) }
        for reason in ReturnReason.allCases { #expect(ReturnReason(codeName: reason.codeName) == reason) }
        for tier in DeadlineTier.allCases { #expect(DeadlineTier(codeName: tier.codeName) == tier) }
        #expect(IntakeChannel(codeName: "walk_in") == .walkIn)
        #expect(ArchiveReason(codeName: "Out_Of_Remit") == nil)
    }
}
