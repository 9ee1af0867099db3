//! A simplified drainer (Nomad's `nomad/drainer/`), leader only.
//!
//! Every `drain_interval`, for each draining node: live service allocations are
//! marked for migration (`DesiredTransition.Migrate`) with a `node-drain` eval per
//! job, so the schedulers place replacements and stop them; batch allocations are left
//! to finish and marked only once the deadline passes (or at once for a forced
//! drain); system allocations go last, once nothing else is left, unless
//! `IgnoreSystemJobs`. When no live allocation that must move remains, the drain
//! completes (event "Node drain complete"; the node stays ineligible).
//!
//! Left out: `migrate.max_parallel` batches and waiting for replacements to become
//! healthy (everything is migrated at once), and `LastDrain` metadata beyond what the
//! state machine records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use drover_state::Command;
use drover_state::command::{AllocUpdateDesiredTransition, NodeUpdateDrain};
use drover_state::time::rfc3339_nanos;
use drover_types::alloc::DesiredTransition;
use drover_types::eval::trigger;
use drover_types::node::NodeEvent;
use drover_types::{JobType, Node};

use super::node_evals;
use crate::server::{Core, now_ns};

/// Runs until shutdown; acts only while leading.
pub(crate) async fn run_drainer(core: Arc<Core>) {
    let mut tick = tokio::time::interval(core.config.drain_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if !core.is_leader() {
            continue;
        }
        let view = core.view();
        let draining: Vec<Arc<Node>> = view
            .nodes()
            .filter(|n| n.drain_strategy.is_some())
            .cloned()
            .collect();
        for node in draining {
            if let Some(cmd) = step(&view, &node, now_ns())
                && let Err(e) = core.propose(&cmd).await
            {
                tracing::warn!(node_id = %node.id, error = %e, "drain step failed");
            }
        }
    }
}

/// What to do for one draining node now, if anything (pure).
pub(crate) fn step(view: &drover_state::StateView, node: &Node, now: i64) -> Option<Command> {
    let strategy = node.drain_strategy.as_ref()?;
    let deadline_passed = strategy.deadline.0 < 0
        || drover_scheduler::parse_rfc3339(&strategy.force_deadline).is_some_and(|d| d <= now);
    let kind_of = |a: &drover_types::Allocation| {
        a.job
            .as_ref()
            .and_then(|j| j.kind())
            .or_else(|| {
                view.job_by_id(&a.namespace, &a.job_id)
                    .and_then(|j| j.kind())
            })
            .unwrap_or(JobType::Service)
    };
    let live: Vec<_> = view.live_allocs_by_node(&node.id).cloned().collect();
    let (system, other): (Vec<_>, Vec<_>) = live.iter().partition(|a| kind_of(a).is_system_like());
    let mut moving: Vec<&Arc<drover_types::Allocation>> = other
        .iter()
        .copied()
        .filter(|a| kind_of(a) == JobType::Service || deadline_passed)
        .collect();
    if other.is_empty() && !strategy.ignore_system_jobs {
        moving.extend(system.iter().copied());
    }
    let remaining = other.len()
        + if strategy.ignore_system_jobs {
            0
        } else {
            system.len()
        };
    if remaining == 0 {
        return Some(Command::NodeUpdateDrain(NodeUpdateDrain {
            node_id: node.id.clone(),
            drain_strategy: None,
            mark_eligible: false,
            drain_complete: true,
            updated_at: now / 1_000_000_000,
            node_event: Some(NodeEvent {
                message: "Node drain complete".into(),
                subsystem: "Drain".into(),
                timestamp: rfc3339_nanos(now),
                ..Default::default()
            }),
            evals: Vec::new(),
        }));
    }
    let unmarked: Vec<_> = moving
        .into_iter()
        .filter(|a| a.desired_transition.migrate != Some(true))
        .collect();
    if unmarked.is_empty() {
        return None;
    }
    let jobs: BTreeSet<(String, String)> = unmarked
        .iter()
        .map(|a| (a.namespace.clone(), a.job_id.clone()))
        .collect();
    let evals = node_evals(view, &node.id, trigger::NODE_DRAIN, now)
        .into_iter()
        .filter(|e| jobs.contains(&(e.namespace.clone(), e.job_id.clone())))
        .collect();
    let allocs: BTreeMap<String, DesiredTransition> = unmarked
        .iter()
        .map(|a| {
            let t = DesiredTransition {
                migrate: Some(true),
                ..Default::default()
            };
            (a.id.clone(), t)
        })
        .collect();
    Some(Command::AllocUpdateDesiredTransition(
        AllocUpdateDesiredTransition {
            allocs,
            evals,
            time: now,
        },
    ))
}
