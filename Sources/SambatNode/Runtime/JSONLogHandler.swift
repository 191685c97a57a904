import Foundation
public import Logging

/// Writes each log event to standard error as one JSON object per line, for log shippers
/// (`node.log_format: json`).
///
/// Owned by the `Logger` of `sambat run`. The fields are `time` (UTC, ISO 8601 with
/// milliseconds), `level`, `label`, `message` and the event's metadata as strings; the node's
/// log lines carry node ids, codes and counts, never a reporter's data.
public struct JSONLogHandler: LogHandler {
    /// The least severe level written (`node.log_level`).
    public var logLevel: Logger.Level = .info
    /// Metadata on every line of this logger, such as `node`.
    public var metadata: Logger.Metadata = [:]
    /// Adds metadata from the task's context, if set.
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    /// A handler for loggers labelled `label`.
    public init(label: String) {
        self.label = label
    }

    /// One metadata value of this logger.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes `event` as one line of JSON.
    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        for (key, value) in metadataProvider?.get() ?? [:] { fields[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        fields["time"] = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = event.message.description
        Self.write(fields)
    }

    /// One line per event, handed to the kernel whole, so lines of concurrent tasks do not mix.
    static func write(_ fields: [String: String]) {
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        try? FileHandle.standardError.write(contentsOf: line)
    }
}
