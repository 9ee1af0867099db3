//! `task "name" { driver, config, env, resources, … }` → `Task`.
//!
//! `config` is the driver's own schema (snake_case keys) and stays an opaque JSON map
//! for the plugin to validate. Runtime references such as `${NOMAD_ALLOC_ID}` are
//! plain strings here; the client interpolates them.

use crate::artifact::TaskArtifact;
use crate::constraint::{Affinity, Constraint};
use crate::duration::Duration;
use crate::lifecycle::TaskLifecycle;
use crate::logs::LogConfig;
use crate::periodic::DispatchPayloadConfig;
use crate::resources::Resources;
use crate::restart::RestartPolicy;
use crate::service::Service;
use crate::template::Template;
use crate::volume::VolumeMount;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One task of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    /// The block label.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Task driver plugin name, e.g. `docker`, `raw_exec`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub driver: String,
    /// User to run as.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub user: String,
    /// `lifecycle { hook, sidecar }`; `None` for a main task.
    pub lifecycle: Option<TaskLifecycle>,
    /// Driver configuration, opaque (driver-schema keys, snake_case).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub config: Map<String, Value>,
    /// Task constraints.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub constraints: Vec<Constraint>,
    /// Task affinities.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub affinities: Vec<Affinity>,
    /// Environment variables.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub env: BTreeMap<String, String>,
    /// Task-level services.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub services: Vec<Service>,
    /// Resource request; canonicalization fills it.
    pub resources: Option<Resources>,
    /// Restart policy; canonicalization merges the group's into it.
    pub restart_policy: Option<RestartPolicy>,
    /// Task meta.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta: BTreeMap<String, String>,
    /// Time between the kill signal and SIGKILL; defaults to 5s.
    pub kill_timeout: Option<Duration>,
    /// `logs {}` → `LogConfig`; defaults to 10 × 10 MB.
    pub log_config: Option<LogConfig>,
    /// `artifact {}` blocks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub artifacts: Vec<TaskArtifact>,
    /// `template {}` blocks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub templates: Vec<Template>,
    /// `dispatch_payload { file }`.
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    /// `volume_mount {}` blocks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub volume_mounts: Vec<VolumeMount>,
    /// The leader task: its death stops the others.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub leader: bool,
    /// Delay between service deregistration and kill.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub shutdown_delay: Duration,
    /// Signal sent first on kill, e.g. `SIGINT`; empty = driver default.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub kill_signal: String,
    /// Task kind (Connect sidecars), kept.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub kind: String,
    /// `vault {}`, kept opaque.
    pub vault: Option<Value>,
    /// `consul {}`, kept opaque.
    pub consul: Option<Value>,
    /// `csi_plugin {}`, kept opaque.
    #[serde(rename = "CSIPluginConfig")]
    pub csi_plugin_config: Option<Value>,
    /// The default workload `identity {}`, kept opaque.
    pub identity: Option<Value>,
    /// Named `identity "x" {}` blocks, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub identities: Vec<Value>,
    /// `action "x" {}` blocks, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub actions: Vec<Value>,
    /// `scaling "cpu"|"mem" {}` policies, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub scaling_policies: Vec<Value>,
    /// `schedule {}`, kept opaque.
    pub schedule: Option<Value>,
}

impl Task {
    /// Prestart/poststart/poststop tasks are not "main" tasks.
    pub fn is_main(&self) -> bool {
        self.lifecycle.as_ref().is_none_or(TaskLifecycle::is_empty)
    }
    /// The driver config's `ports` list (docker-style), when it is a list of strings.
    pub fn config_port_labels(&self) -> Vec<&str> {
        match self.config.get("ports") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_task_json() {
        let t: Task = serde_json::from_str(
            r#"{"Name":"server","Driver":"raw_exec",
                "Config":{"command":"/bin/sleep","args":["300"],"ports":["http"]},
                "Resources":{"CPU":100,"MemoryMB":64},"Env":null,"Lifecycle":null}"#,
        )
        .unwrap();
        assert_eq!(t.driver, "raw_exec");
        assert_eq!(t.config["args"], serde_json::json!(["300"]));
        assert_eq!(t.config_port_labels(), ["http"]);
        assert!(t.is_main());
        let v = serde_json::to_value(&t).unwrap();
        for k in [
            "KillTimeout",
            "LogConfig",
            "VolumeMounts",
            "Artifacts",
            "Templates",
            "CSIPluginConfig",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn config_must_be_a_map() {
        assert!(serde_json::from_str::<Task>(r#"{"Config":[1]}"#).is_err());
    }
}
