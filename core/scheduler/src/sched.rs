//! The scheduler driver shared by all four job types (Nomad's `GenericScheduler.Process`
//! / `SystemScheduler.Process`): the retry loop over partial plans, blocked and
//! follow-up evals, the final eval status, and making one placement.

use crate::reschedule::{penalty_nodes, update_tracker};
use crate::select::{Ctx, SelectOpts};
use crate::timefmt::uuid;
use crate::{Env, Planner, Scheduler, SchedulerError, StateRef};
use drover_types::eval::trigger;
use drover_types::{
    AllocMetric, Allocation, ClientStatus, DesiredStatus, EvalStatus, Evaluation, Job, Node,
    TaskGroup,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Service,
    Batch,
    System,
    Sysbatch,
}

impl Kind {
    fn max_attempts(self) -> u32 {
        match self {
            Kind::Service | Kind::System => 5,
            Kind::Batch | Kind::Sysbatch => 2,
        }
    }
    pub fn batch(self) -> bool {
        matches!(self, Kind::Batch | Kind::Sysbatch)
    }
}

/// One scheduler instance; processes evals for one job at a time.
pub struct Sched<'a> {
    pub kind: Kind,
    state: StateRef,
    planner: &'a mut dyn Planner,
    pub env: Env<'a>,
    pub failed_tg: BTreeMap<String, AllocMetric>,
    pub queued: BTreeMap<String, i64>,
    pub followups: Vec<Evaluation>,
    blocked: Option<Evaluation>,
    class_eligibility: BTreeMap<String, bool>,
    escaped: bool,
}

/// A request to place one allocation.
pub struct PlaceReq<'p> {
    pub ti: usize,
    pub index: u64,
    pub previous: Option<&'p Arc<Allocation>>,
    pub stop_previous: Option<&'static str>,
    pub reschedule: bool,
    pub only: Option<Arc<Node>>,
}

impl<'a> Sched<'a> {
    pub fn new(kind: Kind, state: StateRef, planner: &'a mut dyn Planner, env: Env<'a>) -> Self {
        Sched {
            kind,
            state,
            planner,
            env,
            failed_tg: BTreeMap::new(),
            queued: BTreeMap::new(),
            followups: Vec::new(),
            blocked: None,
            class_eligibility: BTreeMap::new(),
            escaped: false,
        }
    }

    fn new_eval(
        &mut self,
        eval: &Evaluation,
        status: EvalStatus,
        trigger: &str,
        desc: &str,
    ) -> Evaluation {
        Evaluation {
            id: uuid(self.env.rng),
            namespace: eval.namespace.clone(),
            priority: eval.priority,
            kind: eval.kind.clone(),
            triggered_by: trigger.to_owned(),
            job_id: eval.job_id.clone(),
            job_modify_index: eval.job_modify_index,
            status,
            status_description: desc.to_owned(),
            previous_eval: eval.id.clone(),
            create_time: self.env.now_ns,
            modify_time: self.env.now_ns,
            ..Default::default()
        }
    }

    /// A delayed follow-up eval (trigger `alloc-failure`) for `wait_until_ns`.
    pub fn followup(&mut self, eval: &Evaluation, wait_until_ns: i64) -> Evaluation {
        let mut e = self.new_eval(
            eval,
            EvalStatus::Pending,
            trigger::ALLOC_FAILURE,
            "created for delayed rescheduling",
        );
        e.wait_until = crate::timefmt::format_rfc3339(wait_until_ns);
        e
    }

    fn create_blocked(
        &mut self,
        eval: &Evaluation,
        plan_failure: bool,
    ) -> Result<(), SchedulerError> {
        let (t, desc) = if plan_failure {
            (
                trigger::MAX_PLAN_ATTEMPTS,
                "created due to placement conflicts",
            )
        } else {
            (
                trigger::QUEUED_ALLOCS,
                "created to place remaining allocations",
            )
        };
        let mut b = self.new_eval(eval, EvalStatus::Blocked, t, desc);
        b.failed_tg_allocs = self.failed_tg.clone();
        b.escaped_computed_class = self.escaped;
        if !self.escaped {
            b.class_eligibility = self.class_eligibility.clone();
        }
        self.planner.create_eval(&b)?;
        self.blocked = Some(b);
        Ok(())
    }

    fn set_status(
        &mut self,
        eval: &Evaluation,
        status: EvalStatus,
        desc: &str,
    ) -> Result<(), SchedulerError> {
        let mut e = eval.clone();
        e.status = status;
        e.status_description = desc.to_owned();
        e.failed_tg_allocs = self.failed_tg.clone();
        e.queued_allocations = self.queued.clone();
        e.blocked_eval = self
            .blocked
            .as_ref()
            .map(|b| b.id.clone())
            .unwrap_or_default();
        e.modify_time = self.env.now_ns;
        self.planner.update_eval(&e)
    }

    /// One attempt; `Ok(Some(progress))` asks for a retry.
    fn attempt(&mut self, eval: &Evaluation) -> Result<Option<bool>, SchedulerError> {
        self.failed_tg.clear();
        self.queued.clear();
        self.followups.clear();
        let found = self.state.job(&eval.namespace, &eval.job_id);
        let job = found.clone().unwrap_or_else(|| {
            Arc::new(Job {
                id: Some(eval.job_id.clone()),
                namespace: Some(eval.namespace.clone()),
                ..Default::default()
            })
        });
        for tg in &job.task_groups {
            self.queued.insert(tg.name.clone(), 0);
        }
        let mut ctx = Ctx::new(
            self.state.clone(),
            job,
            self.env.algorithm,
            self.kind.batch(),
        );
        ctx.plan.eval_id = eval.id.clone();
        ctx.plan.priority = eval.priority;
        ctx.plan.all_at_once = ctx.job.all_at_once.unwrap_or(false);
        ctx.plan.snapshot_index = self.state.latest_index();
        if found.is_some() {
            ctx.plan.job = Some((*ctx.job).clone());
        }
        match self.kind {
            Kind::Service | Kind::Batch => {
                crate::generic::compute(self, &mut ctx, eval, found.is_some())
            }
            Kind::System | Kind::Sysbatch => {
                crate::system::compute(self, &mut ctx, found.is_some())
            }
        }
        self.escaped = ctx.ji.escaped(&ctx.tgs);
        self.class_eligibility = std::mem::take(&mut ctx.checker.class_eligibility);
        if eval.status != EvalStatus::Blocked
            && !self.failed_tg.is_empty()
            && self.blocked.is_none()
        {
            self.create_blocked(eval, false)?;
        }
        let plan = ctx.plan;
        if plan.node_update.is_empty() && plan.node_allocation.is_empty() && !eval.annotate_plan {
            return Ok(None);
        }
        for f in std::mem::take(&mut self.followups) {
            self.planner.create_eval(&f)?;
        }
        // New placements per node and group, to dequeue what gets committed.
        let placed: Vec<(String, Vec<String>)> = plan
            .node_allocation
            .iter()
            .map(|(node, allocs)| {
                let groups = allocs
                    .iter()
                    .filter(|a| a.create_index == 0 && a.client_status == ClientStatus::Pending)
                    .map(|a| a.task_group.clone())
                    .collect();
                (node.clone(), groups)
            })
            .collect();
        let had_updates = !plan.node_update.is_empty();
        let submitted = self.planner.submit_plan(plan)?;
        let result = submitted.result;
        let mut progress = had_updates && result.rejected_nodes.len() < placed.len().max(1);
        for (node, groups) in &placed {
            if result.rejected_nodes.contains(node) {
                continue;
            }
            progress = true;
            for g in groups {
                if let Some(q) = self.queued.get_mut(g) {
                    *q = (*q - 1).max(0);
                }
            }
        }
        if let Some(s) = submitted.new_state {
            self.state = s;
            return Ok(Some(progress));
        }
        if !result.rejected_nodes.is_empty() || result.refresh_index > 0 {
            return Ok(Some(progress));
        }
        Ok(None)
    }

    /// Places one allocation; records the failure metric when nothing fits.
    /// `Err(true)`: a single-node request whose node was filtered (not a failure).
    pub fn place(
        &mut self,
        ctx: &mut Ctx,
        eval: &Evaluation,
        req: PlaceReq<'_>,
    ) -> Result<(), bool> {
        let group: &TaskGroup = &ctx.job.task_groups[req.ti];
        let tg_name = group.name.clone();
        if req.only.is_none()
            && let Some(m) = self.failed_tg.get_mut(&tg_name)
        {
            m.coalesced_failures += 1;
            exhaust_resources(m, group);
            return Err(false);
        }
        if let (Some(prev), Some(desc)) = (req.previous, req.stop_previous) {
            ctx.append_stop(prev, desc, None);
        }
        let penalty = match (req.previous, req.reschedule) {
            (Some(p), true) => penalty_nodes(p),
            _ => Vec::new(),
        };
        let opts = SelectOpts {
            penalty_nodes: &penalty,
            index: req.index,
            only: req.only.clone(),
        };
        match ctx.select(req.ti, &opts, self.env.rng) {
            Ok(chosen) => {
                let job = ctx.job.clone();
                let mut a = Allocation {
                    id: uuid(self.env.rng),
                    namespace: job.namespace().to_owned(),
                    eval_id: eval.id.clone(),
                    name: Allocation::make_name(job.id(), &tg_name, req.index),
                    node_id: chosen.node.id.clone(),
                    node_name: chosen.node.name.clone(),
                    job_id: job.id().to_owned(),
                    task_group: tg_name,
                    allocated_resources: Some(chosen.resources),
                    metrics: Some(chosen.metric),
                    desired_status: DesiredStatus::Run,
                    client_status: ClientStatus::Pending,
                    create_time: self.env.now_ns,
                    modify_time: self.env.now_ns,
                    ..Default::default()
                };
                if let Some(prev) = req.previous {
                    a.previous_allocation = prev.id.clone();
                    if req.reschedule {
                        let p = job.task_groups[req.ti].reschedule_policy.as_ref();
                        update_tracker(&mut a, prev, p, self.env.now_ns);
                    }
                }
                ctx.append_alloc(a, &chosen.res, None);
                Ok(())
            }
            Err(metric) => {
                let mut metric = *metric;
                if let (Some(prev), Some(_)) = (req.previous, req.stop_previous) {
                    ctx.pop_stop(prev);
                }
                if req.only.is_some() && metric.nodes_filtered > 0 {
                    return Err(true);
                }
                exhaust_resources(&mut metric, &ctx.job.task_groups[req.ti]);
                match self.failed_tg.get_mut(&group_name(ctx, req.ti)) {
                    Some(m) => m.coalesced_failures += 1,
                    None => {
                        self.failed_tg.insert(group_name(ctx, req.ti), metric);
                    }
                }
                Err(false)
            }
        }
    }
}

fn group_name(ctx: &Ctx, ti: usize) -> String {
    ctx.job.task_groups[ti].name.clone()
}

/// Nomad's `ExhaustResources`: what each task asked for, when nodes were exhausted.
fn exhaust_resources(m: &mut AllocMetric, tg: &TaskGroup) {
    if m.nodes_exhausted == 0 {
        return;
    }
    for t in &tg.tasks {
        let ask = t.resources.clone().unwrap_or_default();
        let e = m.resources_exhausted.entry(t.name.clone()).or_default();
        let add = |x: &mut Option<i64>, y: Option<i64>| *x = Some(x.unwrap_or(0) + y.unwrap_or(0));
        add(&mut e.cpu, ask.cpu);
        add(&mut e.memory_mb, ask.memory_mb);
        add(&mut e.disk_mb, ask.disk_mb);
    }
}

impl Scheduler for Sched<'_> {
    fn process(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        let max = self.kind.max_attempts();
        let mut attempts = 0;
        loop {
            match self.attempt(eval)? {
                None => break,
                Some(progress) => {
                    attempts = if progress { 0 } else { attempts + 1 };
                    if attempts >= max {
                        if self.blocked.is_none() {
                            self.create_blocked(eval, true)?;
                        }
                        let msg = SchedulerError::MaxAttempts(max).to_string();
                        return self.set_status(eval, EvalStatus::Failed, &msg);
                    }
                }
            }
        }
        if eval.status == EvalStatus::Blocked && !self.failed_tg.is_empty() {
            let mut e = eval.clone();
            e.failed_tg_allocs = self.failed_tg.clone();
            e.queued_allocations = self.queued.clone();
            e.escaped_computed_class = self.escaped;
            e.class_eligibility = if self.escaped {
                BTreeMap::new()
            } else {
                self.class_eligibility.clone()
            };
            return self.planner.reblock_eval(&e);
        }
        self.set_status(eval, EvalStatus::Complete, "")
    }
}
