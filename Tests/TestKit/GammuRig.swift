public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Gammu SMSD set-up in a scratch directory for tests: database from Gammu's own schema, the
/// dummy phone's folders and an smsdrc.
public struct GammuRig {
    /// Gammu's schema as Debian ships it (version 17).
    public static let schema = "/usr/share/doc/gammu-smsd/examples/sqlite.sql"

    /// The scratch directory holding it all.
    public let scratch: Scratch
    /// Gammu's SQLite database.
    public var database: String { scratch.file("smsd.db") }
    /// The dummy phone's inbox folder.
    public var inbox: String { scratch.file("dummy/sms/1") }

    /// Creates the database, the folders and the smsdrc.
    public init() throws {
        scratch = try Scratch()
        for folder in 1...5 {
            try FileManager.default.createDirectory(
                atPath: scratch.file("dummy/sms/\(folder)"),
                withIntermediateDirectories: true
            )
        }
        guard FileManager.default.fileExists(atPath: GammuRig.schema) else {
            throw ProcessTestKit.Failure("gammu-smsd is not installed (make test installs it)")
        }
        let created = try ProcessTestKit.runBlocking(
            "/usr/bin/sqlite3",
            [database, ".read \(GammuRig.schema)"]
        )
        guard created.status == 0 else { throw ProcessTestKit.Failure("sqlite3: \(created.output)") }
        _ = try scratch.write(
            "smsdrc",
            """
            [gammu]
            model = dummy
            connection = none
            device = \(scratch.file("dummy"))
            [smsd]
            service = sql
            driver = sqlite3
            database = smsd.db
            dbdir = \(scratch.path)/
            commtimeout = 1
            receivefrequency = 1
            checksecurity = 0
            checkbattery = 0
            checksignal = 0
            logfile = \(scratch.file("smsd.log"))
            """
        )
    }

    /// Drops an SMS into the dummy phone, in Gammu's backup format (UTF-16BE hex lines).
    public func inject(_ text: String, from number: String, slot: Int) throws {
        let hex = text.utf16.map { unit in
            let digits = String(unit, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }.joined()
        var lines = [
            "[SMSBackup000]", "SMSC = \"+6281100000\"", "State = UnRead", "Number = \"\(number)\"",
            "Coding = Default", "Folder = 1", "Sent = 20261203T093000",
        ]
        var index = hex.startIndex
        var line = 0
        while index < hex.endIndex {
            let end = hex.index(index, offsetBy: 200, limitedBy: hex.endIndex) ?? hex.endIndex
            lines.append(String(format: "Text%02d = ", line) + hex[index..<end])
            index = end
            line += 1
        }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: inbox + "/\(slot)",
            atomically: true,
            encoding: .utf8
        )
    }

    /// Starts the daemon; stop it with ``Foundation/Process/killAndWait()``.
    public func start() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gammu-smsd")
        process.arguments = ["-c", scratch.file("smsdrc")]
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

extension Process {
    /// Kills a child with SIGKILL and waits for it: children of the test runner inherit its
    /// blocked signal mask, so a daemon such as gammu-smsd never sees a SIGTERM.
    public func killAndWait() {
        kill(processIdentifier, SIGKILL)
        waitUntilExit()
    }
}
