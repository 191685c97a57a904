// Closed sets of coded values carried inside ops. Each has a stable numeric code used by the
// canonical encoding (docs/protocol.md); a code is never reused for another meaning.

/// Why central archived a complaint without dispatching it (the operator's coded refusal).
public enum ArchiveReason: UInt8, CaseIterable, Hashable, Sendable {
    /// Ethnic, religious, racial or inter-group provocation.
    case sara = 1
    /// A hoax.
    case hoax = 2
    /// An insult.
    case insult = 3
    /// The reporter gave no usable identity.
    case noIdentity = 4
    /// Not a matter for the city government.
    case outOfRemit = 5
    /// Duplicate of another case.
    case duplicate = 6
    /// Spam.
    case spam = 7
}

/// Why an office returned a case to central (bukan wewenang and its relatives).
public enum ReturnReason: UInt8, CaseIterable, Hashable, Sendable {
    /// Not this office's authority (bukan wewenang).
    case notOurAuthority = 1
    /// The location is outside the office's area.
    case wrongLocation = 2
    /// The complaint lacks the information needed to act.
    case insufficientInformation = 3
    /// Already handled under another case or by another body.
    case handledElsewhere = 4
}

/// Who may read a note.
public enum NoteVisibility: UInt8, CaseIterable, Hashable, Sendable {
    /// Staff only.
    case `internal` = 1
    /// May be passed on to the reporter.
    case `public` = 2
}

/// Why central closed a case.
public enum CloseReason: UInt8, CaseIterable, Hashable, Sendable {
    /// The reporter confirmed the follow-up.
    case confirmedByReporter = 1
    /// The reporter did not answer within the configured days.
    case reporterSilent = 2
    /// The operator closed it (for example after a merged duplicate).
    case byOperator = 3
}

/// The channel a complaint arrived through.
public enum IntakeChannel: UInt8, CaseIterable, Hashable, Sendable {
    /// SMS through the Gammu gateway.
    case sms = 1
    /// WhatsApp Cloud API webhook.
    case whatsapp = 2
    /// The web form.
    case web = 3
    /// Open311 GeoReport v2.
    case open311 = 4
    /// A phone call typed in by the operator.
    case phone = 5
    /// In person at the hotline desk.
    case walkIn = 6
}

/// The service-standard tier that sets a case's follow-up deadline.
public enum DeadlineTier: UInt8, CaseIterable, Hashable, Sendable {
    /// Simple: 2 working days by default.
    case ringan = 1
    /// Normative: 5 working days.
    case normatif = 2
    /// Without oversight content: 14 working days.
    case withoutOversight = 3
    /// Needs examination: 60 working days.
    case needsExamination = 4
}

/// What central decided when it resolved a conflict.
public enum ConflictOutcome: UInt8, CaseIterable, Hashable, Sendable {
    /// The state the fold produced stands; the conflict is acknowledged.
    case keptCurrent = 1
    /// Central corrected the case with its own follow-up ops.
    case corrected = 2
}
