import SambatTestKit
import Testing

/// The process-wide SQLite settings a store makes before SQLite starts.
///
/// Checked in a child process: in the test process another test may open SQLite first.
@Suite struct SQLiteSettingsTests {
    @Test(.timeLimit(.minutes(1)))
    func aProcessWhoseFirstConnectionIsAStoreCountsNoSQLiteMemory() throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let churn = try ProcessTestKit.binary("sambat-store-churn")
        let run = try ProcessTestKit.runBlocking(churn, ["memory", directory + "/sambat.sqlite"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("sqlite counts no memory"), "\(run.output)")
    }
}
