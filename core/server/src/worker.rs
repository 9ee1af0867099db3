//! Scheduler workers (Nomad's `nomad/worker.go`): `num_schedulers` tasks, each
//! dequeuing an eval from the broker, waiting until its state view has applied the
//! eval's modify index, and running the scheduler for `eval.Type` on a blocking
//! thread (it is CPU-bound) with a [`WorkerPlanner`] that submits plans to the plan
//! applier.
//!
//! The eval's own writes (status, blocked eval, follow-ups) are one `UpsertEvals`
//! proposed after the plans committed; that tail runs in its own task, which then
//! acks the eval, so the worker takes the next eval while Raft syncs.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use drover_scheduler::{Env, Planner, SchedulerError, StateRef, StdRng, Submitted};
use drover_state::command::UpsertEvals;
use drover_state::{Command, StateView};
use drover_types::{EvalStatus, Evaluation, Plan};
use rand::SeedableRng;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::error::{ServerError, ServerResult};
use crate::leader::{PlanReply, PlanRequest};
use crate::server::{Core, now_ns};
use crate::snapshot::SnapshotState;

/// How long a worker waits for its state to catch up with an eval.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// Dequeues and processes evals until shutdown.
pub(crate) async fn run_worker(core: Arc<Core>, id: usize) {
    let types = core.config.enabled_schedulers.clone();
    while let Some((eval, token)) = core.broker.dequeue(&types, &core.shutdown).await {
        tracing::debug!(worker = id, eval_id = %eval.id, job = %eval.job_id, "processing eval");
        process(&core, eval, token).await;
    }
}

fn nack(core: &Core, eval: &Evaluation, token: &str) {
    let r = core
        .broker
        .with(|b| b.nack(&eval.id, token, Instant::now()));
    if let Err(e) = r {
        tracing::debug!(eval_id = %eval.id, error = %e, "nack refused");
    }
}

fn ack(core: &Core, eval: &Evaluation, token: &str) {
    if let Err(e) = core.broker.with(|b| b.ack(&eval.id, token)) {
        tracing::debug!(eval_id = %eval.id, error = %e, "ack refused");
    }
}

async fn process(core: &Arc<Core>, eval: Arc<Evaluation>, token: String) {
    let Some(view) = core
        .wait_index(eval.modify_index, Instant::now() + SYNC_TIMEOUT)
        .await
    else {
        nack(core, &eval, &token);
        return;
    };
    // The stored eval decides: it may have completed or been canceled meanwhile.
    let current = match view.eval_by_id(&eval.id) {
        Some(e) if !e.is_terminal() => e.as_ref().clone(),
        _ => {
            ack(core, &eval, &token);
            return;
        }
    };
    let core2 = core.clone();
    let rt = tokio::runtime::Handle::current();
    let ran = tokio::task::spawn_blocking(move || {
        let state: StateRef = Arc::new(SnapshotState::new(view.clone(), &core2.node_cache));
        let mut planner = WorkerPlanner {
            core: core2.clone(),
            rt,
            snapshot_index: view.applied_index(),
            commits: Vec::new(),
            evals: Vec::new(),
        };
        let mut rng = StdRng::from_rng(&mut rand::rng());
        let env = Env {
            now_ns: now_ns(),
            rng: &mut rng,
            algorithm: core2.config.algorithm,
        };
        let result = drover_scheduler::new_scheduler(&current.kind, state, &mut planner, env)
            .and_then(|mut s| s.process(&current));
        (result, planner.commits, planner.evals)
    })
    .await;
    let (result, commits, evals) = match ran {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(eval_id = %eval.id, error = %e, "scheduler thread panicked");
            nack(core, &eval, &token);
            return;
        }
    };
    if let Err(e) = result {
        tracing::warn!(eval_id = %eval.id, error = %e, "scheduler failed; nacking");
        nack(core, &eval, &token);
        return;
    }
    let core2 = core.clone();
    core.tracker.spawn(async move {
        match finish(&core2, commits, evals).await {
            Ok(()) => ack(&core2, &eval, &token),
            Err(e) => {
                tracing::warn!(eval_id = %eval.id, error = %e, "eval update failed; nacking");
                nack(&core2, &eval, &token);
            }
        }
    });
}

/// Waits for the eval's plans to commit, then writes its evals in one entry.
async fn finish(
    core: &Core,
    commits: Vec<oneshot::Receiver<ServerResult<u64>>>,
    evals: Vec<Evaluation>,
) -> ServerResult<()> {
    for c in commits {
        c.await
            .map_err(|_| ServerError::Unavailable("plan applier stopped".into()))??;
    }
    if evals.is_empty() {
        return Ok(());
    }
    core.propose(&Command::UpsertEvals(UpsertEvals { evals }))
        .await
        .map(|_| ())
}

/// The scheduler's [`Planner`] inside a worker (runs on a blocking thread).
pub(crate) struct WorkerPlanner {
    core: Arc<Core>,
    rt: tokio::runtime::Handle,
    /// The index of the snapshot the scheduler works from (stamped on blocked evals).
    snapshot_index: u64,
    /// Commit receivers of the submitted plans.
    commits: Vec<oneshot::Receiver<ServerResult<u64>>>,
    /// Evals to write when the scheduler is done (created, updated, reblocked).
    evals: Vec<Evaluation>,
}

impl WorkerPlanner {
    fn record(&mut self, eval: &Evaluation) {
        let mut e = eval.clone();
        if e.status == EvalStatus::Blocked {
            e.snapshot_index = self.snapshot_index;
        }
        self.evals.retain(|x| x.id != e.id);
        self.evals.push(e);
    }

    fn refresh(&mut self, after: &[Arc<AtomicU64>]) -> Result<StateView, SchedulerError> {
        let view = crate::leader::wait_inflight(&self.core, &self.rt, after)
            .map_err(|e| SchedulerError::Planner(e.to_string()))?;
        self.snapshot_index = view.applied_index();
        Ok(view)
    }
}

impl Planner for WorkerPlanner {
    fn submit_plan(&mut self, plan: Plan) -> Result<Submitted, SchedulerError> {
        let (reply, rx) = oneshot::channel();
        self.core
            .plans
            .blocking_send(PlanRequest { plan, reply })
            .map_err(|_| SchedulerError::Planner("plan applier stopped".into()))?;
        let PlanReply {
            mut result,
            commit,
            refresh_after,
        } = rx
            .blocking_recv()
            .map_err(|_| SchedulerError::Planner("plan applier stopped".into()))?
            .map_err(|e| SchedulerError::Planner(e.to_string()))?;
        if let Some(c) = commit {
            self.commits.push(c);
        }
        let mut new_state = None;
        if !result.rejected_nodes.is_empty() {
            let view = self.refresh(&refresh_after)?;
            result.refresh_index = view.applied_index();
            let state: StateRef = Arc::new(SnapshotState::new(view, &self.core.node_cache));
            new_state = Some(state);
        }
        Ok(Submitted { result, new_state })
    }

    fn update_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.record(eval);
        Ok(())
    }

    fn create_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.record(eval);
        Ok(())
    }

    fn reblock_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        let mut e = eval.clone();
        e.status = EvalStatus::Blocked;
        self.record(&e);
        Ok(())
    }
}
