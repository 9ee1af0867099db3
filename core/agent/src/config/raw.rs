//! The agent configuration file as written: every key optional, unknown keys rejected.
//!
//! One struct per block of reference §1, field names exactly Nomad's. `None` means "not
//! set in this file", which is what merging needs; defaults are applied afterwards in
//! [`super::build`]. Blocks Nomad accepts but Drover does not use (`consul`, `vault`, `ui`,
//! …) are kept as opaque values so that Nomad files still load; the agent warns about them.

use std::collections::BTreeMap;

use drover_hcl::de::{GoDuration, labeled};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub region: Option<String>,
    pub datacenter: Option<String>,
    pub name: Option<String>,
    pub data_dir: Option<String>,
    pub plugin_dir: Option<String>,
    pub log_level: Option<String>,
    pub log_json: Option<bool>,
    pub log_file: Option<String>,
    pub log_include_location: Option<bool>,
    pub log_rotate_duration: Option<GoDuration>,
    pub log_rotate_bytes: Option<u64>,
    pub log_rotate_max_files: Option<u32>,
    pub bind_addr: Option<String>,
    pub enable_debug: Option<bool>,
    pub ports: Option<RawPorts>,
    pub addresses: Option<RawAddresses>,
    pub advertise: Option<RawAddresses>,
    pub server: Option<RawServer>,
    pub client: Option<RawClient>,
    pub leave_on_interrupt: Option<bool>,
    pub leave_on_terminate: Option<bool>,
    pub enable_syslog: Option<bool>,
    pub syslog_facility: Option<String>,
    pub disable_update_check: Option<bool>,
    pub disable_anonymous_signature: Option<bool>,
    pub http_api_response_headers: Option<BTreeMap<String, String>>,
    pub limits: Option<RawLimits>,
    #[serde(default, deserialize_with = "labeled")]
    pub plugin: Vec<(String, RawPlugin)>,
    pub acl: Option<RawAcl>,
    pub tls: Option<RawTls>,
    pub telemetry: Option<RawTelemetry>,
    // Valid in Nomad, not used by Drover: accepted and reported as ignored.
    pub consul: Option<Value>,
    pub vault: Option<Value>,
    pub ui: Option<Value>,
    pub sentinel: Option<Value>,
    pub autopilot: Option<Value>,
    pub audit: Option<Value>,
    pub reporting: Option<Value>,
    pub keyring: Option<Value>,
    pub eventlog: Option<Value>,
    pub rpc: Option<Value>,
}

/// The Nomad blocks kept opaque, by key, in [`RawConfig`] order.
pub const UNSUPPORTED_BLOCKS: &[&str] = &[
    "consul",
    "vault",
    "ui",
    "sentinel",
    "autopilot",
    "audit",
    "reporting",
    "keyring",
    "eventlog",
    "rpc",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPorts {
    pub http: Option<u16>,
    pub rpc: Option<u16>,
    pub serf: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAddresses {
    pub http: Option<String>,
    pub rpc: Option<String>,
    pub serf: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub enabled: Option<bool>,
    pub bootstrap_expect: Option<u32>,
    pub data_dir: Option<String>,
    pub num_schedulers: Option<u32>,
    pub enabled_schedulers: Option<Vec<String>>,
    pub heartbeat_grace: Option<GoDuration>,
    pub min_heartbeat_ttl: Option<GoDuration>,
    pub max_heartbeats_per_second: Option<f64>,
    pub failover_heartbeat_ttl: Option<GoDuration>,
    pub node_gc_threshold: Option<GoDuration>,
    pub job_gc_interval: Option<GoDuration>,
    pub job_gc_threshold: Option<GoDuration>,
    pub eval_gc_threshold: Option<GoDuration>,
    pub batch_eval_gc_threshold: Option<GoDuration>,
    pub deployment_gc_threshold: Option<GoDuration>,
    pub raft_protocol: Option<u32>,
    pub raft_multiplier: Option<u32>,
    pub raft_snapshot_threshold: Option<u64>,
    pub raft_snapshot_interval: Option<GoDuration>,
    pub raft_trailing_logs: Option<u64>,
    pub encrypt: Option<String>,
    pub rejoin_after_leave: Option<bool>,
    pub non_voting_server: Option<bool>,
    pub redundancy_zone: Option<String>,
    pub start_join: Option<Vec<String>>,
    pub retry_join: Option<Vec<String>>,
    pub retry_max: Option<u32>,
    pub retry_interval: Option<GoDuration>,
    pub server_join: Option<RawServerJoin>,
    pub job_default_priority: Option<u32>,
    pub job_max_priority: Option<u32>,
    pub job_max_count: Option<u32>,
    pub enable_event_broker: Option<bool>,
    pub event_buffer_size: Option<u32>,
    pub plan_apply_pipeline: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerJoin {
    pub retry_join: Option<Vec<String>>,
    pub retry_max: Option<u32>,
    pub retry_interval: Option<GoDuration>,
    pub start_join: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub enabled: Option<bool>,
    pub state_dir: Option<String>,
    pub alloc_dir: Option<String>,
    pub alloc_mounts_dir: Option<String>,
    pub servers: Option<Vec<String>>,
    pub server_join: Option<RawServerJoin>,
    pub node_class: Option<String>,
    pub node_pool: Option<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub options: Option<BTreeMap<String, String>>,
    pub chroot_env: Option<BTreeMap<String, String>>,
    pub network_interface: Option<String>,
    pub network_speed: Option<u32>,
    pub preferred_address_family: Option<String>,
    pub cpu_total_compute: Option<u64>,
    pub memory_total_mb: Option<u64>,
    pub disk_total_mb: Option<u64>,
    pub disk_free_mb: Option<u64>,
    pub reservable_cores: Option<String>,
    pub reserved: Option<RawReserved>,
    pub min_dynamic_port: Option<u16>,
    pub max_dynamic_port: Option<u16>,
    pub client_min_port: Option<u16>,
    pub client_max_port: Option<u16>,
    pub max_kill_timeout: Option<GoDuration>,
    pub gc_interval: Option<GoDuration>,
    pub gc_parallel_destroys: Option<u32>,
    pub gc_disk_usage_threshold: Option<f64>,
    pub gc_inode_usage_threshold: Option<f64>,
    pub gc_max_allocs: Option<u32>,
    pub gc_volumes_on_node_gc: Option<bool>,
    pub no_host_uuid: Option<bool>,
    pub disable_remote_exec: Option<bool>,
    #[serde(default, deserialize_with = "labeled")]
    pub host_volume: Vec<(String, RawHostVolume)>,
    #[serde(default, deserialize_with = "labeled")]
    pub host_network: Vec<(String, RawHostNetwork)>,
    pub cni_path: Option<String>,
    pub cni_config_dir: Option<String>,
    pub bridge_network_name: Option<String>,
    pub bridge_network_subnet: Option<String>,
    pub cgroup_parent: Option<String>,
    pub node_max_allocs: Option<u32>,
    pub default_ineligible: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReserved {
    pub cpu: Option<u64>,
    pub memory: Option<u64>,
    pub disk: Option<u64>,
    pub reserved_ports: Option<String>,
    pub cores: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHostVolume {
    pub path: Option<String>,
    pub read_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHostNetwork {
    pub cidr: Option<String>,
    pub interface: Option<String>,
    pub reserved_ports: Option<String>,
}

/// `limits {}`: Nomad's four keys plus the seed's log rotation keys (see reference §1.3).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub https_handshake_timeout: Option<GoDuration>,
    pub http_max_conns_per_client: Option<u32>,
    pub rpc_handshake_timeout: Option<GoDuration>,
    pub rpc_max_conns_per_client: Option<u32>,
    pub log_rotate_bytes: Option<u64>,
    pub log_rotate_max_files: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub args: Option<Vec<String>>,
    /// Validated by the plugin against its own schema.
    pub config: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcl {
    pub enabled: Option<bool>,
    pub token_ttl: Option<GoDuration>,
    pub policy_ttl: Option<GoDuration>,
    pub role_ttl: Option<GoDuration>,
    pub replication_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub http: Option<bool>,
    pub rpc: Option<bool>,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub verify_server_hostname: Option<bool>,
    pub verify_https_client: Option<bool>,
    pub rpc_upgrade_mode: Option<bool>,
    pub tls_min_version: Option<String>,
    pub tls_cipher_suites: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    pub collection_interval: Option<GoDuration>,
    pub in_memory_collection_interval: Option<GoDuration>,
    pub in_memory_retention_period: Option<GoDuration>,
    pub prometheus_metrics: Option<bool>,
    pub publish_allocation_metrics: Option<bool>,
    pub publish_node_metrics: Option<bool>,
    pub disable_hostname: Option<bool>,
    pub use_node_name: Option<bool>,
    pub statsd_address: Option<String>,
    pub statsite_address: Option<String>,
    pub datadog_address: Option<String>,
    pub datadog_tags: Option<Vec<String>>,
    pub filter_default: Option<bool>,
    pub prefix_filter: Option<Vec<String>>,
}
