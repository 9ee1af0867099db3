//! The cluster answers of the [`LocalBackend`] test double: one server that is its own
//! leader, and gauges computed from the state.

use super::backend::BackendResult;
use super::local::LocalBackend;
use super::types::{
    AgentMember, GaugeValue, MetricsSummary, RaftConfiguration, RaftServer, ServerMembers,
};
use drover_state::StateView;
use serde_json::json;
use std::collections::BTreeMap;

fn member(b: &LocalBackend) -> AgentMember {
    let (addr, port) = b
        .rpc_addr
        .rsplit_once(':')
        .map_or((b.rpc_addr.as_str(), "4647"), |(a, p)| (a, p));
    let tags: BTreeMap<String, String> = [
        ("role", "nomad"),
        ("region", b.region.as_str()),
        ("dc", b.datacenter.as_str()),
        ("build", env!("CARGO_PKG_VERSION")),
        ("vsn", "1"),
        ("raft_vsn", "3"),
        ("rpc_addr", addr),
        ("port", port),
        ("bootstrap", "1"),
        ("expect", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    AgentMember {
        name: format!("{}.{}", b.node_name, b.region),
        addr: addr.to_string(),
        port: 4648,
        tags,
        status: "alive".into(),
        protocol_min: 1,
        protocol_max: 5,
        protocol_cur: 2,
        delegate_min: 2,
        delegate_max: 5,
        delegate_cur: 4,
    }
}

pub(crate) fn members(b: &LocalBackend) -> BackendResult<ServerMembers> {
    Ok(ServerMembers {
        server_name: b.node_name.clone(),
        server_region: b.region.clone(),
        server_dc: b.datacenter.clone(),
        members: vec![member(b)],
    })
}

pub(crate) fn raft_configuration(b: &LocalBackend) -> BackendResult<RaftConfiguration> {
    Ok(RaftConfiguration {
        servers: vec![RaftServer {
            id: b.node_name.clone(),
            node: format!("{}.{}", b.node_name, b.region),
            address: b.rpc_addr.clone(),
            leader: true,
            voter: true,
            raft_protocol: "3".into(),
        }],
        index: 0,
    })
}

pub(crate) fn agent_self(b: &LocalBackend) -> BackendResult<serde_json::Value> {
    let m = member(b);
    Ok(json!({
        "config": {
            "Region": b.region,
            "Datacenter": b.datacenter,
            "NodeName": b.node_name,
            "Server": {"Enabled": true, "BootstrapExpect": 1},
            "Client": {"Enabled": false},
            "Version": {"Version": env!("CARGO_PKG_VERSION")},
        },
        "member": m,
        "stats": {
            "nomad": {"leader": "true", "server": "true", "known_regions": "1"},
        },
    }))
}

pub(crate) fn metrics(v: &StateView) -> MetricsSummary {
    let gauge = |name: &str, value: usize| GaugeValue {
        name: name.into(),
        value: value as f64,
        labels: BTreeMap::new(),
    };
    MetricsSummary {
        timestamp: drover_state::time::rfc3339_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        ),
        gauges: vec![
            gauge("nomad.state.jobs", v.jobs().count()),
            gauge("nomad.state.nodes", v.node_count()),
            gauge("nomad.state.allocations", v.alloc_count()),
            gauge("nomad.state.evaluations", v.evals().count()),
        ],
        ..Default::default()
    }
}
