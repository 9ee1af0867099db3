//! A task's `resources { cpu, cores, memory, memory_max, disk, device }` request.
//! What a node offers and what an allocation holds live in `node` and `allocated`.

use crate::constraint::{Affinity, Constraint};
use crate::network::NetworkResource;
use serde::{Deserialize, Serialize};

/// `resources {…}` → `Resources`. Unset fields are filled by canonicalization
/// (cpu 100 MHz unless `cores` is set, memory 300 MB).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Resources {
    /// CPU in MHz.
    #[serde(rename = "CPU")]
    pub cpu: Option<i64>,
    /// Whole reserved cores (exclusive of `cpu`).
    pub cores: Option<i64>,
    /// Memory in MB (`memory`).
    #[serde(rename = "MemoryMB")]
    pub memory_mb: Option<i64>,
    /// Memory limit in MB for oversubscription (`memory_max`); 0 = none.
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: Option<i64>,
    /// Disk in MB (deprecated at task level; use `ephemeral_disk`).
    #[serde(rename = "DiskMB")]
    pub disk_mb: Option<i64>,
    /// Size of the secrets tmpfs in MB.
    #[serde(rename = "SecretsMB")]
    pub secrets_mb: Option<i64>,
    /// Deprecated IOPS request.
    #[serde(rename = "IOPS")]
    pub iops: Option<i64>,
    /// Task-level networks (deprecated; group networks are the norm).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub networks: Vec<NetworkResource>,
    /// `device "name" { count, constraint, affinity }`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub devices: Vec<RequestedDevice>,
    /// `numa { affinity }`, kept opaque.
    #[serde(rename = "NUMA")]
    pub numa: Option<serde_json::Value>,
}

/// `device "nvidia/gpu" { count, constraint, affinity }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestedDevice {
    /// `<vendor>/<type>/<name>`, any prefix of it.
    pub name: String,
    /// Defaults to 1.
    pub count: Option<i64>,
    /// Device constraints.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub constraints: Vec<Constraint>,
    /// Device affinities.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub affinities: Vec<Affinity>,
}

/// Nomad's `DefaultResources` CPU (MHz).
pub const DEFAULT_CPU: i64 = 100;
/// Nomad's `DefaultResources` memory (MB).
pub const DEFAULT_MEMORY_MB: i64 = 300;
/// Nomad's `MinResources` CPU (MHz).
pub const MIN_CPU: i64 = 1;
/// Nomad's `MinResources` memory (MB).
pub const MIN_MEMORY_MB: i64 = 10;

impl Resources {
    /// `Resources.Canonicalize`: cores 0; cpu 100 unless cores was set (then 0);
    /// memory 300; memory_max 0; device count 1.
    pub fn canonicalize(&mut self) {
        if self.cores.is_none() {
            self.cores = Some(0);
            self.cpu.get_or_insert(DEFAULT_CPU);
        }
        self.cpu.get_or_insert(0);
        self.memory_mb.get_or_insert(DEFAULT_MEMORY_MB);
        self.memory_max_mb.get_or_insert(0);
        for d in &mut self.devices {
            d.count.get_or_insert(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_defaults() {
        let mut r = Resources::default();
        r.canonicalize();
        assert_eq!(
            (r.cpu, r.cores, r.memory_mb),
            (Some(100), Some(0), Some(300))
        );
        let mut r = Resources {
            cores: Some(2),
            ..Default::default()
        };
        r.canonicalize();
        assert_eq!(r.cpu, Some(0), "cpu is 0 when cores is set");
        let mut r = Resources {
            cpu: Some(1500),
            memory_mb: Some(1024),
            ..Default::default()
        };
        r.canonicalize();
        assert_eq!((r.cpu, r.memory_mb), (Some(1500), Some(1024)));
    }

    #[test]
    fn json_names() {
        let r: Resources =
            serde_json::from_str(r#"{"CPU":100,"MemoryMB":64,"MemoryMaxMB":128,"Devices":null}"#)
                .unwrap();
        assert_eq!(
            (r.cpu, r.memory_mb, r.memory_max_mb),
            (Some(100), Some(64), Some(128))
        );
        let v = serde_json::to_value(&r).unwrap();
        for k in [
            "CPU",
            "Cores",
            "MemoryMB",
            "MemoryMaxMB",
            "DiskMB",
            "SecretsMB",
            "IOPS",
            "NUMA",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
