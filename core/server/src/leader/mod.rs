//! What only the leader does: the eval broker and blocked evals (rebuilt from the
//! state when leadership is gained, emptied when it is lost), the plan applier, node
//! heartbeat timers and the drainer.
//!
//! [`run_leader_loop`] owns the blocked evals and feeds the broker from the FSM's
//! [`Applied`] notes; it also turns evals the broker gave up on into `failed` evals
//! with a follow-up, and cancels superseded ones.

mod blocked;
mod broker;
mod drain;
mod heartbeat;
mod nodes;
mod plan_apply;
mod plan_check;

use std::sync::Arc;
use std::time::Duration;

use drover_state::Command;
use drover_state::command::UpsertEvals;
use drover_types::eval::trigger;
use drover_types::{EvalStatus, Evaluation, NodeStatus};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use blocked::BlockedEvals;
pub(crate) use broker::SharedBroker;
pub use broker::{Broker, BrokerConfig, BrokerError, BrokerStats};
pub(crate) use drain::run_drainer;
pub use heartbeat::{Timers, heartbeat_ttl};
pub(crate) use nodes::{node_evals, run_heartbeats};
pub(crate) use plan_apply::{PlanReply, PlanRequest, run_plan_applier, wait_inflight};

use crate::fsm::Applied;
use crate::raft::Role;
use crate::server::{Core, generate_uuid, now_ns};

/// Feeds the broker and the blocked set while this server leads; see module docs.
pub(crate) async fn run_leader_loop(core: Arc<Core>, mut notes: mpsc::UnboundedReceiver<Applied>) {
    let mut status = core.raft.subscribe();
    let mut blocked = BlockedEvals::default();
    let mut leading = false;
    let mut reap = tokio::time::interval(Duration::from_millis(100));
    reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let is_leader = status.borrow_and_update().role == Role::Leader;
        if is_leader && !leading {
            leading = establish(&core, &mut blocked).await;
        } else if !is_leader && leading {
            revoke(&core, &mut blocked);
            leading = false;
        }
        let next = core
            .broker
            .peek(|b| b.next_deadline())
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let changed = core.broker.changed();
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            r = status.changed() => if r.is_err() { break },
            Some(note) = notes.recv() => {
                if leading {
                    handle_note(&core, &mut blocked, note);
                    // Drain what else is queued before looking at timers again.
                    while let Ok(note) = notes.try_recv() {
                        handle_note(&core, &mut blocked, note);
                    }
                }
            }
            _ = tokio::time::sleep_until(next) => {
                core.broker.with(|b| b.tick(Instant::now()));
            }
            _ = changed => {}
            _ = reap.tick() => if leading { reap_evals(&core, &mut blocked) },
        }
    }
    revoke(&core, &mut blocked);
}

/// Gaining leadership: wait until every committed entry is applied, then rebuild the
/// broker, the blocked set and the heartbeat timers from the state.
async fn establish(core: &Arc<Core>, blocked: &mut BlockedEvals) -> bool {
    let barrier = tokio::time::timeout(Duration::from_secs(10), core.raft.read_index()).await;
    let index = match barrier {
        Ok(Ok(index)) => index,
        other => {
            tracing::warn!(result = ?other.map(|r| r.map_err(|e| e.to_string())), "leader barrier failed; retrying");
            return false;
        }
    };
    let Some(view) = core
        .wait_index(index, Instant::now() + Duration::from_secs(10))
        .await
    else {
        return false;
    };
    let (now, wall) = (Instant::now(), now_ns());
    let mut ready = Vec::new();
    blocked.clear();
    for e in view.evals() {
        match e.status {
            EvalStatus::Pending => ready.push(e.clone()),
            EvalStatus::Blocked => ready.extend(blocked.block(e.clone())),
            _ => {}
        }
    }
    let n = ready.len();
    core.broker.with(|b| {
        b.set_enabled(true);
        for e in ready {
            b.enqueue(e, wall, now);
        }
    });
    {
        let mut timers = core.heartbeats.lock().unwrap_or_else(|p| p.into_inner());
        timers.clear();
        let at = now + core.config.heartbeat.failover_ttl;
        for node in view.nodes().filter(|n| n.status != NodeStatus::Down) {
            timers.reset(&node.id, at);
        }
    }
    core.heartbeat_changed.notify_waiters();
    tracing::info!(
        index,
        evals = n,
        blocked = blocked.len(),
        "leadership established"
    );
    true
}

fn revoke(core: &Core, blocked: &mut BlockedEvals) {
    core.broker.with(|b| b.set_enabled(false));
    blocked.clear();
    core.heartbeats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    core.heartbeat_changed.notify_waiters();
}

fn handle_note(core: &Core, blocked: &mut BlockedEvals, note: Applied) {
    let Applied::Entry {
        index,
        evals,
        capacity,
    } = note
    else {
        // Only followers install snapshots; a new leader rebuilds from the state.
        return;
    };
    let mut ready = Vec::new();
    for e in evals {
        match e.status {
            EvalStatus::Pending => ready.push(e),
            EvalStatus::Blocked => ready.extend(blocked.block(e)),
            _ => blocked.untrack(&e),
        }
    }
    for class in &capacity {
        ready.extend(blocked.unblock(class, index));
    }
    if !ready.is_empty() {
        let (now, wall) = (Instant::now(), now_ns());
        core.broker.with(|b| {
            for e in ready {
                b.enqueue(e, wall, now);
            }
        });
    }
}

/// Failed deliveries → `failed` + a delayed follow-up; superseded evals → `canceled`.
fn reap_evals(core: &Arc<Core>, blocked: &mut BlockedEvals) {
    let (failed, mut cancel) = core.broker.peek(|b| (b.take_failed(), b.take_cancelable()));
    cancel.extend(blocked.take_duplicates());
    if failed.is_empty() && cancel.is_empty() {
        return;
    }
    let view = core.view();
    let live = |e: &Evaluation| view.eval_by_id(&e.id).is_some_and(|s| !s.is_terminal());
    let wall = now_ns();
    let mut evals = Vec::new();
    for e in failed.iter().filter(|e| live(e)) {
        let jitter = core
            .config
            .failed_followup_jitter
            .mul_f64(rand::random::<f64>());
        let wait = core.config.failed_followup_base + jitter;
        let follow = Evaluation {
            id: generate_uuid(),
            namespace: e.namespace.clone(),
            priority: e.priority,
            kind: e.kind.clone(),
            triggered_by: trigger::FAILED_FOLLOW_UP.into(),
            job_id: e.job_id.clone(),
            job_modify_index: e.job_modify_index,
            status: EvalStatus::Pending,
            wait_until: drover_scheduler::format_rfc3339(
                wall.saturating_add(i64::try_from(wait.as_nanos()).unwrap_or(i64::MAX)),
            ),
            previous_eval: e.id.clone(),
            create_time: wall,
            modify_time: wall,
            ..Default::default()
        };
        let mut f = e.as_ref().clone();
        f.status = EvalStatus::Failed;
        f.status_description = format!(
            "evaluation reached delivery limit ({})",
            core.config.broker.delivery_limit
        );
        f.next_eval = follow.id.clone();
        f.modify_time = wall;
        evals.push(f);
        evals.push(follow);
    }
    for e in cancel.iter().filter(|e| live(e)) {
        let mut c = e.as_ref().clone();
        c.status = EvalStatus::Canceled;
        c.status_description = "canceled after more recent eval was processed".into();
        c.modify_time = wall;
        evals.push(c);
    }
    if evals.is_empty() {
        return;
    }
    let core2 = core.clone();
    core.tracker.spawn(async move {
        let cmd = Command::UpsertEvals(UpsertEvals { evals });
        if let Err(e) = core2.propose(&cmd).await {
            tracing::warn!(error = %e, "could not record failed/canceled evals");
        }
    });
}
