//! `Job.Plan`: a dry run of the scheduler for a submitted job against the current
//! state, with a planner that records instead of applying.
//!
//! The job is laid over the snapshot as the version a register would create; the
//! scheduler runs with `AnnotatePlan`, so the answer carries what it would place,
//! stop or update per group (`Annotations.DesiredTGUpdates`, computed from the plan
//! when the scheduler does not annotate), the failed placements with their exact
//! `AllocMetric`s, the evals it would create, and with `Diff` the job diff
//! (`job_diff`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use drover_scheduler::{
    Env, Planner, SchedulerError, State, StateRef, StdRng, Submitted, new_scheduler,
};
use drover_types::eval::trigger;
use drover_types::plan::{DesiredUpdates, PlanAnnotations};
use drover_types::{Allocation, EvalStatus, Evaluation, Job, Node, Plan, PlanResult};
use rand::SeedableRng;

use super::jobs::{new_eval, prepare_job};
use crate::error::{ServerError, ServerResult};
use crate::server::{Server, now_ns};
use crate::snapshot::SnapshotState;
use drover_types::api::{JobPlanRequest, JobPlanResponse};

/// A snapshot with one job replaced by the planned version.
struct PlanState {
    inner: SnapshotState,
    job: Arc<Job>,
}

impl State for PlanState {
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        if namespace == self.job.namespace() && id == self.job.id() {
            return Some(self.job.clone());
        }
        self.inner.job(namespace, id)
    }
    fn nodes(&self) -> Arc<Vec<Arc<Node>>> {
        self.inner.nodes()
    }
    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.inner.node(id)
    }
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.inner.allocs_by_job(namespace, job_id)
    }
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.inner.allocs_by_node(node_id)
    }
    fn latest_index(&self) -> u64 {
        self.inner.latest_index()
    }
}

/// Records plans and evals; commits everything (on paper).
#[derive(Default)]
struct RecordingPlanner {
    plans: Vec<Plan>,
    created: Vec<Evaluation>,
    updated: Option<Evaluation>,
}

impl Planner for RecordingPlanner {
    fn submit_plan(&mut self, plan: Plan) -> Result<Submitted, SchedulerError> {
        let result = PlanResult {
            node_update: plan.node_update.clone(),
            node_allocation: plan.node_allocation.clone(),
            node_preemptions: plan.node_preemptions.clone(),
            ..Default::default()
        };
        self.plans.push(plan);
        Ok(Submitted {
            result,
            new_state: None,
        })
    }
    fn update_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.updated = Some(eval.clone());
        Ok(())
    }
    fn create_eval(&mut self, eval: &Evaluation) -> Result<(), SchedulerError> {
        self.created.push(eval.clone());
        Ok(())
    }
    fn reblock_eval(&mut self, _: &Evaluation) -> Result<(), SchedulerError> {
        Ok(())
    }
}

/// Nomad's `DesiredTGUpdates`, counted from a plan.
fn annotate(plans: &[Plan], existing: &[Arc<Allocation>]) -> PlanAnnotations {
    let known: HashSet<&str> = existing.iter().map(|a| a.id.as_str()).collect();
    let mut touched: HashSet<&str> = HashSet::new();
    let mut out: BTreeMap<String, DesiredUpdates> = BTreeMap::new();
    for p in plans {
        for a in p.node_update.values().flatten() {
            out.entry(a.task_group.clone()).or_default().stop += 1;
            touched.insert(&a.id);
        }
        for a in p.node_allocation.values().flatten() {
            let u = out.entry(a.task_group.clone()).or_default();
            if known.contains(a.id.as_str()) {
                u.in_place_update += 1;
                touched.insert(&a.id);
            } else if a.previous_allocation.is_empty() {
                u.place += 1;
            } else if touched.contains(a.previous_allocation.as_str()) {
                u.destructive_update += 1;
            } else {
                u.place += 1;
            }
        }
    }
    for a in existing.iter().filter(|a| !a.is_terminal()) {
        if !touched.contains(a.id.as_str()) {
            out.entry(a.task_group.clone()).or_default().ignore += 1;
        }
    }
    PlanAnnotations {
        desired_tg_updates: out,
        preempted_allocs: Vec::new(),
    }
}

impl Server {
    /// `Job.Plan`: what registering `req.job` would do now; see the module docs.
    pub async fn job_plan(&self, req: JobPlanRequest) -> ServerResult<JobPlanResponse> {
        let job = req
            .job
            .ok_or_else(|| ServerError::BadRequest("Job must be specified".into()))?;
        let job = prepare_job(job, None)?;
        let view = self.view();
        let index = view.applied_index();
        let current = view.job_by_id(job.namespace(), job.id()).cloned();
        let as_json = |j: &drover_types::Job| {
            serde_json::to_value(j)
                .map_err(|e| ServerError::Internal(format!("plan diff: encode job: {e}")))
        };
        let diff = super::job_diff::job_diff(
            current.as_deref().map(as_json).transpose()?.as_ref(),
            &as_json(&job)?,
        );
        let mut planned = job;
        match current.as_ref().filter(|_| diff.kind == "None") {
            // An unchanged job keeps its version, as registering it again would: the
            // scheduler then leaves its allocations alone ("ignore").
            Some(cur) => {
                planned.create_index = cur.create_index;
                planned.modify_index = cur.modify_index;
                planned.job_modify_index = cur.job_modify_index;
                planned.version = cur.version;
                planned.status = cur.status.clone();
            }
            None => {
                planned.create_index = Some(
                    current
                        .as_ref()
                        .and_then(|j| j.create_index)
                        .unwrap_or(index + 1),
                );
                planned.modify_index = Some(index + 1);
                planned.job_modify_index = Some(index + 1);
                planned.version = Some(current.as_ref().map_or(0, |j| j.version.unwrap_or(0) + 1));
                planned.status = Some("pending".into());
            }
        }
        let planned = Arc::new(planned);
        let mut eval = new_eval(&planned, trigger::JOB_REGISTER, 0, now_ns());
        eval.annotate_plan = true;
        eval.status = EvalStatus::Pending;
        let existing: Vec<Arc<Allocation>> = view
            .allocs_by_job(planned.namespace(), planned.id())
            .cloned()
            .collect();
        let inner = SnapshotState::new(view, &self.core.node_cache);
        let algorithm = self.core.config.algorithm;
        let job_modify_index = current
            .as_ref()
            .and_then(|j| j.job_modify_index)
            .unwrap_or(0);
        let ran = tokio::task::spawn_blocking(move || {
            let state: StateRef = Arc::new(PlanState {
                inner,
                job: planned,
            });
            let mut planner = RecordingPlanner::default();
            let mut rng = StdRng::from_rng(&mut rand::rng());
            let env = Env {
                now_ns: now_ns(),
                rng: &mut rng,
                algorithm,
            };
            let r = new_scheduler(&eval.kind, state, &mut planner, env)
                .and_then(|mut s| s.process(&eval));
            (r, planner)
        })
        .await
        .map_err(|e| ServerError::Internal(format!("plan scheduler thread: {e}")))?;
        let (result, planner) = ran;
        result.map_err(|e| ServerError::Internal(format!("plan: {e}")))?;
        let annotations = planner
            .plans
            .iter()
            .rev()
            .find_map(|p| p.annotations.clone())
            .unwrap_or_else(|| annotate(&planner.plans, &existing));
        let diff = req.diff.then(|| {
            let mut d = diff;
            super::job_diff::add_plan_counts(&mut d, &annotations);
            d
        });
        Ok(JobPlanResponse {
            annotations: Some(annotations),
            failed_tg_allocs: planner
                .updated
                .map(|e| e.failed_tg_allocs)
                .unwrap_or_default(),
            job_modify_index,
            created_evals: planner.created,
            diff,
            next_periodic_launch: String::new(),
            warnings: String::new(),
            index,
        })
    }
}
