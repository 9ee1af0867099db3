//! `Allocation`: one placement of a task group on a node, with its task states and
//! events (reference §3.3, §4). Status enums carry Nomad's exact strings.

use crate::allocated::AllocatedResources;
use crate::duration::Duration;
use crate::job::Job;
use crate::metric::AllocMetric;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A placement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Allocation {
    /// Allocation ID (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// The evaluation that placed it.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// `<job>.<group>[<index>]`.
    pub name: String,
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Node name.
    pub node_name: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version it runs.
    pub job: Option<Box<Job>>,
    /// Task group name.
    pub task_group: String,
    /// What it holds.
    pub allocated_resources: Option<AllocatedResources>,
    /// Placement metrics.
    pub metrics: Option<AllocMetric>,
    /// What the server wants.
    pub desired_status: DesiredStatus,
    /// Why.
    pub desired_description: String,
    /// Requested transitions.
    pub desired_transition: DesiredTransition,
    /// What the client reports.
    pub client_status: ClientStatus,
    /// Why.
    pub client_description: String,
    /// Per task.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub task_states: BTreeMap<String, TaskState>,
    /// The allocation this one replaces.
    pub previous_allocation: String,
    /// The allocation that replaced this one.
    pub next_allocation: String,
    /// Deployment ID.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Deployment health.
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// Reschedule history.
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Network status, kept opaque.
    pub network_status: Option<serde_json::Value>,
    /// Delayed follow-up evaluation.
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// Allocations this one preempted.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub preempted_allocations: Vec<String>,
    /// The allocation that preempted this one.
    pub preempted_by_allocation: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of last change.
    pub modify_index: u64,
    /// Raft index of last server-side change.
    pub alloc_modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
}

/// Alloc `DesiredStatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredStatus {
    /// Should run.
    #[default]
    Run,
    /// Should stop.
    Stop,
    /// Should be evicted (preempted).
    Evict,
}

/// Alloc `ClientStatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    /// No task started yet.
    #[default]
    Pending,
    /// Some task running.
    Running,
    /// All tasks finished successfully.
    Complete,
    /// A task failed.
    Failed,
    /// Its node went down.
    Lost,
    /// Its node disconnected.
    Unknown,
}

impl ClientStatus {
    /// Nomad's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Pending => "pending",
            ClientStatus::Running => "running",
            ClientStatus::Complete => "complete",
            ClientStatus::Failed => "failed",
            ClientStatus::Lost => "lost",
            ClientStatus::Unknown => "unknown",
        }
    }
}

/// `DesiredTransition`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DesiredTransition {
    /// Migrate off a draining node.
    pub migrate: Option<bool>,
    /// Reschedule a failed allocation.
    pub reschedule: Option<bool>,
    /// Reschedule regardless of policy.
    pub force_reschedule: Option<bool>,
    /// Skip the shutdown delay.
    pub no_shutdown_delay: Option<bool>,
}

/// `AllocDeploymentStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocDeploymentStatus {
    /// `null` until known.
    pub healthy: Option<bool>,
    /// RFC 3339 time.
    pub timestamp: String,
    /// A canary.
    pub canary: bool,
    /// Raft index.
    pub modify_index: u64,
}

/// `RescheduleTracker`: the last ≤5 reschedules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RescheduleTracker {
    /// Oldest first.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub events: Vec<RescheduleEvent>,
}

/// `RescheduleEvent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RescheduleEvent {
    /// Unix nanoseconds.
    pub reschedule_time: i64,
    /// Replaced allocation.
    #[serde(rename = "PrevAllocID")]
    pub prev_alloc_id: String,
    /// Its node.
    #[serde(rename = "PrevNodeID")]
    pub prev_node_id: String,
    /// Delay applied.
    pub delay: Duration,
}

/// `TaskState`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskState {
    /// `pending`, `running`, `dead`.
    pub state: TaskStateValue,
    /// Dead because of a failure.
    pub failed: bool,
    /// Restart count.
    pub restarts: u64,
    /// RFC 3339 time of the last restart.
    pub last_restart: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 finish time.
    pub finished_at: String,
    /// Last ≤10 events.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub events: Vec<TaskEvent>,
}

/// Task `State`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStateValue {
    /// Not started (or restarting).
    #[default]
    Pending,
    /// Running.
    Running,
    /// Finished.
    Dead,
}

/// `TaskEvent` (reference §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskEvent {
    /// One of [`task_event`]'s strings.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unix nanoseconds.
    pub time: i64,
    /// Message.
    pub message: String,
    /// Human-readable message.
    pub display_message: String,
    /// Key/value details.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub details: BTreeMap<String, String>,
    /// This event fails the task.
    pub fails_task: bool,
    /// Why it restarts.
    pub restart_reason: String,
    /// Setup error.
    pub setup_error: String,
    /// Driver error.
    pub driver_error: String,
    /// Exit code.
    pub exit_code: i64,
    /// Terminating signal.
    pub signal: i64,
    /// Kill timeout.
    pub kill_timeout: Duration,
    /// Kill error.
    pub kill_error: String,
    /// Kill reason.
    pub kill_reason: String,
    /// Restart delay in nanoseconds.
    pub start_delay: i64,
    /// Artifact download error.
    pub download_error: String,
    /// Validation error.
    pub validation_error: String,
    /// Disk limit in MB.
    pub disk_limit: i64,
    /// The failed sibling task.
    pub failed_sibling: String,
    /// Vault error.
    pub vault_error: String,
    /// Why it was signalled.
    pub task_signal_reason: String,
    /// Signal sent.
    pub task_signal: String,
    /// Driver message.
    pub driver_message: String,
    /// Source of a generic event.
    pub generic_source: String,
}

/// TaskEvent `Type` strings (`structs.go:9245-9354`).
pub mod task_event {
    pub const SETUP_FAILURE: &str = "Setup Failure";
    pub const DRIVER_FAILURE: &str = "Driver Failure";
    pub const RECEIVED: &str = "Received";
    pub const FAILED_VALIDATION: &str = "Failed Validation";
    pub const STARTED: &str = "Started";
    pub const PAUSING: &str = "Pausing";
    pub const TERMINATED: &str = "Terminated";
    pub const KILLING: &str = "Killing";
    pub const KILLED: &str = "Killed";
    pub const RESTARTING: &str = "Restarting";
    pub const NOT_RESTARTING: &str = "Not Restarting";
    pub const RESTART_SIGNAL: &str = "Restart Signaled";
    pub const SIGNALING: &str = "Signaling";
    pub const DOWNLOADING_ARTIFACTS: &str = "Downloading Artifacts";
    pub const ARTIFACT_DOWNLOAD_FAILED: &str = "Failed Artifact Download";
    pub const BUILDING_TASK_DIR: &str = "Building Task Directory";
    pub const TASK_SETUP: &str = "Task Setup";
    pub const DISK_EXCEEDED: &str = "Disk Resources Exceeded";
    pub const SIBLING_FAILED: &str = "Sibling Task Failed";
    pub const DRIVER_MESSAGE: &str = "Driver";
    pub const LEADER_DEAD: &str = "Leader Task Dead";
    pub const MAIN_DEAD: &str = "Main Tasks Dead";
    pub const HOOK_FAILED: &str = "Task hook failed";
    pub const HOOK_MESSAGE: &str = "Task hook message";
    pub const RESTORE_FAILED: &str = "Failed Restoring Task";
    pub const PLUGIN_UNHEALTHY: &str = "Plugin became unhealthy";
    pub const PLUGIN_HEALTHY: &str = "Plugin became healthy";
    pub const CLIENT_RECONNECTED: &str = "Reconnected";
    pub const WAITING_SHUTDOWN_DELAY: &str = "Waiting for shutdown delay";
    pub const SKIPPING_SHUTDOWN_DELAY: &str = "Skipping shutdown delay";
    pub const RUNNING: &str = "Running";
}

/// Events kept per task.
pub const MAX_TASK_EVENTS: usize = 10;

impl Allocation {
    /// Nomad's `TerminalStatus`: stopped/evicted by the server, or complete/failed/lost.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.desired_status,
            DesiredStatus::Stop | DesiredStatus::Evict
        ) || self.client_terminal()
    }
    /// Nomad's `ClientTerminalStatus`.
    pub fn client_terminal(&self) -> bool {
        matches!(
            self.client_status,
            ClientStatus::Complete | ClientStatus::Failed | ClientStatus::Lost
        )
    }
    /// Nomad's alloc name `<job>.<group>[<index>]`.
    pub fn make_name(job: &str, group: &str, index: u64) -> String {
        format!("{job}.{group}[{index}]")
    }
    /// The index in the name, if it has one.
    pub fn index(&self) -> Option<u64> {
        let open = self.name.rfind('[')?;
        self.name[open + 1..].strip_suffix(']')?.parse().ok()
    }
    /// Derives the client status from task states (`getClientStatus`):
    /// failed > running > pending > complete, with Nomad's descriptions.
    pub fn derive_client_status(
        states: &BTreeMap<String, TaskState>,
    ) -> (ClientStatus, &'static str) {
        let (mut failed, mut running, mut pending) = (false, false, false);
        for s in states.values() {
            match s.state {
                TaskStateValue::Dead if s.failed => failed = true,
                TaskStateValue::Running => running = true,
                TaskStateValue::Pending => pending = true,
                TaskStateValue::Dead => {}
            }
        }
        if failed {
            (ClientStatus::Failed, "Failed tasks")
        } else if running {
            (ClientStatus::Running, "Tasks are running")
        } else if pending {
            (ClientStatus::Pending, "No tasks have started")
        } else {
            (ClientStatus::Complete, "All tasks have completed")
        }
    }
}

/// `AllocListStub`: what list endpoints return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_name: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job_type: String,
    pub job_version: u64,
    pub task_group: String,
    pub allocated_resources: Option<AllocatedResources>,
    pub desired_status: DesiredStatus,
    pub desired_description: String,
    pub client_status: ClientStatus,
    pub client_description: String,
    pub desired_transition: DesiredTransition,
    pub task_states: Option<BTreeMap<String, TaskState>>,
    pub deployment_status: Option<AllocDeploymentStatus>,
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    pub next_allocation: String,
    pub reschedule_tracker: Option<RescheduleTracker>,
    pub preempted_allocations: Option<Vec<String>>,
    pub preempted_by_allocation: String,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

impl Allocation {
    /// The list-endpoint view; `resources` and `task_states` mirror the field selectors.
    pub fn stub(&self, resources: bool, task_states: bool) -> AllocListStub {
        let job = self.job.as_deref();
        AllocListStub {
            id: self.id.clone(),
            eval_id: self.eval_id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            node_id: self.node_id.clone(),
            node_name: self.node_name.clone(),
            job_id: self.job_id.clone(),
            job_type: job.and_then(|j| j.job_type.clone()).unwrap_or_default(),
            job_version: job.and_then(|j| j.version).unwrap_or(0),
            task_group: self.task_group.clone(),
            allocated_resources: if resources {
                self.allocated_resources.clone()
            } else {
                None
            },
            desired_status: self.desired_status,
            desired_description: self.desired_description.clone(),
            client_status: self.client_status,
            client_description: self.client_description.clone(),
            desired_transition: self.desired_transition.clone(),
            task_states: task_states.then(|| self.task_states.clone()),
            deployment_status: self.deployment_status.clone(),
            followup_eval_id: self.followup_eval_id.clone(),
            next_allocation: self.next_allocation.clone(),
            reschedule_tracker: self.reschedule_tracker.clone(),
            preempted_allocations: Some(self.preempted_allocations.clone()),
            preempted_by_allocation: self.preempted_by_allocation.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
            modify_time: self.modify_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_strings() {
        for (s, want) in [
            (ClientStatus::Pending, "pending"),
            (ClientStatus::Complete, "complete"),
            (ClientStatus::Lost, "lost"),
            (ClientStatus::Unknown, "unknown"),
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), want);
            assert_eq!(s.as_str(), want);
        }
        assert_eq!(serde_json::to_value(DesiredStatus::Evict).unwrap(), "evict");
        assert_eq!(serde_json::to_value(TaskStateValue::Dead).unwrap(), "dead");
    }

    #[test]
    fn derives_client_status() {
        let st = |state, failed| TaskState {
            state,
            failed,
            ..Default::default()
        };
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), st(TaskStateValue::Dead, false));
        assert_eq!(
            Allocation::derive_client_status(&m).0,
            ClientStatus::Complete
        );
        m.insert("b".into(), st(TaskStateValue::Pending, false));
        assert_eq!(
            Allocation::derive_client_status(&m),
            (ClientStatus::Pending, "No tasks have started")
        );
        m.insert("c".into(), st(TaskStateValue::Running, false));
        assert_eq!(
            Allocation::derive_client_status(&m).0,
            ClientStatus::Running
        );
        m.insert("d".into(), st(TaskStateValue::Dead, true));
        assert_eq!(
            Allocation::derive_client_status(&m),
            (ClientStatus::Failed, "Failed tasks")
        );
    }

    #[test]
    fn names_and_json() {
        let a = Allocation {
            name: Allocation::make_name("bvc", "bvc25", 3),
            ..Default::default()
        };
        assert_eq!(a.name, "bvc.bvc25[3]");
        assert_eq!(a.index(), Some(3));
        let v = serde_json::to_value(&a).unwrap();
        for k in [
            "ID",
            "EvalID",
            "NodeID",
            "JobID",
            "DesiredStatus",
            "ClientStatus",
            "TaskStates",
            "FollowupEvalID",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        let e: TaskEvent =
            serde_json::from_str(r#"{"Type":"Started","Time":1,"ExitCode":0,"Details":null}"#)
                .unwrap();
        assert_eq!(e.kind, task_event::STARTED);
        assert!(!a.is_terminal());
        let s = a.stub(false, true);
        assert!(s.allocated_resources.is_none() && s.task_states.is_some());
    }
}
