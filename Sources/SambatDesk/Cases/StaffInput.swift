import Foundation
public import SambatCore

/// Parses what staff type (ticket numbers, office codes, coded reasons, texts) into domain
/// values, refusing with a ``DeskError`` that names the field.
///
/// Every front door parses through here, so the CLI and the consoles accept and refuse the
/// same inputs.
public enum StaffInput {
    /// A ticket number; lower case is accepted.
    public static func caseID(_ text: String) throws(DeskError) -> CaseID {
        do {
            return try CaseID(text.trimmingCharacters(in: .whitespaces).uppercased())
        } catch {
            var refused = DeskError(.invalidCaseID)
            refused.value = String(text.prefix(40))
            throw refused
        }
    }

    /// An office or node code.
    public static func nodeID(_ text: String) throws(DeskError) -> NodeID {
        do {
            return try NodeID(text)
        } catch {
            var refused = DeskError(.invalidNodeID)
            refused.value = String(text.prefix(40))
            throw refused
        }
    }

    /// A staff account id.
    public static func actor(_ text: String) throws(DeskError) -> ActorID {
        do {
            return try ActorID(text)
        } catch {
            var refused = DeskError(.invalidActor)
            refused.value = String(text.prefix(80))
            throw refused
        }
    }

    /// A `YYYY-MM-DD` date.
    public static func date(_ text: String) throws(DeskError) -> CivilDate {
        guard let date = CivilDate(iso: text) else {
            var refused = DeskError(.invalidDate)
            refused.value = String(text.prefix(40))
            throw refused
        }
        return date
    }

    /// A coded value by its machine name.
    public static func code<Value: CodeNamed>(
        _ text: String,
        as type: Value.Type = Value.self,
        field: DeskError.Field
    ) throws(DeskError) -> Value {
        guard let value = Value(codeName: text) else {
            throw .unknownValue(field, String(text.prefix(40)), allowed: Value.codeNames.sorted())
        }
        return value
    }

    /// A staff-typed text: trimmed, phone numbers and NIKs masked, within the op limit.
    ///
    /// - Throws: ``DeskError/Code/emptyText`` or ``DeskError/Code/textTooLong``.
    public static func text(
        _ text: String,
        field: DeskError.Field,
        allowEmpty: Bool = false,
        limit: Int = OpLimits.maximumShortText
    ) throws(DeskError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty, !allowEmpty {
            var refused = DeskError(.emptyText)
            refused.field = field
            throw refused
        }
        let masked = PIIMasker.mask(trimmed)
        guard masked.utf8.count <= limit else {
            var refused = DeskError(.textTooLong)
            refused.field = field
            refused.limit = limit
            throw refused
        }
        return masked
    }
}
