import SambatCore

extension Presentation {
    /// A refusal of the use-case layer, as staff read it; always says that nothing was written
    /// where something could have been.
    public static func render(_ error: DeskError) -> String {
        let caseID = error.caseID?.rawValue ?? "-"
        let office = error.office?.rawValue ?? "-"
        let node = error.node?.rawValue ?? "-"
        let value = error.value ?? ""
        let action = error.kind.map(label) ?? "-"
        switch error.code {
        case .caseNotFound:
            return "Kasus \(caseID) tidak ada di node \(node)."
        case .invalidCaseID:
            return "Nomor tiket '\(value)' tidak sah; bentuknya seperti MJK-261129-0001."
        case .invalidNodeID:
            return "Kode OPD '\(value)' tidak sah."
        case .invalidActor:
            return "Akun petugas '\(value)' tidak sah: 1–64 karakter tanpa spasi."
        case .invalidDate:
            return "Tanggal '\(value)' tidak sah; tulis YYYY-MM-DD."
        case .readOnlyNode:
            return "Node mayor hanya-baca: tidak ada yang ditulis."
        case .wrongRole:
            return "Tindakan ini hanya untuk node \(roles(error.roles)); tidak ada yang ditulis."
        case .kindNotPermitted:
            return "Node \(error.role?.rawValue ?? "-") tidak boleh melakukan '\(action)'; tidak ada yang ditulis."
        case .notAssigned:
            return "Kasus \(caseID) tidak sedang ditugaskan ke \(node); tidak ada yang ditulis."
        case .staleAssignment:
            return
                "Penugasan kasus \(caseID) sudah berganti; lihat `sambat case show \(caseID)`. Tidak ada yang ditulis."
        case .illegalTransition:
            let status = error.status.map(label) ?? "-"
            return "'\(action)' tidak diizinkan saat kasus \(caseID) berstatus \(status); tidak ada yang ditulis."
        case .unknownOffice:
            return "OPD '\(office)' tidak ada di direktori OPD; tidak ada yang ditulis."
        case .officeNotEnrolled:
            return
                "OPD '\(office)' belum terdaftar sebagai node office di central (`sambat node enrol`); tidak ada yang ditulis."
        case .notAssignedTo:
            return "Kasus \(caseID) tidak sedang ditugaskan ke \(office); tidak ada yang ditulis."
        case .conflictNotFound:
            return "Konflik \(error.conflict ?? "-") tidak ada di kasus \(caseID); tidak ada yang ditulis."
        case .conflictAlreadyResolved:
            return "Konflik \(error.conflict ?? "-") sudah diselesaikan; tidak ada yang ditulis."
        case .emptyText:
            return "Isi \(error.field.map(name) ?? "teks") tidak boleh kosong."
        case .textTooLong:
            return "Isi \(error.field.map(name) ?? "teks") terlalu panjang (maksimal \(error.limit ?? 0) bita)."
        case .unknownValue:
            let what = error.field.map(name) ?? "nilai"
            let capitalised = what.prefix(1).uppercased() + what.dropFirst()
            return "\(capitalised) '\(value)' tidak dikenal: \(error.allowed.joined(separator: ", "))."
        case .storage:
            return "Tidak tersimpan: \(error.detail ?? "kesalahan penyimpanan")"
        case .invalidAccountName:
            return "Nama akun '\(value)' tidak sah: 2–64 huruf kecil, angka, titik, garis bawah atau tanda hubung, "
                + "diawali huruf (contoh: op.rina)."
        case .accountExists:
            return "Akun '\(value)' sudah ada; tidak ada yang ditulis."
        case .accountNotFound:
            return "Akun '\(value)' tidak ada."
        case .weakPassword:
            return "Kata sandi terlalu pendek: minimal \(error.limit ?? 0) karakter."
        case .signInRefused:
            return "Nama akun atau kata sandi salah."
        default:
            return "Permintaan ditolak (\(error.code)); tidak ada yang ditulis."
        }
    }
}

extension Presentation {
    /// An intake refusal: every problem, joined with "; ".
    public static func render(_ error: IntakeError) -> String {
        error.problems.map(render).joined(separator: "; ")
    }

    /// One intake problem.
    public static func render(_ problem: IntakeProblem) -> String {
        let limit = problem.limit ?? 0
        switch (problem.field, problem.code) {
        case (.name, _): return "nama pelapor wajib diisi (2–100 karakter)"
        case (.nik, .region): return "NIK tidak sah: kode wilayahnya tidak ada"
        case (.nik, .birthDate): return "NIK tidak sah: tanggal lahir di dalamnya tidak mungkin"
        case (.nik, .serial): return "NIK tidak sah: nomor urutnya 0000"
        case (.nik, _): return "NIK harus 16 angka"
        case (.phone, _): return "nomor telepon tidak sah (contoh: 0812xxxxxxxx atau +62812xxxxxxxx)"
        case (.text, .tooShort): return "isi pengaduan terlalu pendek (minimal \(limit) karakter)"
        case (.text, .tooLongWhenMasked): return "isi pengaduan terlalu panjang setelah data pribadi disamarkan"
        case (.text, .tooLong): return "isi pengaduan terlalu panjang (maksimal \(limit) bita)"
        case (.text, _): return "isi pengaduan wajib diisi"
        case (.location, _): return "lokasi terlalu panjang"
        case (.channel, _): return "saluran tidak dikenal"
        case (.ticket, _): return "nomor tiket tidak dapat dialokasikan; coba lagi"
        }
    }
}
