/// Keyword rules that suggest which office should handle a complaint; the operator decides.
///
/// Loaded from `Config/routing.yaml` at central. Each keyword or phrase found in the text as
/// whole words adds its rule's weight to the office; the best score wins, and a tie names
/// every office in it, best first by name.
public struct RoutingRules: Hashable, Sendable {
    /// One office's keywords.
    public struct Rule: Hashable, Sendable {
        /// The office suggested.
        public var office: NodeID
        /// Lowercase words or phrases.
        public var keywords: [String]
        /// What each match adds to the office's score.
        public var weight: Int

        /// Creates a rule; keywords are lowercased.
        public init(office: NodeID, keywords: [String], weight: Int = 1) {
            self.office = office
            self.keywords = keywords.map { $0.lowercased() }.filter { !$0.isEmpty }
            self.weight = weight
        }
    }

    /// The rules, in file order.
    public var rules: [Rule]

    /// Wraps rules.
    public init(rules: [Rule]) { self.rules = rules }

    /// A suggestion: an office, its score and the keywords that matched.
    public struct Suggestion: Hashable, Sendable {
        /// The office.
        public let office: NodeID
        /// The summed weight of its matches.
        public let score: Int
        /// What matched, for the operator to judge.
        public let matched: [String]
    }

    /// The best-scoring offices for `text` (empty when nothing matched).
    public func suggest(for text: String) -> [Suggestion] {
        let words = Self.words(of: text)
        var scores: [NodeID: (score: Int, matched: [String])] = [:]
        for rule in rules {
            for keyword in rule.keywords where Self.contains(phrase: Self.words(of: keyword), in: words) {
                scores[rule.office, default: (0, [])].score += rule.weight
                scores[rule.office, default: (0, [])].matched.append(keyword)
            }
        }
        guard let best = scores.values.map(\.score).max(), best > 0 else { return [] }
        return scores.filter { $0.value.score == best }
            .map { Suggestion(office: $0.key, score: $0.value.score, matched: $0.value.matched) }
            .sorted { $0.office.rawValue < $1.office.rawValue }
    }

    static func words(of text: String) -> [Substring] {
        let lowered = text.lowercased()
        return lowered.split { !($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func contains(phrase: [Substring], in words: [Substring]) -> Bool {
        guard !phrase.isEmpty, phrase.count <= words.count else { return false }
        for start in 0...(words.count - phrase.count) where words[start] == phrase[0] {
            if zip(words[start..<(start + phrase.count)], phrase).allSatisfy({ $0 == $1 }) { return true }
        }
        return false
    }
}
