import Foundation
import SambatTestKit
import Testing

/// The install guide in docs/operations.md, followed step by step by a script in a fresh
/// directory: configs written for central, an office and the mayor, enrolment, three running
/// nodes, accounts, a complaint dispatched to the office, readiness, metrics and a backup.
@Suite(.timeLimit(.minutes(3))) struct InstallGuideTests {
    @Test func theInstallGuideWorksWhenFollowedStepByStep() async throws {
        let script = ProcessTestKit.repositoryRoot.appendingPathComponent("Tests/Guide/install_guide.sh").path
        let result = try await ProcessTestKit.run(
            "/bin/bash",
            [script, try ProcessTestKit.sambatBinary()],
            removing: ["SAMBAT_CONFIG", "SAMBAT_ACTOR"]
        )
        #expect(result.status == 0, "\(result.output)\n\(result.errors)")
        #expect(result.output.contains("guide: ok"), "\(result.output)\n\(result.errors)")
    }
}
