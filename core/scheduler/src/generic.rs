//! Service and batch jobs (Nomad's `GenericScheduler.computeJobAllocs`): apply the
//! reconciler's decisions to the plan — stops, delayed-reschedule follow-up evals,
//! in-place updates (falling back to destructive when the node no longer fits), and
//! placements.

use crate::reconcile::{UPDATING, reconcile};
use crate::sched::{PlaceReq, Sched};
use crate::select::{Ctx, SelectOpts};
use crate::usage::AllocRes;
use drover_types::{Allocation, Evaluation};
use std::sync::Arc;

/// Nomad's `batchedFailedAllocWindowSize`: failures within 5s share a follow-up eval.
const FOLLOWUP_WINDOW_NS: i64 = 5_000_000_000;

pub fn compute(s: &mut Sched<'_>, ctx: &mut Ctx, eval: &Evaluation, exists: bool) {
    let job = ctx.job.clone();
    let allocs = ctx.state.allocs_by_job(job.namespace(), job.id());
    let state = ctx.state.clone();
    let status = move |id: &str| state.node(id).map(|n| n.status);
    let r = reconcile(
        exists.then_some(&*job),
        &allocs,
        &status,
        s.kind.batch(),
        s.env.now_ns,
        &eval.id,
    );
    for (a, desc, client) in &r.stop {
        ctx.append_stop(a, desc, *client);
    }
    let mut later = r.later;
    later.sort_by_key(|(_, t)| *t);
    let mut batch_start: Option<(i64, String)> = None;
    for (a, t) in later {
        let id = match &batch_start {
            Some((start, id)) if t - start < FOLLOWUP_WINDOW_NS => id.clone(),
            _ => {
                let f = s.followup(eval, t);
                let id = f.id.clone();
                s.followups.push(f);
                batch_start = Some((t, id.clone()));
                id
            }
        };
        let mut updated = (*a).clone();
        updated.followup_eval_id = id;
        ctx.append_attribute_update(updated);
    }
    let mut destructive = Vec::new();
    for (ti, a) in &r.inplace {
        if !inplace(s, ctx, eval, *ti, a) {
            destructive.push((*ti, a.clone()));
        }
    }
    for p in &r.place {
        *s.queued
            .entry(job.task_groups[p.tg].name.clone())
            .or_default() += 1;
        let _ = s.place(
            ctx,
            eval,
            PlaceReq {
                ti: p.tg,
                index: p.index,
                previous: p.previous.as_ref(),
                stop_previous: p.stop_previous,
                reschedule: p.reschedule,
                only: None,
            },
        );
    }
    for (ti, a) in &destructive {
        *s.queued
            .entry(job.task_groups[*ti].name.clone())
            .or_default() += 1;
        let index = a.index().unwrap_or(0);
        let req = PlaceReq {
            ti: *ti,
            index,
            previous: Some(a),
            stop_previous: Some(UPDATING),
            reschedule: false,
            only: None,
        };
        let _ = s.place(ctx, eval, req);
    }
}

/// Updates `a` in place on its node when the new version still fits there.
pub fn inplace(
    s: &mut Sched<'_>,
    ctx: &mut Ctx,
    eval: &Evaluation,
    ti: usize,
    a: &Arc<Allocation>,
) -> bool {
    let Some(node) = ctx.state.node(&a.node_id) else {
        return false;
    };
    ctx.append_stop(a, "alloc updating in-place", None);
    let opts = SelectOpts {
        only: Some(node),
        index: a.index().unwrap_or(0),
        ..Default::default()
    };
    let chosen = ctx.select(ti, &opts, s.env.rng);
    ctx.pop_stop(a);
    let Ok(chosen) = chosen else {
        return false;
    };
    let mut new = (**a).clone();
    new.eval_id = eval.id.clone();
    new.job = None;
    new.modify_time = s.env.now_ns;
    let mut resources = chosen.resources;
    let mut res = chosen.res;
    if let Some(old) = &a.allocated_resources {
        resources.shared.networks = old.shared.networks.clone();
        resources.shared.ports = old.shared.ports.clone();
        res.ports = AllocRes::of(a).ports;
    }
    new.allocated_resources = Some(resources);
    new.metrics = Some(chosen.metric);
    ctx.append_alloc(new, &res, Some(a));
    true
}
