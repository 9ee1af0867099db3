//! `service { … }` with its `check`s: parsed and kept for service registration.
//! Fields Drover does not interpret (`Connect`, `TaggedAddresses`, `Identity` …) are
//! kept verbatim in `extra` so the JSON round-trips.

use crate::duration::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A service registration (group or task level).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Service {
    /// Defaults to `<job>-<group>[-<task>]`.
    pub name: String,
    /// Tags.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub tags: Vec<String>,
    /// Tags while canary.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub canary_tags: Vec<String>,
    /// `port`: a port label or number.
    pub port_label: String,
    /// `auto` (default), `host`, `driver`, `alloc`.
    pub address_mode: String,
    /// Explicit address.
    pub address: String,
    /// `consul` (default) or `nomad`.
    pub provider: String,
    /// `require_healthy` (default), `ignore_warnings`, `ignore`.
    pub on_update: String,
    /// Task the service belongs to (group services).
    pub task_name: String,
    /// Service meta.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta: BTreeMap<String, String>,
    /// Health checks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub checks: Vec<ServiceCheck>,
    /// Everything else (`Connect`, `CheckRestart`, `TaggedAddresses`, …), verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `check { type, path, interval, timeout, … }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceCheck {
    /// Check name.
    pub name: String,
    /// `http`, `tcp`, `script`, `grpc`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Script command.
    pub command: String,
    /// Script arguments.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub args: Vec<String>,
    /// HTTP path.
    pub path: String,
    /// `http` or `https`.
    pub protocol: String,
    /// `port` label.
    pub port_label: String,
    /// Time between checks.
    pub interval: Duration,
    /// Check timeout.
    pub timeout: Duration,
    /// HTTP method.
    pub method: String,
    /// Inherited from the service when empty.
    pub on_update: String,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Service {
    /// `Service.Canonicalize`: name, address mode, provider and on_update defaults.
    pub fn canonicalize(&mut self, job: &str, group: &str, task: Option<&str>) {
        if self.name.is_empty() {
            self.name = match task {
                Some(t) => format!("{job}-{group}-{t}"),
                None => format!("{job}-{group}"),
            };
        }
        if self.address_mode.is_empty() {
            self.address_mode = "auto".into();
        }
        if self.provider.is_empty() {
            self.provider = "consul".into();
        }
        if self.on_update.is_empty() {
            self.on_update = "require_healthy".into();
        }
        for c in &mut self.checks {
            if c.on_update.is_empty() {
                c.on_update = self.on_update.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields_and_defaults() {
        let mut s: Service = serde_json::from_str(
            r#"{"PortLabel":"http","Connect":{"SidecarService":{}},
                "Checks":[{"Type":"http","Path":"/","Interval":10000000000,"Timeout":2000000000}]}"#,
        )
        .unwrap();
        s.canonicalize("web", "g", Some("t"));
        assert_eq!(s.name, "web-g-t");
        assert_eq!(s.checks[0].on_update, "require_healthy");
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["Connect"], serde_json::json!({"SidecarService":{}}));
        assert_eq!(v["Checks"][0]["Interval"], 10_000_000_000_i64);
    }
}
