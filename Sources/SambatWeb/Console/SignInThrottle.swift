/// Counts failed sign-ins per key (an account name, a client address) and locks a key that
/// failed too often, as a value-type state machine with the time as an input.
///
/// Owned by ``WebConsole`` behind a mutex, one for account names (five failures) and one for
/// addresses (thirty). `limit` failures within fifteen minutes lock the key until the oldest
/// of them is fifteen minutes old; a success clears the account name's count (not the
/// address's, so one good password cannot unlock guessing at others). At most
/// ``maximumKeys`` keys are remembered, the oldest forgotten first, so a flood of new names or
/// addresses cannot grow it without bound.
public struct SignInThrottle: Sendable {
    /// Failures that lock a key.
    public let limit: Int
    /// How long a failure counts.
    public let window: Duration
    /// The most keys remembered.
    public let maximumKeys: Int
    private var failures: [String: [ContinuousClock.Instant]] = [:]

    /// A throttle; by default five failures in fifteen minutes.
    public init(limit: Int = 5, window: Duration = .seconds(15 * 60), maximumKeys: Int = 10_000) {
        self.limit = max(1, limit)
        self.window = window
        self.maximumKeys = max(1, maximumKeys)
    }

    /// When the first of `keys` that is locked unlocks, or `nil` when none is locked.
    public mutating func lockedUntil(_ keys: [String], at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var until: ContinuousClock.Instant?
        for key in keys {
            let recent = prune(key, at: now)
            if recent.count >= limit, let oldest = recent.first {
                until = max(until ?? oldest + window, oldest + window)
            }
        }
        return until
    }

    /// Counts a failure against every key.
    public mutating func recordFailure(_ keys: [String], at now: ContinuousClock.Instant) {
        for key in keys {
            var recent = prune(key, at: now)
            recent.append(now)
            if recent.count > limit { recent.removeFirst(recent.count - limit) }
            failures[key] = recent
        }
        if failures.count > maximumKeys {
            let oldest = failures.sorted { ($0.value.last ?? now) < ($1.value.last ?? now) }
            for (key, _) in oldest.prefix(failures.count - maximumKeys) { failures[key] = nil }
        }
    }

    /// Clears a key's failures (an account name after a good password).
    public mutating func clear(_ key: String) {
        failures[key] = nil
    }

    private mutating func prune(_ key: String, at now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        let recent = (failures[key] ?? []).filter { now - $0 < window }
        failures[key] = recent.isEmpty ? nil : recent
        return recent
    }
}
