//! `ApplyPlanResults` (Nomad's `UpsertPlanResults`) and deployment writes.
//!
//! Order, as Nomad: the deployment, its status updates, the plan eval's modify index,
//! then stops, placements and preemptions, then follow-up evals. Stops and preemptions
//! name existing allocations (a missing one rejects the whole entry, so the plan
//! applier refreshes and retries). Re-applying an index that was already applied is a
//! no-op (see [`crate::StateStore::apply`]).

use crate::allocs::{require, upsert_alloc};
use crate::command::{ApplyPlanResults, DeploymentStatusChange, UpsertDeployment};
use crate::error::ApplyError;
use crate::evals::{touch_eval, upsert_eval, upsert_evals};
use crate::jobs::set_stable;
use crate::txn::{Txn, ns_or_default};
use drover_types::deployment::{DeploymentStatusUpdate, deployment_status};
use drover_types::{Allocation, Deployment, DesiredStatus};

pub(crate) fn apply_plan(t: &mut Txn, cmd: &ApplyPlanResults) -> Result<(), ApplyError> {
    let r = &cmd.result;
    if let Some(d) = &r.deployment {
        upsert_deployment(t, d, cmd.time)?;
    }
    for u in &r.deployment_updates {
        update_deployment_status(t, u, cmd.time)?;
    }
    if !cmd.eval_id.is_empty() {
        touch_eval(t, &cmd.eval_id)?;
    }
    let mut writes: Vec<Allocation> = Vec::new();
    for stop in r.node_update.values().flatten() {
        let mut a = require(t, &stop.id)?.as_ref().clone();
        a.desired_status = match stop.desired_status {
            DesiredStatus::Evict => DesiredStatus::Evict,
            _ => DesiredStatus::Stop,
        };
        a.desired_description = stop.desired_description.clone();
        if matches!(
            stop.client_status,
            drover_types::ClientStatus::Lost | drover_types::ClientStatus::Unknown
        ) {
            a.client_status = stop.client_status;
            a.client_description = stop.client_description.clone();
        }
        if !stop.followup_eval_id.is_empty() {
            a.followup_eval_id = stop.followup_eval_id.clone();
        }
        writes.push(a);
    }
    for place in r.node_allocation.values().flatten() {
        let mut a = place.clone();
        if a.job.is_none()
            && let Some(j) = &cmd.job
        {
            a.job = Some(Box::new(j.clone()));
        }
        writes.push(a);
    }
    for p in r.node_preemptions.values().flatten() {
        let mut a = require(t, &p.id)?.as_ref().clone();
        a.desired_status = DesiredStatus::Evict;
        a.preempted_by_allocation = p.preempted_by_allocation.clone();
        a.desired_description = p.desired_description.clone();
        writes.push(a);
    }
    for a in writes {
        upsert_alloc(t, a, cmd.time)?;
    }
    upsert_evals(t, &cmd.evals)
}

pub(crate) fn upsert(t: &mut Txn, cmd: &UpsertDeployment) -> Result<(), ApplyError> {
    upsert_deployment(t, &cmd.deployment, 0)
}

/// Nomad's `upsertDeploymentImpl`; a successful deployment marks its job version stable.
fn upsert_deployment(t: &mut Txn, d: &Deployment, time: i64) -> Result<(), ApplyError> {
    if d.id.is_empty() {
        return Err(ApplyError::invalid(
            "Deployment.ID",
            "missing deployment ID",
        ));
    }
    let mut d = d.clone();
    d.namespace = ns_or_default(&d.namespace);
    let old = t.v.deployment_by_id(&d.id).cloned();
    d.create_index = old.as_ref().map_or(t.index, |o| o.create_index);
    d.modify_index = t.index;
    if let Some(o) = &old {
        d.create_time = o.create_time;
    } else if d.create_time == 0 {
        d.create_time = time;
    }
    if time != 0 {
        d.modify_time = time;
    }
    let successful = d.status == deployment_status::SUCCESSFUL;
    let (ns, job, version) = (d.namespace.clone(), d.job_id.clone(), d.job_version);
    t.put_deployment(d);
    if successful {
        stabilize(t, &ns, &job, version)?;
    }
    Ok(())
}

/// A missing job version is not an error here (it may have aged out of the kept ones).
fn stabilize(t: &mut Txn, ns: &str, job: &str, version: u64) -> Result<(), ApplyError> {
    match set_stable(t, ns, job, version, true) {
        Err(ApplyError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

fn update_deployment_status(
    t: &mut Txn,
    u: &DeploymentStatusUpdate,
    time: i64,
) -> Result<(), ApplyError> {
    let Some(d) = t.v.deployment_by_id(&u.deployment_id).cloned() else {
        return Err(ApplyError::not_found("deployment", &u.deployment_id));
    };
    let mut d = d.as_ref().clone();
    d.status = u.status.clone();
    d.status_description = u.status_description.clone();
    d.modify_index = t.index;
    if time != 0 {
        d.modify_time = time;
    }
    let successful = d.status == deployment_status::SUCCESSFUL;
    let (ns, job, version) = (d.namespace.clone(), d.job_id.clone(), d.job_version);
    t.put_deployment(d);
    if successful {
        stabilize(t, &ns, &job, version)?;
    }
    Ok(())
}

pub(crate) fn status_change(t: &mut Txn, cmd: &DeploymentStatusChange) -> Result<(), ApplyError> {
    update_deployment_status(t, &cmd.update, cmd.time)?;
    if let Some(e) = &cmd.eval {
        upsert_eval(t, e)?;
    }
    Ok(())
}
