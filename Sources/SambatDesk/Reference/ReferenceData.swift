import Foundation
public import SambatCore
import Yams

/// One city office from the OPD directory.
public struct Office: Hashable, Sendable {
    /// Its node id.
    public let code: NodeID
    /// Its full name.
    public let name: String

    /// An office.
    public init(code: NodeID, name: String) {
        self.code = code
        self.name = name
    }
}

/// The reference data a node works with: the OPD directory, the calendar and service
/// targets for deadlines, and (at central) the routing rules.
///
/// Read from the files a node's configuration names; owned by the node and its front doors.
public struct ReferenceData: Sendable {
    /// Offices by id, in directory order.
    public let offices: [Office]
    /// Office days, hours and holidays.
    public let calendar: WorkingCalendar
    /// Stage targets and tier deadlines.
    public let targets: ServiceTargets
    /// Routing suggestions (empty away from central).
    public let routing: RoutingRules
    /// Screening flags (empty away from central, or without a screening file).
    public let screening: ScreeningRules

    /// The office with this id.
    public func office(_ id: NodeID) -> Office? { offices.first { $0.code == id } }

    /// Reads every reference file in `files`.
    ///
    /// - Throws: ``ConfigurationError`` naming the file and every problem in it.
    public static func load(_ files: ReferenceFiles) throws(ConfigurationError) -> ReferenceData {
        let offices = try loadDirectory(files.directory)
        let holidays = try loadHolidays(files.holidays)
        let (calendar, targets) = try loadDeadlines(files.deadlines, holidays: holidays)
        var routing = RoutingRules(rules: [])
        if let path = files.routing {
            routing = try loadRouting(path, offices: Set(offices.map(\.code)))
        }
        let screening = try files.screening.map(loadScreening) ?? ScreeningRules()
        return ReferenceData(
            offices: offices,
            calendar: calendar,
            targets: targets,
            routing: routing,
            screening: screening
        )
    }

    /// The targets and calendar a store computes due times with.
    public var deadlinePolicy: DeadlinePolicy { DeadlinePolicy(targets: targets, calendar: calendar) }

    /// Reference data from values, for tests and tools that have no files.
    public init(
        offices: [Office],
        calendar: WorkingCalendar,
        targets: ServiceTargets,
        routing: RoutingRules,
        screening: ScreeningRules = ScreeningRules()
    ) {
        self.offices = offices
        self.calendar = calendar
        self.targets = targets
        self.routing = routing
        self.screening = screening
    }

    static func decode<T: Decodable>(_ type: T.Type, from path: String) throws(ConfigurationError) -> T {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(path: path, problems: [.init("", .unreadable, "\(error)")])
        }
        return try decode(T.self, yaml: text, path: path)
    }

    static func decode<T: Decodable>(_ type: T.Type, yaml text: String, path: String) throws(ConfigurationError) -> T {
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch {
            throw ConfigurationError(path: path, problems: [.init("", .unreadable, "\(error)")])
        }
    }

    /// The reference files, for checking a text without a file (the config fuzz target).
    public enum Kind: CaseIterable, Sendable {
        /// `opd-directory.yaml`.
        case directory
        /// `holidays.yaml`.
        case holidays
        /// `deadlines.yaml`.
        case deadlines
        /// `routing.yaml` (checked against the offices `dpupr`, `dlh` and `perkim`).
        case routing
        /// `screening.yaml`.
        case screening
    }

    /// Checks a reference text of `kind` as the loader would.
    ///
    /// - Throws: ``ReferenceDataError`` listing what is wrong.
    public static func check(_ kind: Kind, yaml text: String) throws(ConfigurationError) {
        let path = "<\(kind)>"
        switch kind {
        case .directory: _ = try directory(try decode(DirectoryFile.self, yaml: text, path: path), path: path)
        case .holidays: _ = try holidays(try decode(HolidayFile.self, yaml: text, path: path), path: path)
        case .deadlines:
            _ = try deadlines(try decode(DeadlineFile.self, yaml: text, path: path), holidays: [], path: path)
        case .routing:
            let offices = Set(["dpupr", "dlh", "perkim"].compactMap { try? NodeID($0) })
            _ = try routing(try decode(RoutingFile.self, yaml: text, path: path), offices: offices, path: path)
        case .screening:
            _ = try screening(try decode([String: [String]].self, yaml: text, path: path), path: path)
        }
    }

    private struct DirectoryFile: Decodable {
        struct Entry: Decodable {
            var code: String
            var name: String
        }
        var offices: [Entry]
    }

    static func loadDirectory(_ path: String) throws(ConfigurationError) -> [Office] {
        try directory(try decode(DirectoryFile.self, from: path), path: path)
    }

    private static func directory(_ file: DirectoryFile, path: String) throws(ConfigurationError) -> [Office] {
        var problems: [ConfigurationProblem] = []
        var offices: [Office] = []
        for entry in file.offices {
            guard let code = try? NodeID(entry.code) else {
                problems.append(.init("offices", .invalidOffice, entry.code))
                continue
            }
            if offices.contains(where: { $0.code == code }) {
                problems.append(.init("offices", .duplicateOffice, code.rawValue))
            }
            offices.append(Office(code: code, name: entry.name))
        }
        if offices.isEmpty { problems.append(.init("offices", .noOffices)) }
        guard problems.isEmpty else { throw ConfigurationError(path: path, problems: problems) }
        return offices
    }

    private struct HolidayFile: Decodable {
        struct Entry: Decodable {
            var date: String
            var name: String
            var kind: String
            var estimated: Bool?
        }
        var holidays: [Entry]
    }

    static func loadHolidays(_ path: String) throws(ConfigurationError) -> Set<CivilDate> {
        try holidays(try decode(HolidayFile.self, from: path), path: path)
    }

    private static func holidays(_ file: HolidayFile, path: String) throws(ConfigurationError) -> Set<CivilDate> {
        var problems: [ConfigurationProblem] = []
        var dates: Set<CivilDate> = []
        for entry in file.holidays {
            guard let date = CivilDate(iso: entry.date) else {
                problems.append(.init("holidays", .invalidDate, entry.date, entry.name))
                continue
            }
            guard entry.kind == "libur_nasional" || entry.kind == "cuti_bersama" else {
                problems.append(.init("holidays", .invalidHolidayKind, entry.date))
                continue
            }
            dates.insert(date)
        }
        guard problems.isEmpty else { throw ConfigurationError(path: path, problems: problems) }
        return dates
    }

    private struct DeadlineFile: Decodable {
        struct Hours: Decodable {
            var opens: String
            var closes: String
        }
        struct Target: Decodable {
            var workingMinutes: Int?
            var hours: Int?
            var workingDays: Int?
            enum CodingKeys: String, CodingKey {
                case workingMinutes = "working_minutes"
                case hours
                case workingDays = "working_days"
            }
        }
        var utcOffsetMinutes: Int?
        var officeHours: Hours?
        var workingWeekdays: [Int]?
        var targets: [String: Target]
        var tiers: [String: Int]
        var defaultTier: String?
        enum CodingKeys: String, CodingKey {
            case utcOffsetMinutes = "utc_offset_minutes"
            case officeHours = "office_hours"
            case workingWeekdays = "working_weekdays"
            case targets, tiers
            case defaultTier = "default_tier"
        }
    }

    static func loadDeadlines(
        _ path: String,
        holidays: Set<CivilDate>
    ) throws(ConfigurationError) -> (WorkingCalendar, ServiceTargets) {
        try deadlines(try decode(DeadlineFile.self, from: path), holidays: holidays, path: path)
    }

    private static func deadlines(
        _ file: DeadlineFile,
        holidays: Set<CivilDate>,
        path: String
    ) throws(ConfigurationError) -> (WorkingCalendar, ServiceTargets) {
        var problems: [ConfigurationProblem] = []
        func minute(_ text: String, _ key: String) -> Int? {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
                (0..<60).contains(minute)
            else {
                problems.append(.init(key, .invalidTimeOfDay, text))
                return nil
            }
            return hour * 60 + minute
        }
        var calendar = WorkingCalendar(holidays: holidays)
        if let offset = file.utcOffsetMinutes {
            if (-720...840).contains(offset) {
                calendar.utcOffsetMinutes = offset
            } else {
                problems.append(.init("utc_offset_minutes", .utcOffsetOutOfRange))
            }
        }
        if let hours = file.officeHours, let opens = minute(hours.opens, "office_hours.opens"),
            let closes = minute(hours.closes, "office_hours.closes")
        {
            if closes <= opens { problems.append(.init("office_hours.closes", .closesBeforeOpens)) }
            calendar.opensAtMinute = opens
            calendar.closesAtMinute = closes
        }
        if let weekdays = file.workingWeekdays {
            if weekdays.isEmpty || !weekdays.allSatisfy((1...7).contains) {
                problems.append(.init("working_weekdays", .invalidWeekdays))
            }
            calendar.workingWeekdays = Set(weekdays)
        }
        var targets = ServiceTargets()
        func target(_ key: String) -> ServiceTarget? {
            guard let entry = file.targets[key] else {
                problems.append(.init("targets.\(key)", .missingEntry))
                return nil
            }
            let given = [
                entry.workingMinutes.map(ServiceTarget.workingMinutes), entry.hours.map(ServiceTarget.hours),
                entry.workingDays.map(ServiceTarget.workingDays),
            ].compactMap { $0 }
            guard given.count == 1 else {
                problems.append(.init("targets.\(key)", .targetUnitAmbiguous))
                return nil
            }
            // Bounded, so that no deadline computation can run away.
            let inRange =
                switch given[0] {
                case .workingMinutes(let minutes): (1...100_000).contains(minutes)
                case .hours(let hours): (1...10_000).contains(hours)
                case .workingDays(let days): (1...365).contains(days)
                }
            guard inRange else {
                problems.append(.init("targets.\(key)", .targetOutOfRange))
                return nil
            }
            return given[0]
        }
        for key in file.targets.keys where !["verify", "dispatch", "acknowledge"].contains(key) {
            problems.append(.init("targets.\(key)", .unknownEntry, "verify", "dispatch", "acknowledge"))
        }
        if let verify = target("verify") { targets.verify = verify }
        if let dispatch = target("dispatch") { targets.dispatch = dispatch }
        if let acknowledge = target("acknowledge") { targets.acknowledge = acknowledge }
        var tiers: [DeadlineTier: Int] = [:]
        for (name, days) in file.tiers {
            guard let tier = DeadlineTier(codeName: name) else {
                problems.append(.init("tiers.\(name)", .unknownEntry, values: DeadlineTier.codeNames.sorted()))
                continue
            }
            if !(1...365).contains(days) { problems.append(.init("tiers.\(name)", .tierDaysOutOfRange)) }
            tiers[tier] = days
        }
        for tier in DeadlineTier.allCases where tiers[tier] == nil {
            problems.append(.init("tiers.\(tier.codeName)", .missingEntry))
        }
        targets.followUpWorkingDays = tiers
        if let name = file.defaultTier {
            if let tier = DeadlineTier(codeName: name) {
                targets.defaultTier = tier
            } else {
                problems.append(.init("default_tier", .unknownDefaultTier, name))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(path: path, problems: problems) }
        return (calendar, targets)
    }

    private struct RoutingFile: Decodable {
        struct Entry: Decodable {
            var office: String
            var keywords: [String]
            var weight: Int?
        }
        var rules: [Entry]
    }

    static func loadRouting(_ path: String, offices: Set<NodeID>) throws(ConfigurationError) -> RoutingRules {
        try routing(try decode(RoutingFile.self, from: path), offices: offices, path: path)
    }

    private static func routing(
        _ file: RoutingFile,
        offices: Set<NodeID>,
        path: String
    ) throws(ConfigurationError) -> RoutingRules {
        var problems: [ConfigurationProblem] = []
        var rules: [RoutingRules.Rule] = []
        for entry in file.rules {
            guard let office = try? NodeID(entry.office), offices.contains(office) else {
                problems.append(.init("rules", .unknownRoutingOffice, entry.office))
                continue
            }
            rules.append(.init(office: office, keywords: entry.keywords, weight: entry.weight ?? 1))
        }
        guard problems.isEmpty else { throw ConfigurationError(path: path, problems: problems) }
        return RoutingRules(rules: rules)
    }

    static func loadScreening(_ path: String) throws(ConfigurationError) -> ScreeningRules {
        try screening(try decode([String: [String]].self, from: path), path: path)
    }

    private static func screening(
        _ file: [String: [String]],
        path: String
    ) throws(ConfigurationError)
        -> ScreeningRules
    {
        var problems: [ConfigurationProblem] = []
        var lists: [ScreeningRules.Kind: [String]] = [:]
        for (name, phrases) in file.sorted(by: { $0.key < $1.key }) {
            guard let kind = ScreeningRules.Kind(rawValue: name) else {
                problems.append(.init(name, .unknownEntry, values: ScreeningRules.Kind.allCases.map(\.rawValue)))
                continue
            }
            lists[kind] = phrases
        }
        guard problems.isEmpty else { throw ConfigurationError(path: path, problems: problems) }
        return ScreeningRules(lists: lists)
    }
}
