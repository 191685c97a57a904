import ArgumentParser
import Foundation
import SambatCore
import SambatDesk
import SambatNode
import SambatStore
import SambatWire

/// `sambat bench scale-history`: writes a year of a city into central's and every office's
/// store, as if the nodes had run through it, for `make scale`.
///
/// Owned by the scale run (`scripts/scale.py`), which prepares the data directories, keys and
/// configurations first and starts the nodes on the stores afterwards.
struct ScaleHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-history",
        abstract: "Tulis riwayat setahun ke store central dan semua OPD (untuk make scale).",
        discussion: """
            Expects <root>/config/<node>.yaml and <root>/data/<node>/curve.key for central,
            opd0 … opd<N-1> and mayor, as scripts/scale.py writes them. Enrols
            the offices and the mayor at central, then applies the history of `sambat bench
            reads` to central's store (<root>/data/central/sambat.sqlite) and each office's share
            to that office's store, as central's feed; the offices then hold their own ops as
            authored, and central and each office agree that the office's feed was applied to
            its end. The mayor's store is not written: the mayor back-fills over the wire.
            """
    )

    @Option(help: "The scale run's directory.") var root: String
    @Option(help: "Cases in the history.") var cases = 1_000_000
    @Option(help: "Ops per case (at least 6).") var opsPerCase = 10
    @Option(help: "Offices the cases are dispatched to (opd0 …).") var offices = 60
    @Option(help: "Ops per applied batch.") var batch = 2_000

    func validate() throws {
        guard cases > 0, opsPerCase >= 6, offices > 0, batch > 0 else {
            throw ValidationError("--cases, --offices and --batch must be positive, --ops-per-case at least 6")
        }
    }

    func run() async throws {
        let centralID = try NodeID("central")
        let officeIDs = try (0..<offices).map(ReadsBenchmark.office)
        func open(_ node: NodeID) async throws -> Store {
            try await NodeStoreOpening.open(configAt: "\(root)/config/\(node).yaml")
        }
        func publicKey(_ node: NodeID) throws -> String {
            try CurveKeyFile.read(from: "\(root)/data/\(node)/curve.key").publicKey
        }
        let central = try await open(centralID)
        guard try await central.caseCount() == 0 else {
            throw ValidationError("central's store under \(root) already holds cases: start from an empty directory")
        }
        for office in officeIDs {
            try await central.enrolPeer(office, role: .office, publicKey: try publicKey(office), at: .now)
        }
        let mayorID = try NodeID("mayor")
        try await central.enrolPeer(mayorID, role: .mayor, publicKey: try publicKey(mayorID), at: .now)
        var officeStores: [Store] = []
        for office in officeIDs { officeStores.append(try await open(office)) }

        let clock = ContinuousClock()
        let start = clock.now
        var centralSeconds = 0.0
        var applied = 0
        var feedPositions = [UInt64](repeating: 0, count: offices)
        let history = try YearOfCases(cases: cases, opsPerCase: opsPerCase, offices: offices)
        try await history.generate(batch: batch) { ops, officeOfOp in
            let before = clock.now
            _ = try await central.applyCentralHistory(ops)
            centralSeconds += (clock.now - before).seconds
            var shares = [[RemoteOp]](repeating: [], count: offices)
            for (op, office) in zip(ops, officeOfOp) { shares[office].append(op) }
            for (office, share) in shares.enumerated() where !share.isEmpty {
                feedPositions[office] += UInt64(share.count)
                _ = try await officeStores[office].applyRemote(
                    share,
                    from: .feed(from: centralID),
                    receivedAt: .now,
                    feedPosition: feedPositions[office]
                )
            }
            let previous = applied
            applied += ops.count
            if applied / 1_000_000 != previous / 1_000_000 {
                FileHandle.standardError.write(Data("  \(applied) ops written\n".utf8))
            }
        }
        // Each office has applied its feed to its end, and central knows it.
        let epoch = UInt64(try await central.currentOrigin().incarnation)
        var mismatched: [String] = []
        for (index, office) in officeIDs.enumerated() {
            let head = try await central.feedHead(for: office)
            if head != feedPositions[index] {
                mismatched.append("\(office): central \(head), office \(feedPositions[index])")
            }
            try await officeStores[index].resetCheckpoint(head, epoch: epoch, for: centralID)
            try await central.saveCheckpoint(head, for: office)
            _ = try await officeStores[index].adoptOwnHistory()
        }
        guard mismatched.isEmpty else {
            throw ValidationError(
                "the offices' feeds do not line up with central's: \(mismatched.joined(separator: "; "))"
            )
        }
        // The stores are left as a node leaves them at a graceful stop: every projection
        // written, so no node's first start pays for this command's last window.
        try await central.projectPendingOps()
        for store in officeStores { try await store.projectPendingOps() }
        let figures: [(String, String)] = [
            ("ops", "\(applied)"), ("cases", "\(cases)"), ("offices", "\(offices)"),
            ("seconds", String(format: "%.1f", (clock.now - start).seconds)),
            ("central_apply_seconds", String(format: "%.1f", centralSeconds)),
            ("mayor_feed_head", "\(try await central.feedHead(for: mayorID))"),
        ]
        print("{" + figures.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
