//! Response shapes the CLI reads that `drover-types` does not model (list stubs,
//! plan and diff, members, raft configuration). Read-only views: every field is
//! defaulted and `null` collections read as empty, so a newer agent that sends more
//! (or fewer) fields still renders.

use std::collections::BTreeMap;

use drover_types::plan::PlanAnnotations;
use drover_types::{AllocMetric, Evaluation, JobSummary};
use serde::{Deserialize, Deserializer};

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `JobListStub` (`GET /v1/jobs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub priority: i64,
    pub periodic: bool,
    pub parameterized_job: bool,
    pub stop: bool,
    pub status: String,
    pub job_summary: Option<JobSummary>,
    /// Unix nanoseconds.
    pub submit_time: i64,
}

/// `NodeListStub` (`GET /v1/nodes`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeListStub {
    pub address: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub datacenter: String,
    pub name: String,
    pub node_pool: String,
    pub node_class: String,
    pub version: String,
    pub drain: bool,
    pub scheduling_eligibility: String,
    pub status: String,
}

/// `JobDeregisterResponse` (`DELETE /v1/job/:id`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDeregisterResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_modify_index: u64,
}

/// `JobPlanResponse` (`POST /v1/job/:id/plan`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanResponse {
    pub annotations: Option<PlanAnnotations>,
    #[serde(rename = "FailedTGAllocs", deserialize_with = "null_default")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    pub job_modify_index: u64,
    #[serde(deserialize_with = "null_default")]
    pub created_evals: Vec<Evaluation>,
    pub diff: Option<JobDiff>,
    /// RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`) when not periodic.
    pub next_periodic_launch: Option<String>,
    pub warnings: String,
}

/// `JobDiff`. `Type` is `Added`, `Deleted`, `Edited` or `None`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub task_groups: Vec<TaskGroupDiff>,
}

/// `TaskGroupDiff`; `Updates` counts the plan's changes by kind ("create", …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub tasks: Vec<TaskDiff>,
    #[serde(deserialize_with = "null_default")]
    pub updates: BTreeMap<String, u64>,
}

/// `TaskDiff`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<String>,
}

/// `FieldDiff`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FieldDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub old: String,
    pub new: String,
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<String>,
}

/// `ObjectDiff`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ObjectDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<FieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ObjectDiff>,
}

/// `GET /v1/agent/members`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMembers {
    pub server_name: String,
    pub server_region: String,
    #[serde(rename = "ServerDC")]
    pub server_dc: String,
    #[serde(deserialize_with = "null_default")]
    pub members: Vec<AgentMember>,
}

/// One serf member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AgentMember {
    /// `<node>.<region>`.
    pub name: String,
    pub addr: String,
    pub port: u16,
    #[serde(deserialize_with = "null_default")]
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

/// `GET /v1/operator/raft/configuration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RaftConfiguration {
    #[serde(deserialize_with = "null_default")]
    pub servers: Vec<RaftServer>,
    pub index: u64,
}

/// One raft peer.
#[derive(Debug, Clone, Default, Deserialize)]
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
