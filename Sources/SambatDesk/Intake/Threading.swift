public import SambatCore

/// The words that steer a reporter's later messages: a new complaint, or an answer to "is it
/// done?" on a case the office has resolved.
///
/// Matched against the start of the message, as whole words, case and punctuation ignored.
/// Defaults are what Mojokerto's reporters type; a city configures its own.
public struct ThreadingWords: Hashable, Sendable {
    /// A message starting with one of these opens a new case even while another is open.
    public var newComplaint: [String]
    /// On a resolved case: the reporter confirms the follow-up.
    public var confirm: [String]
    /// On a resolved case: the reporter disputes it, and the case is reopened.
    public var dispute: [String]

    /// Words; the defaults when not given.
    public init(
        newComplaint: [String] = ["baru", "aduan baru", "laporan baru", "pengaduan baru", "lapor baru"],
        confirm: [String] = ["sudah", "sdh", "udah", "selesai", "beres", "ya", "iya", "ok", "oke", "terima kasih"],
        dispute: [String] = ["belum", "blm", "blum", "tidak", "tdk", "masih", "belum selesai", "belum beres"]
    ) {
        self.newComplaint = newComplaint
        self.confirm = confirm
        self.dispute = dispute
    }
}

/// One of the reporter's cases, as threading needs to see it.
public struct ReporterCase: Hashable, Sendable {
    /// The case.
    public let caseID: CaseID
    /// Its status now.
    public let status: CaseStatus
    /// It waits for the reporter's name and NIK.
    public let awaitsIdentity: Bool

    /// A case of the reporter's.
    public init(caseID: CaseID, status: CaseStatus, awaitsIdentity: Bool) {
        self.caseID = caseID
        self.status = status
        self.awaitsIdentity = awaitsIdentity
    }
}

/// What a reporter's message does: open a case, or join, answer or complete one of theirs.
public enum ThreadingDecision: Hashable, Sendable {
    /// A new complaint.
    case open
    /// A later message on the open case: a masked note on it.
    case join(CaseID)
    /// The name and NIK the case waits for.
    case supplyIdentity(CaseID, IdentityReply)
    /// "Sudah": the reporter confirms the office's follow-up.
    case confirm(CaseID)
    /// "Belum": the reporter disputes it.
    case dispute(CaseID)
}

/// Decides what a reporter's message does, from their open cases and its first words.
///
/// Pure: intake feeds it the sender's cases (newest first) and acts on the decision.
public enum Threading {
    /// The decision for `text` from a sender whose cases are `cases`, newest first.
    public static func decide(
        _ text: String,
        cases: [ReporterCase],
        words: ThreadingWords = ThreadingWords()
    )
        -> ThreadingDecision
    {
        let first = leadingWords(of: text)
        if starts(first, withAnyOf: words.newComplaint) { return .open }
        guard let latest = cases.first(where: { $0.status.isOpen }) else { return .open }
        if latest.awaitsIdentity {
            let reply = IdentityReply(text)
            if reply.nik != nil || reply.invalidNIK != nil { return .supplyIdentity(latest.caseID, reply) }
        }
        if latest.status == .resolved {
            // "belum" is checked first: "belum sudah" is a dispute, never a confirmation.
            if starts(first, withAnyOf: words.dispute) { return .dispute(latest.caseID) }
            if starts(first, withAnyOf: words.confirm) { return .confirm(latest.caseID) }
        }
        return .join(latest.caseID)
    }

    /// The first few words, lowercased, letters and digits only.
    static func leadingWords(of text: String) -> [Substring] {
        Array(RoutingRulesWords.words(of: text).prefix(4))
    }

    static func starts(_ words: [Substring], withAnyOf phrases: [String]) -> Bool {
        phrases.contains { phrase in
            let phraseWords = RoutingRulesWords.words(of: phrase)
            return !phraseWords.isEmpty && words.starts(with: phraseWords)
        }
    }
}

/// Splits text into lowercase words as routing and screening do.
enum RoutingRulesWords {
    static func words(of text: String) -> [Substring] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }
    }
}
