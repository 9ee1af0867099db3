//! `Job.Register`, `Job.Deregister`, `Job.Evaluate`, `Job.Scale`, `Job.Dispatch` and
//! `Periodic.Force`: each builds one [`Command`] (pure helpers below) and proposes it.

use std::collections::BTreeMap;

use drover_state::Command;
use drover_state::command::{
    AllocUpdateDesiredTransition, JobDeregister, JobRegister, JobScale, UpsertEvals,
};
use drover_types::alloc::DesiredTransition;
use drover_types::eval::trigger;
use drover_types::{
    ClientStatus, EvalStatus, Evaluation, Job, JobRegisterRequest, JobRegisterResponse,
};

use crate::error::{ServerError, ServerResult};
use crate::server::{Server, generate_uuid, now_ns};
use drover_types::api::{
    JobDeregisterRequest, JobDeregisterResponse, JobDispatchRequest, JobDispatchResponse,
    JobEvaluateRequest, JobScaleRequest, PeriodicForceResponse,
};

/// Largest dispatch payload (16 KiB decoded; base64 is 4/3 of that).
const MAX_DISPATCH_PAYLOAD_B64: usize = 16 * 1024 * 4 / 3 + 4;

/// A new pending eval for `job` (Nomad's `Evaluation` as the RPC endpoints build it).
pub(crate) fn new_eval(job: &Job, triggered_by: &str, priority: i64, now: i64) -> Evaluation {
    Evaluation {
        id: generate_uuid(),
        namespace: job.namespace().to_owned(),
        priority: if priority > 0 {
            priority
        } else {
            job.priority.unwrap_or(50)
        },
        kind: job.job_type.clone().unwrap_or_else(|| "service".into()),
        triggered_by: triggered_by.to_owned(),
        job_id: job.id().to_owned(),
        job_modify_index: job.job_modify_index.unwrap_or(0),
        status: EvalStatus::Pending,
        create_time: now,
        modify_time: now,
        ..Default::default()
    }
}

/// Canonicalizes and validates a submitted job; `namespace` (from the request) wins
/// over the job's own when given.
pub(crate) fn prepare_job(mut job: Job, namespace: Option<&str>) -> ServerResult<Job> {
    if job.id().is_empty() {
        return Err(ServerError::BadRequest(
            "Job ID hasn't been provided".into(),
        ));
    }
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        job.namespace = Some(ns.to_owned());
    }
    job.canonicalize();
    job.validate().map_err(ServerError::Validation)?;
    Ok(job)
}

/// Periodic and parameterized (template) jobs get no eval of their own.
fn needs_eval(job: &Job) -> bool {
    !job.is_periodic() && !job.is_parameterized()
}

fn ns(n: &str) -> &str {
    if n.is_empty() { "default" } else { n }
}

impl Server {
    fn job(&self, namespace: &str, id: &str) -> ServerResult<std::sync::Arc<Job>> {
        self.view()
            .job_by_id(ns(namespace), id)
            .cloned()
            .ok_or_else(|| ServerError::not_found("job"))
    }

    /// `Job.Register`: canonicalizes and validates the job, stores a new version (or
    /// nothing when the spec is unchanged) and creates its `job-register` eval (none
    /// for periodic/parameterized jobs). Honors `EnforceIndex`/`JobModifyIndex`
    /// and `PreserveCounts`.
    pub async fn job_register(&self, req: JobRegisterRequest) -> ServerResult<JobRegisterResponse> {
        self.core.require_leader()?;
        let job = req
            .job
            .clone()
            .ok_or_else(|| ServerError::BadRequest("Job must be specified".into()))?;
        let job = prepare_job(job, req.namespace.as_deref())?;
        let now = now_ns();
        let eval =
            needs_eval(&job).then(|| new_eval(&job, trigger::JOB_REGISTER, req.eval_priority, now));
        self.register(job, eval, &req, now).await
    }

    async fn register(
        &self,
        job: Job,
        eval: Option<Evaluation>,
        req: &JobRegisterRequest,
        now: i64,
    ) -> ServerResult<JobRegisterResponse> {
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::JobRegister(JobRegister {
            job,
            eval,
            enforce_index: req.enforce_index,
            job_modify_index: req.job_modify_index,
            preserve_counts: req.preserve_counts,
            submit_time: now,
        });
        let (index, out) = self.core.propose(&cmd).await?;
        Ok(register_response(eval_id, index, out.job_modify_index))
    }

    /// `Job.Deregister`: stops the job (`Stop=true`, a new version) or purges it, with
    /// a `job-deregister` eval that stops its allocations.
    pub async fn job_deregister(
        &self,
        req: JobDeregisterRequest,
    ) -> ServerResult<JobDeregisterResponse> {
        self.core.require_leader()?;
        let job = self.job(&req.namespace, &req.job_id)?;
        let now = now_ns();
        let eval = needs_eval(&job)
            .then(|| new_eval(&job, trigger::JOB_DEREGISTER, req.eval_priority, now));
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::JobDeregister(JobDeregister {
            namespace: ns(&req.namespace).to_owned(),
            job_id: req.job_id,
            purge: req.purge,
            eval,
            submit_time: now,
        });
        let (index, out) = self.core.propose(&cmd).await?;
        Ok(JobDeregisterResponse {
            eval_create_index: if eval_id.is_empty() { 0 } else { index },
            eval_id,
            job_modify_index: out.job_modify_index.unwrap_or(index),
            index,
            known_leader: true,
            ..Default::default()
        })
    }

    /// `Job.Evaluate`: a new `job-register` eval; with `force_reschedule`, failed
    /// allocations are marked to reschedule now.
    pub async fn job_evaluate(&self, req: JobEvaluateRequest) -> ServerResult<JobRegisterResponse> {
        self.core.require_leader()?;
        let job = self.job(&req.namespace, &req.job_id)?;
        if job.is_periodic() {
            return Err(ServerError::BadRequest(
                "can't evaluate periodic job".into(),
            ));
        }
        if job.is_parameterized() {
            return Err(ServerError::BadRequest(
                "can't evaluate parameterized job".into(),
            ));
        }
        let now = now_ns();
        let eval = new_eval(&job, trigger::JOB_REGISTER, 0, now);
        let eval_id = eval.id.clone();
        let cmd = if req.eval_options.force_reschedule {
            let view = self.view();
            let allocs: BTreeMap<String, DesiredTransition> = view
                .allocs_by_job(job.namespace(), job.id())
                .filter(|a| a.client_status == ClientStatus::Failed)
                .map(|a| {
                    let t = DesiredTransition {
                        force_reschedule: Some(true),
                        ..Default::default()
                    };
                    (a.id.clone(), t)
                })
                .collect();
            Command::AllocUpdateDesiredTransition(AllocUpdateDesiredTransition {
                allocs,
                evals: vec![eval],
                time: now,
            })
        } else {
            Command::UpsertEvals(UpsertEvals { evals: vec![eval] })
        };
        let (index, _) = self.core.propose(&cmd).await?;
        Ok(JobRegisterResponse {
            eval_id,
            eval_create_index: index,
            job_modify_index: job.job_modify_index.unwrap_or(0),
            index,
            known_leader: true,
            ..Default::default()
        })
    }

    /// `Job.Scale`: sets a group's count (a new job version) with a `job-scaling` eval;
    /// `count: None` only records the request.
    pub async fn job_scale(&self, req: JobScaleRequest) -> ServerResult<JobRegisterResponse> {
        self.core.require_leader()?;
        let job = self.job(&req.namespace, &req.job_id)?;
        if job.kind().is_some_and(|k| k.is_system_like())
            && req.count.is_some_and(|c| !(0..=1).contains(&c))
        {
            return Err(ServerError::BadRequest(
                "task group count for system jobs must be 0 or 1".into(),
            ));
        }
        let now = now_ns();
        let eval = req
            .count
            .map(|_| new_eval(&job, trigger::JOB_SCALING, 0, now));
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::JobScale(JobScale {
            namespace: ns(&req.namespace).to_owned(),
            job_id: req.job_id,
            group: req.group,
            count: req.count,
            enforce_index: req.job_modify_index != 0,
            job_modify_index: req.job_modify_index,
            eval,
            submit_time: now,
        });
        let (index, out) = self.core.propose(&cmd).await?;
        Ok(register_response(eval_id, index, out.job_modify_index))
    }

    /// `Job.Dispatch`: registers a child of a parameterized job,
    /// `<parent>/dispatch-<unix>-<8hex>`, with its eval.
    pub async fn job_dispatch(&self, req: JobDispatchRequest) -> ServerResult<JobDispatchResponse> {
        self.core.require_leader()?;
        let parent = self.job(&req.namespace, &req.job_id)?;
        if !parent.is_parameterized() {
            return Err(ServerError::BadRequest(
                "Specified job is not a parameterized job".into(),
            ));
        }
        if parent.stop.unwrap_or(false) {
            return Err(ServerError::BadRequest("Specified job is stopped".into()));
        }
        if req
            .payload
            .as_ref()
            .is_some_and(|p| p.len() > MAX_DISPATCH_PAYLOAD_B64)
        {
            return Err(ServerError::BadRequest(
                "Payload exceeds maximum size of 16 KiB".into(),
            ));
        }
        let now = now_ns();
        let child = dispatch_child(&parent, &req, now, rand::random());
        let id = child.id().to_owned();
        let eval = new_eval(&child, trigger::JOB_REGISTER, 0, now);
        let r = self
            .register(child, Some(eval), &JobRegisterRequest::default(), now)
            .await?;
        Ok(JobDispatchResponse {
            dispatched_job_id: id,
            eval_id: r.eval_id,
            eval_create_index: r.eval_create_index,
            job_create_index: r.index,
            index: r.index,
        })
    }

    /// `Periodic.Force`: launches a periodic job's child `<parent>/periodic-<unix>` now.
    pub async fn periodic_force(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> ServerResult<PeriodicForceResponse> {
        self.core.require_leader()?;
        let parent = self.job(namespace, job_id)?;
        if !parent.is_periodic() {
            return Err(ServerError::BadRequest(
                "can't force launch non-periodic job".into(),
            ));
        }
        let now = now_ns();
        let child = periodic_child(&parent, now);
        let eval = new_eval(&child, trigger::PERIODIC_JOB, 0, now);
        let r = self
            .register(child, Some(eval), &JobRegisterRequest::default(), now)
            .await?;
        Ok(PeriodicForceResponse {
            eval_id: r.eval_id,
            eval_create_index: r.eval_create_index,
            index: r.index,
        })
    }
}

fn child_of(parent: &Job, id: String) -> Job {
    let mut child = parent.clone();
    child.name = Some(id.clone());
    child.id = Some(id);
    child.parent_id = Some(parent.id().to_owned());
    child.status = None;
    child.status_description = None;
    child.version = None;
    child.create_index = None;
    child.modify_index = None;
    child.job_modify_index = None;
    child.stable = None;
    child
}

/// The dispatched child (Nomad's `DispatchedID`: `<parent>/dispatch-<unix>-<8hex>`).
pub(crate) fn dispatch_child(parent: &Job, req: &JobDispatchRequest, now: i64, suffix: u32) -> Job {
    let id = format!(
        "{}/dispatch-{}-{suffix:08x}",
        parent.id(),
        now / 1_000_000_000
    );
    let mut child = child_of(parent, id);
    child.dispatched = true;
    child.dispatch_idempotency_token = req.idempotency_token.clone();
    child.payload = req.payload.clone();
    child.meta.extend(req.meta.clone());
    if req.priority > 0 {
        child.priority = Some(req.priority);
    }
    child
}

/// The forced periodic child (`<parent>/periodic-<unix>`).
pub(crate) fn periodic_child(parent: &Job, now: i64) -> Job {
    let mut child = child_of(
        parent,
        format!("{}/periodic-{}", parent.id(), now / 1_000_000_000),
    );
    child.periodic = None;
    child
}

/// The answer to a write that registered a job version and maybe an eval:
/// `eval_id` is empty when no eval was created.
fn register_response(
    eval_id: String,
    index: u64,
    job_modify_index: Option<u64>,
) -> JobRegisterResponse {
    JobRegisterResponse {
        eval_create_index: if eval_id.is_empty() { 0 } else { index },
        eval_id,
        job_modify_index: job_modify_index.unwrap_or(index),
        index,
        known_leader: true,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_ids_follow_nomad() {
        let parent = Job {
            id: Some("batch".into()),
            parameterized_job: Some(Default::default()),
            ..Default::default()
        };
        let req = JobDispatchRequest {
            priority: 70,
            ..Default::default()
        };
        let c = dispatch_child(&parent, &req, 1_700_000_000_123_000_000, 0xdead_beef);
        assert_eq!(c.id(), "batch/dispatch-1700000000-deadbeef");
        assert_eq!(c.parent_id.as_deref(), Some("batch"));
        assert!(c.dispatched && !c.is_parameterized());
        assert_eq!(c.priority, Some(70));
        let p = periodic_child(&parent, 1_700_000_000_999_000_000);
        assert_eq!(p.id(), "batch/periodic-1700000000");
        assert!(!p.is_periodic());
    }

    #[test]
    fn prepare_rejects_missing_id_and_invalid_jobs() {
        let e = prepare_job(Job::default(), None).unwrap_err();
        assert_eq!(e.to_string(), "Job ID hasn't been provided");
        let bad = Job {
            id: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            prepare_job(bad, Some("prod")),
            Err(ServerError::Validation(_))
        ));
    }
}
