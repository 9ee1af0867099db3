//! The plan applier (Nomad's `nomad/plan_apply.go`): the single task that serializes
//! every scheduler's plan.
//!
//! Optimistic concurrency: schedulers plan against snapshots; here each node's part is
//! re-checked ([`super::plan_check`]) against the LATEST state plus the plans already
//! verified but not yet applied (the overlay), and only the part that fits is
//! committed (`ApplyPlanResults` through Raft). Rejected nodes come back in
//! `RejectedNodes`; the worker then refreshes its snapshot past every plan in flight
//! and the scheduler retries.
//!
//! Batching: all queued plans are verified in one pass and their entries proposed
//! concurrently, so Raft commits them with one fsync (group commit); the reply to the
//! worker does not wait for the commit but carries a receiver for it (Nomad's
//! pipelining of verification with the apply of the previous plan).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use drover_state::Command;
use drover_state::command::ApplyPlanResults;
use drover_types::{Plan, PlanResult};
use tokio::sync::{mpsc, oneshot};

use super::plan_check::{FAILED, Inflight, Overlay, evaluate_plan};
use crate::error::{ServerError, ServerResult};
use crate::server::{Core, now_ns};

/// Most plans verified per pass.
const MAX_BATCH: usize = 256;

/// A plan from a worker.
pub(crate) struct PlanRequest {
    pub(crate) plan: Plan,
    pub(crate) reply: oneshot::Sender<ServerResult<PlanReply>>,
}

/// What the applier decided, and how to learn when it is durable.
pub(crate) struct PlanReply {
    /// The committed part and the rejected nodes.
    pub(crate) result: PlanResult,
    /// Resolves with the raft index once the committed part is applied (`None`:
    /// nothing to commit).
    pub(crate) commit: Option<oneshot::Receiver<ServerResult<u64>>>,
    /// With rejections: the plans in flight that a refreshed snapshot must include.
    pub(crate) refresh_after: Vec<Arc<AtomicU64>>,
}

/// Runs until shutdown; see the module docs.
pub(crate) async fn run_plan_applier(core: Arc<Core>, mut rx: mpsc::Receiver<PlanRequest>) {
    let mut overlay = Overlay::default();
    loop {
        let first = tokio::select! {
            _ = core.shutdown.cancelled() => break,
            r = rx.recv() => match r { Some(r) => r, None => break },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let view = core.view();
        overlay.prune(&view);
        for req in batch {
            if let Err(e) = core.require_leader() {
                let _ = req.reply.send(Err(e));
                continue;
            }
            let (result, changes) = evaluate_plan(&view, &overlay, &req.plan);
            let has_work = !result.node_update.is_empty()
                || !result.node_allocation.is_empty()
                || !result.node_preemptions.is_empty()
                || result.deployment.is_some()
                || !result.deployment_updates.is_empty();
            let commit = has_work.then(|| {
                let index = Arc::new(AtomicU64::new(0));
                overlay.push(Inflight {
                    index: index.clone(),
                    nodes: changes,
                });
                propose(&core, &req.plan, result.clone(), index)
            });
            let refresh_after = if result.rejected_nodes.is_empty() {
                Vec::new()
            } else {
                overlay.pending()
            };
            let _ = req.reply.send(Ok(PlanReply {
                result,
                commit,
                refresh_after,
            }));
        }
    }
    // Whoever still waits gets an error through the dropped senders.
    rx.close();
}

fn propose(
    core: &Arc<Core>,
    plan: &Plan,
    mut result: PlanResult,
    index: Arc<AtomicU64>,
) -> oneshot::Receiver<ServerResult<u64>> {
    let (tx, rx) = oneshot::channel();
    // Allocations get the plan's job attached by the state machine.
    for a in result.node_allocation.values_mut().flatten() {
        a.job = None;
    }
    let cmd = Command::ApplyPlanResults(ApplyPlanResults {
        eval_id: plan.eval_id.clone(),
        job: plan.job.clone(),
        result,
        evals: Vec::new(),
        time: now_ns(),
    });
    let core2 = core.clone();
    core.tracker.spawn(async move {
        let outcome = match core2.propose(&cmd).await {
            Ok((i, _)) => {
                index.store(i, Ordering::Release);
                Ok(i)
            }
            Err(e) => {
                index.store(FAILED, Ordering::Release);
                tracing::warn!(eval_id = %plan_eval(&cmd), error = %e, "plan not committed");
                Err(e)
            }
        };
        let _ = tx.send(outcome);
    });
    rx
}

fn plan_eval(cmd: &Command) -> &str {
    match cmd {
        Command::ApplyPlanResults(c) => &c.eval_id,
        _ => "",
    }
}

/// Waits (blocking the calling scheduler thread) until every plan in `after` is
/// applied or failed; returns the latest view. Used to refresh after rejections.
pub(crate) fn wait_inflight(
    core: &Core,
    rt: &tokio::runtime::Handle,
    after: &[Arc<AtomicU64>],
) -> ServerResult<drover_state::StateView> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    rt.block_on(async {
        let target = loop {
            let states: Vec<u64> = after.iter().map(|i| i.load(Ordering::Acquire)).collect();
            if states.iter().all(|i| *i != 0) {
                break states
                    .into_iter()
                    .filter(|i| *i != FAILED)
                    .max()
                    .unwrap_or(0);
            }
            if core.shutdown.is_cancelled() || tokio::time::Instant::now() > deadline {
                return Err(ServerError::Unavailable(
                    "plans in flight did not commit in time".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        };
        core.wait_index(target, deadline)
            .await
            .ok_or_else(|| ServerError::Unavailable("state did not catch up in time".into()))
    })
}
