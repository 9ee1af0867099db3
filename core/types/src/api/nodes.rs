//! Node writes (`Node.UpdateDrain`, `Node.UpdateEligibility`, `Node.Register` /
//! `Node.UpdateStatus`) and the node list stub (reference §3.6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::de::null_default;
use crate::node::{ClientHostVolume, DriverInfo, NodeReservedResources};
use crate::{Node, NodeResources, NodeStatus, SchedulingEligibility};

/// `DrainSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DrainSpec {
    /// Nanoseconds: <0 force, 0 no deadline, >0 deadline.
    pub deadline: i64,
    /// Leave system allocations in place.
    pub ignore_system_jobs: bool,
}

/// `POST /v1/node/:id/drain` body (the URL's node ID wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDrainRequest {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// `null` cancels the drain.
    pub drain_spec: Option<DrainSpec>,
    /// With a cancel: make the node eligible again.
    pub mark_eligible: bool,
    /// Meta recorded with the drain.
    #[serde(deserialize_with = "null_default")]
    pub meta: BTreeMap<String, String>,
}

/// `POST /v1/node/:id/eligibility` body (the URL's node ID wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeEligibilityRequest {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// `eligible` or `ineligible`.
    pub eligibility: String,
}

/// `NodeDrainUpdateResponse` / `NodeEligibilityUpdateResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateResponse {
    /// The node's modify index.
    pub node_modify_index: u64,
    /// Evals created.
    #[serde(rename = "EvalIDs", deserialize_with = "null_default")]
    pub eval_ids: Vec<String>,
    /// Their create index.
    pub eval_create_index: u64,
    /// Raft index of the write.
    pub index: u64,
}

/// `Node.Register` / `Node.UpdateStatus` response: when to heartbeat next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeHeartbeatResponse {
    /// Heartbeat within this many nanoseconds (Nomad's `HeartbeatTTL`).
    #[serde(rename = "HeartbeatTTL")]
    pub heartbeat_ttl: i64,
    /// Evals created by the change.
    #[serde(rename = "EvalIDs", deserialize_with = "null_default")]
    pub eval_ids: Vec<String>,
    /// Their create index.
    pub eval_create_index: u64,
    /// The node's modify index.
    pub node_modify_index: u64,
    /// Raft index of the write (the current index when nothing changed).
    pub index: u64,
}

/// `NodeListStub` (`GET /v1/nodes`). Never carries the node's `SecretID`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeListStub {
    pub address: String,
    #[serde(rename = "ID")]
    pub id: String,
    /// `os.name` and `os.version`, only with `?os=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    pub datacenter: String,
    pub name: String,
    pub node_pool: String,
    pub node_class: String,
    pub version: String,
    pub drain: bool,
    pub scheduling_eligibility: SchedulingEligibility,
    pub status: NodeStatus,
    pub status_description: String,
    #[serde(deserialize_with = "null_default")]
    pub drivers: BTreeMap<String, DriverInfo>,
    #[serde(deserialize_with = "null_default")]
    pub host_volumes: BTreeMap<String, ClientHostVolume>,
    /// Only with `?resources=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_resources: Option<NodeResources>,
    /// Only with `?resources=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_resources: Option<NodeReservedResources>,
    pub last_drain: Option<Value>,
    pub create_index: u64,
    pub modify_index: u64,
}

fn attr(n: &Node, k: &str) -> String {
    n.attributes.get(k).cloned().unwrap_or_default()
}

impl NodeListStub {
    /// The list view of `node`; `resources` and `os` mirror the query flags.
    pub fn new(n: &Node, resources: bool, os: bool) -> NodeListStub {
        NodeListStub {
            address: attr(n, "unique.network.ip-address"),
            id: n.id.clone(),
            attributes: os.then(|| {
                ["os.name", "os.version"]
                    .into_iter()
                    .filter_map(|k| n.attributes.get_key_value(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
            datacenter: n.datacenter.clone(),
            name: n.name.clone(),
            node_pool: n.node_pool.clone(),
            node_class: n.node_class.clone(),
            version: attr(n, "nomad.version"),
            drain: n.drain_strategy.is_some(),
            scheduling_eligibility: n.scheduling_eligibility,
            status: n.status,
            status_description: n.status_description.clone(),
            drivers: n.drivers.clone(),
            host_volumes: n.host_volumes.clone(),
            node_resources: n.node_resources.clone().filter(|_| resources),
            reserved_resources: n.reserved_resources.clone().filter(|_| resources),
            last_drain: n.last_drain.clone(),
            create_index: n.create_index,
            modify_index: n.modify_index,
        }
    }
}
