//! [`ServerBackend`]: the `/v1` API's [`Backend`] over a running
//! [`drover_server::Server`]. Reads are the server's state views, writes its RPC
//! endpoints (each one Raft entry); [`backend_error`] is the one mapping of
//! [`ServerError`] to [`BackendError`] (which [`crate::http::error`] maps to HTTP).
//!
//! Addresses: Drover's servers talk Raft over gRPC on the serf port (4648), and no
//! msgpack RPC port (4647) exists yet, so `/v1/status/leader`, `/v1/status/peers`,
//! members and the raft configuration report the servers' Raft addresses.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use drover_server::{Server, ServerError};
use drover_state::{EventBatch, StateView, Table};
use drover_types::api::{
    AgentMember, AllocStopResponse, GaugeValue, JobDeregisterRequest, JobDeregisterResponse,
    JobDispatchRequest, JobDispatchResponse, JobEvaluateRequest, JobPlanRequest, JobPlanResponse,
    JobScaleRequest, MetricsSummary, NodeDrainRequest, NodeEligibilityRequest, NodeUpdateResponse,
    PeriodicForceResponse, RaftConfiguration, RaftServer, ServerMembers,
};
use drover_types::{JobRegisterRequest, JobRegisterResponse};
use serde_json::json;
use tokio::time::Instant;

use crate::http::{Backend, BackendError, BackendResult, QueryMeta};

/// What the agent around the server tells the API about itself (`/v1/agent/self`,
/// member tags). The region, datacenter and node name come from the server's config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentInfo {
    /// `server.bootstrap_expect` (member tag `expect`).
    pub bootstrap_expect: u32,
    /// Whether the agent's `client {}` block is enabled (reported in `agent/self`).
    pub client_enabled: bool,
    /// The address the HTTP API is served on, once bound.
    pub http_addr: Option<String>,
    /// The agent's client's node ID, set once the client runs (`stats.client`).
    pub client_node_id: Arc<OnceLock<String>>,
}

/// The [`Backend`] of a server agent; see the module docs.
#[derive(Clone)]
pub struct ServerBackend {
    server: Server,
    info: AgentInfo,
}

/// The one mapping of server errors to backend errors.
pub fn backend_error(e: ServerError) -> BackendError {
    match e {
        ServerError::NotFound(m) => BackendError::NotFound(m),
        ServerError::BadRequest(m) => BackendError::BadRequest(m),
        ServerError::Validation(errs) => BackendError::Validation(errs),
        ServerError::NoLeader { .. } => BackendError::NoLeader,
        ServerError::Apply(e) => BackendError::from(e),
        ServerError::Unavailable(m) => BackendError::Unavailable(m),
        ServerError::Internal(m) => BackendError::Internal(m),
    }
}

fn map<T>(r: Result<T, ServerError>) -> BackendResult<T> {
    r.map_err(backend_error)
}

impl ServerBackend {
    /// A backend over `server`.
    pub fn new(server: Server, info: AgentInfo) -> ServerBackend {
        ServerBackend { server, info }
    }

    /// The server behind it.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `<name>.<region>` of the server with raft `id` (peers other than this one are
    /// only known by address).
    fn member_name(&self, id: u64, addr: &str) -> String {
        let c = self.server.config();
        if id == c.node_id {
            format!("{}.{}", c.node_name, c.region)
        } else {
            format!("{addr}.{}", c.region)
        }
    }

    fn member(&self, id: u64, addr: &str) -> AgentMember {
        let c = self.server.config();
        let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "4648"));
        let mut tags: BTreeMap<String, String> = [
            ("role", "nomad"),
            ("region", c.region.as_str()),
            ("dc", c.datacenter.as_str()),
            ("build", env!("CARGO_PKG_VERSION")),
            ("vsn", "1"),
            ("raft_vsn", "3"),
            ("rpc_addr", host),
            ("port", port),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        tags.insert("id".into(), id.to_string());
        if id == c.node_id && self.info.bootstrap_expect > 0 {
            tags.insert("bootstrap".into(), "1".into());
            tags.insert("expect".into(), self.info.bootstrap_expect.to_string());
        }
        AgentMember {
            name: self.member_name(id, addr),
            addr: host.to_owned(),
            port: port.parse().unwrap_or(4648),
            tags,
            status: "alive".into(),
            protocol_min: 1,
            protocol_max: 5,
            protocol_cur: 2,
            delegate_min: 2,
            delegate_max: 5,
            delegate_cur: 4,
        }
    }
}

#[async_trait]
impl Backend for ServerBackend {
    fn view(&self) -> StateView {
        self.server.view()
    }

    async fn wait_for(&self, tables: &[Table], min_index: u64, deadline: Instant) -> StateView {
        self.server.wait_for(tables, min_index, deadline).await
    }

    fn events_since(&self, index: u64) -> Vec<Arc<EventBatch>> {
        self.server.events_since(index)
    }

    fn query_meta(&self) -> QueryMeta {
        // Reads are served from this server's applied state; the leader has no lag, a
        // follower's contact time is not tracked yet (reported as 0).
        QueryMeta {
            known_leader: self.server.leader_addr().is_some(),
            last_contact_ms: 0,
        }
    }

    async fn job_register(&self, req: JobRegisterRequest) -> BackendResult<JobRegisterResponse> {
        map(self.server.job_register(req).await)
    }

    async fn job_deregister(
        &self,
        req: JobDeregisterRequest,
    ) -> BackendResult<JobDeregisterResponse> {
        map(self.server.job_deregister(req).await)
    }

    async fn job_evaluate(&self, req: JobEvaluateRequest) -> BackendResult<JobRegisterResponse> {
        map(self.server.job_evaluate(req).await)
    }

    async fn job_plan(&self, req: JobPlanRequest) -> BackendResult<JobPlanResponse> {
        map(self.server.job_plan(req).await)
    }

    async fn job_scale(&self, req: JobScaleRequest) -> BackendResult<JobRegisterResponse> {
        map(self.server.job_scale(req).await)
    }

    async fn job_dispatch(&self, req: JobDispatchRequest) -> BackendResult<JobDispatchResponse> {
        map(self.server.job_dispatch(req).await)
    }

    async fn periodic_force(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> BackendResult<PeriodicForceResponse> {
        map(self.server.periodic_force(namespace, job_id).await)
    }

    async fn alloc_stop(
        &self,
        alloc_id: &str,
        no_shutdown_delay: bool,
    ) -> BackendResult<AllocStopResponse> {
        map(self.server.alloc_stop(alloc_id, no_shutdown_delay).await)
    }

    async fn node_update_eligibility(
        &self,
        req: NodeEligibilityRequest,
    ) -> BackendResult<NodeUpdateResponse> {
        map(self
            .server
            .node_update_eligibility(&req.node_id, &req.eligibility)
            .await)
    }

    async fn node_update_drain(&self, req: NodeDrainRequest) -> BackendResult<NodeUpdateResponse> {
        map(self.server.node_update_drain(req).await)
    }

    fn region(&self) -> String {
        self.server.config().region.clone()
    }

    async fn leader(&self) -> BackendResult<Option<String>> {
        Ok(self.server.leader_addr())
    }

    async fn peers(&self) -> BackendResult<Vec<String>> {
        Ok(self.server.peers())
    }

    async fn members(&self) -> BackendResult<ServerMembers> {
        let c = self.server.config();
        let status = self.server.raft_status();
        let mut members: Vec<AgentMember> = status
            .voters
            .iter()
            .filter_map(|id| status.peers.get(id).map(|a| self.member(*id, a)))
            .collect();
        if members.is_empty() {
            members.push(self.member(c.node_id, self.server.raft_addr()));
        }
        Ok(ServerMembers {
            server_name: c.node_name.clone(),
            server_region: c.region.clone(),
            server_dc: c.datacenter.clone(),
            members,
        })
    }

    async fn raft_configuration(&self) -> BackendResult<RaftConfiguration> {
        let servers = self
            .server
            .raft_configuration()
            .into_iter()
            .map(|s| {
                let id: u64 = s.id.parse().unwrap_or(0);
                RaftServer {
                    node: self.member_name(id, &s.address),
                    id: s.id,
                    address: s.address,
                    leader: s.leader,
                    voter: s.voter,
                    raft_protocol: "3".into(),
                }
            })
            .collect();
        Ok(RaftConfiguration {
            servers,
            index: self.server.raft_status().applied,
        })
    }

    async fn agent_self(&self) -> BackendResult<serde_json::Value> {
        let c = self.server.config();
        let status = self.server.raft_status();
        let member = self.member(c.node_id, self.server.raft_addr());
        Ok(json!({
            "config": {
                "Region": c.region,
                "Datacenter": c.datacenter,
                "NodeName": c.node_name,
                "DataDir": c.data_dir,
                "Server": {
                    "Enabled": true,
                    "BootstrapExpect": self.info.bootstrap_expect,
                    "NumSchedulers": c.num_schedulers,
                    "EnabledSchedulers": c.enabled_schedulers,
                },
                "Client": {"Enabled": self.info.client_enabled},
                "Addresses": {"HTTP": self.info.http_addr, "Serf": self.server.raft_addr()},
                "Version": {"Version": env!("CARGO_PKG_VERSION")},
            },
            "member": member,
            "stats": {
                "client": self.info.client_node_id.get().map(|id| json!({
                    "node_id": id,
                    "known_servers": self.server.rpc_addr(),
                })),
                "nomad": {
                    "server": "true",
                    "leader": self.server.is_leader().to_string(),
                    "leader_addr": self.server.leader_addr().unwrap_or_default(),
                    "known_regions": "1",
                },
                "raft": {
                    "term": status.term.to_string(),
                    "commit_index": status.commit.to_string(),
                    "applied_index": status.applied.to_string(),
                    "last_log_index": status.last_index.to_string(),
                    "last_snapshot_index": status.snapshot_index.to_string(),
                    "num_peers": status.voters.len().saturating_sub(1).to_string(),
                },
            },
        }))
    }

    async fn metrics(&self) -> BackendResult<MetricsSummary> {
        let v = self.server.view();
        let b = self.server.broker_stats();
        let gauge = |name: &str, value: usize| GaugeValue {
            name: name.into(),
            value: value as f64,
            labels: BTreeMap::new(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Ok(MetricsSummary {
            timestamp: drover_state::time::rfc3339_secs(now),
            gauges: vec![
                gauge("nomad.state.jobs", v.jobs().count()),
                gauge("nomad.state.nodes", v.node_count()),
                gauge("nomad.state.allocations", v.alloc_count()),
                gauge("nomad.state.evaluations", v.evals().count()),
                gauge("nomad.broker.total_ready", b.ready),
                gauge("nomad.broker.total_unacked", b.unacked),
                gauge("nomad.broker.total_pending", b.pending),
                gauge("nomad.broker.total_waiting", b.delayed),
            ],
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drover_state::ApplyError;

    #[test]
    fn server_errors_map_one_to_one() {
        let cases = [
            (ServerError::NotFound("job not found".into()), 404),
            (ServerError::BadRequest("bad".into()), 400),
            (ServerError::NoLeader { leader: None }, 500),
            (ServerError::Unavailable("stopping".into()), 503),
            (ServerError::Internal("boom".into()), 500),
        ];
        for (e, code) in cases {
            let text = e.to_string();
            let api = crate::http::ApiError::from(backend_error(e));
            assert_eq!((api.status.as_u16(), api.message), (code, text));
        }
        let nf = ApplyError::NotFound {
            kind: "node".into(),
            id: "n1".into(),
        };
        assert_eq!(
            backend_error(ServerError::Apply(nf)),
            BackendError::NotFound("node not found".into())
        );
    }
}
