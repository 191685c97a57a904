@testable import SambatCore

/// Builds a case up to a named point in its lifecycle with a central and one office (dpupr).
struct CaseScript {
    var central = TestReplica(Fixtures.origin("central"))
    var dpupr = TestReplica(Fixtures.origin("dpupr"))

    /// Named lifecycle points used by the transition tables.
    enum Point: String, CaseIterable, Sendable {
        case unopened, received, pending, verified, archived, dispatched, acknowledged, inProgress,
            resolved, closed, reopened, returned
    }

    static func at(_ point: Point) -> CaseScript {
        var script = CaseScript()
        script.advance(to: point)
        return script
    }

    mutating func centralDoes(_ body: OpBody) {
        central.author(body)
        dpupr.sync(from: central)
    }

    mutating func officeDoes(_ body: OpBody) {
        dpupr.author(body)
        central.sync(from: dpupr)
    }

    private mutating func advance(to point: Point) {
        if point == .unopened { return }
        centralDoes(Fixtures.opened)
        switch point {
        case .unopened, .received: return
        case .pending:
            centralDoes(.pended(.init(request: "Mohon alamat lengkap")))
            return
        case .archived:
            centralDoes(.archived(.init(reason: .hoax)))
            return
        default: break
        }
        centralDoes(.verified(.init(tier: .normatif)))
        if point == .verified { return }
        centralDoes(.dispatched(.init(office: Fixtures.dpupr, epoch: 1)))
        if point == .dispatched { return }
        if point == .returned {
            officeDoes(.returned(.init(reason: .notOurAuthority)))
            return
        }
        officeDoes(.acknowledged)
        if point == .acknowledged { return }
        officeDoes(.started)
        if point == .inProgress { return }
        officeDoes(.resolved(.init(summary: "Sudah ditambal")))
        if point == .resolved { return }
        centralDoes(.closed(.init(reason: .confirmedByReporter)))
        if point == .closed { return }
        centralDoes(.reopened(.init(reason: "Belum beres")))
    }
}
