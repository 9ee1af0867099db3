//! Node writes, as Nomad's `upsertNodeTxn`, `deleteNodeTxn`, `updateNodeStatusTxn`,
//! `updateNodeEligibilityImpl` and `updateNodeDrainImpl`: registration keeps the
//! server-owned fields (eligibility, drain, events), node events are capped at 10, and
//! drains make the node ineligible and record `LastDrain`.

use crate::command::{
    NodeDeregister, NodeRegister, NodeUpdateDrain, NodeUpdateEligibility, NodeUpdateStatus,
};
use crate::error::ApplyError;
use crate::evals::upsert_evals;
use crate::time::{rfc3339_nanos, rfc3339_secs};
use crate::txn::Txn;
use drover_types::node::NodeEvent;
use drover_types::{Node, NodeStatus, SchedulingEligibility};

/// Node events kept (Nomad's `MaxRetainedNodeEvents`).
pub const MAX_NODE_EVENTS: usize = 10;

fn append_event(t: &Txn, node: &mut Node, mut ev: NodeEvent) {
    ev.create_index = t.index;
    node.events.push(ev);
    let excess = node.events.len().saturating_sub(MAX_NODE_EVENTS);
    node.events.drain(..excess);
}

fn cluster_event(message: &str, unix_secs: i64) -> NodeEvent {
    NodeEvent {
        message: message.to_string(),
        subsystem: "Cluster".to_string(),
        timestamp: rfc3339_secs(unix_secs),
        ..Default::default()
    }
}

fn existing(t: &Txn, id: &str) -> Result<Node, ApplyError> {
    t.v.node_by_id(id)
        .map(|n| n.as_ref().clone())
        .ok_or_else(|| ApplyError::not_found("node", id))
}

pub(crate) fn register(t: &mut Txn, cmd: &NodeRegister) -> Result<(), ApplyError> {
    let mut node = cmd.node.clone();
    if node.id.is_empty() {
        return Err(ApplyError::invalid("Node.ID", "missing node ID"));
    }
    match t.v.node_by_id(&node.id).cloned() {
        Some(old) => {
            if !old.secret_id.is_empty() && old.secret_id != node.secret_id {
                return Err(ApplyError::invalid(
                    "Node.SecretID",
                    "node secret ID does not match. Not registering node.",
                ));
            }
            node.create_index = old.create_index;
            node.events = old.events.clone();
            if old.status == NodeStatus::Down && node.status != NodeStatus::Down {
                let ev = cluster_event("Node re-registered", node.status_updated_at);
                append_event(t, &mut node, ev);
            }
            node.scheduling_eligibility = old.scheduling_eligibility;
            node.drain_strategy = old.drain_strategy.clone();
            node.last_drain = old.last_drain.clone();
        }
        None => {
            node.create_index = t.index;
            node.events.clear();
            let ev = cluster_event("Node registered", node.status_updated_at);
            append_event(t, &mut node, ev);
        }
    }
    node.modify_index = t.index;
    t.put_node(node);
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn deregister(t: &mut Txn, cmd: &NodeDeregister) -> Result<(), ApplyError> {
    if cmd.node_ids.is_empty() {
        return Err(ApplyError::invalid("NodeIDs", "must be non-empty"));
    }
    for id in &cmd.node_ids {
        existing(t, id)?;
    }
    for id in &cmd.node_ids {
        t.delete_node(id);
    }
    Ok(())
}

pub(crate) fn update_status(t: &mut Txn, cmd: &NodeUpdateStatus) -> Result<(), ApplyError> {
    let mut node = existing(t, &cmd.node_id)?;
    if cmd.status == NodeStatus::Initializing && node.status != NodeStatus::Initializing {
        return Err(ApplyError::invalid(
            "Status",
            format!(
                "node {:?} can't go from {} back to initializing; the client re-registers",
                cmd.node_id,
                status_str(node.status)
            ),
        ));
    }
    node.status_updated_at = cmd.updated_at;
    if let Some(ev) = &cmd.node_event {
        append_event(t, &mut node, ev.clone());
    }
    node.status = cmd.status;
    node.modify_index = t.index;
    t.put_node(node);
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn update_eligibility(
    t: &mut Txn,
    cmd: &NodeUpdateEligibility,
) -> Result<(), ApplyError> {
    let mut node = existing(t, &cmd.node_id)?;
    if node.drain_strategy.is_some() && cmd.eligibility == SchedulingEligibility::Eligible {
        return Err(ApplyError::invalid(
            "Eligibility",
            "can not set node's scheduling eligibility to eligible while it is draining",
        ));
    }
    if let Some(ev) = &cmd.node_event {
        append_event(t, &mut node, ev.clone());
    }
    node.scheduling_eligibility = cmd.eligibility;
    node.modify_index = t.index;
    t.put_node(node);
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn update_drain(t: &mut Txn, cmd: &NodeUpdateDrain) -> Result<(), ApplyError> {
    let mut node = existing(t, &cmd.node_id)?;
    let now = rfc3339_secs(cmd.updated_at);
    let mut drain = cmd.drain_strategy.clone();
    if let Some(d) = &mut drain {
        if d.started_at.is_empty() {
            d.started_at = node
                .drain_strategy
                .as_ref()
                .map(|o| o.started_at.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| now.clone());
        }
        if d.deadline.0 > 0 && d.force_deadline.is_empty() {
            let at = cmd
                .updated_at
                .saturating_mul(1_000_000_000)
                .saturating_add(d.deadline.0);
            d.force_deadline = rfc3339_nanos(at);
        }
    }
    let started_at = match (&node.drain_strategy, &drain) {
        (Some(o), _) if !o.started_at.is_empty() => o.started_at.clone(),
        (_, Some(d)) => d.started_at.clone(),
        _ => now.clone(),
    };
    let status = match (&drain, cmd.drain_complete) {
        (Some(_), _) => "draining",
        (None, true) => "complete",
        (None, false) => "canceled",
    };
    if drain.is_some() {
        node.scheduling_eligibility = SchedulingEligibility::Ineligible;
    } else if cmd.mark_eligible {
        node.scheduling_eligibility = SchedulingEligibility::Eligible;
    }
    node.drain_strategy = drain;
    node.last_drain = Some(serde_json::json!({
        "StartedAt": started_at,
        "UpdatedAt": now,
        "Status": status,
        "AccessorID": "",
        "Meta": null,
    }));
    if let Some(ev) = &cmd.node_event {
        append_event(t, &mut node, ev.clone());
    }
    node.modify_index = t.index;
    t.put_node(node);
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn status_str(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Initializing => "initializing",
        NodeStatus::Ready => "ready",
        NodeStatus::Down => "down",
        NodeStatus::Disconnected => "disconnected",
    }
}
