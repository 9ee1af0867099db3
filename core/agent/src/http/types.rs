//! Request and response bodies of the `/v1` API that are not part of the data model
//! (`drover_types`), in Nomad's JSON form: PascalCase Go field names, unknown fields
//! ignored, `null` accepted where Go would accept it.
//!
//! The request structs double as [`super::Backend`] arguments; the HTTP layer fills the
//! parts that come from the URL (job ID, namespace, query flags).

use drover_types::plan::PlanAnnotations;
use drover_types::{AllocMetric, Evaluation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Query meta of a read (`X-Nomad-KnownLeader`, `X-Nomad-LastContact`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryMeta {
    /// A leader is known.
    pub known_leader: bool,
    /// Milliseconds since the last contact with the leader (0 on the leader).
    pub last_contact_ms: u64,
}

/// `DELETE /v1/job/:id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDeregisterRequest {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    pub job_id: String,
    /// Remove the job instead of stopping it.
    pub purge: bool,
    /// Multiregion: stop in every region.
    pub global: bool,
    /// Priority of the eval; 0 = the job's.
    pub eval_priority: i64,
    /// Skip the allocations' shutdown delay.
    pub no_shutdown_delay: bool,
}

/// `JobDeregisterResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDeregisterResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_modify_index: u64,
    #[serde(rename = "VolumeEvalID")]
    pub volume_eval_id: String,
    pub volume_eval_index: u64,
    pub index: u64,
    pub last_contact: u64,
    pub known_leader: bool,
    pub next_token: String,
}

/// `EvalOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvalOptions {
    /// Reschedule failed allocations regardless of their policy.
    pub force_reschedule: bool,
}

/// `POST /v1/job/:id/evaluate` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobEvaluateRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub eval_options: EvalOptions,
    /// From the query (`namespace`).
    #[serde(skip)]
    pub namespace: String,
}

/// `POST /v1/job/:id/plan` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanRequest {
    /// The job (canonicalized by the HTTP layer).
    pub job: Option<drover_types::Job>,
    /// Compute a diff against the current version.
    pub diff: bool,
    pub policy_override: bool,
}

/// `JobPlanResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanResponse {
    pub annotations: Option<PlanAnnotations>,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    pub job_modify_index: u64,
    pub created_evals: Vec<Evaluation>,
    /// `JobDiff` (opaque here; the scheduler side owns its shape).
    pub diff: Option<Value>,
    /// RFC 3339 time of the next periodic launch, empty when not periodic.
    pub next_periodic_launch: String,
    pub warnings: String,
    pub index: u64,
}

/// `POST /v1/job/:id/scale`, after the HTTP layer resolved the target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobScaleRequest {
    pub namespace: String,
    pub job_id: String,
    /// `Target.Group`.
    pub group: String,
    /// `None` records the request without changing the count.
    pub count: Option<i64>,
    pub message: String,
    pub error: bool,
    pub meta: BTreeMap<String, Value>,
    pub policy_override: bool,
    /// With a non-zero value: scale only if the job's modify index matches.
    pub job_modify_index: u64,
}

/// `ScalingRequest` as it arrives on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScalingRequestBody {
    pub count: Option<i64>,
    pub target: Option<BTreeMap<String, String>>,
    pub message: Option<String>,
    pub error: Option<bool>,
    pub meta: Option<BTreeMap<String, Value>>,
    pub policy_override: Option<bool>,
    pub job_modify_index: Option<u64>,
}

/// `POST /v1/job/:id/dispatch` body (plus the URL's job and idempotency token).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Base64 payload (≤ 16 KiB decoded).
    pub payload: Option<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub id_prefix_template: Option<String>,
    pub priority: Option<i64>,
    #[serde(skip)]
    pub namespace: String,
    #[serde(skip)]
    pub idempotency_token: String,
}

/// `JobDispatchResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchResponse {
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_create_index: u64,
    pub index: u64,
}

/// `PeriodicForceResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeriodicForceResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub index: u64,
}

/// `AllocStopResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocStopResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub index: u64,
}

/// `POST /v1/node/:id/eligibility` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeEligibilityRequest {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// `eligible` or `ineligible`.
    pub eligibility: String,
}

/// `DrainSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DrainSpec {
    /// Nanoseconds: <0 force, 0 no deadline, >0 deadline.
    pub deadline: i64,
    pub ignore_system_jobs: bool,
}

/// `POST /v1/node/:id/drain` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDrainRequest {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// `null` cancels the drain.
    pub drain_spec: Option<DrainSpec>,
    pub mark_eligible: bool,
    pub meta: Option<BTreeMap<String, String>>,
}

/// `NodeDrainUpdateResponse` / `NodeEligibilityUpdateResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateResponse {
    pub node_modify_index: u64,
    #[serde(rename = "EvalIDs")]
    pub eval_ids: Vec<String>,
    pub eval_create_index: u64,
    pub index: u64,
}

/// One serf member (`/v1/agent/members`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AgentMember {
    /// `<node>.<region>`.
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub tags: BTreeMap<String, String>,
    /// `alive`, `leaving`, `left`, `failed`.
    pub status: String,
    pub protocol_min: u8,
    pub protocol_max: u8,
    pub protocol_cur: u8,
    pub delegate_min: u8,
    pub delegate_max: u8,
    pub delegate_cur: u8,
}

/// `/v1/agent/members`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMembers {
    pub server_name: String,
    pub server_region: String,
    #[serde(rename = "ServerDC")]
    pub server_dc: String,
    pub members: Vec<AgentMember>,
}

/// One Raft server (`/v1/operator/raft/configuration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RaftServer {
    #[serde(rename = "ID")]
    pub id: String,
    pub node: String,
    pub address: String,
    pub leader: bool,
    pub voter: bool,
    pub raft_protocol: String,
}

/// `/v1/operator/raft/configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RaftConfiguration {
    pub servers: Vec<RaftServer>,
    pub index: u64,
}

/// One role's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentHealth {
    pub ok: bool,
    pub message: String,
}

/// `/v1/agent/health` (lower-case keys; a role is omitted when the agent lacks it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentHealthResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<AgentHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<AgentHealth>,
}

impl AgentHealthResponse {
    /// A server-only agent: `ok` iff a leader is known (`ok` / `no leader`).
    pub fn server_only(has_leader: bool) -> Self {
        AgentHealthResponse {
            client: None,
            server: Some(AgentHealth {
                ok: has_leader,
                message: if has_leader { "ok" } else { "no leader" }.to_string(),
            }),
        }
    }
}

/// A gauge in go-metrics' summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GaugeValue {
    pub name: String,
    pub value: f64,
    pub labels: BTreeMap<String, String>,
}

/// A counter or sample in go-metrics' summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SampledValue {
    pub name: String,
    pub count: u64,
    pub rate: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    pub labels: BTreeMap<String, String>,
}

/// `/v1/metrics`: go-metrics' in-memory summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetricsSummary {
    /// `2006-01-02 15:04:05 -0700 MST` in Go; any readable time here.
    pub timestamp: String,
    pub gauges: Vec<GaugeValue>,
    pub counters: Vec<SampledValue>,
    pub samples: Vec<SampledValue>,
    pub points: Vec<Value>,
}
