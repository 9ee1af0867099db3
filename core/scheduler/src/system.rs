//! System and sysbatch jobs (Nomad's `SystemScheduler` and `diffSystemAllocs`): one
//! allocation per task group on every feasible ready node of the job's datacenters
//! and pool. Nodes filtered by constraints are skipped silently; nodes without room
//! are failures. Sysbatch allocations that completed are not run again.

use crate::generic::inplace;
use crate::reconcile::{LOST, NOT_NEEDED, UPDATING};
use crate::sched::{PlaceReq, Sched};
use crate::select::Ctx;
use crate::update::tasks_updated;
use drover_types::{Allocation, ClientStatus, Evaluation, NodeStatus};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub fn compute(s: &mut Sched<'_>, ctx: &mut Ctx, exists: bool) {
    let eval_id = ctx.plan.eval_id.clone();
    let eval = Evaluation {
        id: eval_id,
        ..Default::default()
    };
    let job = ctx.job.clone();
    let allocs = ctx.state.allocs_by_job(job.namespace(), job.id());
    let stopped = !exists || job.stop.unwrap_or(false);
    // (node, group) → live alloc; (node, group) → completed at this version.
    let mut have: HashMap<(String, usize), Arc<Allocation>> = HashMap::new();
    let mut done: HashSet<(String, usize)> = HashSet::new();
    let same = |a: &Allocation| {
        a.job.as_ref().is_none_or(|aj| {
            aj.version == job.version && aj.job_modify_index == job.job_modify_index
        })
    };
    let mut destructive = Vec::new();
    for a in &allocs {
        let ti = ctx.tg_index(&a.task_group);
        if a.is_terminal() {
            if let Some(ti) = ti {
                let complete = a.client_status == ClientStatus::Complete;
                if s.kind.batch() && complete && same(a) {
                    done.insert((a.node_id.clone(), ti));
                }
            }
            continue;
        }
        let Some(ti) = ti.filter(|_| !stopped) else {
            ctx.append_stop(a, NOT_NEEDED, None);
            continue;
        };
        match ctx.state.node(&a.node_id).map(|n| n.status) {
            None | Some(NodeStatus::Down | NodeStatus::Disconnected) => {
                ctx.append_stop(a, LOST, Some(ClientStatus::Lost));
                continue;
            }
            _ => {}
        }
        let key = (a.node_id.clone(), ti);
        if have.contains_key(&key) {
            ctx.append_stop(a, NOT_NEEDED, None);
            continue;
        }
        if a.desired_transition.migrate == Some(true) {
            ctx.append_stop(a, "alloc is being migrated", None);
            continue;
        }
        have.insert(key, a.clone());
        if !same(a) {
            let destroy = a
                .job
                .as_ref()
                .is_none_or(|aj| tasks_updated(&job, aj, &a.task_group));
            if destroy || !inplace(s, ctx, &eval, ti, a) {
                destructive.push((ti, a.clone()));
            }
        }
    }
    if stopped {
        return;
    }
    for tg in &job.task_groups {
        s.queued.insert(tg.name.clone(), 0);
    }
    let nodes = ctx.ready_nodes();
    for (ti, tg) in job.task_groups.iter().enumerate() {
        for node in &nodes {
            let key = (node.id.clone(), ti);
            if have.contains_key(&key) || done.contains(&key) {
                continue;
            }
            *s.queued.entry(tg.name.clone()).or_default() += 1;
            place_on(s, ctx, &eval, ti, node.clone(), None);
        }
    }
    for (ti, a) in destructive {
        let Some(node) = nodes.iter().find(|n| n.id == a.node_id).cloned() else {
            // Node no longer eligible: keep the old version running.
            continue;
        };
        *s.queued
            .entry(job.task_groups[ti].name.clone())
            .or_default() += 1;
        place_on(s, ctx, &eval, ti, node, Some(&a));
    }
}

fn place_on(
    s: &mut Sched<'_>,
    ctx: &mut Ctx,
    eval: &Evaluation,
    ti: usize,
    node: Arc<drover_types::Node>,
    previous: Option<&Arc<Allocation>>,
) {
    let req = PlaceReq {
        ti,
        index: 0,
        previous,
        stop_previous: previous.map(|_| UPDATING),
        reschedule: false,
        only: Some(node),
    };
    if s.place(ctx, eval, req) == Err(true) {
        let name = &ctx.job.task_groups[ti].name;
        if let Some(q) = s.queued.get_mut(name) {
            *q = (*q - 1).max(0);
        }
    }
}
