//! `Deployment` (minimal): the rollout state of one job version, and `JobSummary`:
//! allocation counts per group (reference §3.2, §4).

use crate::duration::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    /// Deployment ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job version deployed.
    pub job_version: u64,
    /// Job modify index.
    pub job_modify_index: u64,
    /// Job spec modify index.
    pub job_spec_modify_index: u64,
    /// Job create index.
    pub job_create_index: u64,
    /// Multiregion deployment.
    pub is_multiregion: bool,
    /// Per group.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub task_groups: BTreeMap<String, DeploymentState>,
    /// One of [`deployment_status`]'s strings.
    pub status: String,
    /// Status text.
    pub status_description: String,
    /// Eval priority.
    pub eval_priority: i64,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of last change.
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
}

/// `DeploymentState` of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentState {
    /// Revert on failure.
    pub auto_revert: bool,
    /// Promote canaries automatically.
    pub auto_promote: bool,
    /// Progress deadline.
    pub progress_deadline: Duration,
    /// RFC 3339 time.
    pub require_progress_by: String,
    /// Canaries promoted.
    pub promoted: bool,
    /// Canary allocation IDs.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub placed_canaries: Vec<String>,
    /// Canaries wanted.
    pub desired_canaries: i64,
    /// Allocations wanted.
    pub desired_total: i64,
    /// Allocations placed.
    pub placed_allocs: i64,
    /// Healthy allocations.
    pub healthy_allocs: i64,
    /// Unhealthy allocations.
    pub unhealthy_allocs: i64,
}

/// `DeploymentStatusUpdate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentStatusUpdate {
    /// Deployment ID.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// New status.
    pub status: String,
    /// Status text.
    pub status_description: String,
}

/// Deployment `Status` strings (`deployment.go:17`).
pub mod deployment_status {
    /// In progress.
    pub const RUNNING: &str = "running";
    /// Paused.
    pub const PAUSED: &str = "paused";
    /// Failed.
    pub const FAILED: &str = "failed";
    /// Done.
    pub const SUCCESSFUL: &str = "successful";
    /// Cancelled.
    pub const CANCELLED: &str = "cancelled";
    /// Initializing.
    pub const INITIALIZING: &str = "initializing";
    /// Pending.
    pub const PENDING: &str = "pending";
    /// Blocked (multiregion).
    pub const BLOCKED: &str = "blocked";
    /// Unblocking (multiregion).
    pub const UNBLOCKING: &str = "unblocking";
}

/// `JobSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobSummary {
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Namespace.
    pub namespace: String,
    /// Per group.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub summary: BTreeMap<String, TaskGroupSummary>,
    /// Children of periodic/parameterized jobs.
    pub children: Option<JobChildrenSummary>,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of last change.
    pub modify_index: u64,
}

/// `TaskGroupSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupSummary {
    /// Waiting for placement.
    pub queued: i64,
    /// Completed.
    pub complete: i64,
    /// Failed.
    pub failed: i64,
    /// Running.
    pub running: i64,
    /// Placed, not yet running.
    pub starting: i64,
    /// Lost.
    pub lost: i64,
    /// Unknown (disconnected).
    pub unknown: i64,
}

/// `JobChildrenSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobChildrenSummary {
    /// Pending children.
    pub pending: i64,
    /// Running children.
    pub running: i64,
    /// Dead children.
    pub dead: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names() {
        let s: JobSummary = serde_json::from_str(
            r#"{"JobID":"bvc","Namespace":"default","Summary":{"bvc25":{"Queued":1,"Running":0}},"Children":null}"#,
        )
        .unwrap();
        assert_eq!(s.summary["bvc25"].queued, 1);
        let v = serde_json::to_value(Deployment::default()).unwrap();
        assert!(v.get("JobSpecModifyIndex").is_some() && v.get("TaskGroups").is_some());
    }
}
