//! Raft settings, validated before the node starts.

use std::collections::BTreeMap;
use std::time::Duration;

use super::RaftError;

/// How a Raft server runs. Defaults suit a LAN: 100 ms ticks, elections after
/// 1–2 s of silence, heartbeats every 200 ms, a snapshot every 8192 entries.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    /// This server's raft id (non-zero, unique in the cluster).
    pub id: u64,
    /// The voters of a brand-new cluster (raft id → server address, this
    /// server included); used only when the store is empty. Empty: start as
    /// an uninitialized server that waits to be added by a leader. Addresses
    /// given here also override stored ones for the same id.
    pub bootstrap_peers: BTreeMap<u64, String>,
    /// One logical clock tick.
    pub tick_interval: Duration,
    /// Ticks without a leader before a follower campaigns (randomized in
    /// `[election_ticks, 2 * election_ticks)`).
    pub election_ticks: usize,
    /// Ticks between leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Take a snapshot and truncate the log every this many applied entries.
    pub snapshot_threshold: u64,
    /// Most commands (proposals, messages) folded into one `Ready`.
    pub max_batch: usize,
    /// Most bytes of entries in one append message.
    pub max_size_per_msg: u64,
}

impl RaftConfig {
    /// A server that bootstraps a cluster of itself alone at `addr`
    /// (`bootstrap_expect = 1`).
    pub fn single(id: u64, addr: impl Into<String>) -> Self {
        Self::cluster(id, BTreeMap::from([(id, addr.into())]))
    }

    /// A server that bootstraps a cluster of `peers` (this one included).
    pub fn cluster(id: u64, peers: BTreeMap<u64, String>) -> Self {
        Self {
            id,
            bootstrap_peers: peers,
            tick_interval: Duration::from_millis(100),
            election_ticks: 10,
            heartbeat_ticks: 2,
            snapshot_threshold: 8192,
            max_batch: 4096,
            max_size_per_msg: 1 << 20,
        }
    }

    /// Checks every field; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), RaftError> {
        let bad = |msg: &str| Err(RaftError::Config(msg.to_owned()));
        if self.id == 0 {
            return bad("id: must be non-zero");
        }
        if !self.bootstrap_peers.is_empty() && !self.bootstrap_peers.contains_key(&self.id) {
            return bad("bootstrap_peers: must include this server's id");
        }
        if self.bootstrap_peers.contains_key(&0) {
            return bad("bootstrap_peers: raft id 0 is reserved");
        }
        if self.tick_interval.is_zero() {
            return bad("tick_interval: must be positive");
        }
        if self.heartbeat_ticks == 0 || self.election_ticks <= self.heartbeat_ticks {
            return bad("election_ticks: must exceed heartbeat_ticks, which must be positive");
        }
        if self.snapshot_threshold == 0 {
            return bad("snapshot_threshold: must be positive");
        }
        if self.max_batch == 0 {
            return bad("max_batch: must be positive");
        }
        Ok(())
    }

    pub(crate) fn raft_config(&self) -> ::raft::Config {
        ::raft::Config {
            id: self.id,
            election_tick: self.election_ticks,
            heartbeat_tick: self.heartbeat_ticks,
            max_size_per_msg: self.max_size_per_msg,
            max_inflight_msgs: 256,
            check_quorum: true,
            pre_vote: true,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_field() {
        assert!(RaftConfig::single(1, "a:1").validate().is_ok());
        let mut c = RaftConfig::single(1, "a:1");
        c.id = 2;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("bootstrap_peers")
        );
        let mut c = RaftConfig::single(1, "a:1");
        c.election_ticks = 2;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("election_ticks")
        );
    }
}
