internal import CZeroMQ

/// Facts about the libzmq this process is linked against.
///
/// The only module that imports `CZeroMQ` is this one; everything libzmq-specific stays
/// behind Swift types here. Safe from any task: these calls read constants.
public enum ZMQLibrary {
    /// A libzmq version triple.
    public struct Version: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// Major version.
        public let major: Int
        /// Minor version.
        public let minor: Int
        /// Patch version.
        public let patch: Int

        public static func < (lhs: Version, rhs: Version) -> Bool {
            (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }

        public var description: String { "\(major).\(minor).\(patch)" }
    }

    /// The version of the linked libzmq, as reported by `zmq_version`.
    public static var version: Version {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return Version(major: Int(major), minor: Int(minor), patch: Int(patch))
    }

    /// The oldest libzmq Sambat supports: 4.3 has CURVE with ZAP, heartbeats and ROUTER_HANDOVER.
    public static let minimumVersion = Version(major: 4, minor: 3, patch: 0)

    /// Whether the linked libzmq was built with CURVE security (libsodium).
    public static var hasCurve: Bool { zmq_has("curve") == 1 }
}
