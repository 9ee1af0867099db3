//! Fingerprinting: what this node offers, as the [`Node`] the client registers.
//!
//! Host facts ([`host`]) become attributes under Nomad's names (reference §7.3:
//! `kernel.name`, `cpu.numcores`, `unique.storage.volume`, …) so constraints written for
//! Nomad match, and `NodeResources`/`NodeReservedResources` from the same facts and the
//! client block. Driver fingerprints are merged in as `Node.Drivers[name]` and their
//! attributes (`driver.<name>` and the driver's own).
//!
//! The merge is pure ([`build_node`], [`apply_driver`]); only [`host::gather`] and
//! [`identity::load_or_create`] touch the machine.

pub mod host;
pub mod identity;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use drover_types::node::{
    ClientHostVolume, DriverInfo, NodeCpuResources, NodeDiskResources, NodeMemoryResources,
    NodeReservedCpu, NodeReservedNetwork, NodeReservedResources,
};
use drover_types::{NetworkResource, Node, NodeResources, NodeStatus, SchedulingEligibility};

pub use host::{CpuInfo, HostFacts, Storage};
pub use identity::NodeIdentity;

const MB: u64 = 1024 * 1024;

/// The parts of the client block fingerprinting uses (the agent fills it from its
/// validated configuration).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FingerprintConfig {
    /// Node name (defaults to the host name when empty).
    pub node_name: String,
    /// Datacenter.
    pub datacenter: String,
    /// `node_class`.
    pub node_class: String,
    /// `node_pool`.
    pub node_pool: String,
    /// `meta {}`.
    pub meta: BTreeMap<String, String>,
    /// The client HTTP address (`host:port`).
    pub http_addr: String,
    /// `alloc_dir` (its filesystem is fingerprinted).
    pub alloc_dir: PathBuf,
    /// `network_interface`.
    pub network_interface: Option<String>,
    /// `cpu_total_compute` (MHz) override.
    pub cpu_total_compute: Option<u64>,
    /// `memory_total_mb` override.
    pub memory_total_mb: Option<u64>,
    /// `disk_total_mb` override.
    pub disk_total_mb: Option<u64>,
    /// `disk_free_mb` override.
    pub disk_free_mb: Option<u64>,
    /// `reserved {}`.
    pub reserved: ReservedConfig,
    /// `host_volume "name" {}` blocks.
    pub host_volumes: Vec<ClientHostVolume>,
    /// `min_dynamic_port`.
    pub min_dynamic_port: u16,
    /// `max_dynamic_port`.
    pub max_dynamic_port: u16,
    /// `default_ineligible`.
    pub default_ineligible: bool,
    /// Agent version (`nomad.version`).
    pub version: String,
}

/// The client's `reserved {}` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservedConfig {
    /// MHz.
    pub cpu: u64,
    /// MB.
    pub memory_mb: u64,
    /// MB.
    pub disk_mb: u64,
    /// `reserved_ports`, e.g. `"22,80,8000-8100"`.
    pub reserved_ports: String,
    /// Reserved core IDs.
    pub cores: Vec<u16>,
}

/// A driver's health, as its Fingerprint stream reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverHealth {
    /// Not present (or disabled) on this node.
    #[default]
    Undetected,
    /// Present but not usable.
    Unhealthy,
    /// Usable.
    Healthy,
}

/// One driver fingerprint report, attributes already rendered as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverFingerprint {
    /// Health.
    pub health: DriverHealth,
    /// Why.
    pub description: String,
    /// Node attributes, e.g. `driver.raw_exec` = `true`.
    pub attributes: BTreeMap<String, String>,
}

/// Node attributes from host facts and config overrides.
pub fn host_attributes(cfg: &FingerprintConfig, f: &HostFacts) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            a.insert(k.to_owned(), v);
        }
    };
    put("kernel.name", f.kernel_name.clone());
    put("kernel.version", f.kernel_version.clone());
    put("kernel.arch", f.kernel_arch.clone());
    put("os.name", f.os_name.clone());
    put("os.version", f.os_version.clone());
    put("cpu.arch", host::go_arch(&f.kernel_arch));
    put("cpu.numcores", f.cpu.cores.to_string());
    put("cpu.frequency", f.cpu_mhz.to_string());
    let total = total_compute(cfg, f);
    put("cpu.totalcompute", total.to_string());
    let usable_cores = u64::from(f.cpu.cores).saturating_sub(cfg.reserved.cores.len() as u64);
    let usable = if cfg.cpu_total_compute.is_some() || f.cpu.cores == 0 {
        total
    } else {
        total * usable_cores / u64::from(f.cpu.cores)
    };
    put("cpu.usablecompute", usable.to_string());
    put("cpu.modelname", f.cpu.model_name.clone());
    put("memory.totalbytes", memory_bytes(cfg, f).to_string());
    put("unique.hostname", f.hostname.clone());
    if let Some((_, ip)) = &f.network {
        put("unique.network.ip-address", ip.to_string());
    }
    if let Some(s) = &f.storage {
        put("unique.storage.volume", s.volume.clone());
        let (total, free) = disk_bytes(cfg, s);
        put("unique.storage.bytestotal", total.to_string());
        put("unique.storage.bytesfree", free.to_string());
    }
    put("nomad.version", cfg.version.clone());
    a
}

fn total_compute(cfg: &FingerprintConfig, f: &HostFacts) -> u64 {
    cfg.cpu_total_compute
        .unwrap_or(f.cpu_mhz * u64::from(f.cpu.cores))
}

fn memory_bytes(cfg: &FingerprintConfig, f: &HostFacts) -> u64 {
    cfg.memory_total_mb.map_or(f.memory_bytes, |mb| mb * MB)
}

fn disk_bytes(cfg: &FingerprintConfig, s: &Storage) -> (u64, u64) {
    (
        cfg.disk_total_mb.map_or(s.total_bytes, |mb| mb * MB),
        cfg.disk_free_mb.map_or(s.free_bytes, |mb| mb * MB),
    )
}

/// `NodeResources`: CPU MHz and cores, memory MB, free disk MB, the host network.
pub fn node_resources(cfg: &FingerprintConfig, f: &HostFacts) -> NodeResources {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let cores: Vec<u16> = (0..u16::try_from(f.cpu.cores).unwrap_or(u16::MAX))
        .filter(|c| !cfg.reserved.cores.contains(c))
        .collect();
    let networks = f
        .network
        .iter()
        .map(|(dev, ip)| NetworkResource {
            mode: "host".into(),
            device: dev.clone(),
            ip: ip.to_string(),
            cidr: format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }),
            ..Default::default()
        })
        .collect();
    NodeResources {
        cpu: NodeCpuResources {
            cpu_shares: to_i64(total_compute(cfg, f)),
            total_cpu_cores: i64::from(f.cpu.cores),
            reservable_cpu_cores: cores,
        },
        memory: NodeMemoryResources {
            memory_mb: to_i64(memory_bytes(cfg, f) / MB),
        },
        disk: NodeDiskResources {
            disk_mb: to_i64(f.storage.as_ref().map_or(0, |s| disk_bytes(cfg, s).1 / MB)),
        },
        networks,
        devices: Vec::new(),
        min_dynamic_port: i64::from(cfg.min_dynamic_port),
        max_dynamic_port: i64::from(cfg.max_dynamic_port),
    }
}

/// `NodeReservedResources` from the `reserved {}` block.
pub fn reserved_resources(cfg: &FingerprintConfig) -> NodeReservedResources {
    let r = &cfg.reserved;
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    NodeReservedResources {
        cpu: NodeReservedCpu {
            cpu_shares: to_i64(r.cpu),
            reserved_cpu_cores: r.cores.clone(),
        },
        memory: NodeMemoryResources {
            memory_mb: to_i64(r.memory_mb),
        },
        disk: NodeDiskResources {
            disk_mb: to_i64(r.disk_mb),
        },
        networks: NodeReservedNetwork {
            reserved_host_ports: r.reserved_ports.clone(),
        },
    }
}

/// Records driver `name`'s fingerprint on `node`: `Drivers[name]`, and when detected its
/// attributes plus `driver.<name>` (`"1"` unless the driver sets it); when undetected
/// they are removed. Returns whether the node changed (ignoring the update time).
pub fn apply_driver(node: &mut Node, name: &str, fp: &DriverFingerprint, now: SystemTime) -> bool {
    let detected = fp.health != DriverHealth::Undetected;
    let mut attrs = fp.attributes.clone();
    if detected {
        attrs
            .entry(format!("driver.{name}"))
            .or_insert_with(|| "1".into());
    }
    let info = DriverInfo {
        attributes: attrs.clone(),
        detected,
        healthy: fp.health == DriverHealth::Healthy,
        health_description: fp.description.clone(),
        update_time: rfc3339(now),
    };
    let before = node.clone();
    let old_keys: Vec<String> = node
        .drivers
        .get(name)
        .map(|d| d.attributes.keys().cloned().collect())
        .unwrap_or_default();
    for k in old_keys {
        node.attributes.remove(&k);
    }
    node.attributes.remove(&format!("driver.{name}"));
    if detected {
        node.attributes.extend(attrs);
    }
    let changed_info = node.drivers.get(name).is_none_or(|d| {
        (d.detected, d.healthy, &d.health_description, &d.attributes)
            != (
                info.detected,
                info.healthy,
                &info.health_description,
                &info.attributes,
            )
    });
    node.drivers.insert(name.to_owned(), info);
    changed_info || node.attributes != before.attributes
}

/// The node to register: identity, config, host facts and driver fingerprints.
pub fn build_node(
    cfg: &FingerprintConfig,
    facts: &HostFacts,
    id: &NodeIdentity,
    drivers: &BTreeMap<String, DriverFingerprint>,
    now: SystemTime,
) -> Node {
    let mut node = Node {
        id: id.id.clone(),
        secret_id: id.secret_id.clone(),
        datacenter: cfg.datacenter.clone(),
        name: if cfg.node_name.is_empty() {
            facts.hostname.clone()
        } else {
            cfg.node_name.clone()
        },
        http_addr: cfg.http_addr.clone(),
        attributes: host_attributes(cfg, facts),
        node_resources: Some(node_resources(cfg, facts)),
        reserved_resources: Some(reserved_resources(cfg)),
        meta: cfg.meta.clone(),
        node_class: cfg.node_class.clone(),
        node_pool: if cfg.node_pool.is_empty() {
            "default".into()
        } else {
            cfg.node_pool.clone()
        },
        scheduling_eligibility: if cfg.default_ineligible {
            SchedulingEligibility::Ineligible
        } else {
            SchedulingEligibility::Eligible
        },
        status: NodeStatus::Initializing,
        host_volumes: cfg
            .host_volumes
            .iter()
            .map(|v| (v.name.clone(), v.clone()))
            .collect(),
        ..Default::default()
    };
    for (name, fp) in drivers {
        apply_driver(&mut node, name, fp, now);
    }
    node
}

/// RFC 3339 UTC with seconds, e.g. `2024-05-01T12:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
