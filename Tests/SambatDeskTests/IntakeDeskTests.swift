import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// Central's intake: identity sealed at central, masked text and a pseudonym in the op.
@Suite struct IntakeDeskTests {
    static var central: NodeID { get throws { try NodeID("central") } }
    static var operatorAccount: ActorID { get throws { try ActorID("op.rina") } }

    static func desk(_ scratch: Scratch) throws -> (IntakeDesk, Store) {
        let store = try Store.open(
            StoreConfiguration(path: scratch.file("central.sqlite")),
            identity: NodeIdentity(node: try central, role: .central, central: try central)
        )
        let key = Array(repeating: UInt8(42), count: 32)
        return (try IntakeDesk(store: store, identityKey: key, calendar: WorkingCalendar()), store)
    }

    static let complaint = IntakeComplaint(
        channel: .phone,
        name: "Siti Rahayu",
        nik: "3576014506880002",
        phone: "+6281233445566",
        text: "Jalan di depan rumah saya berlubang besar. Saya Siti Rahayu NIK 3576014506880002, hp 0812-3344-5566.",
        location: "Jl. Majapahit, dekat rumah Siti"
    )

    @Test func aComplaintOpensACaseWithoutAnyPersonalData() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (desk, store) = try Self.desk(scratch)
        let now = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)
        let registered = try await desk.register(Self.complaint, actor: try Self.operatorAccount, at: now)
        let day = WorkingCalendar().localDate(of: now)
        #expect(registered.caseID.rawValue.hasPrefix("MJK-\(String(day.year).suffix(2))"))
        let ops = try await store.ops(ofCase: registered.caseID)
        #expect(ops.count == 1)
        guard case .opened(let opened)? = ops.first?.sealed.op.body else {
            Issue.record("not an opened op")
            return
        }
        #expect(opened.reporterRef == registered.reporterRef)
        let opBytes = String(decoding: ops[0].sealed.bytes, as: UTF8.self)
        for secret in ["Siti", "Rahayu", "3576014506880002", "3344", "5566", "81233445566"] {
            #expect(!opBytes.contains(secret), "op bytes leak \(secret)")
        }
        #expect(opened.text.hasPrefix("Jalan di depan rumah saya berlubang besar."))
        #expect(opened.location == "Jl. Majapahit, dekat rumah \(PIIMasker.nameMask)")
        // The identity is at central, sealed, and comes back with the key.
        let cipher = try IdentityCipher(keyBytes: Array(repeating: 42, count: 32))
        let identity = try await store.reporter(ref: registered.reporterRef, cipher: cipher)
        #expect(identity?.nik == "3576014506880002")
        // The same reporter calling again gets the same reference and the next ticket number.
        let again = try await desk.register(Self.complaint, actor: try Self.operatorAccount, at: now)
        #expect(again.reporterRef == registered.reporterRef)
        #expect(again.caseID != registered.caseID)
        #expect(again.caseID.rawValue.hasSuffix("0002"))
    }

    @Test func aBadComplaintIsRefusedAndNothingIsWritten() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (desk, store) = try Self.desk(scratch)
        var complaint = Self.complaint
        complaint.nik = "12345"
        complaint.phone = "abc"
        complaint.name = " "
        let error = await #expect(throws: IntakeError.self) {
            try await desk.register(complaint, actor: try Self.operatorAccount, at: Timestamp.now)
        }
        #expect(error?.problems.map(\.field) == [.name, .nik, .phone])
        #expect(error?.problems.allSatisfy { $0.code == .invalid } == true)
        #expect(error?.description.contains("12345") == false)  // never echoes the identity
        #expect(error.map(Presentation.render)?.contains("12345") == false)
        #expect(try await store.caseIDs().isEmpty)
    }

    @Test func onlyCentralTakesComplaints() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let office = try Store.open(
            StoreConfiguration(path: scratch.file("office.sqlite")),
            identity: NodeIdentity(node: try NodeID("dpupr"), role: .office, central: try Self.central)
        )
        let desk = try IntakeDesk(
            store: office,
            identityKey: Array(repeating: 1, count: 32),
            calendar: WorkingCalendar()
        )
        await #expect(throws: StoreError.self) {
            try await desk.register(Self.complaint, actor: try Self.operatorAccount, at: Timestamp.now)
        }
        #expect(try await office.caseIDs().isEmpty)
    }
}
