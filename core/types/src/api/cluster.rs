//! Cluster answers: `/v1/agent/members`, `/v1/operator/raft/configuration`,
//! `/v1/agent/health` and `/v1/metrics` (reference §3.7).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::de::null_default;

/// One serf member (`/v1/agent/members`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AgentMember {
    /// `<node>.<region>`.
    pub name: String,
    pub addr: String,
    pub port: u16,
    #[serde(deserialize_with = "null_default")]
    pub tags: BTreeMap<String, String>,
    /// `alive`, `leaving`, `left`, `failed`.
    pub status: String,
    pub protocol_min: u8,
    pub protocol_max: u8,
    pub protocol_cur: u8,
    pub delegate_min: u8,
    pub delegate_max: u8,
    pub delegate_cur: u8,
}

/// `/v1/agent/members`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerMembers {
    pub server_name: String,
    pub server_region: String,
    #[serde(rename = "ServerDC")]
    pub server_dc: String,
    #[serde(deserialize_with = "null_default")]
    pub members: Vec<AgentMember>,
}

/// One Raft server (`/v1/operator/raft/configuration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RaftServer {
    #[serde(rename = "ID")]
    pub id: String,
    pub node: String,
    pub address: String,
    pub leader: bool,
    pub voter: bool,
    pub raft_protocol: String,
}

/// `/v1/operator/raft/configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RaftConfiguration {
    #[serde(deserialize_with = "null_default")]
    pub servers: Vec<RaftServer>,
    pub index: u64,
}

/// One role's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentHealth {
    pub ok: bool,
    pub message: String,
}

/// `/v1/agent/health` (lower-case keys; a role is omitted when the agent lacks it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentHealthResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<AgentHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<AgentHealth>,
}

impl AgentHealthResponse {
    /// A server-only agent: `ok` iff a leader is known (`ok` / `no leader`).
    pub fn server_only(has_leader: bool) -> Self {
        AgentHealthResponse {
            client: None,
            server: Some(AgentHealth {
                ok: has_leader,
                message: if has_leader { "ok" } else { "no leader" }.to_string(),
            }),
        }
    }
}

/// A gauge in go-metrics' summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GaugeValue {
    pub name: String,
    pub value: f64,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// A counter or sample in go-metrics' summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SampledValue {
    pub name: String,
    pub count: u64,
    pub rate: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// `/v1/metrics`: go-metrics' in-memory summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetricsSummary {
    /// `2006-01-02 15:04:05 -0700 MST` in Go; any readable time here.
    pub timestamp: String,
    #[serde(deserialize_with = "null_default")]
    pub gauges: Vec<GaugeValue>,
    #[serde(deserialize_with = "null_default")]
    pub counters: Vec<SampledValue>,
    #[serde(deserialize_with = "null_default")]
    pub samples: Vec<SampledValue>,
    #[serde(deserialize_with = "null_default")]
    pub points: Vec<Value>,
}
