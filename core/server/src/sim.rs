//! Simulated nodes and small jobs for tests, examples and benchmarks: a node that
//! fingerprinted `raw_exec` with the given capacity, and a service job of `count`
//! allocations asking for the given resources. Not used by the server itself.

use std::collections::BTreeMap;

use drover_types::node::{DriverInfo, NodeCpuResources, NodeDiskResources, NodeMemoryResources};
use drover_types::{Job, Node, NodeResources, NodeStatus};

/// A ready node `id` in `dc1` with `cpu` MHz, `memory_mb` MB and 100 GB of disk.
pub fn node(id: &str, cpu: i64, memory_mb: i64) -> Node {
    Node {
        id: id.to_owned(),
        secret_id: format!("secret-{id}"),
        name: id.to_owned(),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        attributes: BTreeMap::from([
            ("kernel.name".to_owned(), "linux".to_owned()),
            ("driver.raw_exec".to_owned(), "1".to_owned()),
            ("unique.hostname".to_owned(), id.to_owned()),
        ]),
        drivers: BTreeMap::from([(
            "raw_exec".to_owned(),
            DriverInfo {
                detected: true,
                healthy: true,
                ..Default::default()
            },
        )]),
        node_resources: Some(NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: cpu,
                ..Default::default()
            },
            memory: NodeMemoryResources { memory_mb },
            disk: NodeDiskResources { disk_mb: 100_000 },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A service job `id`: one group `web` of `count` × task `server` (raw_exec) asking
/// for `cpu` MHz and `memory_mb` MB, in `dc1`.
pub fn service_job(id: &str, count: i64, cpu: i64, memory_mb: i64) -> Job {
    let json = serde_json::json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": count,
            "Tasks": [{
                "Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": ["300"]},
                "Resources": {"CPU": cpu, "MemoryMB": memory_mb}
            }]
        }]
    });
    // The literal above is a valid job; an empty job would fail validation loudly.
    serde_json::from_value(json).unwrap_or_default()
}
