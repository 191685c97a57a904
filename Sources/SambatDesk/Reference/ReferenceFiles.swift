/// Paths of the reference data every node reads.
public struct ReferenceFiles: Hashable, Sendable {
    /// The OPD directory (`reference.directory`).
    public var directory: String
    /// Deadline tiers, SOP targets and office hours (`reference.deadlines`).
    public var deadlines: String
    /// National holidays and cuti bersama (`reference.holidays`).
    public var holidays: String
    /// Central only: keyword rules suggesting an office (`reference.routing`).
    public var routing: String?
    /// Central only, optional: word lists that flag a complaint (`reference.screening`).
    public var screening: String?

    /// The files; `routing` and `screening` only at central.
    public init(directory: String, deadlines: String, holidays: String, routing: String?, screening: String? = nil) {
        self.directory = directory
        self.deadlines = deadlines
        self.holidays = holidays
        self.routing = routing
        self.screening = screening
    }
}
