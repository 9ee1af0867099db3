//! What the client asks of the servers: Nomad's `Node.Register`, `Node.UpdateStatus`
//! (heartbeat), `Node.GetClientAllocs` (a blocking query) and `Node.UpdateAlloc`.
//!
//! The runners depend on this trait only; [`crate::grpc::GrpcServers`] implements it over
//! the cluster RPC (gRPC on the servers' RPC port, 4647) with failover between the
//! configured servers.

use std::time::Duration;

use async_trait::async_trait;
use drover_types::api::NodeHeartbeatResponse;
use drover_types::{Allocation, Node, NodeStatus};

/// A failed call to the servers.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// No server answered (all unreachable, or none configured).
    #[error("no server reachable: {0}")]
    Unavailable(String),
    /// A server answered with an error (bad request, not found, no leader …).
    #[error("server error: {0}")]
    Server(String),
    /// The node is not known to the servers (it must register again).
    #[error("node not found: {0}")]
    NodeNotFound(String),
}

/// One allocation of this node as the servers see it.
#[derive(Debug, Clone)]
pub struct AllocEntry {
    /// Allocation ID.
    pub id: String,
    /// The allocation's `AllocModifyIndex` (changes when the servers change it, not
    /// when the client reports its status).
    pub alloc_modify_index: u64,
    /// The full allocation (with its job) when it changed after the request's
    /// `min_index`, else `None`: the client already has it.
    pub alloc: Option<Box<Allocation>>,
}

/// The answer to [`ServerRpc::get_allocs`].
#[derive(Debug, Clone, Default)]
pub struct ClientAllocs {
    /// The allocations table's index the answer is consistent with; pass it as the next
    /// call's `min_index`.
    pub index: u64,
    /// Every allocation placed on the node that the servers still hold.
    pub allocs: Vec<AllocEntry>,
}

/// The servers, as the client talks to them.
#[async_trait]
pub trait ServerRpc: Send + Sync + 'static {
    /// Registers (or re-registers) the node; answers the heartbeat TTL.
    async fn register(&self, node: &Node) -> Result<NodeHeartbeatResponse, RpcError>;

    /// A heartbeat: reports `status` and re-arms the node's TTL.
    async fn heartbeat(
        &self,
        node_id: &str,
        status: NodeStatus,
    ) -> Result<NodeHeartbeatResponse, RpcError>;

    /// The node's allocations, once the allocations index passes `min_index` or `wait`
    /// elapsed (then the answer is the current one, possibly unchanged).
    async fn get_allocs(
        &self,
        node_id: &str,
        min_index: u64,
        wait: Duration,
    ) -> Result<ClientAllocs, RpcError>;

    /// Reports client-side status (`ClientStatus`, `TaskStates`, …) for a batch of
    /// allocations. Answers the raft index of the write.
    async fn update_allocs(&self, allocs: Vec<Allocation>) -> Result<u64, RpcError>;

    /// The HTTP API address of the server agent that answered last, if it said: a
    /// client-only agent forwards the API requests it cannot answer there.
    fn server_http_addr(&self) -> Option<String> {
        None
    }
}
