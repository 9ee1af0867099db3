//! What a node has left: its capacity minus reserved minus every non-terminal
//! allocation proposed on it (existing − stopped in the plan + placed in the plan).
//! Built once per node per evaluation and updated incrementally as the plan grows, so
//! fitting a placement never re-sums a node's allocations.

use crate::feasible::TgInfo;
use crate::fxhash::FxSet;
use drover_types::{Allocation, Node};

/// The resources one allocation holds, flattened.
#[derive(Debug, Clone, Default)]
pub struct AllocRes {
    pub cpu: i64,
    pub mem: i64,
    pub disk: i64,
    pub cores: Vec<u16>,
    pub ports: Vec<i64>,
}

impl AllocRes {
    /// Sums an allocation's `AllocatedResources`.
    pub fn of(a: &Allocation) -> AllocRes {
        let mut r = AllocRes::default();
        let Some(ar) = &a.allocated_resources else {
            return r;
        };
        for t in ar.tasks.values() {
            r.cpu += t.cpu.cpu_shares;
            r.mem += t.memory.memory_mb;
            r.cores.extend(&t.cpu.reserved_cores);
            for n in &t.networks {
                r.ports.extend(n.ports().map(|(p, _)| p.value));
            }
        }
        r.disk = ar.shared.disk_mb;
        r.ports.extend(ar.shared.ports.iter().map(|p| p.value));
        for n in &ar.shared.networks {
            r.ports.extend(n.ports().map(|(p, _)| p.value));
        }
        if r.ports.len() > 1 {
            r.ports.sort_unstable();
            r.ports.dedup();
        }
        r
    }
}

/// Usage of one node during one evaluation.
#[derive(Debug, Clone, Default)]
pub struct NodeUsage {
    pub avail_cpu: i64,
    pub avail_mem: i64,
    pub avail_disk: i64,
    pub avail_cores: Vec<u16>,
    pub cpu: i64,
    pub mem: i64,
    pub disk: i64,
    pub cores: Vec<u16>,
    pub ports: FxSet<i64>,
    pub ip: String,
    pub dyn_range: (i64, i64),
}

/// Parses `"22,80,8000-8100"`.
fn parse_port_list(s: &str, out: &mut FxSet<i64>) {
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                    out.extend(a..=b.min(65_535));
                }
            }
            None => {
                if let Ok(p) = part.parse() {
                    out.insert(p);
                }
            }
        }
    }
}

impl NodeUsage {
    /// Capacity of `node` with nothing placed.
    pub fn empty(node: &Node) -> NodeUsage {
        // Node::comparable_available without cloning the node's networks.
        let (mut cpu, mut mem, mut disk, mut cores) = (0, 0, 0, Vec::new());
        if let Some(r) = &node.node_resources {
            (cpu, mem, disk) = (r.cpu.cpu_shares, r.memory.memory_mb, r.disk.disk_mb);
            cores.clone_from(&r.cpu.reservable_cpu_cores);
        }
        if let Some(r) = &node.reserved_resources {
            cpu = (cpu - r.cpu.cpu_shares).max(0);
            mem = (mem - r.memory.memory_mb).max(0);
            disk = (disk - r.disk.disk_mb).max(0);
            cores.retain(|c| !r.cpu.reserved_cpu_cores.contains(c));
        }
        let mut u = NodeUsage {
            avail_cpu: cpu,
            avail_mem: mem,
            avail_disk: disk,
            avail_cores: cores,
            dyn_range: (20_000, 32_000),
            ..Default::default()
        };
        if let Some(nr) = &node.node_resources {
            if nr.min_dynamic_port > 0 && nr.max_dynamic_port >= nr.min_dynamic_port {
                u.dyn_range = (nr.min_dynamic_port, nr.max_dynamic_port);
            }
            if let Some(n) = nr.networks.iter().find(|n| !n.ip.is_empty()) {
                u.ip = n.ip.clone();
            }
        }
        if let Some(r) = &node.reserved_resources {
            parse_port_list(&r.networks.reserved_host_ports, &mut u.ports);
        }
        u
    }

    /// Adds an allocation.
    pub fn add(&mut self, r: &AllocRes) {
        self.cpu += r.cpu;
        self.mem += r.mem;
        self.disk += r.disk;
        self.cores.extend(&r.cores);
        self.ports.extend(&r.ports);
    }

    /// Removes an allocation added before.
    pub fn sub(&mut self, r: &AllocRes) {
        self.cpu -= r.cpu;
        self.mem -= r.mem;
        self.disk -= r.disk;
        self.cores.retain(|c| !r.cores.contains(c));
        for p in &r.ports {
            self.ports.remove(p);
        }
    }

    /// Whether `tg` fits; on failure the exhausted dimension as Nomad names it.
    pub fn fit(&self, tg: &TgInfo, static_ports: &[(String, i64)]) -> Result<(), String> {
        for (label, port) in static_ports {
            if self.ports.contains(port) {
                return Err(format!("network: reserved port collision {label}={port}"));
            }
        }
        if self.cpu + tg.cpu > self.avail_cpu {
            return Err("cpu".into());
        }
        if tg.cores > 0 && self.free_cores().count() < tg.cores as usize {
            return Err("cores".into());
        }
        if self.mem + tg.mem > self.avail_mem {
            return Err("memory".into());
        }
        if self.disk + tg.disk > self.avail_disk {
            return Err("disk".into());
        }
        Ok(())
    }

    /// Reservable cores not yet taken.
    pub fn free_cores(&self) -> impl Iterator<Item = u16> + '_ {
        self.avail_cores
            .iter()
            .copied()
            .filter(|c| !self.cores.contains(c))
    }

    /// Proposed utilisation fractions `(cpu, memory)` with `tg` added.
    pub fn util_with(&self, tg: &TgInfo) -> (f64, f64) {
        let frac = |used: i64, avail: i64| {
            if avail <= 0 {
                1.0
            } else {
                used as f64 / avail as f64
            }
        };
        (
            frac(self.cpu + tg.cpu, self.avail_cpu),
            frac(self.mem + tg.mem, self.avail_mem),
        )
    }
}
