//! [`ClientRpcService`]: the `ClientRpc` trait implementation, decoding requests into
//! the server's endpoint calls and encoding their answers.

use std::time::Duration;

use drover_proto::cluster_v1 as pb;
use drover_proto::cluster_v1::client_rpc_server::ClientRpc;
use drover_types::api::NodeHeartbeatResponse;
use drover_types::{Allocation, Node, NodeStatus};
use tonic::{Request, Response, Status};

use super::status::to_status;
use crate::server::Server;

/// Serves one server's side of the cluster RPC.
#[derive(Clone)]
pub struct ClientRpcService {
    server: Server,
}

impl ClientRpcService {
    /// The service over `server`.
    pub fn new(server: Server) -> Self {
        Self { server }
    }

    /// Register/heartbeat answers, with the servers a client may fail over to.
    fn heartbeat_response(&self, r: NodeHeartbeatResponse) -> pb::HeartbeatResponse {
        let own = self.server.rpc_addr().to_owned();
        pb::HeartbeatResponse {
            heartbeat_ttl_ns: r.heartbeat_ttl,
            eval_ids: r.eval_ids,
            eval_create_index: r.eval_create_index,
            node_modify_index: r.node_modify_index,
            index: r.index,
            // The RPC addresses of other servers are not known yet: a server only
            // learns its peers' raft addresses.
            leader_rpc_addr: if self.server.is_leader() {
                own.clone()
            } else {
                String::new()
            },
            servers: vec![own],
            http_addr: self.server.http_addr().unwrap_or_default().to_owned(),
        }
    }
}

fn node_status(raw: i32) -> Result<NodeStatus, Status> {
    match pb::NodeStatus::try_from(raw) {
        Ok(pb::NodeStatus::Initializing) => Ok(NodeStatus::Initializing),
        Ok(pb::NodeStatus::Ready) => Ok(NodeStatus::Ready),
        Ok(pb::NodeStatus::Down) => Ok(NodeStatus::Down),
        Ok(pb::NodeStatus::Disconnected) => Ok(NodeStatus::Disconnected),
        Ok(pb::NodeStatus::Unspecified) | Err(_) => Err(Status::invalid_argument(format!(
            "status: {raw} is not a node status (initializing, ready, down or disconnected)"
        ))),
    }
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value).map_err(|e| Status::internal(format!("encode {what}: {e}")))
}

#[tonic::async_trait]
impl ClientRpc for ClientRpcService {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let req = request.into_inner();
        let node: Node = serde_json::from_slice(&req.node_json)
            .map_err(|e| Status::invalid_argument(format!("node_json: {e}")))?;
        let r = self.server.node_register(node).await.map_err(to_status)?;
        Ok(Response::new(self.heartbeat_response(r)))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let req = request.into_inner();
        let status = node_status(req.status)?;
        let r = self
            .server
            .node_update_status(&req.node_id, status)
            .await
            .map_err(to_status)?;
        Ok(Response::new(self.heartbeat_response(r)))
    }

    async fn get_allocs(
        &self,
        request: Request<pb::GetAllocsRequest>,
    ) -> Result<Response<pb::GetAllocsResponse>, Status> {
        let req = request.into_inner();
        let wait = Duration::from_millis(req.wait_ms);
        let (index, allocs) = self
            .server
            .client_allocs(&req.node_id, req.min_index, wait)
            .await
            .map_err(to_status)?;
        let allocs = allocs
            .iter()
            .map(|a| {
                let alloc_json = if a.alloc_modify_index > req.min_index {
                    Some(encode(&format!("allocation {}", a.id), a.as_ref())?)
                } else {
                    None
                };
                Ok(pb::AllocEntry {
                    id: a.id.clone(),
                    alloc_modify_index: a.alloc_modify_index,
                    alloc_json,
                })
            })
            .collect::<Result<_, Status>>()?;
        Ok(Response::new(pb::GetAllocsResponse { index, allocs }))
    }

    async fn update_allocs(
        &self,
        request: Request<pb::UpdateAllocsRequest>,
    ) -> Result<Response<pb::UpdateAllocsResponse>, Status> {
        let req = request.into_inner();
        let allocs = req
            .allocs_json
            .iter()
            .enumerate()
            .map(|(i, b)| {
                serde_json::from_slice::<Allocation>(b)
                    .map_err(|e| Status::invalid_argument(format!("allocs_json[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let index = self
            .server
            .alloc_client_update(allocs)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::UpdateAllocsResponse { index }))
    }
}
