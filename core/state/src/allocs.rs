//! Allocation writes, as Nomad's `upsertAllocsImpl`, `nestedUpdateAllocFromClient` and
//! `updateAllocDesiredTransitionTxn`, with the bookkeeping they drive: per-group job
//! summary counts on every client-status change (`updateSummaryWithAlloc`), deployment
//! placed/healthy counts (`updateDeploymentWithAlloc`), `NextAllocation` links and the
//! job status.

use crate::command::{AllocClientUpdate, AllocUpdateDesiredTransition};
use crate::error::ApplyError;
use crate::evals::upsert_evals;
use crate::time::rfc3339_nanos;
use crate::txn::{Txn, ns_or_default};
use drover_types::alloc::AllocDeploymentStatus;
use drover_types::{Allocation, ClientStatus, TaskGroupSummary};
use std::sync::Arc;

/// Server-side upsert (plan results): the scheduler owns everything but the client's
/// fields, which are kept unless the scheduler marks the allocation lost/unknown.
pub(crate) fn upsert_alloc(
    t: &mut Txn,
    mut alloc: Allocation,
    time: i64,
) -> Result<(), ApplyError> {
    if alloc.id.is_empty() {
        return Err(ApplyError::invalid("Allocation.ID", "missing alloc ID"));
    }
    alloc.namespace = ns_or_default(&alloc.namespace);
    let index = t.index;
    let existing = t.v.alloc_by_id(&alloc.id).cloned();
    match &existing {
        None => {
            if alloc.job.is_none() {
                return Err(ApplyError::invalid(
                    "Allocation.Job",
                    format!(
                        "attempting to upsert allocation {:?} without a job",
                        alloc.id
                    ),
                ));
            }
            alloc.create_index = index;
            if alloc.create_time == 0 {
                alloc.create_time = time;
            }
            if let Some(ds) = &mut alloc.deployment_status {
                ds.modify_index = index;
            }
        }
        Some(old) => {
            alloc.create_index = old.create_index;
            alloc.create_time = old.create_time;
            alloc.task_states = old.task_states.clone();
            if !matches!(
                alloc.client_status,
                ClientStatus::Lost | ClientStatus::Unknown
            ) {
                alloc.client_status = old.client_status;
                alloc.client_description = old.client_description.clone();
            }
            if alloc.job.is_none() {
                alloc.job = old.job.clone();
            }
        }
    }
    alloc.modify_index = index;
    alloc.alloc_modify_index = index;
    alloc.modify_time = time;
    update_summary(t, &alloc, existing.as_deref())?;
    update_deployment(t, &mut alloc, existing.as_deref());
    if !alloc.previous_allocation.is_empty()
        && let Some(prev) = t.v.alloc_by_id(&alloc.previous_allocation).cloned()
        && prev.next_allocation != alloc.id
    {
        let mut prev = prev.as_ref().clone();
        prev.next_allocation = alloc.id.clone();
        prev.modify_index = index;
        t.put_alloc(prev);
    }
    t.mark_job_status(&alloc.namespace, &alloc.job_id, false);
    t.put_alloc(alloc);
    Ok(())
}

pub(crate) fn client_update(t: &mut Txn, cmd: &AllocClientUpdate) -> Result<(), ApplyError> {
    for a in &cmd.allocs {
        let Some(old) = t.v.alloc_by_id(&a.id).cloned() else {
            continue; // unknown (e.g. garbage-collected) allocations are ignored
        };
        let mut new = old.as_ref().clone();
        new.client_status = a.client_status;
        new.client_description = a.client_description.clone();
        new.task_states = a.task_states.clone();
        new.network_status = a.network_status.clone();
        if let Some(ds) = &a.deployment_status {
            let canary = old.deployment_status.as_ref().is_some_and(|d| d.canary);
            new.deployment_status = Some(AllocDeploymentStatus {
                healthy: ds.healthy,
                timestamp: ds.timestamp.clone(),
                canary,
                modify_index: t.index,
            });
        }
        new.modify_index = t.index;
        new.modify_time = cmd.time;
        update_deployment(t, &mut new, Some(&old));
        update_summary(t, &new, Some(&old))?;
        t.mark_job_status(&new.namespace, &new.job_id, false);
        t.put_alloc(new);
    }
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn desired_transition(
    t: &mut Txn,
    cmd: &AllocUpdateDesiredTransition,
) -> Result<(), ApplyError> {
    for (id, tr) in &cmd.allocs {
        let Some(old) = t.v.alloc_by_id(id).cloned() else {
            continue;
        };
        let mut new = old.as_ref().clone();
        let d = &mut new.desired_transition;
        d.migrate = tr.migrate.or(d.migrate);
        d.reschedule = tr.reschedule.or(d.reschedule);
        d.force_reschedule = tr.force_reschedule.or(d.force_reschedule);
        d.no_shutdown_delay = tr.no_shutdown_delay.or(d.no_shutdown_delay);
        new.modify_index = t.index;
        new.modify_time = cmd.time;
        t.put_alloc(new);
    }
    upsert_evals(t, &cmd.evals)
}

fn bin(s: &mut TaskGroupSummary, status: ClientStatus) -> &mut i64 {
    match status {
        ClientStatus::Pending => &mut s.starting,
        ClientStatus::Running => &mut s.running,
        ClientStatus::Complete => &mut s.complete,
        ClientStatus::Failed => &mut s.failed,
        ClientStatus::Lost => &mut s.lost,
        ClientStatus::Unknown => &mut s.unknown,
    }
}

/// Nomad's `updateSummaryWithAlloc`.
fn update_summary(
    t: &mut Txn,
    alloc: &Allocation,
    existing: Option<&Allocation>,
) -> Result<(), ApplyError> {
    let Some(job) = &alloc.job else {
        return Ok(());
    };
    let Some(summary) = t.v.job_summary(&alloc.namespace, &alloc.job_id).cloned() else {
        return Ok(()); // job purged (or never registered): nothing to count
    };
    if Some(summary.create_index) != job.create_index {
        return Ok(()); // an allocation of an earlier instance of the job
    }
    let mut s = summary.as_ref().clone();
    let Some(g) = s.summary.get_mut(&alloc.task_group) else {
        return Err(ApplyError::invalid(
            "Allocation.TaskGroup",
            format!(
                "unable to find task group in the job summary: {}",
                alloc.task_group
            ),
        ));
    };
    match existing {
        None => {
            if alloc.client_status != ClientStatus::Pending {
                return Ok(()); // Nomad logs "bad client status" and counts nothing
            }
            g.starting = g.starting.saturating_add(1);
            g.queued = g.queued.saturating_sub(1).max(0);
        }
        Some(old) if old.client_status != alloc.client_status => {
            let to = bin(g, alloc.client_status);
            *to = to.saturating_add(1);
            let from = bin(g, old.client_status);
            *from = from.saturating_sub(1).max(0);
        }
        Some(_) => return Ok(()),
    }
    s.modify_index = t.index;
    t.put_summary(s);
    Ok(())
}

/// Nomad's `updateDeploymentWithAlloc`.
fn update_deployment(t: &mut Txn, alloc: &mut Allocation, existing: Option<&Allocation>) {
    if alloc.deployment_id.is_empty() {
        return;
    }
    let Some(d) = t.v.deployment_by_id(&alloc.deployment_id).cloned() else {
        return;
    };
    if !d.task_groups.contains_key(&alloc.task_group) {
        return;
    }
    let health = |a: Option<&Allocation>| a.and_then(|a| a.deployment_status.as_ref()?.healthy);
    let (mut placed, mut healthy, mut unhealthy) = (0i64, 0i64, 0i64);
    match (existing, health(existing), health(Some(alloc))) {
        (None, _, _) => placed = 1,
        (Some(_), None, Some(true)) => healthy = 1,
        (Some(_), None, Some(false)) => unhealthy = 1,
        _ => {} // health is counted once, when first reported (as Nomad)
    }
    if placed == 0 && healthy == 0 && unhealthy == 0 {
        return;
    }
    if (healthy != 0 || unhealthy != 0)
        && let Some(ds) = &mut alloc.deployment_status
    {
        ds.modify_index = t.index;
    }
    let mut d = d.as_ref().clone();
    d.modify_index = t.index;
    if let Some(st) = d.task_groups.get_mut(&alloc.task_group) {
        st.placed_allocs = st.placed_allocs.saturating_add(placed);
        st.healthy_allocs = st.healthy_allocs.saturating_add(healthy);
        st.unhealthy_allocs = st.unhealthy_allocs.saturating_add(unhealthy);
        if alloc.deployment_status.as_ref().is_some_and(|s| s.canary)
            && !st.placed_canaries.contains(&alloc.id)
        {
            st.placed_canaries.push(alloc.id.clone());
        }
        if placed != 0 && st.progress_deadline.0 != 0 && st.require_progress_by.is_empty() {
            st.require_progress_by =
                rfc3339_nanos(alloc.modify_time.saturating_add(st.progress_deadline.0));
        }
    }
    t.put_deployment(d);
}

/// Whether the alloc exists, for plan validation.
pub(crate) fn require(t: &Txn, id: &str) -> Result<Arc<Allocation>, ApplyError> {
    t.v.alloc_by_id(id)
        .cloned()
        .ok_or_else(|| ApplyError::not_found("alloc", id))
}
