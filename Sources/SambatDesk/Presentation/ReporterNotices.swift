public import SambatCore

/// What Sambat tells reporters, in Bahasa Indonesia: short, polite, with the ticket number,
/// and never anything personal (no name, no NIK) since SMS and WhatsApp are not private.
///
/// The one place citizen-facing texts live; intake queues them as outbound messages.
public enum ReporterNotices {
    /// The example reply format shown when asking for identity.
    static let identityExample = "Nama: Budi Santoso, NIK: 3576xxxxxxxxxxxx"

    /// A new case was opened.
    public static func received(_ caseID: CaseID, needsIdentity: Bool) -> String {
        let first = "Pengaduan Anda sudah kami terima dengan nomor tiket \(caseID)."
        guard needsIdentity else {
            return first + " Petugas akan memverifikasi dan meneruskannya ke OPD terkait."
        }
        return first
            + " Mohon kirim nama lengkap dan NIK Anda (identitas dirahasiakan), contoh: \(identityExample)."
    }

    /// A later message was added to the case.
    public static func joined(_ caseID: CaseID) -> String {
        "Pesan tambahan Anda sudah dicatat pada tiket \(caseID)."
    }

    /// The identity was recorded.
    public static func identityRecorded(_ caseID: CaseID) -> String {
        "Terima kasih, identitas Anda sudah kami terima dan dirahasiakan. Tiket \(caseID) segera kami verifikasi."
    }

    /// The identity could not be read; asks again, saying what was wrong.
    public static func identityAgain(_ caseID: CaseID, problem: NIK.Problem?, nameMissing: Bool) -> String {
        let what: String
        switch problem {
        case .length?: what = "NIK harus 16 angka."
        case .region?: what = "Kode wilayah pada NIK tidak dikenal."
        case .birthDate?: what = "Tanggal lahir pada NIK tidak mungkin."
        case .serial?: what = "Nomor urut pada NIK tidak sah."
        case nil: what = nameMissing ? "Nama lengkap belum ada." : "NIK belum ada."
        }
        return "Maaf, identitas untuk tiket \(caseID) belum dapat kami terima. \(what) "
            + "Mohon kirim lagi, contoh: \(identityExample)."
    }

    /// The reporter confirmed the follow-up; the case is closed.
    public static func confirmed(_ caseID: CaseID) -> String {
        "Terima kasih atas konfirmasinya. Tiket \(caseID) kami tutup sebagai selesai."
    }

    /// The reporter disputed the follow-up; the case is reopened.
    public static func disputed(_ caseID: CaseID) -> String {
        "Tiket \(caseID) kami buka kembali dan teruskan lagi ke OPD terkait. Mohon maaf atas ketidaknyamanannya."
    }

    /// The case went to an office.
    public static func dispatched(_ caseID: CaseID, officeName: String) -> String {
        "Tiket \(caseID) sudah diteruskan ke \(officeName) untuk ditindaklanjuti."
    }

    /// The office reported its follow-up; asks whether it is done.
    public static func resolved(_ caseID: CaseID) -> String {
        "OPD melaporkan tiket \(caseID) sudah ditindaklanjuti. Apakah masalahnya sudah selesai? "
            + "Balas SUDAH atau BELUM."
    }

    /// The case was closed.
    public static func closed(_ caseID: CaseID) -> String {
        "Tiket \(caseID) sudah ditutup. Terima kasih telah menyampaikan pengaduan."
    }

    /// The case was archived; a polite reason for each code.
    public static func archived(_ caseID: CaseID, reason: ArchiveReason) -> String {
        let why: String
        switch reason {
        case .sara: why = "isinya menyinggung suku, agama, ras atau antargolongan, yang tidak dapat kami proses"
        case .hoax: why = "informasinya tidak dapat kami pastikan kebenarannya"
        case .insult: why = "isinya memuat kata-kata yang tidak pantas; mohon sampaikan ulang dengan bahasa yang santun"
        case .noIdentity:
            why = "identitas pelapor belum lengkap; Anda dapat mengirim pengaduan baru dengan nama dan NIK"
        case .outOfRemit: why = "permasalahan ini bukan kewenangan Pemerintah Kota; mohon sampaikan ke instansi terkait"
        case .duplicate: why = "permasalahan yang sama sudah tercatat pada tiket lain"
        case .spam: why = "pesan ini tidak berisi pengaduan"
        }
        return "Tiket \(caseID) tidak dapat kami lanjutkan karena \(why). Terima kasih atas pengertiannya."
    }

    /// The sender sent more messages in an hour than intake acts on.
    public static func slowDown() -> String {
        "Pesan Anda sudah kami terima. Karena banyaknya pesan dari nomor ini, pesan berikutnya dalam satu jam "
            + "ini kami simpan tanpa diproses. Mohon kirim satu pesan berisi seluruh pengaduan Anda."
    }

    /// A message type Sambat does not take (a sticker, a reaction…).
    public static func unsupported() -> String {
        "Maaf, jenis pesan ini belum dapat kami terima. Mohon kirim pengaduan dalam bentuk teks, foto atau dokumen."
    }
}
