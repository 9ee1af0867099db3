//! `group "name" { count, network, volume, task, … }` → `TaskGroup`, with the
//! group-only blocks `ephemeral_disk`, `disconnect` and `scaling`.

use crate::constraint::{Affinity, Constraint, Spread};
use crate::duration::Duration;
use crate::network::NetworkResource;
use crate::restart::{ReschedulePolicy, RestartPolicy};
use crate::service::Service;
use crate::task::Task;
use crate::update::{MigrateStrategy, UpdateStrategy};
use crate::volume::VolumeRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A task group: the unit of placement (one allocation per count).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroup {
    /// The block label.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Allocations wanted; defaults to 1 (or `scaling.min`).
    pub count: Option<i64>,
    /// Group constraints.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub constraints: Vec<Constraint>,
    /// Group affinities.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub affinities: Vec<Affinity>,
    /// Group spreads.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub spreads: Vec<Spread>,
    /// The tasks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub tasks: Vec<Task>,
    /// `restart {}`; defaulted per job type.
    pub restart_policy: Option<RestartPolicy>,
    /// `reschedule {}`; defaulted per job type (none for system/sysbatch).
    pub reschedule_policy: Option<ReschedulePolicy>,
    /// `ephemeral_disk {}`; defaults to 300 MB.
    pub ephemeral_disk: Option<EphemeralDisk>,
    /// `update {}`, merged with the job's.
    pub update: Option<UpdateStrategy>,
    /// `migrate {}`, merged with the job's.
    pub migrate: Option<MigrateStrategy>,
    /// `network {}` blocks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub networks: Vec<NetworkResource>,
    /// Group meta.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta: BTreeMap<String, String>,
    /// Group services.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub services: Vec<Service>,
    /// `volume "name" {}` blocks, keyed by name.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub volumes: BTreeMap<String, VolumeRequest>,
    /// Delay between service deregistration and task kill.
    pub shutdown_delay: Option<Duration>,
    /// Legacy `stop_after_client_disconnect`.
    pub stop_after_client_disconnect: Option<Duration>,
    /// Legacy `max_client_disconnect`.
    pub max_client_disconnect: Option<Duration>,
    /// Do not replace allocations lost with their node.
    pub prevent_reschedule_on_lost: Option<bool>,
    /// `disconnect {}`.
    pub disconnect: Option<DisconnectStrategy>,
    /// `scaling {}`.
    pub scaling: Option<ScalingPolicy>,
    /// `consul {}`, kept opaque.
    pub consul: Option<Value>,
}

/// `ephemeral_disk { sticky, migrate, size }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EphemeralDisk {
    /// Prefer the same node on update.
    pub sticky: Option<bool>,
    /// Migrate data between nodes.
    pub migrate: Option<bool>,
    /// Size in MB (`size`); defaults to 300.
    #[serde(rename = "SizeMB")]
    pub size_mb: Option<i64>,
}

/// Nomad's `DefaultEphemeralDisk` size (MB).
pub const DEFAULT_EPHEMERAL_DISK_MB: i64 = 300;

/// `disconnect { lost_after, replace, reconcile, stop_on_client_after }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectStrategy {
    /// How long a disconnected allocation may stay `unknown`.
    pub lost_after: Option<Duration>,
    /// Replace disconnected allocations; defaults to true.
    pub replace: Option<bool>,
    /// `best_score` (default), `keep_original`, `keep_replacement`, `longest_running`.
    pub reconcile: Option<String>,
    /// Client-side stop after this long disconnected.
    pub stop_on_client_after: Option<Duration>,
}

/// `disconnect.reconcile` values.
pub const RECONCILE_MODES: &[&str] = &[
    "best_score",
    "keep_original",
    "keep_replacement",
    "longest_running",
];

/// `scaling { min, max, enabled, policy }` (group horizontal scaling).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScalingPolicy {
    /// Policy ID (server-assigned).
    #[serde(rename = "ID", deserialize_with = "crate::de::null_default")]
    pub id: String,
    /// `horizontal` for groups.
    #[serde(rename = "Type", deserialize_with = "crate::de::null_default")]
    pub kind: String,
    /// Minimum count; defaults to the group count.
    pub min: Option<i64>,
    /// Maximum count (required).
    pub max: Option<i64>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// Autoscaler policy, opaque.
    pub policy: Option<Value>,
    /// Target, server-filled.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub target: BTreeMap<String, String>,
}

impl TaskGroup {
    /// The task with this name.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }
    /// The group's count, 1 when unset.
    pub fn count_or_default(&self) -> i64 {
        self.count.unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names() {
        let g: TaskGroup = serde_json::from_str(
            r#"{"Name":"web","Count":2,"EphemeralDisk":{"SizeMB":500},
                "Volumes":{"db":{"Name":"db","Type":"host","Source":"mysql"}},
                "Networks":[{"Mode":"bridge"}],"Tasks":[{"Name":"a"}],"Spreads":null}"#,
        )
        .unwrap();
        assert_eq!(g.count_or_default(), 2);
        assert_eq!(g.ephemeral_disk.as_ref().unwrap().size_mb, Some(500));
        assert_eq!(g.volumes["db"].source, "mysql");
        assert!(g.task("a").is_some());
        let v = serde_json::to_value(&g).unwrap();
        for k in [
            "RestartPolicy",
            "ReschedulePolicy",
            "Update",
            "Migrate",
            "Services",
            "Scaling",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
