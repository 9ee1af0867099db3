//! The per-evaluation placement context (Nomad's `EvalContext` + `GenericStack`):
//! the ready nodes of the job's datacenters and pool in a lazily shuffled order, the
//! plan being built with per-node usage kept in step with it, and `select`, which
//! walks candidates through feasibility, fit and ranking under Nomad's candidate limit.

use crate::feasible::{Checker, JobInfo, TgInfo, glob_match, resolve};
use crate::fxhash::{FxMap, FxSet};
use crate::rank::{self, SpreadState};
use crate::usage::{AllocRes, NodeUsage};
use crate::{Algorithm, StateRef};
use drover_types::allocated::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedPortMapping,
    AllocatedSharedResources, AllocatedTaskResources,
};
use drover_types::metric::MAX_RETAINED_NODE_SCORES;
use drover_types::{
    AllocMetric, AllocatedResources, Allocation, ClientStatus, DesiredStatus, Job, Node,
    NodeScoreMeta, Plan, TaskGroup,
};
use rand::{Rng, RngCore};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Nomad's `maxSkip`: low-scoring nodes set aside before taking them anyway.
const MAX_SKIP: usize = 3;
/// Candidates considered when a group has affinities or spreads.
const AFFINITY_LIMIT: usize = 100;

/// What a placement request adds to the plain group ask.
#[derive(Default)]
pub struct SelectOpts<'a> {
    /// Nodes penalised for rescheduling (the failed alloc's and past ones).
    pub penalty_nodes: &'a [String],
    /// The alloc's name index (for `per_alloc` volumes).
    pub index: u64,
    /// Consider only this node (system jobs, in-place updates).
    pub only: Option<Arc<Node>>,
}

/// A chosen node with the resources assigned there.
pub struct Chosen {
    pub node: Arc<Node>,
    pub resources: AllocatedResources,
    pub res: AllocRes,
    pub metric: AllocMetric,
}

struct Cand {
    node: Arc<Node>,
    score: f64,
    scores: Scores,
}

/// Scores by scorer name, without heap allocation.
#[derive(Clone, Copy, Default)]
struct Scores {
    items: [(&'static str, f64); 5],
    len: usize,
}

impl Scores {
    fn push(&mut self, name: &'static str, v: f64) {
        if self.len < self.items.len() {
            self.items[self.len] = (name, v);
            self.len += 1;
        }
    }
    fn iter(&self) -> impl Iterator<Item = &(&'static str, f64)> {
        self.items[..self.len].iter()
    }
}

/// The per-evaluation context.
pub struct Ctx {
    pub state: StateRef,
    pub job: Arc<Job>,
    pub ji: JobInfo,
    pub tgs: Vec<TgInfo>,
    /// Every node of the snapshot; ready ones in the job's datacenters and pool are
    /// picked lazily while walking a lazily shuffled order.
    all: Arc<Vec<Arc<Node>>>,
    dc_ok: Vec<(String, bool)>,
    pool_stats: Option<(i64, BTreeMap<String, i64>)>,
    pub checker: Checker,
    pub plan: Plan,
    pub algorithm: Algorithm,
    pub batch: bool,
    cursor: usize,
    shuffled: usize,
    /// Sparse Fisher–Yates permutation of `all` (position → index).
    perm: FxMap<usize, usize>,
    /// Per index into `all`: 0 unknown, 1 eligible, 2 not.
    elig: Vec<u8>,
    usage: FxMap<String, NodeUsage>,
    /// Alloc IDs the plan stops or replaces in place.
    removed: FxSet<String>,
    /// Node ID → allocations of this job per group index (proposed).
    job_nodes: FxMap<String, Vec<u32>>,
}

impl Ctx {
    /// A context for `job` with an empty plan for `eval_id`.
    pub fn new(state: StateRef, job: Arc<Job>, algorithm: Algorithm, batch: bool) -> Ctx {
        let ji = JobInfo::new(&job);
        let tgs: Vec<TgInfo> = job
            .task_groups
            .iter()
            .map(|g| TgInfo::new(&job, g, &ji))
            .collect();
        let all = state.nodes();
        let mut job_nodes: FxMap<String, Vec<u32>> = FxMap::default();
        for a in state.allocs_by_job(job.namespace(), job.id()) {
            if a.is_terminal() {
                continue;
            }
            if let Some(ti) = tgs.iter().position(|t| t.name == a.task_group) {
                job_nodes
                    .entry(a.node_id.clone())
                    .or_insert_with(|| vec![0; tgs.len()])[ti] += 1;
            }
        }
        Ctx {
            state,
            ji,
            tgs,
            all,
            dc_ok: Vec::new(),
            pool_stats: None,
            checker: Checker::default(),
            plan: Plan::default(),
            algorithm,
            batch,
            cursor: 0,
            shuffled: 0,
            perm: FxMap::default(),
            elig: Vec::new(),
            usage: FxMap::default(),
            removed: FxSet::default(),
            job_nodes,
            job,
        }
    }

    /// Group index by name.
    pub fn tg_index(&self, name: &str) -> Option<usize> {
        self.tgs.iter().position(|t| t.name == name)
    }

    fn job_count(&mut self, node_id: &str, tg: Option<usize>, delta: i32) {
        let Some(ti) = tg else { return };
        let n = self.tgs.len();
        let v = self
            .job_nodes
            .entry(node_id.to_owned())
            .or_insert_with(|| vec![0; n]);
        v[ti] = v[ti].saturating_add_signed(delta);
    }

    /// Stops `alloc` in the plan (`client_status` overrides, e.g. `lost`).
    pub fn append_stop(&mut self, alloc: &Allocation, desc: &str, client: Option<ClientStatus>) {
        let mut a = alloc.clone();
        a.job = None;
        a.desired_status = DesiredStatus::Stop;
        a.desired_description = desc.to_owned();
        if let Some(c) = client {
            a.client_status = c;
        }
        if self.removed.insert(alloc.id.clone()) && !alloc.is_terminal() {
            if let Some(u) = self.usage.get_mut(&alloc.node_id) {
                u.sub(&AllocRes::of(alloc));
            }
            let tg = self.tg_index(&alloc.task_group);
            self.job_count(&alloc.node_id, tg, -1);
        }
        self.plan
            .node_update
            .entry(alloc.node_id.clone())
            .or_default()
            .push(a);
    }

    /// Undoes the last [`Ctx::append_stop`] of `alloc`.
    pub fn pop_stop(&mut self, alloc: &Allocation) {
        if let Some(v) = self.plan.node_update.get_mut(&alloc.node_id) {
            if let Some(i) = v.iter().rposition(|a| a.id == alloc.id) {
                v.remove(i);
            }
            if v.is_empty() {
                self.plan.node_update.remove(&alloc.node_id);
            }
        }
        if self.removed.remove(&alloc.id) && !alloc.is_terminal() {
            if let Some(u) = self.usage.get_mut(&alloc.node_id) {
                u.add(&AllocRes::of(alloc));
            }
            let tg = self.tg_index(&alloc.task_group);
            self.job_count(&alloc.node_id, tg, 1);
        }
    }

    /// Adds a placement (or, with `replaces`, an in-place update) to the plan.
    pub fn append_alloc(
        &mut self,
        alloc: Allocation,
        res: &AllocRes,
        replaces: Option<&Allocation>,
    ) {
        if let Some(old) = replaces {
            self.removed.insert(old.id.clone());
            if let Some(u) = self.usage.get_mut(&old.node_id) {
                u.sub(&AllocRes::of(old));
            }
        } else {
            let tg = self.tg_index(&alloc.task_group);
            self.job_count(&alloc.node_id, tg, 1);
        }
        if let Some(u) = self.usage.get_mut(&alloc.node_id) {
            u.add(res);
        }
        self.plan
            .node_allocation
            .entry(alloc.node_id.clone())
            .or_default()
            .push(alloc);
    }

    /// Adds an attribute-only update of an existing alloc (e.g. `FollowupEvalID`).
    pub fn append_attribute_update(&mut self, mut alloc: Allocation) {
        alloc.job = None;
        self.removed.insert(alloc.id.clone());
        self.plan
            .node_allocation
            .entry(alloc.node_id.clone())
            .or_default()
            .push(alloc);
    }

    /// Nomad's `Node.Ready()` plus the job's pool and datacenter globs.
    fn eligible(&mut self, n: &Node) -> bool {
        if !n.is_schedulable() {
            return false;
        }
        let pool = self.job.node_pool.as_deref().unwrap_or("");
        if !(pool.is_empty() || pool == "all" || n.node_pool == pool) {
            return false;
        }
        if let Some((_, ok)) = self.dc_ok.iter().find(|(dc, _)| *dc == n.datacenter) {
            return *ok;
        }
        let ok = self
            .job
            .datacenters
            .iter()
            .any(|d| glob_match(d, &n.datacenter));
        self.dc_ok.push((n.datacenter.clone(), ok));
        ok
    }

    /// Every eligible node (system jobs), in snapshot order.
    pub fn ready_nodes(&mut self) -> Vec<Arc<Node>> {
        let all = self.all.clone();
        all.iter().filter(|n| self.eligible(n)).cloned().collect()
    }

    /// `(NodesInPool, NodesAvailable)` for failure metrics.
    fn pool_stats(&mut self) -> (i64, BTreeMap<String, i64>) {
        if self.pool_stats.is_none() {
            let mut by_dc = BTreeMap::new();
            let ready = self.ready_nodes();
            for n in &ready {
                *by_dc.entry(n.datacenter.clone()).or_insert(0) += 1;
            }
            self.pool_stats = Some((ready.len() as i64, by_dc));
        }
        self.pool_stats.clone().unwrap_or_default()
    }

    /// The next eligible node in the lazily shuffled order (wrapping around);
    /// `Some(None)` for a visited node that is not eligible.
    fn next_source(&mut self, rng: &mut dyn RngCore) -> Option<Option<Arc<Node>>> {
        let n = self.all.len();
        if n == 0 {
            return None;
        }
        if self.cursor >= n {
            self.cursor = 0;
        }
        let i = self.cursor;
        if i >= self.shuffled {
            let j = rng.random_range(i..n);
            let vi = self.perm.get(&i).copied().unwrap_or(i);
            let vj = self.perm.get(&j).copied().unwrap_or(j);
            self.perm.insert(i, vj);
            self.perm.insert(j, vi);
            self.shuffled = i + 1;
        }
        self.cursor += 1;
        let idx = self.perm.get(&i).copied().unwrap_or(i);
        if self.elig.len() != n {
            self.elig = vec![0; n];
        }
        if self.elig[idx] == 0 {
            let all = self.all.clone();
            self.elig[idx] = if self.eligible(&all[idx]) { 1 } else { 2 };
        }
        Some((self.elig[idx] == 1).then(|| self.all[idx].clone()))
    }

    fn property_counts(&self, attr: &str, ti: Option<usize>) -> HashMap<String, u64> {
        let mut out: HashMap<String, u64> = HashMap::new();
        for (node_id, counts) in &self.job_nodes {
            let c: u32 = match ti {
                Some(t) => counts[t],
                None => counts.iter().sum(),
            };
            if c == 0 {
                continue;
            }
            let Some(node) = self.state.node(node_id) else {
                continue;
            };
            if let Some(v) = resolve(attr, &node) {
                *out.entry(v.to_owned()).or_default() += u64::from(c);
            }
        }
        out
    }

    fn candidate_limit(&self, tg: &TgInfo) -> usize {
        if !tg.affinities.is_empty() || !tg.spreads.is_empty() {
            return (tg.count.max(0) as usize).max(AFFINITY_LIMIT);
        }
        if self.batch {
            return 2;
        }
        let n = self.all.len();
        if n == 0 {
            2
        } else {
            ((n as f64).log2().ceil() as usize).max(2)
        }
    }

    /// Picks the best node for group `ti`, or returns the metric explaining why none fits.
    pub fn select(
        &mut self,
        ti: usize,
        opts: &SelectOpts<'_>,
        rng: &mut dyn RngCore,
    ) -> Result<Chosen, Box<AllocMetric>> {
        let mut metric = AllocMetric::default();
        let tg = &self.tgs[ti];
        let limit = if opts.only.is_some() {
            1
        } else {
            self.candidate_limit(tg)
        };
        let spreads: Vec<SpreadState> = tg
            .spreads
            .iter()
            .map(|s| SpreadState::new(s, tg.count, self.property_counts(&s.attribute, Some(ti))))
            .collect();
        let props: Vec<(String, u64, HashMap<String, u64>)> = tg
            .distinct_property
            .iter()
            .map(|(attr, lim, job_level)| {
                let counts = self.property_counts(attr, (!job_level).then_some(ti));
                (attr.clone(), *lim, counts)
            })
            .collect();
        let mut cands: Vec<Cand> = Vec::new();
        let mut skipped: Vec<Cand> = Vec::new();
        let mut top: Vec<Cand> = Vec::new();
        let total = if opts.only.is_some() {
            1
        } else {
            self.all.len()
        };
        for _ in 0..total {
            if cands.len() >= limit {
                break;
            }
            let node = match &opts.only {
                Some(n) => n.clone(),
                None => match self.next_source(rng) {
                    Some(Some(n)) => n,
                    Some(None) => continue,
                    None => break,
                },
            };
            metric.nodes_evaluated += 1;
            let tg = &self.tgs[ti];
            if let Some(reason) = self.checker.reason(&self.ji, ti, tg, &node, opts.index) {
                metric.filter_node(&node.node_class, &reason);
                continue;
            }
            let counts = self.job_nodes.get(&node.id);
            if let Some(job_level) = tg.distinct_hosts {
                let c = counts.map_or(0, |c| if job_level { c.iter().sum() } else { c[ti] });
                if c > 0 {
                    metric.filter_node(&node.node_class, "distinct_hosts");
                    continue;
                }
            }
            if props.iter().any(|(attr, lim, counts)| {
                resolve(attr, &node).is_none_or(|v| counts.get(v).copied().unwrap_or(0) >= *lim)
            }) {
                metric.filter_node(&node.node_class, "distinct_property");
                continue;
            }
            let collisions = counts.map_or(0, |c| c[ti]);
            let usage = usage_entry(
                &mut self.usage,
                &self.state,
                &self.removed,
                &self.plan,
                &node,
            );
            if let Err(dim) = usage.fit(tg, &tg.static_ports) {
                metric.exhausted_node(&node.node_class, &dim);
                continue;
            }
            let (uc, um) = usage.util_with(tg);
            let mut scores = Scores::default();
            scores.push("binpack", rank::fit_score(self.algorithm, uc, um));
            if let Some(s) = rank::anti_affinity(collisions, tg.count) {
                scores.push("job-anti-affinity", s);
            }
            if opts.penalty_nodes.iter().any(|p| *p == node.id) {
                scores.push("node-reschedule-penalty", -1.0);
            }
            if !tg.affinities.is_empty()
                && let Some(s) = rank::affinity(&mut self.checker.regex, &tg.affinities, &node)
            {
                scores.push("node-affinity", s);
            }
            if !spreads.is_empty()
                && let Some(s) = rank::spread(&spreads, &node)
            {
                scores.push("allocation-spread", s);
            }
            let score = scores.iter().map(|(_, s)| s).sum::<f64>() / scores.len as f64;
            let cand = Cand {
                node,
                score,
                scores,
            };
            retain_top(&mut top, &cand);
            if cand.score <= 0.0 && skipped.len() < MAX_SKIP && opts.only.is_none() {
                skipped.push(cand);
            } else {
                cands.push(cand);
            }
        }
        for s in skipped {
            if cands.len() >= limit {
                break;
            }
            cands.push(s);
        }
        metric.score_meta_data = top
            .iter()
            .map(|c| NodeScoreMeta {
                node_id: c.node.id.clone(),
                scores: c
                    .scores
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), *v))
                    .collect(),
                norm_score: c.score,
            })
            .collect();
        let mut best: Option<&Cand> = None;
        for c in &cands {
            if best.is_none_or(|b| c.score > b.score) {
                best = Some(c);
            }
        }
        let Some(best) = best else {
            let (in_pool, by_dc) = self.pool_stats();
            metric.nodes_in_pool = in_pool;
            metric.node_pool = self.job.node_pool.clone().unwrap_or_default();
            metric.nodes_available = by_dc;
            return Err(Box::new(metric));
        };
        let node = best.node.clone();
        let job = self.job.clone();
        let group = &job.task_groups[ti];
        let usage = usage_entry(
            &mut self.usage,
            &self.state,
            &self.removed,
            &self.plan,
            &node,
        );
        let (resources, res) = assign(group, &self.tgs[ti], usage, rng);
        Ok(Chosen {
            node,
            resources,
            res,
            metric,
        })
    }
}

/// The usage of `node`, built on first use from its allocations and the plan.
fn usage_entry<'u>(
    usage: &'u mut FxMap<String, NodeUsage>,
    state: &StateRef,
    removed: &FxSet<String>,
    plan: &Plan,
    node: &Node,
) -> &'u mut NodeUsage {
    if !usage.contains_key(&node.id) {
        let mut u = NodeUsage::empty(node);
        for a in state.allocs_by_node(&node.id) {
            if !a.is_terminal() && !removed.contains(&a.id) {
                u.add(&AllocRes::of(&a));
            }
        }
        if let Some(placed) = plan.node_allocation.get(&node.id) {
            for a in placed {
                u.add(&AllocRes::of(a));
            }
        }
        usage.insert(node.id.clone(), u);
    }
    usage.get_mut(&node.id).expect("inserted above")
}

fn retain_top(top: &mut Vec<Cand>, c: &Cand) {
    let copy = Cand {
        node: c.node.clone(),
        score: c.score,
        scores: c.scores,
    };
    let i = top
        .iter()
        .position(|t| c.score > t.score)
        .unwrap_or(top.len());
    if i < MAX_RETAINED_NODE_SCORES {
        top.insert(i, copy);
        top.truncate(MAX_RETAINED_NODE_SCORES);
    }
}

/// Builds the alloc's resources on the chosen node: cores, dynamic ports, disk.
fn assign(
    group: &TaskGroup,
    tg: &TgInfo,
    usage: &NodeUsage,
    rng: &mut dyn RngCore,
) -> (AllocatedResources, AllocRes) {
    let mut res = AllocRes {
        cpu: tg.cpu,
        mem: tg.mem,
        disk: tg.disk,
        ..Default::default()
    };
    let mut free_cores = usage.free_cores().collect::<Vec<_>>().into_iter();
    let mut out = AllocatedResources::default();
    for t in &group.tasks {
        let r = t.resources.clone().unwrap_or_default();
        let cores: Vec<u16> = free_cores
            .by_ref()
            .take(r.cores.unwrap_or(0).max(0) as usize)
            .collect();
        res.cores.extend(&cores);
        out.tasks.insert(
            t.name.clone(),
            AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: r.cpu.unwrap_or(0),
                    reserved_cores: cores,
                },
                memory: AllocatedMemoryResources {
                    memory_mb: r.memory_mb.unwrap_or(0),
                    memory_max_mb: r.memory_max_mb.unwrap_or(0),
                },
                ..Default::default()
            },
        );
        out.task_lifecycles
            .insert(t.name.clone(), t.lifecycle.clone());
    }
    let mut shared = AllocatedSharedResources {
        disk_mb: tg.disk,
        ..Default::default()
    };
    if let Some(net) = group.networks.first() {
        let mut net = net.clone();
        net.ip = usage.ip.clone();
        for p in &net.reserved_ports {
            res.ports.push(p.value);
        }
        for p in &mut net.dynamic_ports {
            p.value = pick_port(usage, &res.ports, rng);
            res.ports.push(p.value);
        }
        for (p, _) in net.ports() {
            shared.ports.push(AllocatedPortMapping {
                label: p.label.clone(),
                value: p.value,
                to: p.to,
                host_ip: usage.ip.clone(),
            });
        }
        shared.networks.push(net);
    }
    out.shared = shared;
    (out, res)
}

fn pick_port(usage: &NodeUsage, taken: &[i64], rng: &mut dyn RngCore) -> i64 {
    let (lo, hi) = usage.dyn_range;
    let free = |p: i64| !usage.ports.contains(&p) && !taken.contains(&p);
    for _ in 0..20 {
        let p = rng.random_range(lo..=hi);
        if free(p) {
            return p;
        }
    }
    (lo..=hi).find(|p| free(*p)).unwrap_or(0)
}
