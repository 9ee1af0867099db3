//! `Evaluation`: a request to reconcile a job's desired and actual state
//! (reference §3.5, §4), with Nomad's status and trigger strings.

use crate::duration::Duration;
use crate::metric::AllocMetric;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    /// Eval ID (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Priority (the job's unless overridden).
    pub priority: i64,
    /// Scheduler: `service`, `batch`, `system`, `sysbatch`, `_core`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// One of [`trigger`]'s strings.
    pub triggered_by: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job modify index at creation.
    pub job_modify_index: u64,
    /// Node ID for node-triggered evals.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Node modify index.
    pub node_modify_index: u64,
    /// Deployment ID.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Status.
    pub status: EvalStatus,
    /// Status text.
    pub status_description: String,
    /// Delay before processing.
    pub wait: Duration,
    /// RFC 3339 time before which it is not processed.
    pub wait_until: String,
    /// Follow-up eval.
    pub next_eval: String,
    /// Eval this follows.
    pub previous_eval: String,
    /// Blocked eval created by this one.
    pub blocked_eval: String,
    /// Failed placements per group.
    #[serde(
        rename = "FailedTGAllocs",
        deserialize_with = "crate::de::null_default"
    )]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// Computed node classes → eligible.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub class_eligibility: BTreeMap<String, bool>,
    /// Quota hit.
    pub quota_limit_reached: String,
    /// Constraints reference unique attributes.
    pub escaped_computed_class: bool,
    /// Annotate the plan (job plan).
    pub annotate_plan: bool,
    /// Queued allocations per group.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub queued_allocations: BTreeMap<String, i64>,
    /// Leader ACL token (internal).
    #[serde(rename = "LeaderACL")]
    pub leader_acl: String,
    /// State index the scheduler worked from.
    pub snapshot_index: u64,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of last change.
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
}

/// Eval `Status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalStatus {
    /// Waiting for capacity.
    Blocked,
    /// Waiting for a scheduler.
    #[default]
    Pending,
    /// Done.
    Complete,
    /// Gave up.
    Failed,
    /// Superseded.
    Canceled,
}

impl EvalStatus {
    /// Nomad's string.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Blocked => "blocked",
            EvalStatus::Pending => "pending",
            EvalStatus::Complete => "complete",
            EvalStatus::Failed => "failed",
            EvalStatus::Canceled => "canceled",
        }
    }
    /// Complete, failed and canceled are final.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EvalStatus::Complete | EvalStatus::Failed | EvalStatus::Canceled
        )
    }
}

/// Eval `TriggeredBy` strings (`eval.go:16-33`).
pub mod trigger {
    /// A job was registered.
    pub const JOB_REGISTER: &str = "job-register";
    /// A job was stopped.
    pub const JOB_DEREGISTER: &str = "job-deregister";
    /// A periodic launch.
    pub const PERIODIC_JOB: &str = "periodic-job";
    /// A node drains.
    pub const NODE_DRAIN: &str = "node-drain";
    /// A node changed.
    pub const NODE_UPDATE: &str = "node-update";
    /// An allocation was stopped.
    pub const ALLOC_STOP: &str = "alloc-stop";
    /// Scheduled (core GC).
    pub const SCHEDULED: &str = "scheduled";
    /// Rolling update step.
    pub const ROLLING_UPDATE: &str = "rolling-update";
    /// Deployment watcher.
    pub const DEPLOYMENT_WATCHER: &str = "deployment-watcher";
    /// Follow-up of a failed eval.
    pub const FAILED_FOLLOW_UP: &str = "failed-follow-up";
    /// Plan attempts exhausted.
    pub const MAX_PLAN_ATTEMPTS: &str = "max-plan-attempts";
    /// An allocation failed.
    pub const ALLOC_FAILURE: &str = "alloc-failure";
    /// Queued allocations retry.
    pub const QUEUED_ALLOCS: &str = "queued-allocs";
    /// Preemption.
    pub const PREEMPTION: &str = "preemption";
    /// Job scaled.
    pub const JOB_SCALING: &str = "job-scaling";
    /// Disconnect window expired.
    pub const MAX_DISCONNECT_TIMEOUT: &str = "max-disconnect-timeout";
    /// Node reconnected.
    pub const RECONNECT: &str = "reconnect";
    /// Allocation rescheduled.
    pub const ALLOC_RESCHEDULE: &str = "alloc-reschedule";
}

impl Evaluation {
    /// Whether the eval is finished.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_names() {
        let e: Evaluation = serde_json::from_str(
            r#"{"ID":"e1","Type":"service","TriggeredBy":"job-register","Status":"blocked",
                "FailedTGAllocs":{"web":{"NodesEvaluated":3,"DimensionExhausted":{"memory":3}}},
                "QueuedAllocations":null}"#,
        )
        .unwrap();
        assert_eq!(e.triggered_by, trigger::JOB_REGISTER);
        assert_eq!(e.status, EvalStatus::Blocked);
        assert_eq!(e.failed_tg_allocs["web"].dimension_exhausted["memory"], 3);
        let v = serde_json::to_value(&e).unwrap();
        assert!(v.get("FailedTGAllocs").is_some() && v.get("JobID").is_some());
        assert_eq!(
            serde_json::to_value(EvalStatus::Canceled).unwrap(),
            "canceled"
        );
        assert!(EvalStatus::Canceled.is_terminal() && !EvalStatus::Blocked.is_terminal());
    }
}
