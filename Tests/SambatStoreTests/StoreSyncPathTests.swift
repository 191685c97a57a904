import Foundation
import SambatCore
import SambatStore
import Testing

/// Local writes, feeds, uploads and remote apply between real stores on disk.
@Suite struct StoreSyncPathTests {
    @Test func centralWritesFoldAndFeedTheRightPeers() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        let caseID = try await StoreFixtures.dispatchedCase(central)

        let meta = try await central.meta()
        #expect(meta.nextSeq == 4)
        #expect(meta.lamport == 3)
        #expect(try await central.frontier(of: meta.origin) == 3)
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        // The newly assigned office gets the whole history, the mayor every op, others nothing.
        #expect(try await central.feed(for: StoreFixtures.dpupr, after: 0, limit: 100).map(\.feedSeq) == [1, 2, 3])
        #expect(try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100).count == 3)
        #expect(try await central.feed(for: StoreFixtures.dlh, after: 0, limit: 100).isEmpty)

        // Reassigning sends the revocation to the old office and the history to the new one.
        _ = try await central.append(
            .reassigned(.init(from: StoreFixtures.dpupr, to: StoreFixtures.dlh, epoch: 1)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(
            try await central.feed(for: StoreFixtures.dpupr, after: 3, limit: 100).map(\.op.sealed.op.kind) == [
                .reassigned
            ]
        )
        #expect(try await central.feed(for: StoreFixtures.dlh, after: 0, limit: 100).count == 4)
        #expect(try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100).count == 4)
    }

    /// One transaction's cases that keep their offices each feed their own office: cases that
    /// share an office share one list of readers, which must not carry over to the next case
    /// when its office differs.
    @Test func eachCaseOfOneTransactionFeedsItsOwnOffice() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        let roads = try await StoreFixtures.dispatchedCase(central, serial: 1, to: StoreFixtures.dpupr)
        let waste = try await StoreFixtures.dispatchedCase(central, serial: 2, to: StoreFixtures.dlh)
        let bridge = try await StoreFixtures.dispatchedCase(central, serial: 3, to: StoreFixtures.dpupr)
        let roadsHead = try await central.feedHead(for: StoreFixtures.dpupr)
        let wasteHead = try await central.feedHead(for: StoreFixtures.dlh)
        let mayorHead = try await central.feedHead(for: StoreFixtures.mayor)

        let note = OpBody.noted(.init(text: "Operator memantau", visibility: .internal))
        let authored = try await central.append(
            [LocalEdit(note, to: roads), LocalEdit(note, to: waste), LocalEdit(note, to: bridge)],
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        func cases(fedTo peer: NodeID, after head: UInt64) async throws -> [CaseID] {
            try await central.feed(for: peer, after: head, limit: 100).map(\.op.sealed.op.caseID)
        }
        #expect(authored.count == 3)
        #expect(try await cases(fedTo: StoreFixtures.dpupr, after: roadsHead) == [roads, bridge])
        #expect(try await cases(fedTo: StoreFixtures.dlh, after: wasteHead) == [waste])
        #expect(try await cases(fedTo: StoreFixtures.mayor, after: mayorHead) == [roads, waste, bridge])
    }

    /// An office newly assigned a case receives its history in fold order (Lamport time, then
    /// origin), not in the order central received the ops.
    @Test func aNewcomersHistoryComesInFoldOrder() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        let caseID = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: office)
        // Central writes two notes (Lamport 4 and 5) while the office, having seen only
        // Lamport 3, writes one at Lamport 4; the office's arrives last but folds second.
        for text in ["Operator memantau", "Operator menelepon"] {
            _ = try await central.append(
                .noted(.init(text: text, visibility: .internal)),
                to: caseID,
                actor: StoreFixtures.operatorActor,
                at: StoreFixtures.now
            )
        }
        _ = try await office.append(
            .noted(.init(text: "Tim ke lokasi", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.officer,
            at: StoreFixtures.now
        )
        #expect(try await StoreFixtures.upload(from: office, to: central).inserted == 1)
        _ = try await central.append(
            .reassigned(.init(from: StoreFixtures.dpupr, to: StoreFixtures.dlh, epoch: 1)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        let received = try await central.feed(for: StoreFixtures.dlh, after: 0, limit: 100)
        #expect(
            received.map(\.op.sealed.op.id.description) == [
                "central#1/1", "central#1/2", "central#1/3", "central#1/4", "dpupr#1/1", "central#1/5",
                "central#1/6",
            ]
        )
    }

    @Test func consecutiveOpsShareAFeedRowAndEveryPositionIsStillServed() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: office)
        for step in 1...5 {
            _ = try await office.append(
                .noted(.init(text: "Catatan \(step)", visibility: .internal)),
                to: caseID,
                actor: StoreFixtures.officer,
                at: StoreFixtures.now
            )
        }
        #expect(try await StoreFixtures.upload(from: office, to: central).inserted == 5)

        // dpupr: the history (central#1 seqs 1-3) as one run, then its five notes as another.
        let path = directory + "/sambat.sqlite"
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM feed WHERE peer = 'dpupr'") == 2)
        #expect(try StoreFixtures.scalar(path, "SELECT runLength FROM feed WHERE peer = 'dpupr' AND feedSeq = 8") == 5)
        #expect(try await central.feedHead(for: StoreFixtures.dpupr) == 8)
        let all = try await central.feed(for: StoreFixtures.dpupr, after: 0, limit: 100)
        #expect(all.map(\.feedSeq) == Array(1...8))
        #expect(
            all.map(\.op.sealed.op.id.description) == [
                "central#1/1", "central#1/2", "central#1/3",
                "dpupr#1/1", "dpupr#1/2", "dpupr#1/3", "dpupr#1/4", "dpupr#1/5",
            ]
        )
        // A checkpoint inside a run, and a limit that ends inside the next one.
        let middle = try await central.feed(for: StoreFixtures.dpupr, after: 2, limit: 3)
        #expect(middle.map(\.feedSeq) == [3, 4, 5])
        #expect(middle.map(\.op.sealed.op.id.description) == ["central#1/3", "dpupr#1/1", "dpupr#1/2"])
        let bytes = try await central.feedBytes(for: StoreFixtures.dpupr, after: 6, limit: 100)
        #expect(bytes.map(\.feedSeq) == [7, 8])
        #expect(bytes.map(\.bytes) == all.suffix(2).map(\.op.sealed.bytes))
        #expect(try await central.feed(for: StoreFixtures.dpupr, after: 8, limit: 100).isEmpty)
        // The mayor saw every op, as runs of its own (three local writes, then the upload).
        #expect(try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100).map(\.feedSeq) == Array(1...8))
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM feed WHERE peer = 'mayor'") == 4)

        // The office applies the runs like any feed, and its checkpoint lands on the last position.
        try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(try await office.checkpoint(for: StoreFixtures.central) == 8)
    }

    /// An upload in the office's seq order that comes back to its cases is one feed row per
    /// reader: the feeds take it in that order, not grouped by case (a row per op before).
    @Test func anUploadThatComesBackToItsCasesIsOneFeedRowPerReader() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        var cases: [CaseID] = []
        for serial in 1...3 { cases.append(try await StoreFixtures.dispatchedCase(central, serial: serial)) }
        try await StoreFixtures.deliverFeed(from: central, to: office)
        let historyHead = try await central.feedHead(for: StoreFixtures.dpupr)
        let mayorHead = try await central.feedHead(for: StoreFixtures.mayor)
        // Acknowledged, then started, case by case in turn: seqs 1-6 alternate between cases.
        for body in [OpBody.acknowledged, .started] {
            for caseID in cases {
                _ = try await office.append(body, to: caseID, actor: StoreFixtures.officer, at: StoreFixtures.now)
            }
        }
        #expect(try await StoreFixtures.upload(from: office, to: central).inserted == 6)

        let path = directory + "/sambat.sqlite"
        for (peer, head) in [("dpupr", historyHead), ("mayor", mayorHead)] {
            let rows = "SELECT COUNT(*) FROM feed WHERE peer = '\(peer)' AND feedSeq > \(head)"
            #expect(try StoreFixtures.scalar(path, rows) == 1, "\(peer)")
            let entries = try await central.feed(for: try NodeID(peer), after: head, limit: 100)
            #expect(entries.map(\.op.sealed.op.id.description) == (1...6).map { "dpupr#1/\($0)" }, "\(peer)")
        }
        // The office takes its echo like any feed, each case ending started.
        try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(try await office.checkpoint(for: StoreFixtures.central) == historyHead + 6)
        for caseID in cases { #expect(try await office.caseState(caseID)?.status == .inProgress) }
    }

    @Test func aMayorEnrolledAgainGetsEveryOpOnceWhateverItsFeedHeld() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let first = try await StoreFixtures.dispatchedCase(central, serial: 1)
        // Enrolled late: the back-fill brings the three ops already held.
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        #expect(try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100).count == 3)
        // Revoked, its feed stops growing; enrolled again, it gets what it missed, once.
        try await central.revokePeer(StoreFixtures.mayor, at: StoreFixtures.now)
        let second = try await StoreFixtures.dispatchedCase(central, serial: 2)
        _ = try await central.append(
            .noted(.init(text: "Dicek", visibility: .internal)),
            to: first,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        #expect(try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100).count == 3)
        try await central.enrolPeer(StoreFixtures.mayor, role: .mayor, publicKey: "", at: StoreFixtures.now)
        let feed = try await central.feed(for: StoreFixtures.mayor, after: 0, limit: 100)
        #expect(feed.map(\.feedSeq) == Array(1...7))
        let ids = feed.map(\.op.sealed.op.id)
        #expect(Set(ids).count == 7)
        #expect(
            Set(ids)
                == Set(
                    try await central.ops(ofCase: first).map(\.sealed.op.id)
                        + central.ops(ofCase: second).map(\.sealed.op.id)
                )
        )
        // The four missed ops were consecutive central seqs: one new row.
        let path = directory + "/sambat.sqlite"
        #expect(try StoreFixtures.scalar(path, "SELECT COUNT(*) FROM feed WHERE peer = 'mayor'") == 2)
    }

    @Test func officeAppliesTheFeedOnceAndReplaysChangeNothing() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        let caseID = try await StoreFixtures.dispatchedCase(central)

        let first = try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(first.inserted == 3)
        #expect(first.changedCases == [caseID])
        #expect(try await office.checkpoint(for: StoreFixtures.central) == 3)
        #expect(try await office.caseState(caseID)?.status == .dispatched)
        let before = try StoreFixtures.dump(directory + "/office.sqlite")

        let entries = try await central.feed(for: StoreFixtures.dpupr, after: 0, limit: 100)
        let replay = try await office.applyRemote(
            entries.map { RemoteOp($0.op.sealed, centralReceivedAt: $0.op.receivedAt) },
            from: .feed(from: StoreFixtures.central),
            receivedAt: StoreFixtures.now,
            feedPosition: 3
        )
        #expect(replay.inserted == 0)
        #expect(replay.duplicates == 3)
        #expect(replay.changedCases.isEmpty)
        #expect(try StoreFixtures.dump(directory + "/office.sqlite") == before)
    }

    @Test func officeWorkReachesCentralAndEchoesBackWithReceiveTimes() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        let caseID = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: office)

        let ack = try await office.append(
            .acknowledged,
            to: caseID,
            actor: StoreFixtures.officer,
            at: StoreFixtures.now
        )
        #expect(ack.sealed.op.epoch == 1)
        #expect(ack.sealed.op.id.description == "dpupr#1/1")
        #expect(ack.state.status == .acknowledged)

        // Central receives the ack a minute after the officer's own clock says it was made.
        let centralTime = Timestamp(millisecondsSinceEpoch: StoreFixtures.now.millisecondsSinceEpoch + 60_000)
        let upload = try await StoreFixtures.upload(from: office, to: central, at: centralTime)
        #expect(upload.inserted == 1)
        #expect(upload.quarantined.isEmpty)
        #expect(upload.frontiers.values.map { $0 } == [1])
        #expect(try await central.caseState(caseID)?.status == .acknowledged)
        // Nothing left to send: the log is the outbox and the frontier caught up.
        let origin = try await office.currentOrigin()
        #expect(try await office.ops(of: origin, after: try await central.frontier(of: origin), limit: 10).isEmpty)

        // The echo brings central's receive time: the office's deadlines use it from now on.
        let echo = try await StoreFixtures.deliverFeed(from: central, to: office)
        #expect(echo.duplicates == 1)
        #expect(try await office.caseState(caseID) == (try await central.caseState(caseID)))
        let officeAck = try await office.ops(ofCase: caseID).first { $0.sealed.op.id == ack.sealed.op.id }
        #expect(officeAck?.receivedAt == centralTime)
        // The projection of a peer's batch follows its commit; the rows are read raw below.
        try await office.projectPendingOps()
        let acknowledgedAt = try StoreFixtures.scalar(
            directory + "/office.sqlite",
            "SELECT acknowledgedAt FROM assignment WHERE office = 'dpupr'"
        )
        #expect(acknowledgedAt == centralTime.millisecondsSinceEpoch)
        // A second echo changes nothing.
        let before = try StoreFixtures.dump(directory + "/office.sqlite")
        let entries = try await central.feed(for: StoreFixtures.dpupr, after: 0, limit: 100)
        _ = try await office.applyRemote(
            entries.map { RemoteOp($0.op.sealed, centralReceivedAt: $0.op.receivedAt) },
            from: .feed(from: StoreFixtures.central),
            receivedAt: StoreFixtures.now
        )
        #expect(try StoreFixtures.dump(directory + "/office.sqlite") == before)
    }

    @Test func centralQuarantinesWhatAPeerMayNotAuthorAndTheStreamContinues() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()

        let batch = [
            // dlh acknowledging a case that is dpupr's.
            try StoreFixtures.forged(origin: "dlh#1", seq: 1, caseID: caseID, context: context, body: .acknowledged),
            // dlh closing a case: a central-only kind.
            try StoreFixtures.forged(
                origin: "dlh#1",
                seq: 2,
                caseID: caseID,
                epoch: 0,
                context: context,
                body: .closed(.init(reason: .byOperator))
            ),
        ].map { RemoteOp($0) }
        let result = try await central.applyRemote(
            batch,
            from: .peer(StoreFixtures.dlh, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(result.inserted == 0)
        #expect(result.quarantined.count == 2)
        #expect(result.quarantined[0].reason.contains("never assigned"))
        #expect(result.quarantined[1].reason.contains("only central"))
        #expect(try await central.frontier(of: try Origin(parsing: "dlh#1")) == 2)
        #expect(try await central.caseState(caseID)?.status == .dispatched)
        #expect(try await central.quarantine().count == 2)
        // A resend of a quarantined op is a duplicate, not a second refusal.
        let resend = try await central.applyRemote(
            [batch[0]],
            from: .peer(StoreFixtures.dlh, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(resend.duplicates == 1)
        #expect(resend.quarantined.isEmpty)

        // dlh sending an op under dpupr's origin: the whole batch is refused, and dpupr's
        // frontier does not move (else central would skip dpupr's real seq 1).
        let impersonation = RemoteOp(
            try StoreFixtures.forged(origin: "dpupr#1", seq: 1, caseID: caseID, context: context, body: .acknowledged)
        )
        let dlhOwn = RemoteOp(
            try StoreFixtures.forged(
                origin: "dlh#1",
                seq: 3,
                caseID: caseID,
                context: context,
                body: .noted(.init(text: "x", visibility: .internal))
            )
        )
        await #expect {
            try await central.applyRemote(
                [dlhOwn, impersonation],
                from: .peer(StoreFixtures.dlh, .office),
                receivedAt: StoreFixtures.now
            )
        } throws: { ($0 as? StoreError)?.code == .invalidBatch }
        #expect(try await central.frontier(of: try Origin(parsing: "dpupr#1")) == 0)
        #expect(try await central.frontier(of: try Origin(parsing: "dlh#1")) == 2)

        // The mayor writes nothing; its upload is quarantined, never applied.
        let mayorOp = try StoreFixtures.forged(
            origin: "mayor#1",
            seq: 1,
            caseID: caseID,
            context: context,
            body: .noted(.init(text: "x", visibility: .internal))
        )
        let fromMayor = try await central.applyRemote(
            [RemoteOp(mayorOp)],
            from: .peer(StoreFixtures.mayor, .mayor),
            receivedAt: StoreFixtures.now
        )
        #expect(fromMayor.quarantined.count == 1)
        #expect(try await central.caseState(caseID)?.opCount == 3)
    }

    @Test func reusedOpIDWithDifferentBytesRaisesAnIntegrityAlarm() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()
        let genuine = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 1,
            caseID: caseID,
            context: context,
            body: .acknowledged
        )
        let impostor = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 1,
            caseID: caseID,
            context: context,
            body: .noted(.init(text: "ganti", visibility: .public))
        )
        _ = try await central.applyRemote(
            [RemoteOp(genuine)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        let result = try await central.applyRemote(
            [RemoteOp(impostor)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(result.integrityAlarms.map(\.description) == ["dpupr#1/1"])
        #expect(result.inserted == 0)
        #expect(try await central.integrityAlarmCount() == 1)
        let stored = try await central.ops(ofCase: caseID).first { $0.sealed.op.id == genuine.op.id }
        #expect(stored?.sealed.hash == genuine.hash)
    }

    @Test func aBatchOutOfSeqOrderIsRefusedWhole() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()
        let two = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 2,
            caseID: caseID,
            context: context,
            body: .noted(.init(text: "b", visibility: .public))
        )
        let one = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 1,
            caseID: caseID,
            context: context,
            body: .acknowledged
        )
        await #expect {
            try await central.applyRemote(
                [RemoteOp(two), RemoteOp(one)],
                from: .peer(StoreFixtures.dpupr, .office),
                receivedAt: StoreFixtures.now
            )
        } throws: {
            ($0 as? StoreError)?.code == .invalidBatch
        }
        #expect(try await central.frontier(of: one.op.id.origin) == 0)
        #expect(try await central.caseState(caseID)?.opCount == 3)
    }

    @Test func aQuarantinedOpResentOnceItWouldBeAllowedStaysADuplicate() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()
        // dlh acknowledges a case that is not (yet) its own: quarantined.
        let early = RemoteOp(
            try StoreFixtures.forged(origin: "dlh#1", seq: 1, caseID: caseID, context: context, body: .acknowledged)
        )
        let first = try await central.applyRemote(
            [early],
            from: .peer(StoreFixtures.dlh, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(first.quarantined.count == 1)
        // Central then dispatches the case to dlh as well, so the same op would now be admitted.
        _ = try await central.append(
            .dispatched(.init(office: StoreFixtures.dlh, epoch: 1)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
        let resend = try await central.applyRemote(
            [early],
            from: .peer(StoreFixtures.dlh, .office),
            receivedAt: StoreFixtures.now
        )
        // Held once already (in quarantine): a duplicate, never a second copy in the log.
        #expect(resend.duplicates == 1)
        #expect(resend.inserted == 0)
        #expect(
            try StoreFixtures.scalar(
                directory + "/sambat.sqlite",
                "SELECT COUNT(*) FROM op WHERE originKey = (SELECT key FROM origin WHERE name = 'dlh#1')"
            )
                == 0
        )
        #expect(try await central.caseState(caseID)?.assignment(for: StoreFixtures.dlh)?.status == .dispatched)
    }

    @Test func frontiersAdvanceOnlyOverContiguousSeqs() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()
        func note(_ seq: UInt64) throws -> RemoteOp {
            RemoteOp(
                try StoreFixtures.forged(
                    origin: "dpupr#1",
                    seq: seq,
                    caseID: caseID,
                    context: context,
                    lamport: 10 + seq,
                    body: .noted(.init(text: "n\(seq)", visibility: .public))
                )
            )
        }
        let origin = try Origin(parsing: "dpupr#1")
        let first = try await central.applyRemote(
            [try note(1), try note(2), try note(4)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(first.frontiers[origin] == 2)
        #expect(try await central.seqsAboveGap(of: origin) == [4])
        let second = try await central.applyRemote(
            [try note(3)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(second.frontiers[origin] == 4)
        #expect(try await central.seqsAboveGap(of: origin).isEmpty)
        #expect(try await central.frontiers()[origin] == 4)
    }

    @Test func aRefusedLocalWriteWritesNothing() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let office = try StoreFixtures.open(directory, StoreFixtures.dpupr, .office, file: "office.sqlite")
        let caseID = try await StoreFixtures.dispatchedCase(central)
        try await StoreFixtures.deliverFeed(from: central, to: office)
        let before = try StoreFixtures.dump(directory + "/office.sqlite")
        await #expect {
            try await office.append(
                .resolved(.init(summary: "x")),
                to: caseID,
                actor: StoreFixtures.officer,
                at: StoreFixtures.now
            )
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .policyRefused && error?.refusal?.code == .illegalTransition
        }
        await #expect {
            try await office.append(
                .acknowledged,
                to: StoreFixtures.caseID(99),
                actor: StoreFixtures.officer,
                at: StoreFixtures.now
            )
        } throws: { ($0 as? StoreError)?.refusal?.code == .notAssigned }
        let long = String(repeating: "x", count: OpLimits.maximumLongText + 1)
        await #expect {
            try await office.append(
                .noted(.init(text: long, visibility: .public)),
                to: caseID,
                actor: StoreFixtures.officer,
                at: StoreFixtures.now
            )
        } throws: { ($0 as? StoreError)?.code == .invalidOp }
        #expect(try StoreFixtures.dump(directory + "/office.sqlite") == before)
    }

    @Test func snapshotsGiveAnOfficeItsCasesAndTheMayorEverything() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let first = try await StoreFixtures.dispatchedCase(central, serial: 1, to: StoreFixtures.dpupr)
        _ = try await StoreFixtures.dispatchedCase(central, serial: 2, to: StoreFixtures.dlh)
        let third = try await StoreFixtures.dispatchedCase(central, serial: 3, to: StoreFixtures.dpupr)
        let office = try await central.snapshot(for: StoreFixtures.dpupr, role: .office, after: nil, caseLimit: 1)
        #expect(Set(office.ops.map(\.sealed.op.caseID)) == [first])
        #expect(office.lastCase == first)
        let rest = try await central.snapshot(
            for: StoreFixtures.dpupr,
            role: .office,
            after: office.lastCase,
            caseLimit: 10
        )
        #expect(Set(rest.ops.map(\.sealed.op.caseID)) == [third])
        #expect(rest.lastCase == nil)
        let mayor = try await central.snapshot(for: StoreFixtures.mayor, role: .mayor, after: nil, caseLimit: 10)
        #expect(mayor.ops.count == 9)
    }

    @Test func centralRefusesImpossibleLamportTimesAndOverclaimedContexts() async throws {
        let directory = try StoreFixtures.temporaryDirectory()
        let central = try StoreFixtures.open(directory, StoreFixtures.central, .central)
        let caseID = try await StoreFixtures.dispatchedCase(central)
        let context = try await central.caseState(caseID)?.vector ?? VersionVector()
        let lamport = try await central.meta().lamport

        // A Lamport time far beyond anything dpupr could have seen would drag every clock
        // towards overflow; it is quarantined, and central keeps authoring.
        let runaway = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 1,
            caseID: caseID,
            context: context,
            lamport: UInt64(Int64.max),
            body: .noted(.init(text: "x", visibility: .internal))
        )
        let first = try await central.applyRemote(
            [RemoteOp(runaway)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(first.quarantined.first?.reason.contains("Lamport") == true)
        #expect(try await central.meta().lamport == lamport)

        // A context claiming central ops that do not exist would dodge the central-wins rule.
        var overclaim = context
        overclaim.record(try OpID(parsing: "central#1/999"))
        let dodge = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 2,
            caseID: caseID,
            context: overclaim,
            lamport: lamport + 2,
            body: .acknowledged
        )
        let second = try await central.applyRemote(
            [RemoteOp(dodge)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(second.quarantined.first?.reason.contains("does not hold") == true)

        // An honest op right after them is accepted, and central can still write.
        let honest = try StoreFixtures.forged(
            origin: "dpupr#1",
            seq: 3,
            caseID: caseID,
            context: context,
            lamport: lamport + 3,
            body: .acknowledged
        )
        let third = try await central.applyRemote(
            [RemoteOp(honest)],
            from: .peer(StoreFixtures.dpupr, .office),
            receivedAt: StoreFixtures.now
        )
        #expect(third.inserted == 1)
        #expect(try await central.frontier(of: honest.op.id.origin) == 3)
        _ = try await central.append(
            .noted(.init(text: "Masih bisa menulis", visibility: .internal)),
            to: caseID,
            actor: StoreFixtures.operatorActor,
            at: StoreFixtures.now
        )
    }
}
