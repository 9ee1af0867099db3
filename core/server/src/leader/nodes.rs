//! Node-driven evaluations and the heartbeat timer task.
//!
//! A node that stops heartbeating is marked `down` (event "Node heartbeat missed")
//! together with `node-update` evals for every job with live allocations on it and
//! every system job; the schedulers then mark those allocations `lost` and replace
//! them elsewhere (reference §5.7). Disconnect windows (`disconnect.lost_after`) are
//! not implemented: a silent node is always `down`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use drover_state::command::NodeUpdateStatus;
use drover_state::time::rfc3339_nanos;
use drover_state::{Command, StateView};
use drover_types::node::NodeEvent;
use drover_types::{EvalStatus, Evaluation, JobType, NodeStatus};
use tokio::time::Instant;

use crate::server::{Core, generate_uuid, now_ns};

/// One eval per job with live allocations on `node_id`, plus every running system
/// or sysbatch job (Nomad's `createNodeEvals`).
pub(crate) fn node_evals(
    view: &StateView,
    node_id: &str,
    trigger: &str,
    now: i64,
) -> Vec<Evaluation> {
    let mut jobs: BTreeSet<(String, String)> = view
        .live_allocs_by_node(node_id)
        .map(|a| (a.namespace.clone(), a.job_id.clone()))
        .collect();
    for j in view.jobs() {
        let system = j.kind().is_some_and(JobType::is_system_like);
        if system && !j.stop.unwrap_or(false) {
            jobs.insert((j.namespace().to_owned(), j.id().to_owned()));
        }
    }
    let node_modify_index = view.node_by_id(node_id).map_or(0, |n| n.modify_index);
    jobs.into_iter()
        .filter_map(|(ns, id)| view.job_by_id(&ns, &id).cloned())
        .map(|job| Evaluation {
            id: generate_uuid(),
            namespace: job.namespace().to_owned(),
            priority: job.priority.unwrap_or(50),
            kind: job.job_type.clone().unwrap_or_else(|| "service".into()),
            triggered_by: trigger.to_owned(),
            job_id: job.id().to_owned(),
            job_modify_index: job.job_modify_index.unwrap_or(0),
            node_id: node_id.to_owned(),
            node_modify_index,
            status: EvalStatus::Pending,
            create_time: now,
            modify_time: now,
            ..Default::default()
        })
        .collect()
}

/// Marks nodes down when their heartbeat timer fires (leader only).
pub(crate) async fn run_heartbeats(core: Arc<Core>) {
    loop {
        let next = core
            .heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let changed = core.heartbeat_changed.notified();
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(next) => {}
            _ = changed => continue,
        }
        if !core.is_leader() {
            continue;
        }
        let expired = core
            .heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expired(Instant::now());
        for node_id in expired {
            if let Err(e) = invalidate(&core, &node_id).await {
                tracing::warn!(node_id, error = %e, "could not mark node down");
            }
        }
    }
}

async fn invalidate(core: &Core, node_id: &str) -> Result<(), crate::ServerError> {
    let view = core.view();
    let Some(node) = view.node_by_id(node_id) else {
        return Ok(());
    };
    if node.status == NodeStatus::Down {
        return Ok(());
    }
    let now = now_ns();
    tracing::warn!(node_id, "node heartbeat missed; marking it down");
    let cmd = Command::NodeUpdateStatus(NodeUpdateStatus {
        node_id: node_id.to_owned(),
        status: NodeStatus::Down,
        updated_at: now / 1_000_000_000,
        node_event: Some(NodeEvent {
            message: "Node heartbeat missed".into(),
            subsystem: "Cluster".into(),
            timestamp: rfc3339_nanos(now),
            ..Default::default()
        }),
        evals: node_evals(
            &view,
            node_id,
            drover_types::eval::trigger::NODE_UPDATE,
            now,
        ),
    });
    core.propose(&cmd).await.map(|_| ())
}
