import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// Messages as citizens send them: a number and some text become a case, join it, complete
/// its identity, confirm or dispute it; nothing is processed twice and nothing personal
/// reaches an op.
@Suite struct IntakeFlowTests {
    static let start = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)
    static let phone = "+6281334560103"
    static let key = Array(repeating: UInt8(9), count: 32)

    static func time(_ minutes: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + minutes * 60_000)
    }

    static func node(_ name: String) -> NodeID {
        guard let id = try? NodeID(name) else { preconditionFailure("\(name) is a valid node id") }
        return id
    }

    struct Central {
        let store: Store
        var desk: IntakeDesk
        let cipher: IdentityCipher

        init(_ scratch: Scratch, projectionDelay: Duration? = nil) throws {
            var configuration = StoreConfiguration(path: scratch.file("central.sqlite"))
            if let projectionDelay {
                configuration.projectionDelay = projectionDelay
                configuration.projectionQuiet = projectionDelay
            }
            store = try Store.open(
                configuration,
                identity: NodeIdentity(node: node("central"), role: .central, central: node("central"))
            )
            desk = try IntakeDesk(store: store, identityKey: IntakeFlowTests.key, calendar: WorkingCalendar())
            cipher = try IdentityCipher(keyBytes: IntakeFlowTests.key)
        }

        func message(_ id: String, _ text: String, from sender: String = IntakeFlowTests.phone) -> InboundMessage {
            InboundMessage(channel: .whatsapp, externalID: id, sender: sender, text: text)
        }

        func replies() async throws -> [OutboundMessage] {
            var all: [OutboundMessage] = []
            for caseID in try await store.caseIDs() { all += try await store.outbound(ofCase: caseID, cipher: cipher) }
            return all
        }

        /// Every op's canonical bytes, as offices and the mayor would hold them.
        func opBytes() async throws -> Data {
            var bytes = Data()
            for caseID in try await store.caseIDs() {
                for op in try await store.ops(ofCase: caseID) { bytes += Data(op.sealed.bytes) }
            }
            return bytes
        }
    }

    /// Siti's complaint typed by the operator, with her name and NIK.
    static func registerSiti(_ central: Central) async throws -> IntakeDesk.Registered {
        try await central.desk.register(
            IntakeComplaint(
                channel: .phone,
                name: "Siti Rahayu",
                nik: "3576014506880002",
                phone: Self.phone,
                text: "Jalan berlubang di depan pasar"
            ),
            actor: try ActorID("op.rina"),
            at: Self.start
        )
    }

    @Test func aFirstMessageOpensAPendingCaseAndTheIdentityReplyCompletesIt() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let text = "Lampu PJU di Jl. Gajah Mada mati seminggu. Saya Hendro, hp 081334560103."
        let opened = try await central.desk.receive(
            central.message("wamid.1", text),
            policy: IntakePolicy(),
            at: Self.start
        )
        guard case .opened(let caseID, awaitsIdentity: true) = opened else {
            Issue.record("not opened awaiting identity: \(opened)")
            return
        }
        var state = try #require(try await central.store.caseState(caseID))
        #expect(state.status == .pending)
        #expect(state.complaint?.text.contains("Hendro") == false)
        #expect(state.complaint?.text.contains("Gajah Mada") == true)
        var replies = try await central.replies()
        #expect(replies.map(\.idempotencyKey) == ["received:\(caseID)"])
        #expect(replies.first?.body.contains(caseID.rawValue) == true && replies.first?.body.contains("NIK") == true)
        #expect(replies.first?.recipient == Self.phone && replies.first?.channel == .whatsapp)

        // Meta delivers the same message again: nothing new.
        #expect(
            try await central.desk.receive(central.message("wamid.1", text), policy: IntakePolicy(), at: Self.time(1))
                == .duplicate
        )
        #expect(try await central.store.caseIDs() == [caseID])

        // A NIK with an impossible date: asked again, nothing recorded.
        let wrong = try await central.desk.receive(
            central.message("wamid.2", "Hendro 3576013102900001"),
            policy: IntakePolicy(),
            at: Self.time(2)
        )
        #expect(wrong == .identityAgain(caseID))
        #expect(try await central.store.caseState(caseID)?.status == .pending)

        let identity = try await central.desk.receive(
            central.message("wamid.3", "Nama: Hendro Wibowo, NIK: 3576 0108 0875 0001"),
            policy: IntakePolicy(),
            at: Self.time(3)
        )
        #expect(identity == .identityRecorded(caseID))
        state = try #require(try await central.store.caseState(caseID))
        #expect(state.status == .received)
        let referenceSecret = try #require(state.complaint?.reporterRef)
        let stored = try await central.store.reporter(ref: referenceSecret, cipher: central.cipher)
        #expect(stored?.name == "Hendro Wibowo" && stored?.nik == "3576010808750001" && stored?.phone == Self.phone)
        replies = try await central.replies()
        #expect(replies.map(\.idempotencyKey).contains("identity:\(caseID)"))

        // Nothing personal in any op: not the name, the NIK or the number.
        let bytes = try await central.opBytes()
        for secret in ["Hendro", "Wibowo", "3576010808750001", "3576013102900001", "81334560103"] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in an op")
        }
    }

    @Test func identityIsAskedForExceptInCategoriesTheCityExempts() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        var policy = IntakePolicy()
        policy.identityOptionalFor = [Self.node("perkim")]
        policy.routing = RoutingRules(rules: [
            .init(office: Self.node("perkim"), keywords: ["lampu jalan"]),
            .init(office: Self.node("dpupr"), keywords: ["berlubang"]),
        ])
        let samples: [(sender: String, text: String, awaits: Bool)] = [
            ("+6281200000001", "Lampu jalan mati di Wates", false),  // perkim only: exempt
            ("+6281200000002", "Jalan berlubang di Kranggan", true),  // dpupr: asked
            ("+6281200000003", "Tetangga berisik tiap malam", true),  // no category: asked
            ("+6281200000004", "Lampu jalan berlubang", true),  // a tie with dpupr: asked
        ]
        for (index, sample) in samples.enumerated() {
            let outcome = try await central.desk.receive(
                central.message("c\(index)", sample.text, from: sample.sender),
                policy: policy,
                at: Self.time(Int64(index))
            )
            guard case .opened(let caseID, let awaits) = outcome else {
                Issue.record("\(sample.text): \(outcome)")
                continue
            }
            #expect(awaits == sample.awaits, "\(sample.text)")
            let asked = try await central.store.outbound(ofCase: caseID, cipher: central.cipher)
                .contains { $0.body.contains("NIK") }
            #expect(asked == sample.awaits, "\(sample.text): the reply asks for NIK only when identity is needed")
        }
    }

    @Test func laterMessagesJoinAndANewComplaintKeywordOpensAnother() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false)
        let first = try await central.desk.receive(
            central.message("m1", "Sampah menumpuk di TPS Kenanga"),
            policy: policy,
            at: Self.start
        )
        guard case .opened(let caseID, awaitsIdentity: false) = first else {
            Issue.record("not opened: \(first)")
            return
        }
        #expect(try await central.store.caseState(caseID)?.status == .received)
        let joined = try await central.desk.receive(
            central.message("m2", "Sudah 5 hari, bau sekali"),
            policy: policy,
            at: Self.time(1)
        )
        #expect(joined == .joined(caseID))
        #expect(try await central.store.caseState(caseID)?.history.map(\.kind) == [.opened, .reporterWrote])
        let second = try await central.desk.receive(
            central.message("m3", "Aduan baru: lampu jalan mati"),
            policy: policy,
            at: Self.time(2)
        )
        #expect(second.caseID != nil && second.caseID != caseID)
        // Another sender's message never joins this reporter's case.
        let other = try await central.desk.receive(
            central.message("m4", "Jalan berlubang", from: "+6285700001111"),
            policy: policy,
            at: Self.time(3)
        )
        #expect(other.caseID != caseID && other.caseID != second.caseID)
        let empty = try await central.desk.receive(
            central.message("m5", "   ", from: "+6285700002222"),
            policy: policy,
            at: Self.time(4)
        )
        #expect(empty == .unusable)
    }

    /// The PDAM office's store, fed by central and uploading its progress to it, as sync would.
    struct Office {
        let store: Store
        private var feedPosition: UInt64 = 0

        init(_ scratch: Scratch, central: Central) async throws {
            store = try Store.open(
                StoreConfiguration(path: scratch.file("pdam.sqlite")),
                identity: NodeIdentity(node: node("pdam"), role: .office, central: node("central"))
            )
            try await central.store.enrolPeer(node("pdam"), role: .office, publicKey: "", at: IntakeFlowTests.start)
        }

        /// A complaint received by WhatsApp at `minute`, verified and dispatched to PDAM, and
        /// delivered to the office.
        mutating func dispatchedCase(_ id: String, at minute: Int64, central: Central) async throws -> CaseID {
            let outcome = try await central.desk.receive(
                central.message(id, "Pipa PDAM bocor di Jl. Hayam Wuruk \(id)"),
                policy: IntakePolicy(requireIdentity: false),
                at: IntakeFlowTests.time(minute)
            )
            let caseID = try #require(outcome.caseID)
            let operatorAccount = try ActorID("op.rina")
            _ = try await central.store.append(
                .verified(.init(tier: .ringan)),
                to: caseID,
                actor: operatorAccount,
                at: IntakeFlowTests.time(minute)
            )
            _ = try await central.store.append(
                .dispatched(.init(office: node("pdam"), epoch: 1)),
                to: caseID,
                actor: operatorAccount,
                at: IntakeFlowTests.time(minute)
            )
            let ops = try await central.store.ops(ofCase: caseID).sorted { $0.sealed.op.foldKey < $1.sealed.op.foldKey }
            _ = try await store.applyRemote(
                ops.map { RemoteOp($0.sealed, centralReceivedAt: $0.receivedAt) },
                from: .feed(from: node("central")),
                receivedAt: IntakeFlowTests.time(minute),
                feedPosition: feedPosition + UInt64(ops.count)
            )
            feedPosition += UInt64(ops.count)
            return caseID
        }

        /// The office's progress on `caseID` to resolved, authored at its store at `minute` and
        /// uploaded to central a minute later.
        func resolve(_ caseID: CaseID, at minute: Int64, central: Central) async throws {
            let officer = try ActorID("pdam.budi")
            for body in [OpBody.acknowledged, .started, .resolved(.init(summary: "Pipa diganti"))] {
                _ = try await store.append(body, to: caseID, actor: officer, at: IntakeFlowTests.time(minute))
            }
            let origin = try await store.currentOrigin()
            let own = try await store.ops(of: origin, after: try await central.store.frontier(of: origin), limit: 100)
            _ = try await central.store.applyRemote(
                own.map { RemoteOp($0.sealed) },
                from: .peer(node("pdam"), .office),
                receivedAt: IntakeFlowTests.time(minute + 1)
            )
        }
    }

    @Test func onAResolvedCaseSudahClosesAndBelumReopens() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false)
        var office = try await Office(scratch, central: central)
        func resolvedCase(_ id: String, at minute: Int64) async throws -> CaseID {
            let caseID = try await office.dispatchedCase(id, at: minute, central: central)
            try await office.resolve(caseID, at: minute + 1, central: central)
            #expect(try await central.store.caseState(caseID)?.status == .resolved)
            return caseID
        }
        let first = try await resolvedCase("r1", at: 0)
        // The reporter is told of the dispatch and of the follow-up, once each.
        _ = try await central.desk.notifyReporters(officeName: { _ in "PDAM" }, at: Self.time(5))
        _ = try await central.desk.notifyReporters(officeName: { _ in "PDAM" }, at: Self.time(6))
        let notices = try await central.store.outbound(ofCase: first, cipher: central.cipher)
        #expect(notices.filter { $0.idempotencyKey.hasPrefix("dispatched:\(first):pdam:1") }.count == 1)
        #expect(notices.filter { $0.idempotencyKey.hasPrefix("resolved:\(first):") }.count == 1)
        #expect(notices.contains { $0.body.contains("PDAM") && $0.body.contains(first.rawValue) })
        // Within 24 hours of the reporter's WhatsApp message: on WhatsApp.
        #expect(notices.allSatisfy { $0.channel == .whatsapp })
        #expect(
            try await central.desk.receive(
                central.message("a1", "Sudah pak, terima kasih"),
                policy: policy,
                at: Self.time(10)
            ) == .confirmed(first)
        )
        let closed = try await central.store.caseState(first)
        #expect(closed?.status == .closed && closed?.closeReason == .confirmedByReporter)

        let second = try await resolvedCase("r2", at: 20)
        #expect(
            try await central.desk.receive(
                central.message("a2", "Belum, masih bocor"),
                policy: policy,
                at: Self.time(30)
            ) == .disputed(second)
        )
        #expect(try await central.store.caseState(second)?.status == .reopened)
        let keys = try await central.replies().map(\.idempotencyKey)
        #expect(keys.contains("confirmed:a1") && keys.contains("disputed:a2"))
    }

    /// The notifier's loop polls with the projection's lag allowed: a resolution uploaded a
    /// moment ago is told at a later round, once central has projected it, and then once.
    @Test func aPollAllowingTheLagTellsAnUploadedResolutionOnceItIsProjected() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch, projectionDelay: .seconds(3_600))
        var office = try await Office(scratch, central: central)
        let caseID = try await office.dispatchedCase("r1", at: 0, central: central)
        _ = try await central.desk.notifyReporters(officeName: { _ in "PDAM" }, at: Self.time(1))
        func resolvedNotices() async throws -> Int {
            try await central.store.outbound(ofCase: caseID, cipher: central.cipher)
                .filter { $0.idempotencyKey.hasPrefix("resolved:\(caseID):") }.count
        }
        try await office.resolve(caseID, at: 2, central: central)

        // The upload's projection is pending and not due: the poll does not see the change.
        _ = try await central.desk.notifyReporters(
            officeName: { _ in "PDAM" },
            at: Self.time(4),
            allowingProjectionLag: true
        )
        #expect(try await resolvedNotices() == 0)
        // An exact read projects first, and the reporter is told.
        _ = try await central.desk.notifyReporters(officeName: { _ in "PDAM" }, at: Self.time(5))
        #expect(try await resolvedNotices() == 1)
        _ = try await central.desk.notifyReporters(
            officeName: { _ in "PDAM" },
            at: Self.time(6),
            allowingProjectionLag: true
        )
        #expect(try await resolvedNotices() == 1)
    }

    @Test func aMessageStoredBeforeACrashIsProcessedOnceAfterIt() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        // Stored, then the process died before processing it.
        let reference = ReporterReference.make(phone: Self.phone, secret: central.desk.referenceSecretForTests)
        _ = try await central.store.recordInbound(
            channel: .sms,
            externalID: "gammu-7",
            reporterRef: reference,
            body: Array("\(Self.phone)\u{1F}Air PDAM mati dari pagi\u{1F}".utf8),
            cipher: central.cipher,
            at: Self.start
        )
        #expect(try await central.desk.processPending(policy: IntakePolicy(), at: Self.time(1)).processed == 1)
        #expect(try await central.store.caseIDs().count == 1)
        #expect(try await central.desk.processPending(policy: IntakePolicy(), at: Self.time(2)).processed == 0)
        let replies = try await central.replies()
        #expect(replies.count == 1 && replies.first?.channel == .sms)
    }

    @Test func aReporterRegisteredByTheOperatorIsNotAskedForIdentityAgain() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        _ = try await Self.registerSiti(central)
        let outcome = try await central.desk.receive(
            central.message("w9", "Aduan baru: saluran mampet, Siti"),
            policy: IntakePolicy(),
            at: Self.time(1)
        )
        guard case .opened(let caseID, awaitsIdentity: false) = outcome else {
            Issue.record("asked for identity again: \(outcome)")
            return
        }
        // The known name is masked in later messages too.
        #expect(try await central.store.caseState(caseID)?.complaint?.text.contains("Siti") == false)
        let identity = try await central.store.reporter(
            ref: try #require(try await central.store.caseState(caseID)?.complaint?.reporterRef),
            cipher: central.cipher
        )
        #expect(identity?.nik == "3576014506880002", "the phone-only message did not overwrite the identity")
    }

    @Test func staffSeeAnIdentityOnlyBehindAnAuditEntryThatHoldsNoIdentity() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let registered = try await Self.registerSiti(central)
        let empty = await #expect(throws: DeskError.self) {
            try await central.desk.revealIdentity(
                of: registered.caseID,
                actor: try ActorID("op.rina"),
                reason: " ",
                at: Self.time(1)
            )
        }
        #expect(empty?.code == .emptyText)
        #expect(try await central.store.identityAudit(of: registered.caseID).isEmpty)

        let identity = try await central.desk.revealIdentity(
            of: registered.caseID,
            actor: try ActorID("op.rina"),
            reason: "menelepon balik pelapor",
            at: Self.time(2)
        )
        #expect(identity?.name == "Siti Rahayu" && identity?.nik == "3576014506880002")
        let audit = try await central.store.identityAudit(of: registered.caseID)
        #expect(audit.map(\.actor) == ["op.rina"])
        #expect(audit.first?.reason == "menelepon balik pelapor" && audit.first?.at == Self.time(2))
        let dump = try ProcessTestKit.runBlocking(
            "/usr/bin/sqlite3",
            [scratch.file("central.sqlite"), "SELECT * FROM identityAudit"]
        ).output
        for secret in ["Siti", "Rahayu", "3576014506880002", "81334560103"] { #expect(!dump.contains(secret)) }
        let unknown = await #expect(throws: DeskError.self) {
            try await central.desk.revealIdentity(
                of: try CaseID("MJK-200101-0001"),
                actor: try ActorID("op.rina"),
                reason: "cek",
                at: Self.time(3)
            )
        }
        #expect(unknown?.code == .caseNotFound)
    }

    @Test func anArchivedCaseIsExplainedPolitelyByWhatsAppWithinADayAndBySMSAfter() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false)
        let reference = ReferenceData(
            offices: [],
            calendar: WorkingCalendar(),
            targets: ServiceTargets(),
            routing: RoutingRules(rules: [])
        )
        let actions = CaseActions(store: central.store, reference: reference)
        var cases: [CaseID] = []
        for (index, text) in ["Jalan tol macet parah", "Pengelola tol tidak peduli"].enumerated() {
            let outcome = try await central.desk.receive(
                central.message("t\(index)", (index == 0 ? "" : "aduan baru: ") + text),
                policy: policy,
                at: Self.start
            )
            let caseID = try #require(outcome.caseID)
            _ = try await actions.perform(
                .archive(reason: .outOfRemit, note: ""),
                on: caseID,
                actor: try ActorID("op.rina"),
                at: Self.time(1)
            )
            cases.append(caseID)
        }
        _ = try await central.desk.notifyReporters(officeName: { $0.rawValue }, at: Self.time(60))
        let first = try await central.store.outbound(ofCase: cases[0], cipher: central.cipher)
        let archived = try #require(first.first { $0.idempotencyKey == "archived:\(cases[0])" })
        #expect(archived.channel == .whatsapp)
        #expect(archived.body.contains("bukan kewenangan Pemerintah Kota"))
        // A day and more later the window is closed: the notice goes by SMS.
        let later = Timestamp(millisecondsSinceEpoch: Self.start.millisecondsSinceEpoch + 25 * 3_600_000)
        #expect(try await central.desk.noticeChannelForTests(ofCase: cases[1], at: later) == .sms)
        #expect(try await central.desk.noticeChannelForTests(ofCase: cases[1], at: Self.time(60)) == .whatsapp)
    }

    @Test func aFloodFromOneNumberIsKeptButNotActedOnAndTheSenderIsToldOnce() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let central = try Central(scratch)
        let policy = IntakePolicy(requireIdentity: false, maximumMessagesPerHour: 3)
        var outcomes: [IntakeOutcome] = []
        for index in 0..<6 {
            outcomes.append(
                try await central.desk.receive(
                    central.message("f\(index)", "aduan baru: spam \(index)"),
                    policy: policy,
                    at: Self.time(Int64(index))
                )
            )
        }
        #expect(outcomes.filter { $0.caseID != nil }.count == 3)
        #expect(outcomes.suffix(3).allSatisfy { $0 == .rateLimited })
        #expect(try await central.store.caseIDs().count == 3)
        // Each message is stored (processed), none lost; the sender is told once this hour.
        #expect(try await central.store.unprocessedInbound(cipher: central.cipher).isEmpty)
        let due = try await central.desk.dueReplies(on: .whatsapp, at: Self.time(10))
        #expect(due.filter { $0.idempotencyKey.hasPrefix("flood:") }.count == 1)
        // An hour later the number is heard again.
        let later = try await central.desk.receive(
            central.message("f9", "aduan baru: lampu mati"),
            policy: policy,
            at: Self.time(70)
        )
        #expect(later.caseID != nil)
    }
}
