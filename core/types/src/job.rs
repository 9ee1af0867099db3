//! `job "id" { … }` → `Job`, its type enum, and the `/v1/jobs` request wrapper.
//!
//! The JSON form is Nomad's API form: PascalCase Go field names, durations in integer
//! nanoseconds, unknown fields ignored, `null` accepted for every collection. Fields
//! that Nomad's `api.Job` holds as pointers are `Option`s that
//! [`Job::canonicalize`] fills.

use crate::constraint::{Affinity, Constraint, Spread};
use crate::group::TaskGroup;
use crate::periodic::{ParameterizedJobConfig, PeriodicConfig};
use crate::restart::ReschedulePolicy;
use crate::update::{MigrateStrategy, UpdateStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A job: the user's declaration of desired state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Job {
    /// Defaults to `global`.
    pub region: Option<String>,
    /// Defaults to `default`.
    pub namespace: Option<String>,
    /// The job ID (block label).
    #[serde(rename = "ID")]
    pub id: Option<String>,
    /// Defaults to the ID.
    pub name: Option<String>,
    /// `service` (default), `batch`, `system`, `sysbatch`.
    #[serde(rename = "Type")]
    pub job_type: Option<String>,
    /// 1..=100 by default policy; defaults to 50.
    pub priority: Option<i64>,
    /// Place all allocations or none.
    pub all_at_once: Option<bool>,
    /// Datacenter globs; defaults to `["*"]`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub datacenters: Vec<String>,
    /// Defaults to `default`.
    pub node_pool: Option<String>,
    /// Job constraints.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub constraints: Vec<Constraint>,
    /// Job affinities.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub affinities: Vec<Affinity>,
    /// Job spreads.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub spreads: Vec<Spread>,
    /// The groups.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub task_groups: Vec<TaskGroup>,
    /// Job-level `update {}`, merged into each group.
    pub update: Option<UpdateStrategy>,
    /// `multiregion {}`, kept opaque.
    pub multiregion: Option<Value>,
    /// `periodic {}`.
    pub periodic: Option<PeriodicConfig>,
    /// `parameterized {}`.
    pub parameterized_job: Option<ParameterizedJobConfig>,
    /// Job-level `reschedule {}`, merged into each group.
    pub reschedule: Option<ReschedulePolicy>,
    /// Job-level `migrate {}`, merged into each group.
    pub migrate: Option<MigrateStrategy>,
    /// Job meta.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta: BTreeMap<String, String>,
    /// `ui {}`, kept opaque.
    #[serde(rename = "UI")]
    pub ui: Option<Value>,
    /// Stopped (deregistered but not purged).
    pub stop: Option<bool>,
    /// Parent of a dispatched or periodic child.
    #[serde(rename = "ParentID")]
    pub parent_id: Option<String>,
    /// A dispatched child.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub dispatched: bool,
    /// Idempotency token of a dispatch.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub dispatch_idempotency_token: String,
    /// Dispatch payload, base64.
    pub payload: Option<String>,
    /// Consul token (write-only in Nomad), kept.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub consul_token: String,
    /// Consul namespace.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub consul_namespace: String,
    /// Vault token (write-only in Nomad), kept.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub vault_token: String,
    /// Vault namespace.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub vault_namespace: String,
    /// Server-set: `pending`, `running`, `dead`.
    pub status: Option<String>,
    /// Server-set status text.
    pub status_description: Option<String>,
    /// Server-set: version is stable.
    pub stable: Option<bool>,
    /// Server-set version counter.
    pub version: Option<u64>,
    /// Server-set submit time, unix nanoseconds.
    pub submit_time: Option<i64>,
    /// Server-set Raft index of creation.
    pub create_index: Option<u64>,
    /// Server-set Raft index of last change.
    pub modify_index: Option<u64>,
    /// Server-set Raft index of last job-spec change.
    pub job_modify_index: Option<u64>,
    /// `version_tag`, kept opaque.
    pub version_tag: Option<Value>,
}

/// The scheduler a job uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// Long-running, rescheduled, restarted on exit 0.
    Service,
    /// Run to completion.
    Batch,
    /// One per feasible node, long-running.
    System,
    /// One per feasible node, run to completion.
    Sysbatch,
}

impl JobType {
    /// Every type, in Nomad's order.
    pub const ALL: [JobType; 4] = [
        JobType::Service,
        JobType::Batch,
        JobType::System,
        JobType::Sysbatch,
    ];

    /// Nomad's string.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Service => "service",
            JobType::Batch => "batch",
            JobType::System => "system",
            JobType::Sysbatch => "sysbatch",
        }
    }
    /// Parses Nomad's string.
    pub fn parse(s: &str) -> Option<JobType> {
        JobType::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// System and sysbatch place one allocation per node.
    pub fn is_system_like(self) -> bool {
        matches!(self, JobType::System | JobType::Sysbatch)
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Job `Status` values.
pub mod job_status {
    /// Waiting for placement.
    pub const PENDING: &str = "pending";
    /// Has allocations running.
    pub const RUNNING: &str = "running";
    /// Stopped or finished.
    pub const DEAD: &str = "dead";
}

/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The default region.
pub const DEFAULT_REGION: &str = "global";
/// The default node pool.
pub const DEFAULT_NODE_POOL: &str = "default";
/// The default job priority.
pub const DEFAULT_PRIORITY: i64 = 50;
/// The highest priority under Nomad's default `job_max_priority`.
pub const MAX_PRIORITY: i64 = 100;

impl Job {
    /// The ID, or `""`.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
    /// The namespace, `default` when unset.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }
    /// The job type, `service` when unset; `None` when the string is not a known type.
    pub fn kind(&self) -> Option<JobType> {
        JobType::parse(self.job_type.as_deref().unwrap_or("service"))
    }
    /// Periodic jobs launch children instead of running themselves.
    pub fn is_periodic(&self) -> bool {
        self.periodic
            .as_ref()
            .is_some_and(|p| p.enabled.unwrap_or(true))
    }
    /// Parameterized jobs are templates for dispatch.
    pub fn is_parameterized(&self) -> bool {
        self.parameterized_job.is_some() && !self.dispatched
    }
    /// The group with this name.
    pub fn group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }
}

/// `POST /v1/jobs` and `POST /v1/job/:id` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobRegisterRequest {
    /// The job (required by the endpoint).
    pub job: Option<Job>,
    /// HCL source the job came from, kept opaque.
    pub submission: Option<Value>,
    /// Register only if `JobModifyIndex` matches.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub enforce_index: bool,
    /// Expected modify index with `EnforceIndex`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub job_modify_index: u64,
    /// Override soft policy failures.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub policy_override: bool,
    /// Keep current group counts.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub preserve_counts: bool,
    /// Keep current resources.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub preserve_resources: bool,
    /// Priority of the created evaluation; 0 = job priority.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub eval_priority: i64,
    /// Request region.
    pub region: Option<String>,
    /// Request namespace.
    pub namespace: Option<String>,
    /// ACL token.
    #[serde(rename = "SecretID")]
    pub secret_id: Option<String>,
}

/// `JobRegisterResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobRegisterResponse {
    /// The evaluation created (empty for periodic/parameterized jobs).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its create index.
    pub eval_create_index: u64,
    /// The job's modify index.
    pub job_modify_index: u64,
    /// Warnings, newline separated.
    pub warnings: String,
    /// Raft index of the write.
    pub index: u64,
    /// Query meta: ms since leader contact.
    pub last_contact: u64,
    /// Query meta: a leader is known.
    pub known_leader: bool,
    /// Query meta: pagination token.
    pub next_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"Job":{"ID":"example","Name":"example","Type":"service","Datacenters":["dc1"],
 "TaskGroups":[{"Name":"web","Count":1,
   "Networks":[{"Mode":"host","DynamicPorts":[{"Label":"http","To":0}]}],
   "Tasks":[{"Name":"server","Driver":"raw_exec",
     "Config":{"command":"/bin/sleep","args":["300"]},
     "Resources":{"CPU":100,"MemoryMB":64}}]}]}}"#;

    #[test]
    fn parses_reference_minimal_job() {
        let r: JobRegisterRequest = serde_json::from_str(MINIMAL).unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.id(), "example");
        assert_eq!(job.kind(), Some(JobType::Service));
        assert_eq!(job.datacenters, ["dc1"]);
        let g = job.group("web").unwrap();
        assert_eq!(g.networks[0].dynamic_ports[0].label, "http");
        assert_eq!(g.tasks[0].resources.as_ref().unwrap().memory_mb, Some(64));
    }

    #[test]
    fn register_request_fields_and_unknowns() {
        let r: JobRegisterRequest = serde_json::from_str(
            r#"{"Job":{"ID":"a","Status":null,"Version":null,"Whatever":{"x":1}},
                "EnforceIndex":true,"JobModifyIndex":7,"PolicyOverride":true,"Future":1}"#,
        )
        .unwrap();
        assert!(r.enforce_index && r.policy_override);
        assert_eq!(r.job_modify_index, 7);
    }

    #[test]
    fn job_type_strings() {
        for t in JobType::ALL {
            assert_eq!(JobType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(JobType::parse("web"), None);
        let job = Job {
            job_type: Some("web".into()),
            ..Default::default()
        };
        assert_eq!(job.kind(), None);
    }
}
