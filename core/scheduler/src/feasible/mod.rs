//! Feasibility (reference §5.3): which ready nodes may run a task group.
//!
//! Checks run in Nomad's order — job constraints, drivers, group/task constraints,
//! devices, host volumes, network — and the first failure names the reason recorded
//! in `AllocMetric.ConstraintFiltered`. Results of the checks that depend only on a
//! node's *computed class* are cached per class, unless a constraint references
//! node-unique data. Unlike Nomad, a cached failure is reported with its original
//! reason rather than "computed class ineligible", so `job plan` explains every node.

mod constraint;
mod glob;

pub use constraint::{RegexCache, check, resolve};
pub use glob::glob_match;

use crate::fxhash::FxMap;
use drover_types::{Affinity, Constraint, Job, Node, Spread, TaskGroup};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Nomad's `ComputeClass`: a hash of what makes nodes interchangeable for
/// feasibility (datacenter, class, pool, non-unique attributes and meta, drivers).
pub fn compute_node_class(node: &Node) -> String {
    let mut h = DefaultHasher::new();
    (&node.datacenter, &node.node_class, &node.node_pool).hash(&mut h);
    for (k, v) in node.attributes.iter().chain(node.meta.iter()) {
        if !k.starts_with("unique.") {
            (k, v).hash(&mut h);
        }
    }
    for (k, d) in &node.drivers {
        (k, d.detected, d.healthy).hash(&mut h);
    }
    format!("v1:{}", h.finish())
}

/// A task group's scheduling needs, computed once per evaluation.
pub struct TgInfo {
    pub name: String,
    pub count: i64,
    drivers: Vec<String>,
    constraints: Vec<Constraint>,
    escaped: bool,
    devices: bool,
    /// `(source, read_only, per_alloc)` of host volumes.
    volumes: Vec<(String, bool, bool)>,
    net_mode: Option<String>,
    /// `(label, host_network)` of ports naming a host network.
    host_networks: Vec<(String, String)>,
    /// Summed asks.
    pub cpu: i64,
    pub mem: i64,
    pub disk: i64,
    pub cores: i64,
    /// `(label, value)` of static ports.
    pub static_ports: Vec<(String, i64)>,
    pub affinities: Vec<Affinity>,
    pub spreads: Vec<Spread>,
    /// `Some(job_level)` when `distinct_hosts` applies.
    pub distinct_hosts: Option<bool>,
    /// `(attribute, limit, job_level)`.
    pub distinct_property: Vec<(String, u64, bool)>,
}

fn split_distinct(
    cs: &[Constraint],
    job_level: bool,
    hosts: &mut Option<bool>,
    props: &mut Vec<(String, u64, bool)>,
) -> Vec<Constraint> {
    let mut rest = Vec::new();
    for c in cs {
        match c.operand.as_str() {
            "distinct_hosts" => {
                if c.r_target.is_empty() || c.r_target == "true" {
                    *hosts = Some(hosts.unwrap_or(false) || job_level);
                }
            }
            "distinct_property" => {
                let limit = c.r_target.parse().unwrap_or(1).max(1);
                props.push((c.l_target.clone(), limit, job_level));
            }
            _ => rest.push(c.clone()),
        }
    }
    rest
}

impl TgInfo {
    /// Precomputes `tg` of `job`; `job_hosts`/`job_props` come from [`JobInfo`].
    pub fn new(job: &Job, tg: &TaskGroup, ji: &JobInfo) -> TgInfo {
        let mut distinct_hosts = ji.distinct_hosts.then_some(true);
        let mut distinct_property = ji.distinct_property.clone();
        let mut all: Vec<Constraint> = tg.constraints.clone();
        let mut affinities: Vec<Affinity> = job.affinities.clone();
        affinities.extend(tg.affinities.iter().cloned());
        let (mut cpu, mut mem, mut cores, mut devices) = (0, 0, 0, false);
        let mut drivers: Vec<String> = Vec::new();
        for t in &tg.tasks {
            all.extend(t.constraints.iter().cloned());
            affinities.extend(t.affinities.iter().cloned());
            if !drivers.contains(&t.driver) {
                drivers.push(t.driver.clone());
            }
            if let Some(r) = &t.resources {
                cpu += r.cpu.unwrap_or(0);
                mem += r.memory_mb.unwrap_or(0);
                cores += r.cores.unwrap_or(0);
                devices |= !r.devices.is_empty();
            }
        }
        let constraints = split_distinct(&all, false, &mut distinct_hosts, &mut distinct_property);
        let escaped = constraints.iter().any(|c| {
            constraint::escapes_class(&c.l_target) || constraint::escapes_class(&c.r_target)
        });
        let mut spreads: Vec<Spread> = job.spreads.clone();
        spreads.extend(tg.spreads.iter().cloned());
        let net = tg.networks.first();
        let host_networks = net
            .map(|n| {
                n.ports()
                    .filter(|(p, _)| !p.host_network.is_empty() && p.host_network != "default")
                    .map(|(p, _)| (p.label.clone(), p.host_network.clone()))
                    .collect()
            })
            .unwrap_or_default();
        TgInfo {
            name: tg.name.clone(),
            count: tg.count_or_default(),
            drivers,
            constraints,
            escaped,
            devices,
            volumes: tg
                .volumes
                .values()
                .filter(|v| v.kind == "host")
                .map(|v| (v.source.clone(), v.read_only, v.per_alloc))
                .collect(),
            net_mode: net.map(|n| {
                if n.mode.is_empty() {
                    "host".to_owned()
                } else {
                    n.mode.clone()
                }
            }),
            host_networks,
            cpu,
            mem,
            disk: tg
                .ephemeral_disk
                .as_ref()
                .and_then(|d| d.size_mb)
                .unwrap_or(drover_types::group::DEFAULT_EPHEMERAL_DISK_MB),
            cores,
            static_ports: net
                .map(|n| {
                    n.reserved_ports
                        .iter()
                        .filter(|p| !p.ignore_collision)
                        .map(|p| (p.label.clone(), p.value))
                        .collect()
                })
                .unwrap_or_default(),
            affinities,
            spreads,
            distinct_hosts,
            distinct_property,
        }
    }
}

/// Job-wide scheduling needs.
pub struct JobInfo {
    constraints: Vec<Constraint>,
    escaped: bool,
    distinct_hosts: bool,
    distinct_property: Vec<(String, u64, bool)>,
}

impl JobInfo {
    pub fn new(job: &Job) -> JobInfo {
        let mut hosts = None;
        let mut props = Vec::new();
        let constraints = split_distinct(&job.constraints, true, &mut hosts, &mut props);
        let escaped = constraints.iter().any(|c| {
            constraint::escapes_class(&c.l_target) || constraint::escapes_class(&c.r_target)
        });
        JobInfo {
            constraints,
            escaped,
            distinct_hosts: hosts.is_some(),
            distinct_property: props,
        }
    }
    /// Whether any constraint escapes the computed class.
    pub fn escaped(&self, tgs: &[TgInfo]) -> bool {
        self.escaped || tgs.iter().any(|t| t.escaped)
    }
}

/// Per-evaluation feasibility checker with the class cache.
#[derive(Default)]
pub struct Checker {
    pub regex: RegexCache,
    job_cache: FxMap<String, Option<String>>,
    /// Class → per group index, the cached result.
    tg_cache: FxMap<String, Vec<Option<Option<String>>>>,
    /// Computed class → eligible (for blocked evals).
    pub class_eligibility: BTreeMap<String, bool>,
}

fn first_failing(re: &mut RegexCache, cs: &[Constraint], node: &Node) -> Option<String> {
    cs.iter()
        .find(|c| {
            !check(
                re,
                &c.operand,
                resolve(&c.l_target, node),
                resolve(&c.r_target, node),
            )
        })
        .map(Constraint::to_string)
}

fn driver_ok(node: &Node, name: &str) -> bool {
    match node.drivers.get(name) {
        Some(d) => d.detected && d.healthy,
        None => node
            .attributes
            .get(&format!("driver.{name}"))
            .is_some_and(|v| drover_types::parse_bool(v) == Some(true)),
    }
}

impl Checker {
    fn job_reason(&mut self, ji: &JobInfo, node: &Node) -> Option<String> {
        if ji.escaped {
            return first_failing(&mut self.regex, &ji.constraints, node);
        }
        if let Some(r) = self.job_cache.get(&node.computed_class) {
            return r.clone();
        }
        let r = first_failing(&mut self.regex, &ji.constraints, node);
        self.job_cache
            .insert(node.computed_class.clone(), r.clone());
        r
    }

    fn tg_class_reason(&mut self, ti: usize, tg: &TgInfo, node: &Node) -> Option<String> {
        let compute = |re: &mut RegexCache| {
            if !tg.drivers.iter().all(|d| driver_ok(node, d)) {
                return Some("missing drivers".to_owned());
            }
            if let Some(r) = first_failing(re, &tg.constraints, node) {
                return Some(r);
            }
            let has_devices = node
                .node_resources
                .as_ref()
                .is_some_and(|r| !r.devices.is_empty());
            if tg.devices && !has_devices {
                return Some("missing devices".to_owned());
            }
            None
        };
        if tg.escaped {
            return compute(&mut self.regex);
        }
        if let Some(Some(r)) = self
            .tg_cache
            .get(&node.computed_class)
            .and_then(|v| v.get(ti))
        {
            return r.clone();
        }
        let r = compute(&mut self.regex);
        let slots = self
            .tg_cache
            .entry(node.computed_class.clone())
            .or_default();
        if slots.len() <= ti {
            slots.resize(ti + 1, None);
        }
        slots[ti] = Some(r.clone());
        r
    }

    /// The reason `node` cannot run group `ti` (alloc `index`), or `None` if feasible.
    pub fn reason(
        &mut self,
        ji: &JobInfo,
        ti: usize,
        tg: &TgInfo,
        node: &Node,
        index: u64,
    ) -> Option<String> {
        let class_reason = self
            .job_reason(ji, node)
            .or_else(|| self.tg_class_reason(ti, tg, node));
        match self.class_eligibility.get_mut(&node.computed_class) {
            Some(e) => *e |= class_reason.is_none(),
            None => {
                let class = node.computed_class.clone();
                self.class_eligibility.insert(class, class_reason.is_none());
            }
        }
        if class_reason.is_some() {
            return class_reason;
        }
        for (source, read_only, per_alloc) in &tg.volumes {
            let name = if *per_alloc {
                format!("{source}[{index}]")
            } else {
                source.clone()
            };
            match node.host_volumes.get(&name) {
                Some(v) if *read_only || !v.read_only => {}
                _ => return Some("missing compatible host volumes".to_owned()),
            }
        }
        if let Some(mode) = tg.net_mode.as_deref().filter(|m| *m != "none") {
            let nets = node
                .node_resources
                .as_ref()
                .map(|r| r.networks.as_slice())
                .unwrap_or_default();
            let ok = nets.iter().any(|n| {
                let m = if n.mode.is_empty() {
                    "host"
                } else {
                    n.mode.as_str()
                };
                m == mode
            }) || (nets.is_empty() && mode == "host");
            if !ok {
                return Some("missing network".to_owned());
            }
            for (label, hn) in &tg.host_networks {
                let hn = resolve(hn, node).unwrap_or(hn);
                if !node.host_networks.contains_key(hn) {
                    return Some(format!("missing host network {hn:?} for port {label:?}"));
                }
            }
        }
        None
    }
}
