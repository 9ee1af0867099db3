//! Job writes: register (a new version only when the spec changed), stop, purge,
//! scale, stability; and the derived job status (`pending`/`running`/`dead`) with the
//! parent's children counts, as Nomad's `upsertJobImpl`, `getJobStatus` and
//! `setJobSummary` do.

use crate::command::{JobBatchDeregister, JobDeregister, JobRegister, JobScale, JobStability};
use crate::error::ApplyError;
use crate::evals::upsert_eval;
use crate::txn::{Txn, key, ns_or_default};
use crate::view::StateView;
use drover_types::deployment::JobChildrenSummary;
use drover_types::job::job_status;
use drover_types::{Job, JobSummary, JobType, TaskGroupSummary};
use std::sync::Arc;

/// What a job write produced.
pub(crate) struct JobWrite {
    pub(crate) job_modify_index: u64,
    pub(crate) version: u64,
}

/// Nomad's `SpecChanged`: equal after clearing the fields the server sets.
fn spec_equal(a: &Job, b: &Job) -> bool {
    fn strip(j: &Job) -> Job {
        Job {
            status: None,
            status_description: None,
            stable: None,
            version: None,
            submit_time: None,
            create_index: None,
            modify_index: None,
            job_modify_index: None,
            ..j.clone()
        }
    }
    strip(a) == strip(b)
}

fn check_enforce(existing: Option<&Arc<Job>>, expected: u64) -> Result<(), ApplyError> {
    let actual = existing.map(|j| j.job_modify_index.unwrap_or(0));
    match actual {
        None if expected == 0 => Ok(()),
        Some(a) if expected != 0 && a == expected => Ok(()),
        _ => Err(ApplyError::EnforceIndex { expected, actual }),
    }
}

pub(crate) fn register(t: &mut Txn, cmd: &JobRegister) -> Result<JobWrite, ApplyError> {
    let mut job = cmd.job.clone();
    if job.id().is_empty() {
        return Err(ApplyError::invalid("Job.ID", "missing job ID"));
    }
    if job.kind().is_none() {
        return Err(ApplyError::invalid(
            "Job.Type",
            format!(
                "unknown job type {:?}",
                job.job_type.as_deref().unwrap_or("")
            ),
        ));
    }
    job.namespace = Some(ns_or_default(job.namespace()));
    let existing = t.v.job_by_id(job.namespace(), job.id()).cloned();
    if cmd.enforce_index {
        check_enforce(existing.as_ref(), cmd.job_modify_index)?;
    }
    if cmd.preserve_counts
        && let Some(old) = &existing
    {
        for g in &mut job.task_groups {
            if let Some(prev) = old.group(&g.name) {
                g.count = prev.count;
            }
        }
    }
    let w = write_job(t, job, existing.as_ref(), cmd.submit_time)?;
    if let Some(eval) = &cmd.eval {
        upsert_eval(t, eval)?;
    }
    Ok(w)
}

/// Inserts `job` as a new version when its spec differs from `existing`; otherwise
/// leaves the job untouched. Ensures the job summary has every group.
fn write_job(
    t: &mut Txn,
    mut job: Job,
    existing: Option<&Arc<Job>>,
    submit_time: i64,
) -> Result<JobWrite, ApplyError> {
    if let Some(old) = existing
        && spec_equal(old, &job)
    {
        return Ok(JobWrite {
            job_modify_index: old.job_modify_index.unwrap_or(0),
            version: old.version.unwrap_or(0),
        });
    }
    let index = t.index;
    job.create_index = Some(existing.and_then(|o| o.create_index).unwrap_or(index));
    job.modify_index = Some(index);
    job.job_modify_index = Some(index);
    job.version = Some(existing.map_or(0, |o| o.version.unwrap_or(0).saturating_add(1)));
    job.submit_time = Some(submit_time);
    job.stable = Some(false);
    job.status = existing.and_then(|o| o.status.clone());
    ensure_summary(t, &job);
    let old_status = job.status.clone();
    let status = compute_status(&t.v, &job, false);
    job.status = Some(status.to_string());
    let version = job.version.unwrap_or(0);
    let stored = t.put_job(job);
    t.put_job_version(stored.clone());
    children_moved(t, &stored, old_status.as_deref(), Some(status));
    Ok(JobWrite {
        job_modify_index: index,
        version,
    })
}

/// Nomad's `updateSummaryWithJob`: create the summary, add missing groups.
fn ensure_summary(t: &mut Txn, job: &Job) {
    let (ns, id) = (job.namespace(), job.id());
    let mut s = match t.v.job_summary(ns, id) {
        Some(s) => s.as_ref().clone(),
        None => JobSummary {
            job_id: id.to_string(),
            namespace: ns.to_string(),
            children: Some(JobChildrenSummary::default()),
            create_index: job.create_index.unwrap_or(t.index),
            ..Default::default()
        },
    };
    let mut changed = t.v.job_summary(ns, id).is_none();
    for g in &job.task_groups {
        if !s.summary.contains_key(&g.name) {
            s.summary
                .insert(g.name.clone(), TaskGroupSummary::default());
            changed = true;
        }
    }
    if changed {
        s.modify_index = t.index;
        t.put_summary(s);
    }
}

pub(crate) fn deregister(t: &mut Txn, cmd: &JobDeregister) -> Result<JobWrite, ApplyError> {
    let ns = ns_or_default(&cmd.namespace);
    let w = stop_or_purge(t, &ns, &cmd.job_id, cmd.purge, cmd.submit_time)?
        .ok_or_else(|| ApplyError::not_found("job", format!("{ns}/{}", cmd.job_id)))?;
    if let Some(eval) = &cmd.eval {
        upsert_eval(t, eval)?;
    }
    Ok(w)
}

pub(crate) fn batch_deregister(t: &mut Txn, cmd: &JobBatchDeregister) -> Result<(), ApplyError> {
    for j in &cmd.jobs {
        stop_or_purge(
            t,
            &ns_or_default(&j.namespace),
            &j.id,
            j.purge,
            cmd.submit_time,
        )?;
    }
    for eval in &cmd.evals {
        upsert_eval(t, eval)?;
    }
    Ok(())
}

/// `None` when the job does not exist.
fn stop_or_purge(
    t: &mut Txn,
    ns: &str,
    id: &str,
    purge: bool,
    submit_time: i64,
) -> Result<Option<JobWrite>, ApplyError> {
    let Some(current) = t.v.job_by_id(ns, id).cloned() else {
        return Ok(None);
    };
    if purge {
        children_moved(t, &current, current.status.as_deref(), None);
        t.delete_job(ns, id);
        return Ok(Some(JobWrite {
            job_modify_index: t.index,
            version: current.version.unwrap_or(0),
        }));
    }
    let mut stopped = current.as_ref().clone();
    stopped.stop = Some(true);
    write_job(t, stopped, Some(&current), submit_time).map(Some)
}

pub(crate) fn scale(t: &mut Txn, cmd: &JobScale) -> Result<JobWrite, ApplyError> {
    let ns = ns_or_default(&cmd.namespace);
    let current =
        t.v.job_by_id(&ns, &cmd.job_id)
            .cloned()
            .ok_or_else(|| ApplyError::not_found("job", format!("{ns}/{}", cmd.job_id)))?;
    if cmd.enforce_index {
        check_enforce(Some(&current), cmd.job_modify_index)?;
    }
    if current.group(&cmd.group).is_none() {
        return Err(ApplyError::invalid(
            "Group",
            format!(
                "task group {:?} specified for scaling does not exist in job",
                cmd.group
            ),
        ));
    }
    let w = match cmd.count {
        Some(c) if c < 0 => {
            return Err(ApplyError::invalid(
                "Count",
                "scaling action count can't be negative",
            ));
        }
        Some(c) => {
            let mut job = current.as_ref().clone();
            for g in job.task_groups.iter_mut().filter(|g| g.name == cmd.group) {
                g.count = Some(c);
            }
            write_job(t, job, Some(&current), cmd.submit_time)?
        }
        None => JobWrite {
            job_modify_index: current.job_modify_index.unwrap_or(0),
            version: current.version.unwrap_or(0),
        },
    };
    if let Some(eval) = &cmd.eval {
        upsert_eval(t, eval)?;
    }
    Ok(w)
}

pub(crate) fn stability(t: &mut Txn, cmd: &JobStability) -> Result<(), ApplyError> {
    set_stable(
        t,
        &ns_or_default(&cmd.namespace),
        &cmd.job_id,
        cmd.version,
        cmd.stable,
    )
}

/// Nomad's `updateJobStabilityImpl`: marks the version row, and the job if current.
pub(crate) fn set_stable(
    t: &mut Txn,
    ns: &str,
    id: &str,
    version: u64,
    stable: bool,
) -> Result<(), ApplyError> {
    let Some(row) = t.v.job_version(ns, id, version).cloned() else {
        return Err(ApplyError::not_found(
            "job version",
            format!("{ns}/{id}@{version}"),
        ));
    };
    let mut row = row.as_ref().clone();
    row.stable = Some(stable);
    t.put_job_version(Arc::new(row));
    if let Some(cur) = t.v.job_by_id(ns, id).cloned()
        && cur.version == Some(version)
    {
        let mut cur = cur.as_ref().clone();
        cur.stable = Some(stable);
        cur.modify_index = Some(t.index);
        t.put_job(cur);
    }
    Ok(())
}

/// Nomad's `getJobStatus`.
pub(crate) fn compute_status(v: &StateView, job: &Job, eval_delete: bool) -> &'static str {
    let always_running = job.kind() == Some(JobType::System)
        || job.is_periodic()
        || job.parameterized_job.is_some() && !job.dispatched;
    if always_running {
        return if job.stop.unwrap_or(false) {
            job_status::DEAD
        } else {
            job_status::RUNNING
        };
    }
    let (ns, id) = (job.namespace(), job.id());
    let mut has_alloc = false;
    for a in v.allocs_by_job(ns, id) {
        let same_instance = a
            .job
            .as_ref()
            .is_none_or(|j| j.create_index == job.create_index);
        if !same_instance {
            continue;
        }
        has_alloc = true;
        if !a.is_terminal() {
            return job_status::RUNNING;
        }
    }
    let mut has_eval = false;
    for e in v.evals_by_job(ns, id) {
        has_eval = true;
        if !e.is_terminal() {
            return job_status::PENDING;
        }
    }
    if eval_delete || has_eval || has_alloc {
        job_status::DEAD
    } else {
        job_status::PENDING
    }
}

/// Recomputes the status of every job marked dirty during the entry.
pub(crate) fn settle_statuses(t: &mut Txn) {
    let dirty = std::mem::take(&mut t.status_dirty);
    for ((ns, id), eval_delete) in dirty {
        let Some(job) = t.v.job_by_id(&ns, &id).cloned() else {
            continue;
        };
        let status = compute_status(&t.v, &job, eval_delete);
        if job.status.as_deref() == Some(status) {
            continue;
        }
        let mut updated = job.as_ref().clone();
        let old = updated.status.replace(status.to_string());
        updated.modify_index = Some(t.index);
        let stored = t.put_job(updated);
        children_moved(t, &stored, old.as_deref(), Some(status));
    }
}

/// Nomad's `setJobSummary`: a child's status moved; adjust the parent's counts.
fn children_moved(t: &mut Txn, child: &Job, old: Option<&str>, new: Option<&str>) {
    let Some(parent) = child.parent_id.as_deref().filter(|p| !p.is_empty()) else {
        return;
    };
    if old == new {
        return;
    }
    let ns = child.namespace();
    let Some(s) = t.v.summaries.get(&key(ns, parent)).cloned() else {
        return;
    };
    let mut s = s.as_ref().clone();
    let c = s.children.get_or_insert_with(JobChildrenSummary::default);
    for (status, delta) in [(old, -1i64), (new, 1)] {
        let slot = match status {
            Some(job_status::PENDING) => &mut c.pending,
            Some(job_status::RUNNING) => &mut c.running,
            Some(job_status::DEAD) => &mut c.dead,
            _ => continue,
        };
        *slot = slot.saturating_add(delta).max(0);
    }
    s.modify_index = t.index;
    t.put_summary(s);
}
