import Foundation
import SambatCore
import SambatDesk
import SambatStore
import SambatTestKit
import Testing

/// Staff accounts: names, passwords kept only as bcrypt hashes, sign-in, and sessions that end
/// when they should.
@Suite struct StaffAccountsTests {
    static let start = Timestamp(millisecondsSinceEpoch: 1_796_000_400_000)

    static func accounts(_ scratch: Scratch) throws -> StaffAccounts {
        let mayor = try NodeID("mayor")
        let store = try Store.open(
            StoreConfiguration(path: scratch.file("mayor.sqlite")),
            identity: NodeIdentity(node: mayor, role: .mayor, central: try NodeID("central"))
        )
        var accounts = StaffAccounts(store: store)
        accounts.hashCost = 4
        return accounts
    }

    static func later(_ minutes: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + minutes * 60_000)
    }

    @Test func aSignInGivesASessionAndTheStoreKeepsNeitherPasswordNorToken() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        try await accounts.add(name: "walikota.ani", displayName: "Ani", password: "rahasia-sekali", at: Self.start)
        let (token, session) = try await accounts.signIn(
            name: "walikota.ani",
            password: "rahasia-sekali",
            at: Self.start
        )
        #expect(session.account.actor == (try ActorID("walikota.ani")))
        #expect(session.account.displayName == "Ani")
        #expect(try await accounts.session(token: token, at: Self.later(5))?.account.name == "walikota.ani")
        // The store's bytes hold neither the password nor the cookie's token.
        let bytes =
            try Data(contentsOf: URL(fileURLWithPath: scratch.file("mayor.sqlite")))
            + ((try? Data(contentsOf: URL(fileURLWithPath: scratch.file("mayor.sqlite-wal")))) ?? Data())
        #expect(bytes.range(of: Data("rahasia-sekali".utf8)) == nil)
        #expect(bytes.range(of: Data(token.utf8)) == nil)
        #expect(try await accounts.session(token: String(repeating: "x", count: 43), at: Self.later(5)) == nil)
    }

    @Test func wrongPasswordsUnknownNamesAndDisabledAccountsAreRefusedAlike() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        try await accounts.add(name: "op.rina", displayName: "Rina", password: "kata-sandi-rina", at: Self.start)
        for (name, password) in [("op.rina", "salah-sekali-ini"), ("op.tidakada", "kata-sandi-rina")] {
            await #expect(throws: DeskError(.signInRefused)) {
                _ = try await accounts.signIn(name: name, password: password, at: Self.start)
            }
        }
        let (token, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.start)
        try await accounts.setDisabled("op.rina", true, at: Self.later(1))
        #expect(try await accounts.session(token: token, at: Self.later(2)) == nil, "disabling signs out")
        await #expect(throws: DeskError(.signInRefused)) {
            _ = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.later(2))
        }
        try await accounts.setDisabled("op.rina", false, at: Self.later(3))
        _ = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.later(3))
    }

    @Test func aNewPasswordEndsEverySessionAndTheOldPasswordStopsWorking() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        try await accounts.add(name: "op.rina", displayName: "Rina", password: "kata-sandi-lama", at: Self.start)
        let (first, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-lama", at: Self.start)
        let (second, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-lama", at: Self.start)
        try await accounts.setPassword(of: "op.rina", to: "kata-sandi-baru", at: Self.later(1))
        #expect(try await accounts.session(token: first, at: Self.later(2)) == nil)
        #expect(try await accounts.session(token: second, at: Self.later(2)) == nil)
        await #expect(throws: DeskError(.signInRefused)) {
            _ = try await accounts.signIn(name: "op.rina", password: "kata-sandi-lama", at: Self.later(2))
        }
        _ = try await accounts.signIn(name: "op.rina", password: "kata-sandi-baru", at: Self.later(2))
    }

    @Test func aSessionEndsAfterEightIdleHoursOrADayInAnyCase() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        try await accounts.add(name: "op.rina", displayName: "Rina", password: "kata-sandi-rina", at: Self.start)
        let (idle, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.start)
        #expect(try await accounts.session(token: idle, at: Self.later(8 * 60 + 1)) == nil)

        let (busy, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.start)
        // Used every seven hours: alive until its day is over.
        for hours in [7, 14, 21] {
            #expect(try await accounts.session(token: busy, at: Self.later(Int64(hours) * 60)) != nil)
        }
        #expect(try await accounts.session(token: busy, at: Self.later(24 * 60 + 1)) == nil)
    }

    /// Found in review: nothing removed the sessions of browsers that never came back.
    @Test func aSignInClearsSessionsPastTheirLimits() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        try await accounts.add(name: "op.rina", displayName: "Rina", password: "kata-sandi-rina", at: Self.start)
        _ = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.start)
        let (fresh, _) = try await accounts.signIn(name: "op.rina", password: "kata-sandi-rina", at: Self.later(9 * 60))
        // The first session, idle for nine hours, is gone already; the new one is kept.
        #expect(try await accounts.endStaleSessions(at: Self.later(9 * 60)) == 0)
        #expect(try await accounts.session(token: fresh, at: Self.later(9 * 60 + 1)) != nil)
    }

    @Test func badNamesShortPasswordsAndTakenNamesAreRefusedAndWriteNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let accounts = try Self.accounts(scratch)
        for name in ["", "a", "Op.Rina", "op rina", "1op", "op/rina", String(repeating: "a", count: 65)] {
            await #expect(throws: DeskError.self) {
                try await accounts.add(name: name, displayName: "X", password: "kata-sandi-rina", at: Self.start)
            }
        }
        await #expect(throws: DeskError.self) {
            try await accounts.add(name: "op.rina", displayName: "Rina", password: "pendek", at: Self.start)
        }
        #expect(try await accounts.list().isEmpty)
        try await accounts.add(name: "op.rina", displayName: "Rina", password: "kata-sandi-rina", at: Self.start)
        await #expect(throws: DeskError.self) {
            try await accounts.add(name: "op.rina", displayName: "Lain", password: "kata-sandi-lain", at: Self.start)
        }
        #expect(try await accounts.list().map(\.displayName) == ["Rina"])
        await #expect(throws: DeskError.self) { try await accounts.setDisabled("op.siapa", true, at: Self.start) }
        #expect(Presentation.render(DeskError(.signInRefused)) == "Nama akun atau kata sandi salah.")
    }
}
