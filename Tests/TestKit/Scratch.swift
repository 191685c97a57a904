import Foundation

/// A temporary directory for one test, removed by the test with ``remove()``.
public struct Scratch: Sendable {
    /// Its path.
    public let path: String

    /// Creates a fresh directory.
    public init() throws {
        path = NSTemporaryDirectory() + "sambat-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside it.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    /// Removes the directory and everything in it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
