//! `Node`: a client as the server sees it (reference §3.6), with what it offers
//! (`NodeResources` minus `ReservedResources`) and its status enums.

use crate::allocated::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedTaskResources, ComparableResources,
};
use crate::duration::Duration;
use crate::network::NetworkResource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A registered client node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    /// Node ID (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Secret for node RPCs; never returned by the HTTP API.
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    /// Datacenter.
    pub datacenter: String,
    /// Node name.
    pub name: String,
    /// Client HTTP address.
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    /// TLS on the client HTTP API.
    #[serde(rename = "TLSEnabled")]
    pub tls_enabled: bool,
    /// Fingerprinted attributes (`kernel.name`, `driver.docker`, …).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub attributes: BTreeMap<String, String>,
    /// What the node has.
    pub node_resources: Option<NodeResources>,
    /// What the agent keeps for itself.
    pub reserved_resources: Option<NodeReservedResources>,
    /// External links.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub links: BTreeMap<String, String>,
    /// Client meta.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta: BTreeMap<String, String>,
    /// Node class.
    pub node_class: String,
    /// Node pool.
    pub node_pool: String,
    /// Hash of the class-defining attributes.
    pub computed_class: String,
    /// Set while draining.
    pub drain_strategy: Option<DrainStrategy>,
    /// Eligible for new placements.
    pub scheduling_eligibility: SchedulingEligibility,
    /// Lifecycle status.
    pub status: NodeStatus,
    /// Status text.
    pub status_description: String,
    /// Unix seconds of the last status change.
    pub status_updated_at: i64,
    /// Last ≤10 node events.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub events: Vec<NodeEvent>,
    /// Driver fingerprints by name.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub drivers: BTreeMap<String, DriverInfo>,
    /// Client `host_volume`s by name.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub host_volumes: BTreeMap<String, ClientHostVolume>,
    /// Client host networks, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub host_networks: BTreeMap<String, serde_json::Value>,
    /// Last drain metadata, kept opaque.
    pub last_drain: Option<serde_json::Value>,
    /// Raft index of registration.
    pub create_index: u64,
    /// Raft index of last change.
    pub modify_index: u64,
    /// API extension: `DrainStrategy != null`.
    pub drain: bool,
}

/// Node `Status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Registered, not yet fingerprinted.
    #[default]
    Initializing,
    /// Schedulable.
    Ready,
    /// Heartbeat missed.
    Down,
    /// Heartbeat missed with disconnect-tolerant allocations.
    Disconnected,
}

/// Node `SchedulingEligibility`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulingEligibility {
    /// Accepts placements.
    #[default]
    Eligible,
    /// Keeps its allocations but takes no new ones.
    Ineligible,
}

/// `DrainStrategy` (Nomad embeds `DrainSpec`, so its fields are flat here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DrainStrategy {
    /// <0 force, 0 no deadline, >0 deadline.
    pub deadline: Duration,
    /// Leave system jobs running.
    pub ignore_system_jobs: bool,
    /// RFC 3339 time after which allocations are force-stopped.
    pub force_deadline: String,
    /// RFC 3339 start time.
    pub started_at: String,
}

/// `NodeEvent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeEvent {
    /// What happened, e.g. `Node heartbeat missed`.
    pub message: String,
    /// `Cluster`, `Drain`, `Driver`, …
    pub subsystem: String,
    /// Extra details.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub details: BTreeMap<String, String>,
    /// RFC 3339 time.
    pub timestamp: String,
    /// Raft index.
    pub create_index: u64,
}

/// `DriverInfo`: a driver's fingerprint on a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverInfo {
    /// Driver attributes.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub attributes: BTreeMap<String, String>,
    /// Found on the node.
    pub detected: bool,
    /// Usable.
    pub healthy: bool,
    /// Why (un)healthy.
    pub health_description: String,
    /// RFC 3339 time of the last update.
    pub update_time: String,
}

/// `ClientHostVolumeConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClientHostVolume {
    /// Volume name.
    pub name: String,
    /// Host path.
    pub path: String,
    /// Read-only on this node.
    pub read_only: bool,
}

/// `NodeResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeResources {
    /// CPU.
    pub cpu: NodeCpuResources,
    /// Memory.
    pub memory: NodeMemoryResources,
    /// Disk.
    pub disk: NodeDiskResources,
    /// Host networks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub networks: Vec<NetworkResource>,
    /// Devices, kept opaque.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub devices: Vec<serde_json::Value>,
    /// Lowest dynamic port.
    pub min_dynamic_port: i64,
    /// Highest dynamic port.
    pub max_dynamic_port: i64,
}

/// `NodeCpuResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeCpuResources {
    /// Total MHz.
    pub cpu_shares: i64,
    /// Core count.
    pub total_cpu_cores: i64,
    /// Cores tasks may reserve.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub reservable_cpu_cores: Vec<u16>,
}

/// `NodeMemoryResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeMemoryResources {
    /// MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
}

/// `NodeDiskResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDiskResources {
    /// MB.
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
}

/// `NodeReservedResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeReservedResources {
    /// Reserved CPU.
    pub cpu: NodeReservedCpu,
    /// Reserved memory.
    pub memory: NodeMemoryResources,
    /// Reserved disk.
    pub disk: NodeDiskResources,
    /// Reserved host ports.
    pub networks: NodeReservedNetwork,
}

/// `NodeReservedCpuResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeReservedCpu {
    /// MHz.
    pub cpu_shares: i64,
    /// Core IDs.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub reserved_cpu_cores: Vec<u16>,
}

/// `NodeReservedNetworkResources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeReservedNetwork {
    /// e.g. `"22,80,8000-8100"`.
    pub reserved_host_ports: String,
}

impl Node {
    /// Nomad's `Ready()`: ready, not draining, eligible.
    pub fn is_schedulable(&self) -> bool {
        self.status == NodeStatus::Ready
            && self.drain_strategy.is_none()
            && self.scheduling_eligibility == SchedulingEligibility::Eligible
    }
    /// What allocations may use: resources minus reserved.
    pub fn comparable_available(&self) -> ComparableResources {
        let r = self.node_resources.clone().unwrap_or_default();
        let mut c = ComparableResources {
            flattened: AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: r.cpu.cpu_shares,
                    reserved_cores: r.cpu.reservable_cpu_cores.clone(),
                },
                memory: AllocatedMemoryResources {
                    memory_mb: r.memory.memory_mb,
                    memory_max_mb: r.memory.memory_mb,
                },
                networks: r.networks.clone(),
                devices: Vec::new(),
            },
            ..Default::default()
        };
        c.shared.disk_mb = r.disk.disk_mb;
        if let Some(res) = &self.reserved_resources {
            let mut reserved = ComparableResources::default();
            reserved.flattened.cpu.cpu_shares = res.cpu.cpu_shares;
            reserved.flattened.cpu.reserved_cores = res.cpu.reserved_cpu_cores.clone();
            reserved.flattened.memory.memory_mb = res.memory.memory_mb;
            reserved.flattened.memory.memory_max_mb = res.memory.memory_mb;
            reserved.shared.disk_mb = res.disk.disk_mb;
            c.subtract(&reserved);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_strings_and_availability() {
        let n: Node = serde_json::from_str(
            r#"{"ID":"n1","Status":"ready","SchedulingEligibility":"eligible","Drain":false,
                "NodeResources":{"Cpu":{"CpuShares":4000},"Memory":{"MemoryMB":8192},"Disk":{"DiskMB":10000}},
                "ReservedResources":{"Cpu":{"CpuShares":500},"Memory":{"MemoryMB":1024}},
                "Drivers":{"docker":{"Detected":true,"Healthy":true}},
                "HostVolumes":{"mysql":{"Name":"mysql","Path":"/opt/mysql","ReadOnly":false}}}"#,
        )
        .unwrap();
        assert!(n.is_schedulable());
        let c = n.comparable_available();
        assert_eq!(
            (
                c.flattened.cpu.cpu_shares,
                c.flattened.memory.memory_mb,
                c.shared.disk_mb
            ),
            (3500, 7168, 10000)
        );
        assert_eq!(
            serde_json::to_value(NodeStatus::Disconnected).unwrap(),
            "disconnected"
        );
        assert_eq!(
            serde_json::to_value(SchedulingEligibility::Ineligible).unwrap(),
            "ineligible"
        );
        assert!(serde_json::from_str::<NodeStatus>("\"gone\"").is_err());
    }
}
