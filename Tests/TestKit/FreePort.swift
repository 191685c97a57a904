import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTestKit {
    /// Where ``freePort()`` picks from: below Linux's ephemeral range (32768–60999).
    ///
    /// A port the kernel handed out for `bind(0)` lies in the ephemeral range, and between the
    /// test closing it and the child binding it, any outgoing connection on the machine (a
    /// curl, a ZeroMQ connect) may take it as its source port: the child then fails with
    /// EADDRINUSE. Below that range the kernel never hands a port out by itself.
    public static let testPorts = 20_000..<32_000

    /// A TCP port on 127.0.0.1 that was free a moment ago, for a child process to bind.
    ///
    /// - Throws: when no port of ``testPorts`` can be bound in 200 tries.
    public static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: testPorts)
            if try isFree(port) { return port }
        }
        throw Failure("no free port in \(testPorts)")
    }

    /// Whether a TCP socket can bind `port` on 127.0.0.1 now.
    static func isFree(_ port: Int) throws -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure("socket() failed: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 }
        }
    }
}
