//! The plan applier's decision (Nomad's `evaluateNodePlan`), pure: does each node's
//! part of a plan fit the LATEST state, plus the plans verified but not yet applied?
//!
//! Rules per node: stop-only parts always fit; a missing node is rejected; a node
//! that is not `ready` is rejected; a node that is ineligible or draining accepts
//! only changes to allocations it already has; otherwise the node's live
//! allocations, minus the plan's stops, preemptions and updated allocations, plus the
//! plan's allocations, must fit the node's resources minus reserved (cpu, cores,
//! memory, disk) without two allocations using the same port.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use drover_state::StateView;
use drover_types::{
    Allocation, ComparableResources, NodeStatus, Plan, PlanResult, SchedulingEligibility,
};

/// A plan whose changes were verified and proposed but may not be in the view yet.
pub(crate) struct Inflight {
    /// Raft index once applied; 0 while in flight; `u64::MAX` if the write failed.
    pub(crate) index: Arc<AtomicU64>,
    /// Node → allocation ID → the allocation after the plan (`None`: stopped).
    pub(crate) nodes: NodeChanges,
}

/// Node → allocation ID → the allocation after a plan (`None`: stopped).
pub(crate) type NodeChanges = HashMap<String, HashMap<String, Option<Arc<Allocation>>>>;

/// Verified plans not yet visible in the state.
#[derive(Default)]
pub(crate) struct Overlay {
    plans: VecDeque<Inflight>,
}

/// Marks an in-flight write failed.
pub(crate) const FAILED: u64 = u64::MAX;

impl Overlay {
    /// Drops the plans `view` already contains (or whose write failed).
    pub(crate) fn prune(&mut self, view: &StateView) {
        let applied = view.applied_index();
        self.plans.retain(|p| {
            let i = p.index.load(Ordering::Acquire);
            i == 0 || (i != FAILED && i > applied)
        });
    }

    pub(crate) fn push(&mut self, p: Inflight) {
        self.plans.push_back(p);
    }

    /// The handles of the plans in flight (to wait for them).
    pub(crate) fn pending(&self) -> Vec<Arc<AtomicU64>> {
        self.plans.iter().map(|p| p.index.clone()).collect()
    }

    /// The live allocations of `node` in `view` with the in-flight changes on top.
    fn live(&self, view: &StateView, node: &str) -> HashMap<String, Arc<Allocation>> {
        let mut live: HashMap<String, Arc<Allocation>> = view
            .live_allocs_by_node(node)
            .map(|a| (a.id.clone(), a.clone()))
            .collect();
        for p in &self.plans {
            let Some(changes) = p.nodes.get(node) else {
                continue;
            };
            for (id, a) in changes {
                match a {
                    Some(a) if !a.is_terminal() => {
                        live.insert(id.clone(), a.clone());
                    }
                    _ => {
                        live.remove(id);
                    }
                }
            }
        }
        live
    }
}

/// The part of `plan` that fits; rejected nodes are listed in `rejected_nodes`.
/// `AllAtOnce` plans are all-or-nothing. Also returns the changes for the overlay.
pub(crate) fn evaluate_plan(
    view: &StateView,
    overlay: &Overlay,
    plan: &Plan,
) -> (PlanResult, NodeChanges) {
    let mut result = PlanResult::default();
    let mut nodes: Vec<&String> = plan
        .node_update
        .keys()
        .chain(plan.node_allocation.keys())
        .chain(plan.node_preemptions.keys())
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    for node in nodes {
        match check_node(view, overlay, plan, node) {
            Ok(()) => copy_node(plan, &mut result, node),
            Err(reason) => {
                tracing::debug!(node_id = %node, reason, "plan applier rejected a node");
                result.rejected_nodes.push(node.clone());
                if plan.all_at_once {
                    result.node_update.clear();
                    result.node_allocation.clear();
                    result.node_preemptions.clear();
                    break;
                }
            }
        }
    }
    let changes = overlay_changes(&result);
    result.deployment = plan.deployment.clone();
    result.deployment_updates = plan.deployment_updates.clone();
    (result, changes)
}

fn copy_node(plan: &Plan, result: &mut PlanResult, node: &str) {
    for (src, dst) in [
        (&plan.node_update, &mut result.node_update),
        (&plan.node_allocation, &mut result.node_allocation),
        (&plan.node_preemptions, &mut result.node_preemptions),
    ] {
        if let Some(v) = src.get(node).filter(|v| !v.is_empty()) {
            dst.insert(node.to_owned(), v.clone());
        }
    }
}

fn overlay_changes(r: &PlanResult) -> NodeChanges {
    let mut out: NodeChanges = HashMap::new();
    for (node, allocs) in r.node_update.iter().chain(r.node_preemptions.iter()) {
        let m = out.entry(node.clone()).or_default();
        for a in allocs {
            m.insert(a.id.clone(), None);
        }
    }
    for (node, allocs) in &r.node_allocation {
        let m = out.entry(node.clone()).or_default();
        for a in allocs {
            m.insert(a.id.clone(), Some(Arc::new(a.clone())));
        }
    }
    out
}

fn check_node(
    view: &StateView,
    overlay: &Overlay,
    plan: &Plan,
    node_id: &str,
) -> Result<(), &'static str> {
    let placing = plan.node_allocation.get(node_id).filter(|v| !v.is_empty());
    let Some(placing) = placing else {
        return Ok(()); // stops and preemptions only
    };
    let Some(node) = view.node_by_id(node_id) else {
        return Err("node does not exist");
    };
    if node.status != NodeStatus::Ready {
        return Err("node is not ready");
    }
    let mut live = overlay.live(view, node_id);
    let only_existing = placing.iter().all(|a| live.contains_key(&a.id));
    if !only_existing
        && (node.scheduling_eligibility == SchedulingEligibility::Ineligible
            || node.drain_strategy.is_some())
    {
        return Err("node is not eligible");
    }
    for a in plan
        .node_update
        .get(node_id)
        .into_iter()
        .chain(plan.node_preemptions.get(node_id))
        .flatten()
    {
        live.remove(&a.id);
    }
    for a in placing {
        live.remove(&a.id);
    }
    let mut used = ComparableResources::default();
    let mut ports = HashSet::new();
    let allocs = live.values().map(|a| a.as_ref()).chain(placing.iter());
    for a in allocs.filter(|a| !a.is_terminal()) {
        let Some(r) = &a.allocated_resources else {
            continue;
        };
        used.add(&r.comparable());
        for p in alloc_ports(a) {
            if p > 0 && !ports.insert(p) {
                return Err("port collision");
            }
        }
    }
    node.comparable_available().superset(&used)
}

fn alloc_ports(a: &Allocation) -> Vec<i64> {
    let Some(r) = &a.allocated_resources else {
        return Vec::new();
    };
    let mut out: Vec<i64> = r.shared.ports.iter().map(|p| p.value).collect();
    for n in r
        .shared
        .networks
        .iter()
        .chain(r.tasks.values().flat_map(|t| t.networks.iter()))
    {
        out.extend(n.ports().map(|(p, _)| p.value));
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use drover_state::StateStore;
    use drover_state::command::NodeRegister;
    use drover_types::node::{NodeCpuResources, NodeMemoryResources};
    use drover_types::{AllocatedResources, AllocatedTaskResources, Node, NodeResources};

    fn store_with_node(cpu: i64, mem: i64) -> StateStore {
        let mut s = StateStore::new();
        let node = Node {
            id: "n1".into(),
            status: NodeStatus::Ready,
            node_resources: Some(NodeResources {
                cpu: NodeCpuResources {
                    cpu_shares: cpu,
                    ..Default::default()
                },
                memory: NodeMemoryResources { memory_mb: mem },
                ..Default::default()
            }),
            ..Default::default()
        };
        let cmd = drover_state::Command::NodeRegister(NodeRegister {
            node,
            evals: vec![],
        });
        s.apply_command(1, &cmd).expect("register node");
        s
    }

    fn alloc(id: &str, cpu: i64, mem: i64) -> Allocation {
        let mut t = AllocatedTaskResources::default();
        t.cpu.cpu_shares = cpu;
        t.memory.memory_mb = mem;
        Allocation {
            id: id.into(),
            node_id: "n1".into(),
            allocated_resources: Some(AllocatedResources {
                tasks: [("t".to_string(), t)].into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn overlay_counts_inflight_plans_and_rejects_overcommit() {
        let s = store_with_node(1000, 1000);
        let view = s.snapshot_view();
        let mut overlay = Overlay::default();
        let mut plan = Plan::default();
        plan.node_allocation
            .insert("n1".into(), vec![alloc("a1", 600, 100)]);
        let (r, changes) = evaluate_plan(&view, &overlay, &plan);
        assert!(r.rejected_nodes.is_empty());
        assert_eq!(r.node_allocation["n1"].len(), 1);
        overlay.push(Inflight {
            index: Arc::default(),
            nodes: changes,
        });
        // A second plan that fits alone but not on top of the first.
        plan.node_allocation
            .insert("n1".into(), vec![alloc("a2", 600, 100)]);
        let (r, _) = evaluate_plan(&view, &overlay, &plan);
        assert_eq!(r.rejected_nodes, ["n1"]);
        assert!(r.node_allocation.is_empty());
        // Unknown nodes are rejected; stop-only parts always fit.
        let mut plan = Plan::default();
        plan.node_allocation
            .insert("ghost".into(), vec![alloc("a3", 1, 1)]);
        plan.node_update
            .insert("gone".into(), vec![alloc("a0", 1, 1)]);
        let (r, _) = evaluate_plan(&view, &Overlay::default(), &plan);
        assert_eq!(r.rejected_nodes, ["ghost"]);
        assert!(r.node_update.contains_key("gone"));
    }
}
