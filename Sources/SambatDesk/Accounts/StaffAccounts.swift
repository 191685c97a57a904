import Crypto
import Dispatch
import Foundation
import HummingbirdBcrypt
public import SambatCore
public import SambatStore

/// A staff member's account on this node's web console.
public struct StaffAccount: Hashable, Sendable {
    /// The login name, such as `op.rina` or `dpupr.budi`.
    public let name: String
    /// The name shown in the console.
    public let displayName: String
    /// Whether it may sign in.
    public let isDisabled: Bool
    /// The actor of every op this account writes.
    public let actor: ActorID
}

/// A signed-in browser: who, and the token its forms must carry.
public struct StaffSession: Hashable, Sendable {
    /// Who signed in.
    public let account: StaffAccount
    /// The anti-forgery token of this session's forms.
    public let csrfToken: String
}

/// Staff accounts and their sign-ins, for the web consoles and `sambat account`.
///
/// Accounts belong to one node and are never synced. Passwords are kept only as bcrypt
/// hashes (cost 12); hashing and checking run on a Dispatch thread, never on the cooperative
/// pool. A session is a random 256-bit token in the browser's cookie, of which the store keeps
/// only the SHA-256; it ends after ``idleLimit`` without use, after ``lifetime`` in any case,
/// when its account's password changes or the account is disabled.
///
/// ```swift
/// let accounts = StaffAccounts(store: store)
/// try await accounts.add(name: "walikota.ani", displayName: "Ani", password: "…", at: .now)
/// let (token, session) = try await accounts.signIn(name: "walikota.ani", password: "…", at: .now)
/// ```
public struct StaffAccounts: Sendable {
    /// The node's store.
    public let store: Store
    /// How long a session may go unused.
    public var idleLimit: Duration = .seconds(8 * 3_600)
    /// How long a session lasts at most.
    public var lifetime: Duration = .seconds(24 * 3_600)
    /// The shortest password accepted.
    public static let minimumPasswordLength = 10
    /// The longest password accepted (bcrypt reads 72 bytes; longer ones are refused, not cut).
    public static let maximumPasswordBytes = 72
    /// bcrypt's cost (log2 of its rounds): 12, about a quarter of a second per check on this
    /// class of machine; tests lower it.
    public var hashCost: UInt8 = 12

    /// The accounts of `store`.
    public init(store: Store) {
        self.store = store
    }

    /// Checks an account name: 2–64 of `a-z 0-9 . _ -`, starting with a letter.
    ///
    /// - Throws: ``DeskError/Code/invalidAccountName``.
    public static func validName(_ name: String) throws(DeskError) -> String {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy {
            (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || "._-".utf8.contains($0)
        }
        guard (2...64).contains(bytes.count), allowed, let first = bytes.first, (0x61...0x7A).contains(first) else {
            var error = DeskError(.invalidAccountName)
            error.value = String(name.prefix(64))
            throw error
        }
        return name
    }

    /// Adds an account.
    ///
    /// - Throws: ``DeskError`` for a bad name, a name taken, a short display name or password.
    public func add(name: String, displayName: String, password: String, at time: Timestamp) async throws(DeskError) {
        let name = try Self.validName(name)
        let shown = try StaffInput.text(displayName, field: .displayName, limit: 100)
        try Self.checkStrength(password)
        let cost = hashCost
        let hash = await Self.offPool { Bcrypt.hash(password, cost: cost) }
        do {
            guard try await store.account(named: name) == nil else {
                var error = DeskError(.accountExists)
                error.value = name
                throw error
            }
            try await store.addAccount(name: name, displayName: shown, passwordHash: hash, at: time)
        } catch let error as DeskError {
            throw error
        } catch let error as StoreError {
            throw .storage(error)
        } catch {
            throw DeskError(.storage)
        }
    }

    /// Sets a new password; every session of the account ends.
    ///
    /// - Throws: ``DeskError`` for an unknown account or a short password.
    public func setPassword(of name: String, to password: String, at time: Timestamp) async throws(DeskError) {
        try Self.checkStrength(password)
        let cost = hashCost
        let hash = await Self.offPool { Bcrypt.hash(password, cost: cost) }
        try await update(name) { store, name throws(StoreError) in
            try await store.updateAccount(name, passwordHash: hash, at: time)
        }
    }

    /// Disables or enables an account; disabling ends its sessions.
    ///
    /// - Throws: ``DeskError/Code/accountNotFound``.
    public func setDisabled(_ name: String, _ isDisabled: Bool, at time: Timestamp) async throws(DeskError) {
        try await update(name) { store, name throws(StoreError) in
            try await store.updateAccount(name, isDisabled: isDisabled, at: time)
        }
    }

    /// Every account, by name.
    ///
    /// - Throws: ``DeskError/Code/storage``.
    public func list() async throws(DeskError) -> [StaffAccount] {
        do {
            return try await store.accounts().compactMap(Self.account)
        } catch {
            throw .storage(error)
        }
    }

    /// Signs in: a new session when the name and password match an enabled account.
    ///
    /// An unknown name costs as much time as a wrong password, so the answer's timing does
    /// not tell which names exist.
    /// - Returns: the cookie's token (to give the browser, never to keep) and the session.
    /// - Throws: ``DeskError/Code/signInRefused``, whatever was wrong.
    public func signIn(
        name: String,
        password: String,
        at time: Timestamp
    ) async throws(DeskError) -> (token: String, session: StaffSession) {
        let record: StaffAccountRecord?
        do {
            record = try await store.account(named: name)
        } catch {
            throw .storage(error)
        }
        guard let record, !record.isDisabled, password.utf8.count <= Self.maximumPasswordBytes else {
            let cost = hashCost
            _ = await Self.offPool { Bcrypt.hash(password, cost: cost) }
            throw DeskError(.signInRefused)
        }
        let hash = record.passwordHash
        guard await Self.offPool({ Bcrypt.verify(password, hash: hash) }), let account = Self.account(record) else {
            throw DeskError(.signInRefused)
        }
        let token = Self.newToken()
        let csrf = Self.newToken()
        do {
            try await store.addWebSession(
                tokenHash: Self.hash(token),
                account: account.name,
                csrfToken: csrf,
                at: time
            )
        } catch {
            throw .storage(error)
        }
        // Browsers that never came back leave their sessions behind; each sign-in clears
        // those, so the table stays as small as the staff's recent sign-ins.
        try await endStaleSessions(at: time)
        return (token, StaffSession(account: account, csrfToken: csrf))
    }

    /// The session a browser's token belongs to, if it is still valid; marks it used.
    ///
    /// - Throws: ``DeskError/Code/storage``.
    public func session(token: String, at time: Timestamp) async throws(DeskError) -> StaffSession? {
        guard token.utf8.count == 43 else { return nil }
        let tokenHash = Self.hash(token)
        do {
            guard let record = try await store.webSession(tokenHash: tokenHash) else { return nil }
            let idle = time.millisecondsSinceEpoch - record.lastSeenAt.millisecondsSinceEpoch
            let age = time.millisecondsSinceEpoch - record.createdAt.millisecondsSinceEpoch
            guard idle <= idleLimit.wholeMilliseconds, age <= lifetime.wholeMilliseconds,
                let account = Self.account(record.account)
            else {
                try await store.removeWebSession(tokenHash: tokenHash)
                return nil
            }
            // At most once a minute: a page's many requests need not each write.
            if idle >= 60_000 { try await store.touchWebSession(tokenHash: tokenHash, at: time) }
            return StaffSession(account: account, csrfToken: record.csrfToken)
        } catch {
            throw .storage(error)
        }
    }

    /// Signs a browser out.
    ///
    /// - Throws: ``DeskError/Code/storage``.
    public func signOut(token: String) async throws(DeskError) {
        do {
            try await store.removeWebSession(tokenHash: Self.hash(token))
        } catch {
            throw .storage(error)
        }
    }

    /// Ends sessions past their idle limit or lifetime.
    ///
    /// - Returns: how many ended.
    /// - Throws: ``DeskError/Code/storage``.
    @discardableResult
    public func endStaleSessions(at time: Timestamp) async throws(DeskError) -> Int {
        do {
            return try await store.removeWebSessions(
                idleBefore: Timestamp(
                    millisecondsSinceEpoch: time.millisecondsSinceEpoch - idleLimit.wholeMilliseconds
                ),
                startedBefore: Timestamp(
                    millisecondsSinceEpoch: time.millisecondsSinceEpoch - lifetime.wholeMilliseconds
                )
            )
        } catch {
            throw .storage(error)
        }
    }

    private func update(
        _ name: String,
        _ body: (Store, String) async throws(StoreError) -> Bool
    ) async throws(DeskError) {
        let found: Bool
        do {
            found = try await body(store, name)
        } catch {
            throw .storage(error)
        }
        guard found else {
            var error = DeskError(.accountNotFound)
            error.value = String(name.prefix(64))
            throw error
        }
    }

    private static func checkStrength(_ password: String) throws(DeskError) {
        guard password.count >= minimumPasswordLength, password.utf8.count <= maximumPasswordBytes else {
            var error = DeskError(.weakPassword)
            error.limit = minimumPasswordLength
            throw error
        }
    }

    private static func account(_ record: StaffAccountRecord) -> StaffAccount? {
        guard let actor = try? ActorID(record.name) else { return nil }
        return StaffAccount(
            name: record.name,
            displayName: record.displayName,
            isDisabled: record.isDisabled,
            actor: actor
        )
    }

    /// 256 random bits, base64url without padding (43 characters): session and form tokens.
    public static func newToken() -> String {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }

    /// Runs slow CPU work (bcrypt) on a Dispatch thread, off the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}
