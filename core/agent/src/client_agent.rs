//! The HTTP API of a client-only agent (`client { enabled = true }`, no `server`
//! block): the client's own routes (`/v1/client/*`), `/v1/agent/self`,
//! `/v1/agent/health` and `/v1/regions`. Every other `/v1` route needs the servers'
//! state, which this agent does not hold: it forwards the request, streaming both ways
//! (blocking queries, the event stream), to the HTTP API of the server agent that
//! answered the client last (servers give their HTTP address in every register and
//! heartbeat answer). So `drover job run` against a node's local agent works, as with
//! Nomad. Until a server has answered, those routes answer 503 naming the servers.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use drover_state::{EventBatch, StateView, Table};
use drover_types::api::*;
use drover_types::{JobRegisterRequest, JobRegisterResponse};
use serde_json::json;
use tokio::time::Instant;

use crate::http::{Backend, BackendError, BackendResult, ClientApi, HttpOptions, QueryMeta};

/// What a client-only agent says about itself.
#[derive(Debug, Clone)]
pub struct ClientAgentInfo {
    /// The agent's region.
    pub region: String,
    /// The agent's datacenter.
    pub datacenter: String,
    /// The node name.
    pub node_name: String,
    /// The servers' RPC addresses (`client.servers`).
    pub servers: Vec<String>,
    /// The HTTP address, once bound.
    pub http_addr: Option<String>,
    /// The client's node ID, once the client runs.
    pub node_id: Arc<OnceLock<String>>,
}

struct NoServer {
    info: ClientAgentInfo,
}

impl NoServer {
    fn refuse<T>(&self) -> BackendResult<T> {
        Err(BackendError::NotImplemented(no_server_text(
            &self.info.servers,
        )))
    }
}

fn no_server_text(servers: &[String]) -> String {
    format!(
        "this agent runs no server and none of its servers has answered yet, so the \
         request cannot be forwarded; retry, or send it to a server agent's HTTP API \
         (its servers: {})",
        servers.join(", ")
    )
}

#[async_trait]
impl Backend for NoServer {
    fn view(&self) -> StateView {
        StateView::default()
    }
    async fn wait_for(&self, _: &[Table], _: u64, _: Instant) -> StateView {
        StateView::default()
    }
    fn events_since(&self, _: u64) -> Vec<Arc<EventBatch>> {
        Vec::new()
    }
    fn query_meta(&self) -> QueryMeta {
        QueryMeta::default()
    }
    async fn job_register(&self, _: JobRegisterRequest) -> BackendResult<JobRegisterResponse> {
        self.refuse()
    }
    async fn job_deregister(
        &self,
        _: JobDeregisterRequest,
    ) -> BackendResult<JobDeregisterResponse> {
        self.refuse()
    }
    async fn job_evaluate(&self, _: JobEvaluateRequest) -> BackendResult<JobRegisterResponse> {
        self.refuse()
    }
    async fn job_plan(&self, _: JobPlanRequest) -> BackendResult<JobPlanResponse> {
        self.refuse()
    }
    async fn job_scale(&self, _: JobScaleRequest) -> BackendResult<JobRegisterResponse> {
        self.refuse()
    }
    async fn job_dispatch(&self, _: JobDispatchRequest) -> BackendResult<JobDispatchResponse> {
        self.refuse()
    }
    async fn periodic_force(&self, _: &str, _: &str) -> BackendResult<PeriodicForceResponse> {
        self.refuse()
    }
    async fn alloc_stop(&self, _: &str, _: bool) -> BackendResult<AllocStopResponse> {
        self.refuse()
    }
    async fn node_update_eligibility(
        &self,
        _: NodeEligibilityRequest,
    ) -> BackendResult<NodeUpdateResponse> {
        self.refuse()
    }
    async fn node_update_drain(&self, _: NodeDrainRequest) -> BackendResult<NodeUpdateResponse> {
        self.refuse()
    }
    fn region(&self) -> String {
        self.info.region.clone()
    }
    async fn leader(&self) -> BackendResult<Option<String>> {
        self.refuse()
    }
    async fn peers(&self) -> BackendResult<Vec<String>> {
        self.refuse()
    }
    async fn members(&self) -> BackendResult<ServerMembers> {
        self.refuse()
    }
    async fn raft_configuration(&self) -> BackendResult<RaftConfiguration> {
        self.refuse()
    }
    async fn agent_self(&self) -> BackendResult<serde_json::Value> {
        let i = &self.info;
        Ok(json!({
            "config": {
                "Region": i.region,
                "Datacenter": i.datacenter,
                "NodeName": i.node_name,
                "Server": {"Enabled": false},
                "Client": {"Enabled": true, "Servers": i.servers},
                "Addresses": {"HTTP": i.http_addr},
                "Version": {"Version": env!("CARGO_PKG_VERSION")},
            },
            "member": null,
            "stats": {
                "client": i.node_id.get().map(|id| json!({
                    "node_id": id,
                    "known_servers": i.servers.join(","),
                })),
                "nomad": {"server": "false"},
            },
        }))
    }
    async fn agent_health(&self) -> BackendResult<AgentHealthResponse> {
        let ok = self.info.node_id.get().is_some();
        Ok(AgentHealthResponse {
            client: Some(AgentHealth {
                ok,
                message: if ok { "ok" } else { "client starting" }.to_string(),
            }),
            server: None,
        })
    }
    async fn metrics(&self) -> BackendResult<MetricsSummary> {
        self.refuse()
    }
}

/// The routes a client-only agent serves itself.
fn served_locally(path: &str) -> bool {
    path.starts_with("/v1/client/")
        || matches!(path, "/v1/agent/self" | "/v1/agent/health" | "/v1/regions")
}

/// The `/v1` router of a client-only agent.
pub fn client_agent_router(info: ClientAgentInfo, client: Arc<dyn ClientApi>) -> Router {
    let servers = info.servers.clone();
    let opts = HttpOptions {
        client: Some(client.clone()),
        ..HttpOptions::default()
    };
    let http = crate::forward::forwarder();
    crate::http::router_with(Arc::new(NoServer { info }), opts).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let servers = servers.clone();
            let client = client.clone();
            let http = http.clone();
            async move {
                if !req.uri().path().starts_with("/v1/")
                    || served_locally(req.uri().path())
                    || crate::forward::was_forwarded(&req)
                {
                    return next.run(req).await;
                }
                match client.server_http_addr() {
                    Some(addr) => crate::forward::forward(&http, &addr, req).await,
                    None => {
                        (StatusCode::SERVICE_UNAVAILABLE, no_server_text(&servers)).into_response()
                    }
                }
            }
        },
    ))
}
