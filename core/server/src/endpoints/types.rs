//! Request and response shapes of the server's endpoints that are not in the data
//! model (`drover_types`), in Nomad's JSON form (PascalCase, unknown fields ignored).
//! They mirror the `/v1` bodies one to one, so the HTTP layer's adapter is a field
//! copy.

use std::collections::BTreeMap;

use drover_types::plan::PlanAnnotations;
use drover_types::{AllocMetric, Evaluation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `DELETE /v1/job/:id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDeregisterRequest {
    /// Namespace (`default` when empty).
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Remove the job instead of stopping it.
    pub purge: bool,
    /// Priority of the eval; 0 = the job's.
    pub eval_priority: i64,
    /// Skip the allocations' shutdown delay.
    pub no_shutdown_delay: bool,
}

/// `JobDeregisterResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDeregisterResponse {
    /// The `job-deregister` eval (empty for periodic/parameterized jobs).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its create index.
    pub eval_create_index: u64,
    /// The job's modify index after the write.
    pub job_modify_index: u64,
    /// Raft index of the write.
    pub index: u64,
}

/// `POST /v1/job/:id/evaluate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobEvaluateRequest {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// `EvalOptions.ForceReschedule`: reschedule failed allocations now.
    pub force_reschedule: bool,
}

/// `POST /v1/job/:id/plan`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobPlanRequest {
    /// The job (canonicalized and validated here too).
    pub job: drover_types::Job,
    /// Compute a diff (not implemented: `Diff` is always `null`).
    pub diff: bool,
}

/// `JobPlanResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanResponse {
    /// Desired changes per group.
    pub annotations: Option<PlanAnnotations>,
    /// Placements that would fail, per group.
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// The current job's modify index (0 when new): pass it as `EnforceIndex`.
    pub job_modify_index: u64,
    /// Evals the scheduler would create (blocked, follow-ups).
    pub created_evals: Vec<Evaluation>,
    /// Not computed yet.
    pub diff: Option<Value>,
    /// RFC 3339 time of the next periodic launch (empty: not computed).
    pub next_periodic_launch: String,
    /// Warnings.
    pub warnings: String,
    /// The state index the plan was computed at.
    pub index: u64,
}

/// `POST /v1/job/:id/scale`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobScaleRequest {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// `Target.Group`.
    pub group: String,
    /// `None` records the request without changing the count.
    pub count: Option<i64>,
    /// Non-zero: scale only if the job's modify index matches.
    pub job_modify_index: u64,
}

/// `POST /v1/job/:id/dispatch`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobDispatchRequest {
    /// Namespace.
    pub namespace: String,
    /// The parameterized job.
    pub job_id: String,
    /// Base64 payload (≤ 16 KiB decoded).
    pub payload: Option<String>,
    /// Meta for the child.
    pub meta: BTreeMap<String, String>,
    /// Child priority; 0 = the parent's.
    pub priority: i64,
    /// `?idempotency_token`.
    pub idempotency_token: String,
}

/// `JobDispatchResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchResponse {
    /// `<parent>/dispatch-<unix>-<8hex>`.
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    /// The child's eval.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its create index.
    pub eval_create_index: u64,
    /// The child's create index.
    pub job_create_index: u64,
    /// Raft index of the write.
    pub index: u64,
}

/// `PeriodicForceResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeriodicForceResponse {
    /// The child's eval.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its create index.
    pub eval_create_index: u64,
    /// Raft index of the write.
    pub index: u64,
}

/// `AllocStopResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocStopResponse {
    /// The `alloc-stop` eval.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Raft index of the write.
    pub index: u64,
}

/// `Node.Register` / `Node.UpdateStatus` response: when to heartbeat next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeHeartbeatResponse {
    /// Heartbeat within this many nanoseconds (Nomad's `HeartbeatTTL`).
    #[serde(rename = "HeartbeatTTL")]
    pub heartbeat_ttl: i64,
    /// Evals created by the change.
    #[serde(rename = "EvalIDs")]
    pub eval_ids: Vec<String>,
    /// Their create index.
    pub eval_create_index: u64,
    /// The node's modify index.
    pub node_modify_index: u64,
    /// Raft index of the write (the current index when nothing changed).
    pub index: u64,
}

/// `POST /v1/node/:id/drain` (`DrainSpec` `null` cancels).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeDrainRequest {
    /// Node ID.
    pub node_id: String,
    /// `Some((deadline_ns, ignore_system_jobs))`: <0 force, 0 no deadline, >0 deadline.
    pub drain_spec: Option<DrainSpec>,
    /// With a cancel: make the node eligible again.
    pub mark_eligible: bool,
}

/// `DrainSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DrainSpec {
    /// Nanoseconds: <0 force, 0 no deadline, >0 deadline.
    pub deadline: i64,
    /// Leave system allocations in place.
    pub ignore_system_jobs: bool,
}

/// `NodeDrainUpdateResponse` / `NodeEligibilityUpdateResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateResponse {
    /// The node's modify index.
    pub node_modify_index: u64,
    /// Evals created.
    #[serde(rename = "EvalIDs")]
    pub eval_ids: Vec<String>,
    /// Their create index.
    pub eval_create_index: u64,
    /// Raft index of the write.
    pub index: u64,
}
