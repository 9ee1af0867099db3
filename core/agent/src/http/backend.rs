//! The [`Backend`] trait: what the `/v1` API needs from a server, at the level of
//! Nomad's RPC endpoints (`Job.Register`, `Node.UpdateDrain`, `Status.Leader` …).
//!
//! The HTTP layer never touches Raft or the scheduler: reads go through consistent
//! [`StateView`] snapshots (and [`Backend::wait_for`] for blocking queries), writes
//! through the methods below, which the real server implements by proposing
//! [`drover_state::Command`]s to Raft (and, for `job_plan`, running the scheduler on a
//! snapshot). [`crate::ServerBackend`] implements it over a running
//! `drover_server::Server`; request and response bodies are `drover_types::api`'s.
//!
//! Contract for implementors:
//! * Writes return once the entry is committed and applied, with `Index` = its Raft
//!   index; `wait_for` must then observe it.
//! * `job_register` receives a job the HTTP layer already canonicalized and
//!   validated, with `Namespace` and `Region` set.
//! * Errors are [`BackendError`]s; the HTTP status and text are chosen in
//!   [`super::error`] only.

use async_trait::async_trait;
use drover_state::{ApplyError, EventBatch, StateView, Table};
use drover_types::api::{
    AgentHealthResponse, AllocStopResponse, JobDeregisterRequest, JobDeregisterResponse,
    JobDispatchRequest, JobDispatchResponse, JobEvaluateRequest, JobPlanRequest, JobPlanResponse,
    JobScaleRequest, MetricsSummary, NodeDrainRequest, NodeEligibilityRequest, NodeUpdateResponse,
    PeriodicForceResponse, RaftConfiguration, ServerMembers,
};
use drover_types::{JobRegisterRequest, JobRegisterResponse, ValidationError, multierror_text};
use std::sync::Arc;
use tokio::time::Instant;

/// Query meta of a read (`X-Nomad-KnownLeader`, `X-Nomad-LastContact`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryMeta {
    /// A leader is known.
    pub known_leader: bool,
    /// Milliseconds since the last contact with the leader (0 on the leader).
    pub last_contact_ms: u64,
}

/// Why a backend call failed. Each variant maps to one HTTP status (see
/// [`super::error`]); the `String`s are the exact texts clients see.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// 404, e.g. `job not found`.
    #[error("{0}")]
    NotFound(String),
    /// 400: the request is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 500 with Nomad's multierror text: the job breaks validation rules.
    #[error("{}", multierror_text(.0))]
    Validation(Vec<ValidationError>),
    /// 500 `No cluster leader`: no leader to forward the write to.
    #[error("No cluster leader")]
    NoLeader,
    /// 403 `Permission denied`.
    #[error("Permission denied")]
    PermissionDenied,
    /// 501: the endpoint is not available from this backend.
    #[error("{0}")]
    NotImplemented(String),
    /// 503: temporarily unable (shutting down, Raft not ready).
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything else.
    #[error("{0}")]
    Internal(String),
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

impl From<ApplyError> for BackendError {
    /// A rejected log entry: unknown objects are 404 with Nomad's `<kind> not found`,
    /// broken rules 400; enforce-index conflicts are 500 as in Nomad (plain RPC error).
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::NotFound { kind, .. } => {
                BackendError::NotFound(format!("{kind} not found"))
            }
            ApplyError::Invalid { reason, .. } => BackendError::BadRequest(reason),
            other => BackendError::Internal(other.to_string()),
        }
    }
}

/// What the `/v1` API needs from a server. Object-safe (`Arc<dyn Backend>`).
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    // ---- reads ----

    /// The latest applied state: an O(1) consistent snapshot.
    fn view(&self) -> StateView;

    /// Waits until one of `tables` (every table when empty) has an index greater than
    /// `min_index`, or until `deadline`; returns the state at that moment. Must not
    /// miss an apply that happens while it is being called.
    async fn wait_for(&self, tables: &[Table], min_index: u64, deadline: Instant) -> StateView;

    /// Event batches with an index greater than `index`, oldest first (the buffered
    /// part of the change feed, `StateStore::events_since`).
    fn events_since(&self, index: u64) -> Vec<Arc<EventBatch>>;

    /// `X-Nomad-KnownLeader` / `X-Nomad-LastContact` for reads served now.
    fn query_meta(&self) -> QueryMeta;

    // ---- job writes (Job.*) ----

    /// `Job.Register`: stores a new job version and creates its `job-register` eval
    /// (none for periodic/parameterized jobs).
    async fn job_register(&self, req: JobRegisterRequest) -> BackendResult<JobRegisterResponse>;
    /// `Job.Deregister`: stop (or purge) with a `job-deregister` eval.
    async fn job_deregister(
        &self,
        req: JobDeregisterRequest,
    ) -> BackendResult<JobDeregisterResponse>;
    /// `Job.Evaluate`: a new eval for an existing job.
    async fn job_evaluate(&self, req: JobEvaluateRequest) -> BackendResult<JobRegisterResponse>;
    /// `Job.Plan`: a dry run of the scheduler against the current state.
    async fn job_plan(&self, req: JobPlanRequest) -> BackendResult<JobPlanResponse>;
    /// `Job.Scale`: change a group's count (or only record the request).
    async fn job_scale(&self, req: JobScaleRequest) -> BackendResult<JobRegisterResponse>;
    /// `Job.Dispatch`: a child of a parameterized job.
    async fn job_dispatch(&self, req: JobDispatchRequest) -> BackendResult<JobDispatchResponse>;
    /// `Periodic.Force`: launch a periodic job's child now.
    async fn periodic_force(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> BackendResult<PeriodicForceResponse>;

    // ---- allocations, nodes ----

    /// `Alloc.Stop`: migrate the allocation, with an `alloc-stop` eval.
    async fn alloc_stop(
        &self,
        alloc_id: &str,
        no_shutdown_delay: bool,
    ) -> BackendResult<AllocStopResponse>;
    /// `Node.UpdateEligibility`.
    async fn node_update_eligibility(
        &self,
        req: NodeEligibilityRequest,
    ) -> BackendResult<NodeUpdateResponse>;
    /// `Node.UpdateDrain`.
    async fn node_update_drain(&self, req: NodeDrainRequest) -> BackendResult<NodeUpdateResponse>;

    // ---- cluster (Status.*, Operator.*, agent) ----

    /// This agent's region.
    fn region(&self) -> String;
    /// Every known region (`/v1/regions`), sorted.
    async fn regions(&self) -> BackendResult<Vec<String>> {
        Ok(vec![self.region()])
    }
    /// The leader's RPC address (`ip:4647`), `None` without a leader.
    async fn leader(&self) -> BackendResult<Option<String>>;
    /// The Raft peers' RPC addresses.
    async fn peers(&self) -> BackendResult<Vec<String>>;
    /// `/v1/agent/members`.
    async fn members(&self) -> BackendResult<ServerMembers>;
    /// `/v1/operator/raft/configuration`.
    async fn raft_configuration(&self) -> BackendResult<RaftConfiguration>;
    /// `/v1/agent/self`: `{"config":…,"member":…,"stats":…}`.
    async fn agent_self(&self) -> BackendResult<serde_json::Value>;
    /// `/v1/agent/health`. Default: a server-only agent, healthy iff a leader is known.
    async fn agent_health(&self) -> BackendResult<AgentHealthResponse> {
        let leader = self.leader().await?;
        Ok(AgentHealthResponse::server_only(leader.is_some()))
    }
    /// `/v1/metrics` (JSON form; the HTTP layer renders Prometheus text from it).
    async fn metrics(&self) -> BackendResult<MetricsSummary>;
}
