//! `Plan` (a scheduler's proposed changes) and `PlanResult` (what the plan applier
//! committed), per reference §5.1; plus the `job plan` annotations.

use crate::alloc::Allocation;
use crate::deployment::{Deployment, DeploymentStatusUpdate};
use crate::job::Job;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A scheduler's proposal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Plan {
    /// The evaluation.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// Broker token proving the eval is held.
    pub eval_token: String,
    /// Priority.
    pub priority: i64,
    /// All or nothing.
    pub all_at_once: bool,
    /// The job planned for.
    pub job: Option<Job>,
    /// Stops/evicts per node ID.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_update: BTreeMap<String, Vec<Allocation>>,
    /// Placements and in-place updates per node ID.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    /// Preemptions per node ID.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_preemptions: BTreeMap<String, Vec<Allocation>>,
    /// Deployment to create or update.
    pub deployment: Option<Deployment>,
    /// Deployment status changes.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Annotations for `job plan`.
    pub annotations: Option<PlanAnnotations>,
    /// State index the plan was computed at.
    pub snapshot_index: u64,
}

/// What the applier committed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanResult {
    /// Committed stops.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_update: BTreeMap<String, Vec<Allocation>>,
    /// Committed placements.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    /// Committed preemptions.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub node_preemptions: BTreeMap<String, Vec<Allocation>>,
    /// Deployment.
    pub deployment: Option<Deployment>,
    /// Deployment updates.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Nodes whose part did not fit.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub rejected_nodes: Vec<String>,
    /// Nodes that were ineligible.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub ineligible_nodes: Vec<String>,
    /// Non-zero: refresh the snapshot to at least this index and retry.
    pub refresh_index: u64,
    /// Raft index of the commit.
    pub alloc_index: u64,
}

impl PlanResult {
    /// Nomad's `FullCommit`: every planned node was committed.
    pub fn is_full_commit(&self, plan: &Plan) -> bool {
        self.rejected_nodes.is_empty()
            && plan
                .node_allocation
                .keys()
                .all(|n| self.node_allocation.contains_key(n))
    }
}

/// `PlanAnnotations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlanAnnotations {
    /// Per group.
    #[serde(
        rename = "DesiredTGUpdates",
        deserialize_with = "crate::de::null_default"
    )]
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
    /// Allocations that would be preempted.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub preempted_allocs: Vec<serde_json::Value>,
}

/// `DesiredUpdates`: counts of what the plan does to a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DesiredUpdates {
    /// Unchanged.
    pub ignore: u64,
    /// New placements.
    pub place: u64,
    /// Migrations.
    pub migrate: u64,
    /// Stops.
    pub stop: u64,
    /// In-place updates.
    pub in_place_update: u64,
    /// Destructive updates.
    pub destructive_update: u64,
    /// Canaries.
    pub canary: u64,
    /// Preemptions.
    pub preemptions: u64,
    /// Disconnects.
    pub disconnect: u64,
    /// Reconnects.
    pub reconnect: u64,
    /// Reschedules now.
    pub reschedule_now: u64,
    /// Reschedules later.
    pub reschedule_later: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_commit_and_names() {
        let mut plan = Plan::default();
        plan.node_allocation
            .insert("n1".into(), vec![Allocation::default()]);
        let mut r = PlanResult::default();
        assert!(!r.is_full_commit(&plan));
        r.node_allocation
            .insert("n1".into(), vec![Allocation::default()]);
        assert!(r.is_full_commit(&plan));
        let v = serde_json::to_value(PlanAnnotations::default()).unwrap();
        assert!(v.get("DesiredTGUpdates").is_some());
        let v = serde_json::to_value(DesiredUpdates::default()).unwrap();
        assert!(v.get("InPlaceUpdate").is_some() && v.get("RescheduleLater").is_some());
    }
}
