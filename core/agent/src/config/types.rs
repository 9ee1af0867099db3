//! The validated agent configuration: every default applied, every value checked.
//!
//! Defaults are Nomad's `DefaultConfig()` (reference §1.2–1.6); [`AgentConfig::dev`]
//! gives `-dev`'s (§1.8). Paths that default relative to `data_dir` are resolved by the
//! accessor methods, so a dev agent (which has no `data_dir` until it creates a temporary
//! one) and a configured agent share one code path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// The agent's whole configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub region: String,
    pub datacenter: String,
    /// Node name; defaults to the host name.
    pub name: String,
    /// `None` only in dev mode: the agent creates a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// Explicit `plugin_dir`; see [`AgentConfig::plugin_dir`] for the effective one.
    pub plugin_dir: Option<PathBuf>,
    pub log: LogConfig,
    pub bind_addr: String,
    pub enable_debug: bool,
    pub ports: Ports,
    pub addresses: Addresses,
    pub advertise: Addresses,
    pub server: ServerConfig,
    pub client: ClientConfig,
    /// `plugin "name" {}` blocks, merged by name, in first-seen order.
    pub plugins: Vec<PluginConfig>,
    pub limits: Limits,
    pub acl: AclConfig,
    pub tls: TlsConfig,
    pub telemetry: Telemetry,
    pub leave_on_interrupt: bool,
    pub leave_on_terminate: bool,
    pub enable_syslog: bool,
    pub syslog_facility: String,
    pub disable_update_check: bool,
    pub disable_anonymous_signature: bool,
    pub http_api_response_headers: BTreeMap<String, String>,
    /// Started with `-dev`.
    pub dev_mode: bool,
    /// Nomad blocks present in the files that Drover ignores (`consul`, `vault`, …).
    pub ignored_blocks: Vec<String>,
}

impl AgentConfig {
    /// The effective plugin directory: `plugin_dir`, else `<data_dir>/plugins`.
    pub fn plugin_dir(&self) -> Option<PathBuf> {
        self.plugin_dir
            .clone()
            .or_else(|| self.data_dir.as_ref().map(|d| d.join("plugins")))
    }

    /// The plugin block for `name`, if any.
    pub fn plugin(&self, name: &str) -> Option<&PluginConfig> {
        self.plugins.iter().find(|p| p.name == name)
    }
}

/// Log level names Nomad accepts (`command/agent/log_levels.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

impl LogLevel {
    pub const NAMES: [&'static str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"];

    /// Case-insensitive, as Nomad upper-cases the value.
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_uppercase().as_str() {
            "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "OFF" => LogLevel::Off,
            _ => return None,
        })
    }
}

/// Agent log output and file rotation (reference §1.3).
#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    pub level: LogLevel,
    pub json: bool,
    pub file: Option<PathBuf>,
    pub include_location: bool,
    /// 24h.
    pub rotate_duration: Duration,
    /// 0 = no size rotation. Top-level `log_rotate_bytes` or `limits.log_rotate_bytes`.
    pub rotate_bytes: u64,
    /// 0 = keep all.
    pub rotate_max_files: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub http: u16,
    pub rpc: u16,
    pub serf: u16,
}

/// Per-protocol addresses (`addresses {}` binds, `advertise {}`); `None` = the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addresses {
    pub http: Option<String>,
    pub rpc: Option<String>,
    pub serf: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    pub enabled: bool,
    pub bootstrap_expect: u32,
    /// Explicit `server.data_dir`; default `<data_dir>/server`.
    pub data_dir: Option<PathBuf>,
    /// `None` = number of CPUs.
    pub num_schedulers: Option<u32>,
    pub enabled_schedulers: Vec<String>,
    pub heartbeat_grace: Duration,
    pub min_heartbeat_ttl: Duration,
    pub max_heartbeats_per_second: f64,
    pub failover_heartbeat_ttl: Duration,
    pub node_gc_threshold: Duration,
    pub job_gc_interval: Duration,
    pub job_gc_threshold: Duration,
    pub eval_gc_threshold: Duration,
    pub batch_eval_gc_threshold: Duration,
    pub deployment_gc_threshold: Duration,
    pub raft_protocol: u32,
    pub raft_multiplier: Option<u32>,
    pub raft_snapshot_threshold: Option<u64>,
    pub raft_snapshot_interval: Option<Duration>,
    pub raft_trailing_logs: Option<u64>,
    pub encrypt: Option<String>,
    pub rejoin_after_leave: bool,
    pub non_voting_server: bool,
    pub redundancy_zone: Option<String>,
    /// `server_join {}`, or the legacy top-level `retry_join` & co. folded in.
    pub server_join: ServerJoin,
    pub job_default_priority: u32,
    pub job_max_priority: u32,
    pub job_max_count: u32,
    pub enable_event_broker: bool,
    pub event_buffer_size: u32,
    pub plan_apply_pipeline: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerJoin {
    pub retry_join: Vec<String>,
    /// 0 = unlimited.
    pub retry_max: u32,
    pub retry_interval: Duration,
    pub start_join: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub enabled: bool,
    /// Explicit dirs; defaults `<data_dir>/client`, `<data_dir>/alloc`.
    pub state_dir: Option<PathBuf>,
    pub alloc_dir: Option<PathBuf>,
    pub alloc_mounts_dir: Option<PathBuf>,
    /// `host[:port]`; the port defaults to 4647.
    pub servers: Vec<String>,
    pub server_join: ServerJoin,
    pub node_class: String,
    pub node_pool: String,
    pub meta: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub chroot_env: BTreeMap<String, String>,
    pub network_interface: Option<String>,
    pub network_speed: Option<u32>,
    pub preferred_address_family: Option<String>,
    pub cpu_total_compute: Option<u64>,
    pub memory_total_mb: Option<u64>,
    pub disk_total_mb: Option<u64>,
    pub disk_free_mb: Option<u64>,
    pub reservable_cores: Option<String>,
    pub reserved: Reserved,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
    pub client_min_port: u16,
    pub client_max_port: u16,
    pub max_kill_timeout: Duration,
    pub gc_interval: Duration,
    pub gc_parallel_destroys: u32,
    pub gc_disk_usage_threshold: f64,
    pub gc_inode_usage_threshold: f64,
    pub gc_max_allocs: u32,
    pub gc_volumes_on_node_gc: bool,
    pub no_host_uuid: bool,
    pub disable_remote_exec: bool,
    pub host_volumes: Vec<HostVolume>,
    pub host_networks: Vec<HostNetwork>,
    pub cni_path: String,
    pub cni_config_dir: String,
    pub bridge_network_name: Option<String>,
    pub bridge_network_subnet: Option<String>,
    pub cgroup_parent: Option<String>,
    /// 0 = unlimited.
    pub node_max_allocs: u32,
    pub default_ineligible: bool,
}

impl ClientConfig {
    pub fn host_volume(&self, name: &str) -> Option<&HostVolume> {
        self.host_volumes.iter().find(|v| v.name == name)
    }
}

/// Resources kept back from scheduling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reserved {
    pub cpu: u64,
    pub memory_mb: u64,
    pub disk_mb: u64,
    /// Parsed `reserved_ports`, e.g. `"22,80,8000-8100"`, as inclusive ranges.
    pub reserved_ports: Vec<(u16, u16)>,
    pub cores: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostVolume {
    pub name: String,
    pub path: PathBuf,
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNetwork {
    pub name: String,
    pub cidr: Option<String>,
    pub interface: Option<String>,
    pub reserved_ports: Vec<(u16, u16)>,
}

/// `plugin "name" { args = [...] config { ... } }`.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginConfig {
    pub name: String,
    pub args: Vec<String>,
    /// The plugin's own configuration, validated by the plugin; `{}` when absent.
    pub config: Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub https_handshake_timeout: Duration,
    pub http_max_conns_per_client: u32,
    pub rpc_handshake_timeout: Duration,
    pub rpc_max_conns_per_client: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclConfig {
    pub enabled: bool,
    pub token_ttl: Duration,
    pub policy_ttl: Duration,
    pub role_ttl: Duration,
    pub replication_token: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    pub http: bool,
    pub rpc: bool,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub verify_server_hostname: bool,
    pub verify_https_client: bool,
    pub rpc_upgrade_mode: bool,
    pub tls_min_version: Option<String>,
    pub tls_cipher_suites: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Telemetry {
    pub collection_interval: Duration,
    pub in_memory_collection_interval: Duration,
    pub in_memory_retention_period: Duration,
    pub prometheus_metrics: bool,
    pub publish_allocation_metrics: bool,
    pub publish_node_metrics: bool,
    pub disable_hostname: bool,
    pub use_node_name: bool,
    pub statsd_address: Option<String>,
    pub statsite_address: Option<String>,
    pub datadog_address: Option<String>,
    pub datadog_tags: Vec<String>,
    pub filter_default: bool,
    pub prefix_filter: Vec<String>,
}

/// Join `p` to `base` unless `p` is set.
pub(crate) fn under(
    explicit: &Option<PathBuf>,
    base: &Option<PathBuf>,
    sub: &str,
) -> Option<PathBuf> {
    explicit
        .clone()
        .or_else(|| base.as_deref().map(|b: &Path| b.join(sub)))
}

impl ServerConfig {
    /// `server.data_dir`, else `<data_dir>/server`.
    pub fn effective_data_dir(&self, agent_data_dir: &Option<PathBuf>) -> Option<PathBuf> {
        under(&self.data_dir, agent_data_dir, "server")
    }
}

impl ClientConfig {
    /// `state_dir`, else `<data_dir>/client`.
    pub fn effective_state_dir(&self, agent_data_dir: &Option<PathBuf>) -> Option<PathBuf> {
        under(&self.state_dir, agent_data_dir, "client")
    }

    /// `alloc_dir`, else `<data_dir>/alloc`.
    pub fn effective_alloc_dir(&self, agent_data_dir: &Option<PathBuf>) -> Option<PathBuf> {
        under(&self.alloc_dir, agent_data_dir, "alloc")
    }
}
