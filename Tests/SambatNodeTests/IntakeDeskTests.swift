import Foundation
import SambatCore
import SambatNode
import SambatStore
import SambatWire
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
        #expect(error?.problems.count == 3)
        #expect(error?.description.contains("12345") == false)  // never echoes the identity
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

/// Starting a node: locks and data directories.
@Suite struct NodeRuntimeTests {
    @Test func aSecondNodeOnTheSameDataDirectoryIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try DataDirectoryLock(path: scratch.file("sambat.lock"))
        let error = #expect(throws: DataDirectoryLock.Failure.self) {
            try DataDirectoryLock(path: scratch.file("sambat.lock"))
        }
        #expect(error?.description.contains("pid \(getpid())") == true)
        withExtendedLifetime(first) {}
    }

    @Test func aDataDirectoryOfAnotherNodeIsRefused() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = try scratch.keyFile("k.key")
        var environment = Repository.referenceOverrides
        environment.removeValue(forKey: "SAMBAT_REFERENCE_ROUTING")
        environment["SAMBAT_NODE_KEY_FILE"] = key.path
        environment["SAMBAT_NODE_DATA_DIR"] = scratch.file("data")
        environment["SAMBAT_CENTRAL_PUBLIC_KEY"] = key.pair.publicKey
        let dpupr = try await NodeConfigLoader.load(
            path: Repository.config("office-dpupr.yaml"),
            environment: environment
        )
        _ = try NodeRuntime.openStore(dpupr, create: true)
        let dlh = try await NodeConfigLoader.load(path: Repository.config("office-dlh.yaml"), environment: environment)
        let error = #expect(throws: NodeStartError.self) { try NodeRuntime.openStore(dlh, create: false) }
        #expect(error?.description.contains("dpupr") == true)
    }
}
