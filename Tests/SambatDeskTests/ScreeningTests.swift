import Foundation
import SambatCore
import SambatDesk
import SambatTestKit
import Testing

/// The shipped screening lists flag the sample complaints a person would flag, and no other.
@Suite struct ScreeningTests {
    struct Sample: Decodable {
        let id: String
        let text: String
        let flags: [String]
    }

    static let root = ProcessTestKit.repositoryRoot

    static func reference() throws -> ReferenceData {
        func config(_ name: String) -> String { root.appendingPathComponent("Config/\(name)").path }
        return try ReferenceData.load(
            ReferenceFiles(
                directory: config("opd-directory.yaml"),
                deadlines: config("deadlines.yaml"),
                holidays: config("holidays.yaml"),
                routing: config("routing.yaml"),
                screening: config("screening.yaml")
            )
        )
    }

    @Test func theSampleComplaintsAreFlaggedAsTheirLabelsSay() throws {
        let file = Self.root.deletingLastPathComponent().appendingPathComponent("shared/data/complaints-sample.jsonl")
        let samples = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Sample.self, from: Data($0.utf8))
        }
        let screening = try Self.reference().screening
        for sample in samples {
            // Flags read the masked text, as they do at central.
            let flags = screening.flags(for: PIIMasker.mask(sample.text)).map(\.kind.rawValue)
            #expect(flags == sample.flags, "\(sample.id): \(flags)")
        }
    }

    @Test func aFlagNamesTheWordsAndAnUnknownListIsRefused() throws {
        let rules = ScreeningRules(lists: [.insult: ["Goblok"], .sara: ["etnis tertentu"]])
        let flags = rules.flags(for: "Petugasnya goblok, etnis tertentu selalu didahulukan")
        #expect(flags.map(\.kind) == [.sara, .insult])
        #expect(flags.last?.matched == ["goblok"])
        #expect(Presentation.label(flags) == "SARA (etnis tertentu); penghinaan (goblok)")
        #expect(rules.flags(for: "goblokan").isEmpty, "whole words only")
        let error = #expect(throws: ConfigurationError.self) {
            try ReferenceData.check(.screening, yaml: "sara: [a]\nrude: [b]\n")
        }
        #expect(error?.problems.map(\.key) == ["rude"])
        #expect(error?.problems.first?.code == .unknownEntry)
    }
}
