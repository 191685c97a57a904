/// Word lists that flag a complaint for the operator's attention: SARA, hoax, insult, or a
/// matter outside the city's remit.
///
/// A flag never archives anything: keyword lists have false positives (the "Scunthorpe
/// problem"), so a person reads the complaint and decides, with a coded archive reason.
/// Loaded from `Config/screening.yaml` at central; matching is by whole words, as for
/// ``RoutingRules``. Pure.
public struct ScreeningRules: Hashable, Sendable {
    /// What a flag says about a complaint; the same codes as the matching archive reasons.
    public enum Kind: String, CaseIterable, Hashable, Sendable {
        /// Ethnic, religious, racial or inter-group provocation.
        case sara
        /// Looks like a hoax.
        case hoax
        /// Insulting.
        case insult
        /// Probably not a matter for the city government.
        case outOfRemit = "out_of_remit"

        /// The archive reason a person would choose if they agree.
        public var archiveReason: ArchiveReason {
            switch self {
            case .sara: .sara
            case .hoax: .hoax
            case .insult: .insult
            case .outOfRemit: .outOfRemit
            }
        }
    }

    /// A raised flag with the words that raised it, for the operator to judge.
    public struct Flag: Hashable, Sendable {
        /// The kind.
        public let kind: Kind
        /// The listed words or phrases found.
        public let matched: [String]
    }

    /// The lowercase words and phrases of each kind.
    public var lists: [Kind: [String]]

    /// Rules from lists; phrases are lowercased, empty ones dropped.
    public init(lists: [Kind: [String]] = [:]) {
        self.lists = lists.mapValues { $0.map { $0.lowercased() }.filter { !$0.isEmpty } }
    }

    /// The flags `text` raises, in ``Kind`` order.
    public func flags(for text: String) -> [Flag] {
        let words = RoutingRules.words(of: text)
        return Kind.allCases.compactMap { kind in
            let matched = (lists[kind] ?? []).filter {
                RoutingRules.contains(phrase: RoutingRules.words(of: $0), in: words)
            }
            return matched.isEmpty ? nil : Flag(kind: kind, matched: matched)
        }
    }
}
