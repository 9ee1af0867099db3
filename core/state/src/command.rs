//! The Raft log entry: one [`Command`] per entry, wrapped in a versioned envelope.
//!
//! Encoding: JSON (`serde_json`), `{"V":1,"Command":{"<Variant>":{…}}}`. JSON because
//! the job model carries opaque `serde_json::Value`s that a non-self-describing format
//! (bincode) cannot decode, and because log entries stay readable when debugging.
//!
//! Everything `apply` needs is in the entry: the leader stamps wall-clock times
//! (`SubmitTime`, `Time`, `UpdatedAt`, the evals' create/modify times) when it proposes,
//! so every replica applying the same entry reaches the same state.

use crate::error::ApplyError;
use drover_types::alloc::DesiredTransition;
use drover_types::deployment::DeploymentStatusUpdate;
use drover_types::node::{DrainStrategy, NodeEvent};
use drover_types::{
    Allocation, Deployment, Evaluation, Job, Node, NodeStatus, PlanResult, SchedulingEligibility,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The entry format version this build writes and reads.
pub const ENTRY_VERSION: u32 = 1;

/// One state change, as proposed to Raft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Register or update a job (new version when the spec changed), with its eval.
    JobRegister(JobRegister),
    /// Stop (or purge) a job.
    JobDeregister(JobDeregister),
    /// Stop or purge many jobs (GC), with evals.
    JobBatchDeregister(JobBatchDeregister),
    /// Change one group's count (a new job version).
    JobScale(JobScale),
    /// Mark a job version stable or not.
    JobStability(JobStability),
    /// Register or re-register a client node.
    NodeRegister(NodeRegister),
    /// Remove nodes.
    NodeDeregister(NodeDeregister),
    /// Heartbeat status change (`ready`, `down`, `disconnected` …).
    NodeUpdateStatus(NodeUpdateStatus),
    /// Scheduling eligibility.
    NodeUpdateEligibility(NodeUpdateEligibility),
    /// Start, update or cancel a drain.
    NodeUpdateDrain(NodeUpdateDrain),
    /// Create or update evaluations.
    UpsertEvals(UpsertEvals),
    /// Garbage-collect evaluations and allocations.
    DeleteEvals(DeleteEvals),
    /// What clients report about their allocations.
    AllocClientUpdate(AllocClientUpdate),
    /// Server-requested transitions (migrate, reschedule) with evals.
    AllocUpdateDesiredTransition(AllocUpdateDesiredTransition),
    /// What the plan applier committed.
    ApplyPlanResults(ApplyPlanResults),
    /// Create or replace a deployment.
    UpsertDeployment(UpsertDeployment),
    /// Change a deployment's status.
    DeploymentStatusUpdate(DeploymentStatusChange),
}

/// `JobRegister`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobRegister {
    /// The canonicalized, validated job.
    pub job: Job,
    /// The evaluation to create with it (none for periodic/parameterized jobs).
    pub eval: Option<Evaluation>,
    /// Register only if the current `JobModifyIndex` equals `job_modify_index`
    /// (0 = the job must not exist).
    pub enforce_index: bool,
    /// Expected `JobModifyIndex` with `enforce_index`.
    pub job_modify_index: u64,
    /// Keep the current group counts of an existing job.
    pub preserve_counts: bool,
    /// Leader's wall clock, unix nanoseconds: the new version's `SubmitTime`.
    pub submit_time: i64,
}

/// `JobDeregister`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDeregister {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Delete the job, its versions and summary instead of stopping it.
    pub purge: bool,
    /// The evaluation that stops its allocations.
    pub eval: Option<Evaluation>,
    /// Leader's wall clock, unix nanoseconds: the stopped version's `SubmitTime`.
    pub submit_time: i64,
}

/// One job of a [`JobBatchDeregister`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobRef {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Purge instead of stop.
    pub purge: bool,
}

/// `JobBatchDeregister`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobBatchDeregister {
    /// The jobs; unknown ones are skipped (GC races are harmless).
    pub jobs: Vec<JobRef>,
    /// Evaluations to create.
    pub evals: Vec<Evaluation>,
    /// Leader's wall clock, unix nanoseconds.
    pub submit_time: i64,
}

/// `JobScale`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobScale {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Task group.
    pub group: String,
    /// New count; `None` only records the scaling request (no new version).
    pub count: Option<i64>,
    /// As in [`JobRegister::enforce_index`].
    pub enforce_index: bool,
    /// As in [`JobRegister::job_modify_index`].
    pub job_modify_index: u64,
    /// The evaluation to create.
    pub eval: Option<Evaluation>,
    /// Leader's wall clock, unix nanoseconds.
    pub submit_time: i64,
}

/// `JobStability`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobStability {
    /// Namespace.
    pub namespace: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Version.
    pub version: u64,
    /// Stable or not.
    pub stable: bool,
}

/// `NodeRegister`: node events are timestamped with `node.StatusUpdatedAt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeRegister {
    /// The node as the client fingerprinted it.
    pub node: Node,
    /// Evaluations to create (e.g. for system jobs).
    pub evals: Vec<Evaluation>,
}

/// `NodeDeregister` (Nomad's batch form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDeregister {
    /// Node IDs; every one must exist.
    #[serde(rename = "NodeIDs")]
    pub node_ids: Vec<String>,
}

/// `NodeUpdateStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateStatus {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// New status.
    pub status: NodeStatus,
    /// Leader's wall clock, unix seconds (`StatusUpdatedAt`).
    pub updated_at: i64,
    /// Event to append (e.g. "Node heartbeat missed").
    pub node_event: Option<NodeEvent>,
    /// Evaluations to create (node-update evals).
    pub evals: Vec<Evaluation>,
}

/// `NodeUpdateEligibility`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateEligibility {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// New eligibility.
    pub eligibility: SchedulingEligibility,
    /// Leader's wall clock, unix seconds.
    pub updated_at: i64,
    /// Event to append.
    pub node_event: Option<NodeEvent>,
    /// Evaluations to create.
    pub evals: Vec<Evaluation>,
}

/// `NodeUpdateDrain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateDrain {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// The drain; `None` cancels (or completes) it.
    pub drain_strategy: Option<DrainStrategy>,
    /// With `None`: make the node eligible again.
    pub mark_eligible: bool,
    /// With `None`: the drainer finished (LastDrain status `complete`, not `canceled`).
    pub drain_complete: bool,
    /// Leader's wall clock, unix seconds.
    pub updated_at: i64,
    /// Event to append.
    pub node_event: Option<NodeEvent>,
    /// Evaluations to create.
    pub evals: Vec<Evaluation>,
}

/// `UpsertEvals`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpsertEvals {
    /// Evaluations (create/modify times set by the leader).
    pub evals: Vec<Evaluation>,
}

/// `DeleteEvals`: garbage collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteEvals {
    /// Eval IDs; unknown ones are skipped.
    pub evals: Vec<String>,
    /// Alloc IDs; unknown ones are skipped.
    pub allocs: Vec<String>,
}

/// `AllocClientUpdate`: the client is the authority on `ClientStatus`,
/// `ClientDescription`, `TaskStates`, `NetworkStatus` and deployment health; every
/// other field of the given allocations is ignored. Unknown allocations are skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocClientUpdate {
    /// Allocations as the client reports them.
    pub allocs: Vec<Allocation>,
    /// Evaluations to create (e.g. for failed allocations).
    pub evals: Vec<Evaluation>,
    /// Leader's wall clock, unix nanoseconds: the allocations' `ModifyTime`.
    pub time: i64,
}

/// `AllocUpdateDesiredTransition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocUpdateDesiredTransition {
    /// Alloc ID → transition fields to merge; unknown allocations are skipped.
    pub allocs: BTreeMap<String, DesiredTransition>,
    /// Evaluations to create.
    pub evals: Vec<Evaluation>,
    /// Leader's wall clock, unix nanoseconds.
    pub time: i64,
}

/// `ApplyPlanResults`: what the plan applier committed.
///
/// * `result.node_allocation`: placements and in-place updates, upserted whole. An
///   allocation with `Job: null` gets `job` attached (or keeps its current job), so the
///   applier can leave the job out of each allocation.
/// * `result.node_update`: stops. Only `ID`, `DesiredStatus` (`stop`, or `evict`),
///   `DesiredDescription`, `ClientStatus` when `lost`/`unknown`, and `FollowupEvalID`
///   are taken; the allocation must exist.
/// * `result.node_preemptions`: evictions. `ID`, `PreemptedByAllocation` and
///   `DesiredDescription` are taken; the allocation must exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApplyPlanResults {
    /// The plan's evaluation; its `ModifyIndex` is bumped.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// The job the plan was computed for.
    pub job: Option<Job>,
    /// The committed part of the plan.
    pub result: PlanResult,
    /// Evaluations to create or update (preemption follow-ups).
    pub evals: Vec<Evaluation>,
    /// Leader's wall clock, unix nanoseconds: `CreateTime` of new and `ModifyTime` of
    /// all touched allocations.
    pub time: i64,
}

/// `UpsertDeployment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpsertDeployment {
    /// The deployment.
    pub deployment: Deployment,
}

/// `DeploymentStatusUpdate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentStatusChange {
    /// What changes.
    pub update: DeploymentStatusUpdate,
    /// Evaluation to create.
    pub eval: Option<Evaluation>,
    /// Leader's wall clock, unix nanoseconds.
    pub time: i64,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    #[serde(rename = "V")]
    version: u32,
    #[serde(rename = "Command")]
    command: &'a Command,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    #[serde(rename = "V")]
    version: u32,
    #[serde(rename = "Command")]
    command: Command,
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(rename = "V")]
    version: u32,
}

impl Command {
    /// The log entry bytes for this command.
    pub fn encode(&self) -> Vec<u8> {
        let env = EnvelopeOut {
            version: ENTRY_VERSION,
            command: self,
        };
        // Serializing plain data with string keys cannot fail; an empty entry (a no-op)
        // would be the only possible fallback.
        serde_json::to_vec(&env).unwrap_or_default()
    }

    /// Decodes a log entry. An unknown envelope version is reported as such, before any
    /// attempt to read the command.
    pub fn decode(bytes: &[u8]) -> Result<Command, ApplyError> {
        match serde_json::from_slice::<EnvelopeIn>(bytes) {
            Ok(env) if env.version == ENTRY_VERSION => Ok(env.command),
            Ok(env) => Err(ApplyError::UnsupportedVersion {
                version: env.version,
            }),
            Err(e) => match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(v) if v.version != ENTRY_VERSION => {
                    Err(ApplyError::UnsupportedVersion { version: v.version })
                }
                _ => Err(ApplyError::Decode {
                    reason: e.to_string(),
                }),
            },
        }
    }

    /// The variant name, as in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Command::JobRegister(_) => "JobRegister",
            Command::JobDeregister(_) => "JobDeregister",
            Command::JobBatchDeregister(_) => "JobBatchDeregister",
            Command::JobScale(_) => "JobScale",
            Command::JobStability(_) => "JobStability",
            Command::NodeRegister(_) => "NodeRegister",
            Command::NodeDeregister(_) => "NodeDeregister",
            Command::NodeUpdateStatus(_) => "NodeUpdateStatus",
            Command::NodeUpdateEligibility(_) => "NodeUpdateEligibility",
            Command::NodeUpdateDrain(_) => "NodeUpdateDrain",
            Command::UpsertEvals(_) => "UpsertEvals",
            Command::DeleteEvals(_) => "DeleteEvals",
            Command::AllocClientUpdate(_) => "AllocClientUpdate",
            Command::AllocUpdateDesiredTransition(_) => "AllocUpdateDesiredTransition",
            Command::ApplyPlanResults(_) => "ApplyPlanResults",
            Command::UpsertDeployment(_) => "UpsertDeployment",
            Command::DeploymentStatusUpdate(_) => "DeploymentStatusUpdate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_versions() {
        let cmd = Command::DeleteEvals(DeleteEvals {
            evals: vec!["e1".into()],
            allocs: vec![],
        });
        let bytes = cmd.encode();
        assert!(bytes.starts_with(br#"{"V":1,"Command":{"DeleteEvals""#));
        assert_eq!(Command::decode(&bytes).unwrap(), cmd);
        let future = br#"{"V":2,"Command":{"Teleport":{}}}"#;
        assert_eq!(
            Command::decode(future),
            Err(ApplyError::UnsupportedVersion { version: 2 })
        );
        let bad = Command::decode(br#"{"V":1,"Command":{"Teleport":{}}}"#).unwrap_err();
        assert!(matches!(bad, ApplyError::Decode { .. }), "{bad}");
        assert!(bad.to_string().contains("Teleport"), "{bad}");
    }
}
