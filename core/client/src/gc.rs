//! The allocation garbage collector's policy: which terminal allocations' directories to
//! remove, oldest terminal first (Nomad's `client/gc.go`).
//!
//! Pure (STYLE.md item 1): the GC loop measures the disk, asks [`plan`] (periodic GC) or
//! [`make_room_for`] (before new allocations), destroys what it is told to, and measures
//! again on its next tick. Nomad's rules:
//! * periodic: while the alloc dir's disk usage is over `gc_disk_usage_threshold`, or its
//!   inode usage over `gc_inode_usage_threshold`, or the number of allocations the client
//!   holds is over `gc_max_allocs`, collect the oldest terminal allocation;
//! * before adding `n` allocations: collect until at most `gc_max_allocs − n` remain, then
//!   until the new allocations' disk fits (available minus `reserved.disk`).
//!
//! Nomad re-measures the disk after each removal; [`plan`] instead estimates the effect of
//! each removal from the candidate's measured size, so one call yields the whole batch.

use std::cmp::Ordering;
use std::fmt;

/// `gc_*` settings of the client block.
#[derive(Debug, Clone, PartialEq)]
pub struct GcConfig {
    /// `gc_max_allocs` (default 50).
    pub max_allocs: usize,
    /// `gc_disk_usage_threshold`, percent (default 80).
    pub disk_usage_threshold: f64,
    /// `gc_inode_usage_threshold`, percent (default 70).
    pub inode_usage_threshold: f64,
    /// `reserved.disk` in MB, kept free when making room.
    pub reserved_disk_mb: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            max_allocs: 50,
            disk_usage_threshold: 80.0,
            inode_usage_threshold: 70.0,
            reserved_disk_mb: 0,
        }
    }
}

/// The alloc dir's filesystem (from `statvfs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Filesystem size in bytes.
    pub total_bytes: u64,
    /// Bytes available to the agent.
    pub available_bytes: u64,
    /// Total inodes.
    pub total_inodes: u64,
    /// Free inodes.
    pub free_inodes: u64,
}

impl GcStats {
    /// Used disk, percent (0 when the size is unknown).
    pub fn used_percent(&self) -> f64 {
        percent(
            self.total_bytes.saturating_sub(self.available_bytes),
            self.total_bytes,
        )
    }
    /// Used inodes, percent (0 when unknown).
    pub fn inodes_used_percent(&self) -> f64 {
        percent(
            self.total_inodes.saturating_sub(self.free_inodes),
            self.total_inodes,
        )
    }
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    }
}

/// A terminal allocation the collector may remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcCandidate {
    /// Allocation ID.
    pub alloc_id: String,
    /// When it became terminal (unix nanoseconds); oldest goes first.
    pub terminal_at: i64,
    /// Bytes its directory uses.
    pub disk_bytes: u64,
    /// Inodes its directory uses.
    pub inodes: u64,
    /// Its `ephemeral_disk` size in MB (what `make_room_for` credits).
    pub disk_mb: u64,
}

/// Why an allocation is collected; `Display` gives Nomad's text.
#[derive(Debug, Clone, PartialEq)]
pub enum GcReason {
    /// Disk usage over the threshold.
    Disk { used: f64, threshold: f64 },
    /// Inode usage over the threshold.
    Inodes { used: f64, threshold: f64 },
    /// More allocations than `gc_max_allocs`.
    MaxAllocs { live: usize, max: usize },
    /// Making room for new allocations over the limit.
    NewAllocs { max: usize },
    /// Freeing disk for new allocations.
    FreeDisk { mb: u64 },
}

impl fmt::Display for GcReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcReason::Disk { used, threshold } => {
                write!(
                    f,
                    "disk usage of {used:.0} is over gc threshold of {threshold:.0}"
                )
            }
            GcReason::Inodes { used, threshold } => {
                write!(
                    f,
                    "inode usage of {used:.0} is over gc threshold of {threshold:.0}"
                )
            }
            GcReason::MaxAllocs { live, max } => {
                write!(
                    f,
                    "number of allocations ({live}) is over the limit ({max})"
                )
            }
            GcReason::NewAllocs { max } => write!(f, "new allocations and over max ({max})"),
            GcReason::FreeDisk { mb } => write!(f, "freeing {mb} MB for new allocations"),
        }
    }
}

/// One allocation to remove, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct GcDecision {
    /// Allocation ID.
    pub alloc_id: String,
    /// Why.
    pub reason: GcReason,
}

/// The periodic GC's verdict.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GcPlan {
    /// What to remove, in order.
    pub collect: Vec<GcDecision>,
    /// Set when a threshold is still exceeded but nothing terminal is left ("garbage
    /// collection skipped because no terminal allocations").
    pub blocked: Option<GcReason>,
}

fn oldest_first(candidates: &[GcCandidate]) -> Vec<&GcCandidate> {
    let mut v: Vec<&GcCandidate> = candidates.iter().collect();
    v.sort_by(|a, b| match a.terminal_at.cmp(&b.terminal_at) {
        Ordering::Equal => a.alloc_id.cmp(&b.alloc_id),
        o => o,
    });
    v
}

/// Nomad's reason check, in its order: disk, inodes, count.
fn reason(cfg: &GcConfig, stats: &GcStats, live: usize) -> Option<GcReason> {
    let (disk, inodes) = (stats.used_percent(), stats.inodes_used_percent());
    if disk > cfg.disk_usage_threshold {
        Some(GcReason::Disk {
            used: disk,
            threshold: cfg.disk_usage_threshold,
        })
    } else if inodes > cfg.inode_usage_threshold {
        Some(GcReason::Inodes {
            used: inodes,
            threshold: cfg.inode_usage_threshold,
        })
    } else if live > cfg.max_allocs {
        Some(GcReason::MaxAllocs {
            live,
            max: cfg.max_allocs,
        })
    } else {
        None
    }
}

/// Periodic GC (`keepUsageBelowThreshold`): `live_allocs` counts every allocation the
/// client still holds (running and terminal, not yet collected).
pub fn plan(
    cfg: &GcConfig,
    stats: GcStats,
    live_allocs: usize,
    candidates: &[GcCandidate],
) -> GcPlan {
    let mut out = GcPlan::default();
    let (mut stats, mut live) = (stats, live_allocs);
    let mut queue = oldest_first(candidates).into_iter();
    while let Some(why) = reason(cfg, &stats, live) {
        let Some(c) = queue.next() else {
            out.blocked = Some(why);
            break;
        };
        out.collect.push(GcDecision {
            alloc_id: c.alloc_id.clone(),
            reason: why,
        });
        stats.available_bytes = stats
            .available_bytes
            .saturating_add(c.disk_bytes)
            .min(stats.total_bytes);
        stats.free_inodes = stats
            .free_inodes
            .saturating_add(c.inodes)
            .min(stats.total_inodes);
        live = live.saturating_sub(1);
    }
    out
}

/// Before adding allocations (`MakeRoomFor`): `new_disk_mb` holds each new allocation's
/// ephemeral disk. `stats` is `None` when the disk could not be measured; then removed
/// allocations' `disk_mb` is credited instead.
pub fn make_room_for(
    cfg: &GcConfig,
    stats: Option<GcStats>,
    live_allocs: usize,
    new_disk_mb: &[u64],
    candidates: &[GcCandidate],
) -> Vec<GcDecision> {
    const MB: u64 = 1024 * 1024;
    let mut out = Vec::new();
    if new_disk_mb.is_empty() {
        return out;
    }
    let mut queue = oldest_first(candidates).into_iter();
    let max = cfg.max_allocs.saturating_sub(new_disk_mb.len());
    let mut live = live_allocs;
    while live > max {
        let Some(c) = queue.next() else { break };
        out.push(GcDecision {
            alloc_id: c.alloc_id.clone(),
            reason: GcReason::NewAllocs {
                max: cfg.max_allocs,
            },
        });
        live -= 1;
    }
    let needed = new_disk_mb.iter().sum::<u64>().saturating_mul(MB);
    if let Some(s) = stats {
        let usable = s
            .available_bytes
            .saturating_sub(cfg.reserved_disk_mb.saturating_mul(MB));
        if needed < usable {
            return out;
        }
    }
    let mut available = stats.map(|s| s.available_bytes);
    let mut cleared_mb = 0u64;
    loop {
        let enough = match available {
            Some(a) => a >= needed,
            None => cleared_mb.saturating_mul(MB) >= needed,
        };
        if enough {
            break;
        }
        let Some(c) = queue.next() else { break };
        out.push(GcDecision {
            alloc_id: c.alloc_id.clone(),
            reason: GcReason::FreeDisk { mb: c.disk_mb },
        });
        cleared_mb += c.disk_mb;
        available = available.map(|a| a.saturating_add(c.disk_bytes));
    }
    out
}

#[cfg(test)]
#[path = "gc_tests.rs"]
mod tests;
