public import SambatCore

/// One row of Gammu's `inbox`: a single SMS part.
public struct InboxPart: Hashable, Sendable {
    /// Gammu's row id.
    public let id: Int64
    /// The sender's number as the network gave it.
    public let sender: String
    /// The decoded text; `nil` when Gammu stored bytes that are not valid text.
    public let text: String?
    /// The user data header in hex; empty for a single-part SMS.
    public let udh: String
    /// When the row entered Gammu's database (Gammu's own clock, UTC), not the sender
    /// network's time.
    public let storedAt: Timestamp

    /// A part.
    public init(id: Int64, sender: String, text: String?, udh: String, storedAt: Timestamp) {
        self.id = id
        self.sender = sender
        self.text = text
        self.udh = udh
        self.storedAt = storedAt
    }
}

/// A whole SMS, joined from its parts.
public struct AssembledSMS: Hashable, Sendable {
    /// The sender.
    public let sender: String
    /// The text, parts joined in order; a missing part shows as "[…]".
    public let text: String
    /// Gammu's row ids of every part used, in part order: the dedupe key and what to mark
    /// processed once the message is stored.
    public let partIDs: [Int64]
    /// Some parts never came (an orphaned multipart message given up on after the wait).
    public let isIncomplete: Bool
    /// Some part held bytes that were not valid text; they show as "[?]".
    public let hadUndecodableText: Bool

    /// A stable id for the message, unique per Gammu database: the first part's row id.
    public var externalID: String { "gammu-" + (partIDs.first.map(String.init) ?? "0") }
}

/// Joins SMS parts into whole messages, by the concatenation reference in their headers.
///
/// Stateless between polls: Gammu's `inbox` is the buffer. Parts stay unprocessed there until
/// their message is whole (or has waited longer than `orphanTimeout`), so a crash loses
/// nothing; the caller stores each assembled message, then marks its parts processed. Pure.
public enum SMSAssembly {
    /// The concatenation reference, count and position in a part's header, or `nil` for a
    /// single-part SMS (or a header without a concatenation element).
    public static func concatenation(udh: String) -> (reference: Int, count: Int, position: Int)? {
        guard let bytes = Hex.decode(udh), let length = bytes.first, bytes.count >= Int(length) + 1 else { return nil }
        var index = 1
        let end = Int(length) + 1
        while index + 1 < end {
            let element = bytes[index]
            let size = Int(bytes[index + 1])
            let body = index + 2
            guard body + size <= end else { return nil }
            if element == 0x00, size == 3 {
                return (Int(bytes[body]), Int(bytes[body + 1]), Int(bytes[body + 2]))
            }
            if element == 0x08, size == 4 {
                return (Int(bytes[body]) << 8 | Int(bytes[body + 1]), Int(bytes[body + 2]), Int(bytes[body + 3]))
            }
            index = body + size
        }
        return nil
    }

    /// The messages complete (or given up on) among `parts`, and the parts still waiting.
    ///
    /// - Parameters:
    ///   - parts: every unprocessed row, in any order.
    ///   - now: the current time.
    ///   - orphanTimeout: how long a multipart message may wait for its missing parts before
    ///     what arrived is delivered as an incomplete message.
    /// - Returns: the messages to store, in order of their first part, and the parts to leave
    ///   unprocessed until the next poll.
    public static func assemble(
        _ parts: [InboxPart],
        now: Timestamp,
        orphanTimeout: Duration
    ) -> (messages: [AssembledSMS], waiting: [InboxPart]) {
        struct Key: Hashable {
            let sender: String
            let reference: Int
            let count: Int
        }
        var messages: [AssembledSMS] = []
        var groups: [Key: [(position: Int, part: InboxPart)]] = [:]
        var order: [Key] = []
        for part in parts.sorted(by: { $0.id < $1.id }) {
            guard let header = concatenation(udh: part.udh), header.count > 1,
                (1...header.count).contains(header.position)
            else {
                messages.append(
                    AssembledSMS(
                        sender: part.sender,
                        text: part.text ?? "[?]",
                        partIDs: [part.id],
                        isIncomplete: false,
                        hadUndecodableText: part.text == nil
                    )
                )
                continue
            }
            let key = Key(sender: part.sender, reference: header.reference, count: header.count)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append((header.position, part))
        }
        let timeout = orphanTimeout.components.seconds * 1_000
        var waiting: [InboxPart] = []
        for key in order {
            guard let members = groups[key] else { continue }
            // A repeated position (a resend) keeps its first copy.
            var byPosition: [Int: InboxPart] = [:]
            for member in members where byPosition[member.position] == nil { byPosition[member.position] = member.part }
            let complete = byPosition.count == key.count
            let oldest = members.map(\.part.storedAt.millisecondsSinceEpoch).min() ?? now.millisecondsSinceEpoch
            guard complete || now.millisecondsSinceEpoch - oldest >= timeout else {
                waiting += members.map(\.part)
                continue
            }
            var text = ""
            var undecodable = false
            for position in 1...key.count {
                guard let part = byPosition[position] else {
                    text += "[…]"
                    continue
                }
                if let partText = part.text {
                    text += partText
                } else {
                    text += "[?]"
                    undecodable = true
                }
            }
            let used = (1...key.count).compactMap { byPosition[$0]?.id }
            // Duplicates of a position are processed with the message so they are not re-read.
            let duplicates = members.map(\.part.id).filter { !used.contains($0) }
            messages.append(
                AssembledSMS(
                    sender: key.sender,
                    text: text,
                    partIDs: used + duplicates,
                    isIncomplete: !complete,
                    hadUndecodableText: undecodable
                )
            )
        }
        messages.sort { ($0.partIDs.first ?? 0) < ($1.partIDs.first ?? 0) }
        return (messages, waiting)
    }
}
