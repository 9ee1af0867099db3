//! [`Harness`]: an in-memory [`Planner`] over a [`MemState`] for tests, benchmarks and
//! simulations. It records every plan and eval write, commits plans (optionally
//! rejecting chosen nodes to exercise partial commits) and applies them to its state.

use crate::state::MemState;
use crate::{Env, Planner, SchedulerError, StateRef, Submitted, new_scheduler};
use drover_types::{Evaluation, Plan, PlanResult};
use std::collections::HashSet;
use std::sync::Arc;

/// An in-memory planner and state. Applying a plan denormalises the plan's job into
/// new allocations and links `NextAllocation` of replaced ones, as the state store must.
#[derive(Debug, Default)]
pub struct Harness {
    /// The cluster; plans are applied to it.
    pub state: Arc<MemState>,
    /// Every submitted plan, in order.
    pub plans: Vec<Plan>,
    /// What was committed for each plan.
    pub results: Vec<PlanResult>,
    /// Evals created (blocked and follow-ups).
    pub created_evals: Vec<Evaluation>,
    /// Eval status updates.
    pub updated_evals: Vec<Evaluation>,
    /// Blocked evals put back.
    pub reblocked_evals: Vec<Evaluation>,
    /// Nodes whose placements the applier rejects …
    pub reject_nodes: HashSet<String>,
    /// … this many times (then everything is accepted again).
    pub reject_budget: usize,
    /// Keep copies of plans and results in `plans`/`results` (on by default; off for
    /// benchmarks, where copying 10,000 allocations would dominate).
    pub record: bool,
    /// Put the plan's job into each new allocation as the state store does (on by
    /// default; off for benchmarks: allocations then read as the current job version).
    pub denormalize: bool,
    /// Placements committed so far.
    pub placed: usize,
    /// Committed plans not yet applied to `state`.
    pending: Vec<Plan>,
}

impl Harness {
    /// A harness over `state`.
    pub fn new(state: MemState) -> Self {
        Harness {
            state: Arc::new(state),
            record: true,
            denormalize: true,
            ..Default::default()
        }
    }
    /// The current state as a scheduler snapshot.
    pub fn snapshot(&self) -> StateRef {
        self.state.clone()
    }
    /// Runs the scheduler for `eval.Type` on a snapshot, then applies what it committed.
    pub fn process(&mut self, eval: &Evaluation, env: Env<'_>) -> Result<(), SchedulerError> {
        let snap = self.snapshot();
        let kind = eval.kind.clone();
        let env = Env {
            now_ns: env.now_ns,
            rng: &mut *env.rng,
            algorithm: env.algorithm,
        };
        let res = new_scheduler(&kind, snap, self, env).and_then(|mut s| s.process(eval));
        self.apply_pending();
        res
    }
    /// Applies committed plans to `state` (cheap when no snapshot is outstanding).
    pub fn apply_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return;
        }
        let state = Arc::make_mut(&mut self.state);
        for plan in pending {
            apply(state, plan, self.denormalize);
        }
    }
}

fn apply(state: &mut MemState, plan: Plan, denormalize: bool) {
    let job = plan.job.filter(|_| denormalize).map(Box::new);
    for allocs in plan.node_update.into_values() {
        for a in allocs {
            state.upsert_alloc(a);
        }
    }
    for allocs in plan.node_allocation.into_values() {
        for mut a in allocs {
            if a.job.is_none() {
                a.job = job.clone();
            }
            if a.create_index == 0 {
                a.create_index = state.index + 1;
            }
            a.modify_index = state.index + 1;
            if let Some(prev) = state.alloc(&a.previous_allocation) {
                let mut prev = (*prev).clone();
                prev.next_allocation = a.id.clone();
                state.upsert_alloc(prev);
            }
            state.upsert_alloc(a);
        }
    }
}

impl Planner for Harness {
    fn submit_plan(&mut self, plan: Plan) -> Result<Submitted, SchedulerError> {
        let mut committed = plan;
        let mut result = PlanResult::default();
        if self.reject_budget > 0 {
            let rejected: Vec<String> = committed
                .node_allocation
                .keys()
                .filter(|n| self.reject_nodes.contains(*n))
                .cloned()
                .collect();
            if !rejected.is_empty() {
                self.reject_budget -= 1;
                if self.record {
                    self.plans.push(committed.clone());
                }
                for n in &rejected {
                    committed.node_allocation.remove(n);
                }
                result.rejected_nodes = rejected;
            } else if self.record {
                self.plans.push(committed.clone());
            }
        } else if self.record {
            self.plans.push(committed.clone());
        }
        result.alloc_index = self.state.index + 1;
        self.placed += committed
            .node_allocation
            .values()
            .map(Vec::len)
            .sum::<usize>();
        if self.record {
            result.node_update = committed.node_update.clone();
            result.node_allocation = committed.node_allocation.clone();
            self.results.push(result.clone());
        }
        self.pending.push(committed);
        let mut new_state = None;
        if !result.rejected_nodes.is_empty() {
            result.refresh_index = self.state.index + 1;
            self.apply_pending();
            new_state = Some(self.snapshot());
        }
        Ok(Submitted { result, new_state })
    }
    fn update_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.updated_evals.push(eval.clone());
        Ok(())
    }
    fn create_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.created_evals.push(eval.clone());
        Ok(())
    }
    fn reblock_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.reblocked_evals.push(eval.clone());
        Ok(())
    }
}
