//! Job write requests and responses beyond register (`Job.Deregister`,
//! `Job.Evaluate`, `Job.Plan`, `Job.Scale`, `Job.Dispatch`, `Periodic.Force`),
//! `Alloc.Stop`'s response, and the job list stub (reference §3.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::diff::JobDiff;
use crate::de::null_default;
use crate::plan::PlanAnnotations;
use crate::{AllocMetric, Evaluation, Job, JobSummary};

/// `DELETE /v1/job/:id?purge=&global=&eval_priority=&no_shutdown_delay=`; every field
/// comes from the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDeregisterRequest {
    /// Namespace (`default` when empty).
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
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
    /// The `job-deregister` eval (empty for periodic/parameterized jobs).
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Its create index.
    pub eval_create_index: u64,
    /// The job's modify index after the write.
    pub job_modify_index: u64,
    /// CSI volume claim eval (never created by Drover).
    #[serde(rename = "VolumeEvalID")]
    pub volume_eval_id: String,
    /// Its index.
    pub volume_eval_index: u64,
    /// Raft index of the write.
    pub index: u64,
    /// Query meta.
    pub last_contact: u64,
    /// Query meta.
    pub known_leader: bool,
    /// Query meta.
    pub next_token: String,
}

/// `EvalOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvalOptions {
    /// Reschedule failed allocations now, regardless of their policy.
    pub force_reschedule: bool,
}

/// `POST /v1/job/:id/evaluate` body; the namespace comes from the query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobEvaluateRequest {
    /// Job ID (the URL's wins).
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Options.
    pub eval_options: EvalOptions,
    /// From the query (`namespace`).
    #[serde(skip)]
    pub namespace: String,
}

/// `POST /v1/job/:id/plan` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanRequest {
    /// The job to plan (`Job must be specified` when absent).
    pub job: Option<Job>,
    /// Compute a diff against the current version.
    pub diff: bool,
    /// Override soft-mandatory policies.
    pub policy_override: bool,
}

/// `JobPlanResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanResponse {
    /// Desired changes per group.
    pub annotations: Option<PlanAnnotations>,
    /// Placements that would fail, per group.
    #[serde(rename = "FailedTGAllocs", deserialize_with = "null_default")]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// The current job's modify index (0 when new): pass it as `EnforceIndex`.
    pub job_modify_index: u64,
    /// Evals the scheduler would create (blocked, follow-ups).
    #[serde(deserialize_with = "null_default")]
    pub created_evals: Vec<Evaluation>,
    /// The diff against the current version, when asked for and computed.
    pub diff: Option<JobDiff>,
    /// RFC 3339 time of the next periodic launch; empty or Go's zero time
    /// (`0001-01-01T00:00:00Z`) when there is none.
    #[serde(deserialize_with = "null_default")]
    pub next_periodic_launch: String,
    /// Warnings.
    pub warnings: String,
    /// The state index the plan was computed at.
    pub index: u64,
}

/// `POST /v1/job/:id/scale` as the server takes it: the target group resolved from
/// the body's `Target`, the job and namespace from the URL.
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
    /// Why (scaling event).
    pub message: String,
    /// The request reports an error (scaling event).
    pub error: bool,
    /// Scaling event meta.
    pub meta: BTreeMap<String, Value>,
    /// Override soft-mandatory policies.
    pub policy_override: bool,
    /// Non-zero: scale only if the job's modify index matches.
    pub job_modify_index: u64,
}

/// `ScalingRequest`: the body of `POST /v1/job/:id/scale` as it arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScalingRequest {
    /// New count; `null` only records the request.
    pub count: Option<i64>,
    /// `{"Job": id, "Group": name}`.
    #[serde(deserialize_with = "null_default")]
    pub target: BTreeMap<String, String>,
    /// Why.
    pub message: String,
    /// Whether this reports an error.
    pub error: bool,
    /// Event meta.
    #[serde(deserialize_with = "null_default")]
    pub meta: BTreeMap<String, Value>,
    /// Override soft-mandatory policies.
    pub policy_override: bool,
    /// Non-zero: scale only if the job's modify index matches.
    pub job_modify_index: u64,
}

/// `POST /v1/job/:id/dispatch` body; namespace and idempotency token come from the
/// query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchRequest {
    /// The parameterized job (the URL's wins).
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Base64 payload (≤ 16 KiB decoded).
    pub payload: Option<String>,
    /// Meta for the child.
    #[serde(deserialize_with = "null_default")]
    pub meta: BTreeMap<String, String>,
    /// Template for the child's ID prefix.
    pub id_prefix_template: String,
    /// Child priority; 0 = the parent's.
    pub priority: i64,
    /// From the query.
    #[serde(skip)]
    pub namespace: String,
    /// `?idempotency_token`.
    #[serde(skip)]
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

/// `JobListStub` (`GET /v1/jobs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub name: String,
    pub namespace: String,
    #[serde(deserialize_with = "null_default")]
    pub datacenters: Vec<String>,
    pub node_pool: String,
    pub multiregion: Option<Value>,
    /// `service`, `batch`, `system`, `sysbatch`.
    #[serde(rename = "Type")]
    pub kind: String,
    pub priority: i64,
    pub periodic: bool,
    pub parameterized_job: bool,
    pub stop: bool,
    pub status: String,
    pub status_description: String,
    pub job_summary: Option<JobSummary>,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
    /// Unix nanoseconds.
    pub submit_time: i64,
    /// Only with `?meta=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<BTreeMap<String, String>>,
}

impl JobListStub {
    /// The list view of `job` with its summary; `meta` mirrors `?meta=true`.
    pub fn new(job: &Job, summary: Option<&JobSummary>, meta: bool) -> JobListStub {
        JobListStub {
            id: job.id().to_owned(),
            parent_id: job.parent_id.clone().unwrap_or_default(),
            name: job.name.clone().unwrap_or_default(),
            namespace: job.namespace().to_owned(),
            datacenters: job.datacenters.clone(),
            node_pool: job.node_pool.clone().unwrap_or_default(),
            multiregion: job.multiregion.clone(),
            kind: job.job_type.clone().unwrap_or_default(),
            priority: job.priority.unwrap_or(0),
            periodic: job.is_periodic(),
            parameterized_job: job.is_parameterized(),
            stop: job.stop.unwrap_or(false),
            status: job.status.clone().unwrap_or_default(),
            status_description: job.status_description.clone().unwrap_or_default(),
            job_summary: summary.cloned(),
            create_index: job.create_index.unwrap_or(0),
            modify_index: job.modify_index.unwrap_or(0),
            job_modify_index: job.job_modify_index.unwrap_or(0),
            submit_time: job.submit_time.unwrap_or(0),
            meta: meta.then(|| job.meta.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_response_reads_nomad_nulls_and_round_trips() {
        let nomad = r#"{"Annotations":null,"FailedTGAllocs":null,"JobModifyIndex":7,
            "CreatedEvals":null,"Diff":{"Type":"Edited","ID":"web","Fields":null,
            "Objects":null,"TaskGroups":[{"Type":"Edited","Name":"g","Updates":{"create":1},
            "Fields":null,"Objects":null,"Tasks":null}]},
            "NextPeriodicLaunch":null,"Warnings":"","Index":9,"Unknown":true}"#;
        let r: JobPlanResponse = serde_json::from_str(nomad).expect("Nomad's JSON reads");
        assert!(r.failed_tg_allocs.is_empty() && r.created_evals.is_empty());
        assert_eq!(r.next_periodic_launch, "");
        let d = r.diff.as_ref().expect("diff");
        assert_eq!(d.task_groups[0].updates["create"], 1);
        let back: JobPlanResponse =
            serde_json::from_value(serde_json::to_value(&r).expect("encode")).expect("decode");
        assert_eq!(back, r);
    }

    #[test]
    fn list_stub_shows_meta_only_when_asked() {
        let job = Job {
            id: Some("web".into()),
            job_type: Some("batch".into()),
            meta: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        };
        let plain = serde_json::to_value(JobListStub::new(&job, None, false)).expect("json");
        assert!(plain.get("Meta").is_none());
        assert_eq!(plain["Type"], "batch");
        assert_eq!(plain["ID"], "web");
        let with = serde_json::to_value(JobListStub::new(&job, None, true)).expect("json");
        assert_eq!(with["Meta"]["team"], "a");
    }
}
