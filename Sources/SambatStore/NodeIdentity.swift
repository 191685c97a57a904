public import SambatCore

/// Who a store belongs to: the node, its role, and the deployment's central node.
///
/// Written into the database when it is created and checked on every open, so a data
/// directory cannot be used by another node by mistake.
public struct NodeIdentity: Hashable, Sendable, CustomStringConvertible {
    /// This node.
    public var node: NodeID
    /// Its role.
    public var role: NodeRole
    /// The deployment's central node (equal to `node` at central).
    public var central: NodeID

    /// Creates an identity.
    public init(node: NodeID, role: NodeRole, central: NodeID) {
        self.node = node
        self.role = role
        self.central = central
    }

    public var description: String { "\(node) (\(role), central \(central))" }
}
