//! Resources as the scheduler counts them: what an allocation holds
//! (`AllocatedResources`) and the flat sum used by fit checks (`ComparableResources`).

use crate::lifecycle::TaskLifecycle;
use crate::network::NetworkResource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `AllocatedResources`: per task, plus the group-shared disk and network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedResources {
    /// Per task name.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub tasks: BTreeMap<String, AllocatedTaskResources>,
    /// Per task name, its lifecycle (or `null` for main tasks).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub task_lifecycles: BTreeMap<String, Option<TaskLifecycle>>,
    /// Group-level resources.
    pub shared: AllocatedSharedResources,
}

/// One task's share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedTaskResources {
    /// CPU.
    pub cpu: AllocatedCpuResources,
    /// Memory.
    pub memory: AllocatedMemoryResources,
    /// Task-level networks (legacy).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub networks: Vec<NetworkResource>,
    /// Devices, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub devices: Vec<serde_json::Value>,
}

/// `AllocatedCpuResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedCpuResources {
    /// MHz.
    pub cpu_shares: i64,
    /// Reserved core IDs.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub reserved_cores: Vec<u16>,
}

/// `AllocatedMemoryResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedMemoryResources {
    /// MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
    /// Oversubscription limit in MB; 0 = none.
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: i64,
}

/// `AllocatedSharedResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedSharedResources {
    /// Group networks with assigned ports.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub networks: Vec<NetworkResource>,
    /// Ephemeral disk MB.
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
    /// Port mappings.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub ports: Vec<AllocatedPortMapping>,
}

/// `AllocatedPortMapping`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocatedPortMapping {
    /// Port label.
    pub label: String,
    /// Host port.
    pub value: i64,
    /// Port inside the task.
    pub to: i64,
    /// Host IP.
    #[serde(rename = "HostIP")]
    pub host_ip: String,
}

/// `ComparableResources`: a flat view for fit checks and scoring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ComparableResources {
    /// Summed task resources.
    pub flattened: AllocatedTaskResources,
    /// Summed shared resources.
    pub shared: AllocatedSharedResources,
}

impl AllocatedResources {
    /// The flat sum over tasks plus shared (Nomad's `Comparable`).
    pub fn comparable(&self) -> ComparableResources {
        let mut c = ComparableResources {
            shared: self.shared.clone(),
            ..Default::default()
        };
        for t in self.tasks.values() {
            c.flattened.add(t);
        }
        c
    }
}

impl AllocatedTaskResources {
    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &AllocatedTaskResources) {
        self.cpu.cpu_shares += o.cpu.cpu_shares;
        self.cpu.reserved_cores.extend(&o.cpu.reserved_cores);
        self.memory.memory_mb += o.memory.memory_mb;
        self.memory.memory_max_mb += o.memory.memory_max_mb.max(o.memory.memory_mb);
        self.networks.extend(o.networks.iter().cloned());
        self.devices.extend(o.devices.iter().cloned());
    }
}

impl ComparableResources {
    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &ComparableResources) {
        self.flattened.add(&o.flattened);
        self.shared.disk_mb += o.shared.disk_mb;
        self.shared
            .networks
            .extend(o.shared.networks.iter().cloned());
        self.shared.ports.extend(o.shared.ports.iter().cloned());
    }
    /// Subtracts `o`'s cpu, memory and disk (saturating at 0).
    pub fn subtract(&mut self, o: &ComparableResources) {
        let f = &mut self.flattened;
        f.cpu.cpu_shares = (f.cpu.cpu_shares - o.flattened.cpu.cpu_shares).max(0);
        f.memory.memory_mb = (f.memory.memory_mb - o.flattened.memory.memory_mb).max(0);
        f.memory.memory_max_mb = (f.memory.memory_max_mb - o.flattened.memory.memory_max_mb).max(0);
        f.cpu
            .reserved_cores
            .retain(|c| !o.flattened.cpu.reserved_cores.contains(c));
        self.shared.disk_mb = (self.shared.disk_mb - o.shared.disk_mb).max(0);
    }
    /// Nomad's `Superset`: whether `self` (capacity) covers `o` (demand); on failure
    /// the exhausted dimension, named as in `AllocMetric.DimensionExhausted`.
    pub fn superset(&self, o: &ComparableResources) -> Result<(), &'static str> {
        if self.flattened.cpu.cpu_shares < o.flattened.cpu.cpu_shares {
            return Err("cpu");
        }
        let cores = &self.flattened.cpu.reserved_cores;
        if !o
            .flattened
            .cpu
            .reserved_cores
            .iter()
            .all(|c| cores.contains(c))
        {
            return Err("cores");
        }
        if self.flattened.memory.memory_mb < o.flattened.memory.memory_mb {
            return Err("memory");
        }
        if self.shared.disk_mb < o.shared.disk_mb {
            return Err("disk");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(cpu: i64, mem: i64) -> AllocatedTaskResources {
        AllocatedTaskResources {
            cpu: AllocatedCpuResources {
                cpu_shares: cpu,
                ..Default::default()
            },
            memory: AllocatedMemoryResources {
                memory_mb: mem,
                memory_max_mb: 0,
            },
            ..Default::default()
        }
    }

    #[test]
    fn comparable_sums_and_superset_names_dimension() {
        let a = AllocatedResources {
            tasks: [("a".into(), task(500, 256)), ("b".into(), task(1000, 512))].into(),
            shared: AllocatedSharedResources {
                disk_mb: 300,
                ..Default::default()
            },
            ..Default::default()
        };
        let c = a.comparable();
        assert_eq!(
            (c.flattened.cpu.cpu_shares, c.flattened.memory.memory_mb),
            (1500, 768)
        );
        let mut node = ComparableResources {
            flattened: task(2000, 700),
            ..Default::default()
        };
        node.shared.disk_mb = 1000;
        assert_eq!(node.superset(&c), Err("memory"));
        node.flattened.memory.memory_mb = 768;
        assert_eq!(node.superset(&c), Ok(()));
        node.subtract(&c);
        assert_eq!(node.flattened.cpu.cpu_shares, 500);
        assert_eq!(node.superset(&c), Err("cpu"));
    }

    #[test]
    fn json_names() {
        let v = serde_json::to_value(AllocatedResources::default()).unwrap();
        assert!(v["Shared"].get("DiskMB").is_some());
        let v = serde_json::to_value(task(1, 2)).unwrap();
        assert_eq!(v["Cpu"]["CpuShares"], 1);
        assert_eq!(v["Memory"]["MemoryMB"], 2);
    }
}
