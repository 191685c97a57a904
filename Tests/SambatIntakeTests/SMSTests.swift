import Foundation
import SambatCore
import SambatIntake
import Testing

/// SMS parts: splitting replies, reading concatenation headers, joining inbound parts.
@Suite struct SMSTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)

    @Test func shortTextsAreOnePartAndLongOnesSplitWithoutBreakingCharacters() {
        let short = SMSSegments("Tiket MJK-261129-0001 diterima.")
        #expect(short.coding == .gsm && short.parts.count == 1)
        let exact = SMSSegments(String(repeating: "a", count: 160))
        #expect(exact.parts.count == 1)
        let long = SMSSegments(String(repeating: "a", count: 161))
        #expect(long.parts.map(\.count) == [153, 8])
        // "€" takes two septets: 80 of them are 160 septets, one part; 81 need two.
        #expect(SMSSegments(String(repeating: "€", count: 80)).parts.count == 1)
        #expect(SMSSegments(String(repeating: "€", count: 81)).parts.map(\.count) == [76, 5])
        let unicode = SMSSegments("Terima kasih 🙏 " + String(repeating: "x", count: 60))
        #expect(unicode.coding == .unicode && unicode.parts.count == 2)
        #expect(unicode.parts.joined() == "Terima kasih 🙏 " + String(repeating: "x", count: 60))
        for part in unicode.parts { #expect(part.utf16.count <= 67) }
        let huge = SMSSegments(String(repeating: "b", count: 2_000))
        #expect(huge.parts.count == SMSSegments.maximumParts)
        #expect(huge.parts.last?.hasSuffix("...") == true && huge.parts.last?.count == 153)
    }

    @Test func concatenationHeadersAreReadInBothForms() {
        #expect(SMSSegments.header(reference: 0x2A, count: 3, position: 2) == "0500032A0302")
        let eight = SMSAssembly.concatenation(udh: "0500032A0302")
        #expect(eight?.reference == 0x2A && eight?.count == 3 && eight?.position == 2)
        let sixteen = SMSAssembly.concatenation(udh: "060804BEEF0201")
        #expect(sixteen?.reference == 0xBEEF && sixteen?.count == 2 && sixteen?.position == 1)
        #expect(SMSAssembly.concatenation(udh: "") == nil)
        #expect(SMSAssembly.concatenation(udh: "05000") == nil)  // odd hex
        #expect(SMSAssembly.concatenation(udh: "0500032A") == nil)  // shorter than it says
        #expect(SMSAssembly.concatenation(udh: "0424021234") == nil)  // another element only
    }

    static func part(
        _ id: Int64,
        _ text: String?,
        udh: String = "",
        sender: String = "+6281234560101",
        age: Int64 = 0
    )
        -> InboxPart
    {
        InboxPart(
            id: id,
            sender: sender,
            text: text,
            udh: udh,
            storedAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - age * 1_000)
        )
    }

    @Test func partsJoinInOrderAndIncompleteMessagesWait() {
        let parts = [
            Self.part(7, "kedua ", udh: "0500031F0302"), Self.part(5, "Halo"),
            Self.part(6, "pertama ", udh: "0500031F0301"),
            Self.part(9, "lain", udh: "050003200301", sender: "+6285700000000"),
        ]
        let first = SMSAssembly.assemble(parts, now: Self.now, orphanTimeout: .seconds(600))
        #expect(first.messages.map(\.text) == ["Halo"])
        #expect(Set(first.waiting.map(\.id)) == [6, 7, 9])

        let third = Self.part(8, "ketiga", udh: "0500031F0303")
        let second = SMSAssembly.assemble(first.waiting + [third], now: Self.now, orphanTimeout: .seconds(600))
        #expect(second.messages.map(\.text) == ["pertama kedua ketiga"])
        #expect(second.messages.first?.partIDs == [6, 7, 8])
        #expect(second.messages.first?.externalID == "gammu-6")
        #expect(second.messages.first?.isIncomplete == false)
        #expect(second.waiting.map(\.id) == [9])
    }

    @Test func anOrphanedPartIsDeliveredAfterTheWaitAndNothingIsLost() {
        let parts = [
            Self.part(3, "awal ", udh: "050003440301", age: 601), Self.part(4, "akhir", udh: "050003440303", age: 2),
        ]
        let result = SMSAssembly.assemble(parts, now: Self.now, orphanTimeout: .seconds(600))
        #expect(result.waiting.isEmpty)
        #expect(result.messages.map(\.text) == ["awal […]akhir"])
        #expect(result.messages.first?.isIncomplete == true)
        #expect(result.messages.first?.partIDs == [3, 4])
    }

    @Test func undecodableTextAndResentPartsAreKept() {
        let parts = [
            Self.part(1, nil), Self.part(2, "a", udh: "050003100201"), Self.part(3, "a", udh: "050003100201"),
            Self.part(4, "b", udh: "050003100202"),
        ]
        let result = SMSAssembly.assemble(parts, now: Self.now, orphanTimeout: .seconds(600))
        #expect(result.messages.map(\.text) == ["[?]", "ab"])
        #expect(result.messages.first?.hadUndecodableText == true)
        #expect(result.messages.last?.partIDs == [2, 4, 3], "the resent copy is processed with its message")
    }
}
