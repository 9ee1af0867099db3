//! Server settings, with Nomad's defaults, validated before anything starts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use drover_scheduler::Algorithm;

use crate::error::StartError;
use crate::leader::BrokerConfig;

/// Heartbeat settings (Nomad's `server {}` block, reference §5.7).
#[derive(Debug, Clone)]
pub struct HeartbeatConfig {
    /// `min_heartbeat_ttl` (10 s).
    pub min_ttl: Duration,
    /// `max_heartbeats_per_second` (50).
    pub max_per_second: f64,
    /// `heartbeat_grace` (10 s): the server waits TTL + grace before marking a
    /// node down.
    pub grace: Duration,
    /// `failover_heartbeat_ttl` (5 min): every node's TTL right after a leader
    /// takes over.
    pub failover_ttl: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self {
            min_ttl: Duration::from_secs(10),
            max_per_second: 50.0,
            grace: Duration::from_secs(10),
            failover_ttl: Duration::from_secs(300),
        }
    }
}

/// How a server runs. Defaults: one server bootstrapping itself, one scheduler worker
/// per core, Nomad's heartbeat and broker timings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Data directory; the Raft log and snapshots live in `<data_dir>/server/`.
    pub data_dir: PathBuf,
    /// This server's raft id (non-zero).
    pub node_id: u64,
    /// Agent name (`<name>.<region>` in members).
    pub node_name: String,
    /// Region.
    pub region: String,
    /// Datacenter.
    pub datacenter: String,
    /// Where the raft transport listens (`host:port`; port 0 picks one).
    pub raft_bind: String,
    /// The address peers reach this server at; default: the bound address.
    pub raft_advertise: Option<String>,
    /// Where the cluster RPC for clients listens (`host:port`; port 0 picks one;
    /// Nomad's RPC port is 4647). Default `127.0.0.1:0`.
    pub rpc_bind: String,
    /// The RPC address clients are told to reach this server at; default: the bound
    /// address.
    pub rpc_advertise: Option<String>,
    /// The voters of a new cluster (raft id → address), this server included; empty
    /// means a cluster of this server alone (`bootstrap_expect = 1`).
    pub peers: BTreeMap<u64, String>,
    /// Scheduler workers (`num_schedulers`; default: the number of cores).
    pub num_schedulers: usize,
    /// Scheduler types the workers dequeue.
    pub enabled_schedulers: Vec<String>,
    /// `scheduler_algorithm`.
    pub algorithm: Algorithm,
    /// Heartbeat timing.
    pub heartbeat: HeartbeatConfig,
    /// Eval broker timing.
    pub broker: BrokerConfig,
    /// Delay before a failed eval's follow-up: `base + rand[0, jitter)` (1 m + 5 m).
    pub failed_followup_base: Duration,
    /// See `failed_followup_base`.
    pub failed_followup_jitter: Duration,
    /// How often the drainer looks at draining nodes.
    pub drain_interval: Duration,
    /// Raft clock tick (100 ms).
    pub raft_tick: Duration,
    /// Raft snapshot every this many entries (8192).
    pub snapshot_threshold: u64,
}

impl ServerConfig {
    /// A single server on `data_dir`, raft and the cluster RPC on `127.0.0.1:0`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            data_dir: data_dir.into(),
            node_id: 1,
            node_name: "drover-server".into(),
            region: "global".into(),
            datacenter: "dc1".into(),
            raft_bind: "127.0.0.1:0".into(),
            raft_advertise: None,
            rpc_bind: "127.0.0.1:0".into(),
            rpc_advertise: None,
            peers: BTreeMap::new(),
            num_schedulers: cores,
            enabled_schedulers: ["service", "batch", "system", "sysbatch"]
                .map(String::from)
                .to_vec(),
            algorithm: Algorithm::Binpack,
            heartbeat: HeartbeatConfig::default(),
            broker: BrokerConfig::default(),
            failed_followup_base: Duration::from_secs(60),
            failed_followup_jitter: Duration::from_secs(300),
            drain_interval: Duration::from_millis(500),
            raft_tick: Duration::from_millis(100),
            snapshot_threshold: 8192,
        }
    }

    /// Checks every field; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), StartError> {
        let bad = |m: &str| Err(StartError::Config(m.to_owned()));
        if self.node_id == 0 {
            return bad("node_id: must be non-zero");
        }
        if self.num_schedulers == 0 {
            return bad("num_schedulers: must be at least 1");
        }
        if self.heartbeat.min_ttl.is_zero() {
            return bad("heartbeat.min_ttl: must be positive");
        }
        if self.heartbeat.max_per_second.is_nan() || self.heartbeat.max_per_second <= 0.0 {
            return bad("heartbeat.max_per_second: must be positive");
        }
        if self.broker.delivery_limit == 0 {
            return bad("broker.delivery_limit: must be at least 1");
        }
        if self.broker.nack_timeout.is_zero() {
            return bad("broker.nack_timeout: must be positive");
        }
        if !self.peers.is_empty() && !self.peers.contains_key(&self.node_id) {
            return bad("peers: must include this server's node_id");
        }
        if self
            .rpc_advertise
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return bad("rpc_advertise: must not be empty when set");
        }
        if self.raft_tick.is_zero() {
            return bad("raft_tick: must be positive");
        }
        Ok(())
    }
}
