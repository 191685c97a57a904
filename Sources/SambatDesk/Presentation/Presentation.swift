public import SambatCore
public import SambatStore

/// Everything staff read, rendered in Bahasa Indonesia: status words, op and stage labels,
/// tier names, WIB dates, durations in office hours, and the text of every refusal.
///
/// The one place that holds Bahasa for staff: the CLI prints what it returns, and the web
/// consoles will show the same words. Pure functions; safe from anywhere.
///
/// ```swift
/// Presentation.label(CaseStatus.dispatched)          // "TERDISPOSISI"
/// Presentation.time(stamp, calendar)                 // "29 Nov 2026 14:05"
/// Presentation.render(error)                         // "Kasus MJK-… tidak ada di node dpupr."
/// ```
public enum Presentation {
    /// Short month names.
    public static let months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]

    /// "29 Nov 2026 14:05", in the calendar's zone (WIB).
    public static func time(_ timestamp: Timestamp, _ calendar: WorkingCalendar) -> String {
        let date = calendar.localDate(of: timestamp)
        let minute = calendar.localMinute(of: timestamp)
        return "\(date.day) \(months[date.month - 1]) \(date.year) \(pad(minute / 60)):\(pad(minute % 60))"
    }

    /// "29 Nov 2026".
    public static func date(_ date: CivilDate) -> String { "\(date.day) \(months[date.month - 1]) \(date.year)" }

    /// "3 j 20 m" for a duration in milliseconds.
    public static func duration(_ milliseconds: Int64) -> String {
        let minutes = max(0, milliseconds) / 60_000
        if minutes < 60 { return "\(minutes) m" }
        return "\(minutes / 60) j \(pad(Int(minutes % 60))) m"
    }

    /// "baru saja", "12 menit lalu", "3 jam lalu", "2 hari lalu": how long ago, in wall time.
    public static func ago(_ milliseconds: Int64) -> String {
        let minutes = max(0, milliseconds) / 60_000
        if minutes < 1 { return "baru saja" }
        if minutes < 60 { return "\(minutes) menit lalu" }
        if minutes < 48 * 60 { return "\(minutes / 60) jam lalu" }
        return "\(minutes / (24 * 60)) hari lalu"
    }

    /// Two digits.
    public static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Pads `text` to `width` characters for a table column; a longer text is kept whole
    /// with one space after it, since a cut office code or name misleads.
    public static func column(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// The status word staff know (SP4N-LAPOR!).
    public static func label(_ status: CaseStatus) -> String {
        switch status {
        case .received: "DITERIMA"
        case .pending: "TERTUNDA"
        case .verified: "TERVERIFIKASI"
        case .archived: "DIARSIPKAN"
        case .dispatched: "TERDISPOSISI"
        case .acknowledged: "DITERIMA_OPD"
        case .inProgress: "DIPROSES"
        case .resolved: "SELESAI_OPD"
        case .closed: "SELESAI"
        case .reopened: "DIBUKA_KEMBALI"
        }
    }

    /// The status word of one office's assignment.
    public static func label(_ status: AssignmentStatus) -> String {
        switch status {
        case .dispatched: "TERDISPOSISI"
        case .acknowledged: "DITERIMA_OPD"
        case .inProgress: "DIPROSES"
        case .resolved: "SELESAI_OPD"
        case .reopened: "DIBUKA_KEMBALI"
        case .returned: "DIKEMBALIKAN"
        case .revoked: "DIALIHKAN"
        }
    }

    /// An op kind as a timeline shows it.
    public static func label(_ kind: OpKind) -> String {
        switch kind {
        case .opened: "pengaduan diterima"
        case .verified: "diverifikasi"
        case .pended: "ditunda (menunggu pelapor)"
        case .archived: "diarsipkan"
        case .dispatched: "didisposisikan"
        case .acknowledged: "diterima OPD"
        case .started: "mulai diproses"
        case .noted: "catatan"
        case .resolved: "tindak lanjut dilaporkan"
        case .returned: "dikembalikan (bukan wewenang)"
        case .reassigned: "dialihkan"
        case .closed: "ditutup"
        case .reopened: "dibuka kembali"
        case .evidenceAdded: "bukti dilampirkan"
        case .reporterWrote: "pesan lanjutan pelapor"
        case .conflictResolved: "konflik diselesaikan"
        }
    }

    /// A deadline stage.
    public static func label(_ stage: StageClock.Stage) -> String {
        switch stage {
        case .verify: "verifikasi"
        case .dispatch: "disposisi"
        case .acknowledge: "diterima OPD"
        case .followUp: "tindak lanjut"
        }
    }

    /// A service target as staff read it: "30 menit kerja", "24 jam", "5 hari kerja".
    public static func label(_ target: ServiceTarget) -> String {
        switch target {
        case .workingMinutes(let minutes): "\(minutes) menit kerja"
        case .hours(let hours): "\(hours) jam"
        case .workingDays(let days): "\(days) hari kerja"
        }
    }

    /// A tier as staff name it (the name in `deadlines.yaml`).
    public static func label(_ tier: DeadlineTier) -> String { tier.codeName }

    /// An archive reason.
    public static func label(_ reason: ArchiveReason) -> String {
        switch reason {
        case .sara: "SARA"
        case .hoax: "hoaks"
        case .insult: "penghinaan"
        case .noIdentity: "identitas tidak lengkap"
        case .outOfRemit: "bukan kewenangan pemerintah kota"
        case .duplicate: "duplikat"
        case .spam: "spam"
        }
    }

    /// A screening flag's kind.
    public static func label(_ kind: ScreeningRules.Kind) -> String {
        switch kind {
        case .sara: "SARA"
        case .hoax: "hoaks"
        case .insult: "penghinaan"
        case .outOfRemit: "di luar kewenangan pemkot"
        }
    }

    /// Screening flags with the words that raised them: "SARA (etnis tertentu, usir saja)".
    public static func label(_ flags: [ScreeningRules.Flag]) -> String {
        flags.map { "\(label($0.kind)) (\($0.matched.joined(separator: ", ")))" }.joined(separator: "; ")
    }

    /// A return reason.
    public static func label(_ reason: ReturnReason) -> String {
        switch reason {
        case .notOurAuthority: "bukan wewenang"
        case .wrongLocation: "lokasi salah"
        case .insufficientInformation: "informasi kurang"
        case .handledElsewhere: "sudah ditangani"
        }
    }

    /// A channel.
    public static func label(_ channel: IntakeChannel) -> String {
        switch channel {
        case .sms: "SMS"
        case .whatsapp: "WhatsApp"
        case .web: "web"
        case .open311: "Open311"
        case .phone: "telepon"
        case .walkIn: "loket"
        }
    }

    /// A reply's delivery state.
    public static func label(_ state: OutboundMessage.State) -> String {
        switch state {
        case .queued: "menunggu dikirim"
        case .sent: "terkirim"
        case .delivered: "diterima"
        case .read: "dibaca"
        case .failed: "GAGAL"
        }
    }

    /// A size in bytes, KB or MB (decimal, as phones show them).
    public static func bytes(_ count: UInt64) -> String {
        if count < 1_000 { return "\(count) B" }
        if count < 1_000_000 { return "\((count + 500) / 1_000) KB" }
        let tenths = (count + 50_000) / 100_000
        return "\(tenths / 10),\(tenths % 10) MB"
    }

    /// A media fetch's state, for `case show` at central.
    public static func label(_ state: MediaFetch.State) -> String {
        switch state {
        case .pending: "menunggu diambil"
        case .stored: "tersimpan sebagai bukti"
        case .failed: "GAGAL diambil"
        }
    }

    /// The name evidence from a reporter's media gets: its kind, never the reporter's file
    /// name (which may name them).
    public static func mediaName(kind: String, mimeType: String) -> String {
        let word =
            switch kind {
            case "image": "foto"
            case "video": "video"
            case "audio": "rekaman suara"
            case "document": "dokumen"
            case "sticker": "stiker"
            default: "lampiran"
            }
        return "\(word) dari pelapor (\(mimeType))"
    }

    /// A conflict's effect on a timeline line.
    public static func label(_ effect: HistoryEntry.Effect) -> String {
        switch effect {
        case .applied: ""
        case .appliedWithConflict(let conflict): "(konflik \(conflict))"
        case .superseded: "(tergantikan)"
        case .conflict(let conflict): "(DITOLAK: konflik \(conflict))"
        }
    }

    /// Roles joined with "atau": "central atau office".
    static func roles(_ roles: Set<NodeRole>) -> String {
        roles.map(\.rawValue).sorted().joined(separator: " atau ")
    }

    /// Why a case was closed.
    public static func label(_ reason: CloseReason) -> String {
        switch reason {
        case .confirmedByReporter: "dikonfirmasi pelapor"
        case .reporterSilent: "pelapor tidak menjawab"
        case .byOperator: "ditutup operator"
        }
    }

    /// Why the merge recorded a conflict, as staff read it.
    public static func label(_ reason: Conflict.Reason) -> String {
        switch reason {
        case .staleEpoch: "langkah dari penugasan yang sudah diganti"
        case .concurrentWithCentral: "bersamaan dengan keputusan central"
        case .resolvedVersusReturned: "diselesaikan sekaligus dikembalikan"
        case .illegalTransition: "langkah tidak sah untuk status kasus"
        case .notPermitted: "langkah tidak diizinkan bagi node itu"
        }
    }

    /// The Bahasa name of a field in a refusal.
    static func name(of field: DeskError.Field) -> String {
        switch field {
        case .note: "catatan"
        case .summary: "ringkasan"
        case .instructions: "instruksi"
        case .topic: "topik"
        case .request: "permintaan"
        case .reason: "alasan"
        case .tier: "kategori"
        case .channel: "saluran"
        case .outcome: "hasil"
        case .location: "lokasi"
        case .displayName: "nama tampilan"
        }
    }
}
