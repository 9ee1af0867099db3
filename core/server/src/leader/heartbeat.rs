//! Node heartbeat timers (Nomad's `nomad/heartbeat.go`), leader only.
//!
//! Each heartbeat (node register or status update) gets a TTL by Nomad's formula,
//! `ttl = max(min_ttl, nodes / max_per_second)` plus a random `[0, ttl)` jitter, which
//! the client uses as its interval; the server's timer for the node fires at
//! `ttl + grace`. [`Timers`] is the pure part (time is a parameter); the leader loop
//! marks the expired nodes `down`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::HeartbeatConfig;

/// The TTL handed to a client; `jitter` is in `[0, 1)`.
pub fn heartbeat_ttl(cfg: &HeartbeatConfig, nodes: usize, jitter: f64) -> Duration {
    let by_rate = Duration::from_secs_f64(nodes as f64 / cfg.max_per_second);
    let ttl = cfg.min_ttl.max(by_rate);
    ttl + ttl.mul_f64(jitter.clamp(0.0, 1.0))
}

/// Per-node deadlines, ordered.
#[derive(Default)]
pub struct Timers {
    by_node: HashMap<String, Instant>,
    order: BTreeSet<(Instant, String)>,
}

impl Timers {
    /// (Re)arms `node`'s timer to fire at `at`.
    pub fn reset(&mut self, node: &str, at: Instant) {
        if let Some(old) = self.by_node.insert(node.to_owned(), at) {
            self.order.remove(&(old, node.to_owned()));
        }
        self.order.insert((at, node.to_owned()));
    }

    /// Disarms `node`'s timer.
    pub fn remove(&mut self, node: &str) {
        if let Some(old) = self.by_node.remove(node) {
            self.order.remove(&(old, node.to_owned()));
        }
    }

    /// Removes and returns the nodes whose timer fired by `now`.
    pub fn expired(&mut self, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(first) = self.order.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, node)) = self.order.pop_first() {
                self.by_node.remove(&node);
                out.push(node);
            }
        }
        out
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Disarms everything (leadership lost).
    pub fn clear(&mut self) {
        self.by_node.clear();
        self.order.clear();
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_formula() {
        let cfg = HeartbeatConfig::default();
        assert_eq!(heartbeat_ttl(&cfg, 10, 0.0), Duration::from_secs(10));
        // 5,000 nodes at 50/s: 100 s, plus up to 100 s of jitter.
        assert_eq!(heartbeat_ttl(&cfg, 5000, 0.0), Duration::from_secs(100));
        assert_eq!(heartbeat_ttl(&cfg, 5000, 0.5), Duration::from_secs(150));
    }

    #[test]
    fn timers_fire_in_order_and_reset() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.reset("a", t0 + Duration::from_secs(2));
        t.reset("b", t0 + Duration::from_secs(1));
        t.reset("a", t0 + Duration::from_secs(5));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.expired(t0 + Duration::from_secs(3)), ["b"]);
        t.remove("a");
        assert!(t.is_empty());
    }
}
