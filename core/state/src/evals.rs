//! Evaluation writes, as Nomad's `upsertEvalImpl` and `DeleteEval`: create/modify
//! indexes, the job summary's `Queued` counts from `QueuedAllocations`, cancelling a
//! job's blocked evals once an eval completes with every placement made, and garbage
//! collection of evals and allocations.

use crate::command::DeleteEvals;
use crate::error::ApplyError;
use crate::txn::{Txn, ns_or_default};
use drover_types::{EvalStatus, Evaluation};

pub(crate) fn upsert_evals(t: &mut Txn, evals: &[Evaluation]) -> Result<(), ApplyError> {
    for e in evals {
        upsert_eval(t, e)?;
    }
    Ok(())
}

pub(crate) fn upsert_eval(t: &mut Txn, eval: &Evaluation) -> Result<(), ApplyError> {
    if eval.id.is_empty() {
        return Err(ApplyError::invalid("Evaluation.ID", "missing eval ID"));
    }
    let mut eval = eval.clone();
    eval.namespace = ns_or_default(&eval.namespace);
    let index = t.index;
    eval.create_index =
        t.v.eval_by_id(&eval.id)
            .map_or(index, |old| old.create_index);
    eval.modify_index = index;

    if !eval.queued_allocations.is_empty()
        && let Some(s) = t.v.job_summary(&eval.namespace, &eval.job_id).cloned()
    {
        let mut s = s.as_ref().clone();
        let mut changed = false;
        for (tg, n) in &eval.queued_allocations {
            if let Some(g) = s.summary.get_mut(tg)
                && g.queued != *n
            {
                g.queued = *n;
                changed = true;
            }
        }
        if changed {
            s.modify_index = index;
            t.put_summary(s);
        }
    }

    if eval.status == EvalStatus::Complete && eval.failed_tg_allocs.is_empty() {
        let blocked: Vec<Evaluation> =
            t.v.evals_by_job(&eval.namespace, &eval.job_id)
                .filter(|b| b.status == EvalStatus::Blocked && b.id != eval.id)
                .map(|b| b.as_ref().clone())
                .collect();
        for mut b in blocked {
            b.status = EvalStatus::Canceled;
            b.status_description = format!("evaluation {:?} successful", eval.id);
            b.modify_index = index;
            t.put_eval(b);
        }
    }

    t.mark_job_status(&eval.namespace, &eval.job_id, false);
    t.put_eval(eval);
    Ok(())
}

pub(crate) fn delete(t: &mut Txn, cmd: &DeleteEvals) -> Result<(), ApplyError> {
    for id in &cmd.evals {
        if let Some(old) = t.delete_eval(id) {
            t.mark_job_status(&old.namespace, &old.job_id, true);
        }
    }
    for id in &cmd.allocs {
        t.delete_alloc(id);
    }
    Ok(())
}

/// Nomad's `updateEvalModifyIndex`: a plan was applied for this eval.
pub(crate) fn touch_eval(t: &mut Txn, id: &str) -> Result<(), ApplyError> {
    let Some(e) = t.v.eval_by_id(id).cloned() else {
        return Err(ApplyError::not_found("eval", id));
    };
    let mut e = e.as_ref().clone();
    e.modify_index = t.index;
    t.put_eval(e);
    Ok(())
}
