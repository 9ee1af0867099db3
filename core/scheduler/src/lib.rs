//! Scheduling decisions for Drover: given an [`Evaluation`], a read-only view of the
//! cluster ([`State`]) and a [`Planner`] to submit to, compute Nomad's plan — which
//! allocations to place, update in place, stop or reschedule — for `service`, `batch`,
//! `system` and `sysbatch` jobs (reference §5).
//!
//! Why pure: the server runs schedulers on worker threads against consistent state
//! snapshots and serialises their plans through the plan applier; tests and benchmarks
//! run the very same code against the in-memory [`Harness`]. So this crate does no I/O,
//! reads no clock and owns no randomness: the current time and a seedable RNG come in
//! through [`Env`] (Nomad's `scheduler/structs/interfaces.go`: Scheduler, State, Planner).
//!
//! Pipeline per task group: *reconcile* (what to place/stop/update), then for each
//! placement a *stack*: shuffled ready nodes → feasibility (class-cached checks,
//! host volumes, network, distinct_*) → fit and ranking (binpack or spread, anti-affinity,
//! reschedule penalty, affinities, spreads; mean of scores) → limited candidates → best.
//! Failed placements carry Nomad's [`AllocMetric`] so the CLI can say exactly why.

mod feasible;
mod fxhash;
mod generic;
mod harness;
mod rank;
mod reconcile;
mod reschedule;
mod sched;
mod select;
mod state;
mod system;
mod timefmt;
mod update;
mod usage;

use drover_types::{AllocMetric, Evaluation, Plan, PlanResult};
use std::sync::Arc;

pub use feasible::{compute_node_class, glob_match};
pub use harness::Harness;
pub use rand::RngCore;
pub use rand::SeedableRng;
pub use rand::rngs::StdRng;
pub use reschedule::next_delay;
pub use state::{MemState, State};
pub use timefmt::{format_rfc3339, parse_rfc3339};
pub use update::tasks_updated;

/// A shared, read-only cluster snapshot.
pub type StateRef = Arc<dyn State + Send + Sync>;

/// Errors a scheduler returns; the eval is then nacked (or failed) by the worker.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The eval names a scheduler type this crate does not have.
    #[error("unknown scheduler type {0:?}")]
    UnknownType(String),
    /// The planner (plan applier, eval writes) failed.
    #[error("planner: {0}")]
    Planner(String),
    /// Partial plans kept being rejected; the eval is marked failed with this text.
    #[error("maximum attempts reached ({0})")]
    MaxAttempts(u32),
}

/// Scores node fit by packing (`binpack`, default) or by spreading (`spread`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// Nomad's `ScoreFitBinPack`: fuller nodes first.
    #[default]
    Binpack,
    /// Nomad's `ScoreFitSpread`: emptier nodes first.
    Spread,
}

/// What the scheduler must not obtain on its own: the time and randomness.
pub struct Env<'r> {
    /// "Now" in Unix nanoseconds (reschedule delays, follow-up evals, timestamps).
    pub now_ns: i64,
    /// Shuffles nodes, picks dynamic ports, generates IDs.
    pub rng: &'r mut dyn RngCore,
    /// Scheduler configuration `scheduler_algorithm`.
    pub algorithm: Algorithm,
}

/// The result of [`Planner::submit_plan`].
pub struct Submitted {
    /// What the applier committed.
    pub result: PlanResult,
    /// A newer snapshot when `result.refresh_index` asked for one.
    pub new_state: Option<StateRef>,
}

/// Where a scheduler's decisions go (Nomad's `Planner`): the plan applier and the
/// evaluation writes of the server, or the [`Harness`] in tests and benchmarks.
pub trait Planner {
    /// Submits a plan; the applier may commit only part of it. The scheduler relies
    /// on `RejectedNodes` (nodes whose part was not committed, all-or-nothing per
    /// node) and on `RefreshIndex`/`new_state` to retry against newer state.
    fn submit_plan(&mut self, plan: Plan) -> Result<Submitted, SchedulerError>;
    /// Records the eval's final status, `FailedTGAllocs`, `QueuedAllocations`, ….
    fn update_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError>;
    /// Creates an eval: a blocked eval (status `blocked`, one per job) or a delayed
    /// follow-up (status `pending` with `WaitUntil`, trigger `alloc-failure`).
    fn create_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError>;
    /// Puts a blocked eval that still cannot place back into the blocked set.
    fn reblock_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError>;
}

/// Processes one evaluation (Nomad's `Scheduler`).
pub trait Scheduler {
    /// Reconciles, places, submits plans (retrying partial commits) and finally
    /// updates the eval. `Err` means the worker should nack the eval.
    fn process(&mut self, eval: &Evaluation) -> Result<(), SchedulerError>;
}

/// Builds the scheduler for `eval_type` (`service`, `batch`, `system`, `sysbatch`).
pub fn new_scheduler<'a>(
    eval_type: &str,
    state: StateRef,
    planner: &'a mut dyn Planner,
    env: Env<'a>,
) -> Result<Box<dyn Scheduler + 'a>, SchedulerError> {
    use sched::{Kind, Sched};
    let kind = match eval_type {
        "service" => Kind::Service,
        "batch" => Kind::Batch,
        "system" => Kind::System,
        "sysbatch" => Kind::Sysbatch,
        other => return Err(SchedulerError::UnknownType(other.to_owned())),
    };
    Ok(Box::new(Sched::new(kind, state, planner, env)))
}

/// Nomad's CLI rendering of a failed placement's metric (`command/monitor.go`
/// `formatAllocMetrics`), one line per fact, e.g. `Dimension "memory" exhausted on 1 nodes`.
pub fn explain_metric(m: &AllocMetric) -> Vec<String> {
    let mut out = Vec::new();
    if m.nodes_evaluated == 0 {
        out.push("No nodes were eligible for evaluation".to_owned());
    }
    for (dc, n) in &m.nodes_available {
        if *n == 0 {
            out.push(format!("No nodes are available in datacenter {dc:?}"));
        }
    }
    for (class, n) in &m.class_filtered {
        out.push(format!("Class {class:?}: {n} nodes excluded by filter"));
    }
    for (c, n) in &m.constraint_filtered {
        out.push(format!("Constraint {c:?}: {n} nodes excluded by filter"));
    }
    if m.nodes_exhausted > 0 {
        out.push(format!(
            "Resources exhausted on {} nodes",
            m.nodes_exhausted
        ));
    }
    for (class, n) in &m.class_exhausted {
        out.push(format!("Class {class:?} exhausted on {n} nodes"));
    }
    for (dim, n) in &m.dimension_exhausted {
        out.push(format!("Dimension {dim:?} exhausted on {n} nodes"));
    }
    for q in &m.quota_exhausted {
        out.push(format!("Quota limit hit {q:?}"));
    }
    out
}
