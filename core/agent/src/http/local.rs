//! `LocalBackend`: a ONE-LAYER TEST DOUBLE for [`Backend`]. It applies
//! [`Command`]s straight to a `StateStore` in a mutex, numbering entries itself —
//! no Raft, no scheduler, no eval broker. Writes create the evaluations Nomad's RPC
//! endpoints create (`job-register`, `job-deregister`, `alloc-stop` …) and leave them
//! `pending`; nothing ever places allocations. `job_plan` answers 501.
//!
//! It exists so the HTTP layer can be tested over real sockets without a server, and
//! as an executable description of what each [`Backend`] method must write. The
//! cluster answers describe one healthy leader at `rpc_addr`.

use super::backend::{Backend, BackendError, BackendResult};
use super::types::*;
use async_trait::async_trait;
use drover_state::command::{
    AllocUpdateDesiredTransition, JobDeregister, JobRegister, JobScale, NodeUpdateDrain,
    NodeUpdateEligibility, UpsertEvals,
};
use drover_state::time::rfc3339_nanos;
use drover_state::{Command, EventBatch, Outcome, StateStore, StateView, Table};
use drover_types::alloc::DesiredTransition;
use drover_types::eval::trigger;
use drover_types::node::DrainStrategy;
use drover_types::{
    Evaluation, Job, JobRegisterRequest, JobRegisterResponse, SchedulingEligibility,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;
use tokio::time::Instant;

/// The test double. See the module docs.
pub struct LocalBackend {
    store: Mutex<StateStore>,
    applied: watch::Sender<u64>,
    /// The leader's (this double's) RPC address.
    pub rpc_addr: String,
    /// Region.
    pub region: String,
    /// Datacenter.
    pub datacenter: String,
    /// Node name (`<name>.<region>` in members).
    pub node_name: String,
}

impl Default for LocalBackend {
    fn default() -> Self {
        LocalBackend::new()
    }
}

/// A random UUID-shaped ID, as Nomad's `uuid.Generate`.
pub fn generate_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn now_nanos() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl LocalBackend {
    /// An empty state, region `global`, datacenter `dc1`, leader `127.0.0.1:4647`.
    pub fn new() -> Self {
        LocalBackend {
            store: Mutex::new(StateStore::new()),
            applied: watch::Sender::new(0),
            rpc_addr: "127.0.0.1:4647".into(),
            region: "global".into(),
            datacenter: "dc1".into(),
            node_name: "drover-local".into(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, StateStore> {
        // A poisoned lock only means another request panicked mid-apply; the store
        // itself is never half-applied (copy-on-write), so keep serving.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `cmd` at the next index; returns the index and the outcome.
    pub fn apply(&self, cmd: Command) -> BackendResult<(u64, Outcome)> {
        let mut store = self.lock();
        let index = store.applied_index() + 1;
        let out = store.apply_command(index, &cmd);
        self.applied.send_replace(index);
        Ok((index, out?))
    }

    fn eval(&self, job: &Job, triggered_by: &str, priority: i64) -> Evaluation {
        let now = now_nanos();
        Evaluation {
            id: generate_uuid(),
            namespace: job.namespace().to_string(),
            priority: if priority > 0 {
                priority
            } else {
                job.priority.unwrap_or(50)
            },
            kind: job.job_type.clone().unwrap_or_else(|| "service".into()),
            triggered_by: triggered_by.to_string(),
            job_id: job.id().to_string(),
            job_modify_index: job.job_modify_index.unwrap_or(0),
            create_time: now,
            modify_time: now,
            ..Default::default()
        }
    }

    fn job(&self, ns: &str, id: &str) -> BackendResult<Arc<Job>> {
        self.view()
            .job_by_id(ns, id)
            .cloned()
            .ok_or_else(|| BackendError::NotFound("job not found".into()))
    }

    fn register_job(
        &self,
        job: Job,
        eval: Option<Evaluation>,
        req: &JobRegisterRequest,
    ) -> BackendResult<JobRegisterResponse> {
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::JobRegister(JobRegister {
            job,
            eval,
            enforce_index: req.enforce_index,
            job_modify_index: req.job_modify_index,
            preserve_counts: req.preserve_counts,
            submit_time: now_nanos(),
        });
        let (index, out) = self.apply(cmd)?;
        Ok(JobRegisterResponse {
            eval_create_index: if eval_id.is_empty() { 0 } else { index },
            eval_id,
            job_modify_index: out.job_modify_index.unwrap_or(index),
            index,
            known_leader: true,
            ..Default::default()
        })
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn view(&self) -> StateView {
        self.lock().snapshot_view()
    }

    async fn wait_for(&self, tables: &[Table], min_index: u64, deadline: Instant) -> StateView {
        let mut rx = self.applied.subscribe();
        loop {
            let v = self.view();
            let index = if tables.is_empty() {
                v.latest_index()
            } else {
                tables.iter().map(|t| v.index(*t)).max().unwrap_or(0)
            };
            if index > min_index || Instant::now() >= deadline {
                return v;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return self.view(),
            }
        }
    }

    fn events_since(&self, index: u64) -> Vec<Arc<EventBatch>> {
        self.lock().events_since(index)
    }

    fn query_meta(&self) -> QueryMeta {
        QueryMeta {
            known_leader: true,
            last_contact_ms: 0,
        }
    }

    async fn job_register(&self, req: JobRegisterRequest) -> BackendResult<JobRegisterResponse> {
        let job = req
            .job
            .clone()
            .ok_or_else(|| BackendError::BadRequest("Job must be specified".into()))?;
        let eval = (!job.is_periodic() && !job.is_parameterized())
            .then(|| self.eval(&job, trigger::JOB_REGISTER, req.eval_priority));
        self.register_job(job, eval, &req)
    }

    async fn job_deregister(
        &self,
        req: JobDeregisterRequest,
    ) -> BackendResult<JobDeregisterResponse> {
        let job = self.job(&req.namespace, &req.job_id)?;
        let eval = (!job.is_periodic() && !job.is_parameterized())
            .then(|| self.eval(&job, trigger::JOB_DEREGISTER, req.eval_priority));
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let (index, out) = self.apply(Command::JobDeregister(JobDeregister {
            namespace: req.namespace,
            job_id: req.job_id,
            purge: req.purge,
            eval,
            submit_time: now_nanos(),
        }))?;
        Ok(JobDeregisterResponse {
            eval_create_index: if eval_id.is_empty() { 0 } else { index },
            eval_id,
            job_modify_index: out.job_modify_index.unwrap_or(index),
            index,
            known_leader: true,
            ..Default::default()
        })
    }

    async fn job_evaluate(&self, req: JobEvaluateRequest) -> BackendResult<JobRegisterResponse> {
        let job = self.job(&req.namespace, &req.job_id)?;
        if job.is_periodic() {
            return Err(BackendError::BadRequest(
                "can't evaluate periodic job".into(),
            ));
        }
        if job.is_parameterized() {
            return Err(BackendError::BadRequest(
                "can't evaluate parameterized job".into(),
            ));
        }
        let eval = self.eval(&job, trigger::JOB_REGISTER, 0);
        let eval_id = eval.id.clone();
        let cmd = if req.eval_options.force_reschedule {
            let view = self.view();
            let allocs: BTreeMap<String, DesiredTransition> = view
                .allocs_by_job(&req.namespace, &req.job_id)
                .filter(|a| a.client_status == drover_types::ClientStatus::Failed)
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
                time: now_nanos(),
            })
        } else {
            Command::UpsertEvals(UpsertEvals { evals: vec![eval] })
        };
        let (index, _) = self.apply(cmd)?;
        Ok(JobRegisterResponse {
            eval_id,
            eval_create_index: index,
            job_modify_index: job.job_modify_index.unwrap_or(0),
            index,
            known_leader: true,
            ..Default::default()
        })
    }

    async fn job_plan(&self, _req: JobPlanRequest) -> BackendResult<JobPlanResponse> {
        Err(BackendError::NotImplemented(
            "job plan needs the scheduler; LocalBackend is a test double without one".into(),
        ))
    }

    async fn job_scale(&self, req: JobScaleRequest) -> BackendResult<JobRegisterResponse> {
        let job = self
            .job(&req.namespace, &req.job_id)
            .map_err(|_| BackendError::NotFound(format!("job {:?} not found", req.job_id)))?;
        let eval = req.count.map(|_| self.eval(&job, trigger::JOB_SCALING, 0));
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let (index, out) = self.apply(Command::JobScale(JobScale {
            namespace: req.namespace,
            job_id: req.job_id,
            group: req.group,
            count: req.count,
            enforce_index: req.job_modify_index != 0,
            job_modify_index: req.job_modify_index,
            eval,
            submit_time: now_nanos(),
        }))?;
        Ok(JobRegisterResponse {
            eval_create_index: if eval_id.is_empty() { 0 } else { index },
            eval_id,
            job_modify_index: out.job_modify_index.unwrap_or(index),
            index,
            known_leader: true,
            ..Default::default()
        })
    }

    async fn job_dispatch(&self, req: JobDispatchRequest) -> BackendResult<JobDispatchResponse> {
        let parent = self.job(&req.namespace, &req.job_id)?;
        if !parent.is_parameterized() {
            return Err(BackendError::BadRequest(
                "Specified job is not a parameterized job".into(),
            ));
        }
        let mut child = parent.as_ref().clone();
        let suffix: [u8; 4] = rand::random();
        let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!(
            "{}/dispatch-{}-{hex}",
            parent.id(),
            now_nanos() / 1_000_000_000
        );
        child.id = Some(id.clone());
        child.name = Some(id.clone());
        child.parent_id = Some(parent.id().to_string());
        child.dispatched = true;
        child.dispatch_idempotency_token = req.idempotency_token.clone();
        child.payload = req.payload.clone();
        child.meta.extend(req.meta.clone().unwrap_or_default());
        if let Some(p) = req.priority.filter(|p| *p > 0) {
            child.priority = Some(p);
        }
        child.status = None;
        child.version = None;
        child.create_index = None;
        let eval = self.eval(&child, trigger::JOB_REGISTER, 0);
        let r = self.register_job(child, Some(eval), &JobRegisterRequest::default())?;
        Ok(JobDispatchResponse {
            dispatched_job_id: id,
            eval_id: r.eval_id,
            eval_create_index: r.eval_create_index,
            job_create_index: r.index,
            index: r.index,
        })
    }

    async fn periodic_force(
        &self,
        namespace: &str,
        job_id: &str,
    ) -> BackendResult<PeriodicForceResponse> {
        let parent = self.job(namespace, job_id)?;
        if !parent.is_periodic() {
            return Err(BackendError::Internal(
                "can't force launch non-periodic job".into(),
            ));
        }
        let mut child = parent.as_ref().clone();
        let id = format!("{}/periodic-{}", parent.id(), now_nanos() / 1_000_000_000);
        child.id = Some(id.clone());
        child.name = Some(id);
        child.parent_id = Some(parent.id().to_string());
        child.periodic = None;
        child.status = None;
        child.version = None;
        child.create_index = None;
        let eval = self.eval(&child, trigger::PERIODIC_JOB, 0);
        let r = self.register_job(child, Some(eval), &JobRegisterRequest::default())?;
        Ok(PeriodicForceResponse {
            eval_id: r.eval_id,
            eval_create_index: r.eval_create_index,
            index: r.index,
        })
    }

    async fn alloc_stop(
        &self,
        alloc_id: &str,
        no_shutdown_delay: bool,
    ) -> BackendResult<AllocStopResponse> {
        let view = self.view();
        let alloc = view
            .alloc_by_id(alloc_id)
            .ok_or_else(|| BackendError::NotFound("alloc not found".into()))?;
        let job = match &alloc.job {
            Some(j) => j.as_ref().clone(),
            None => self.job(&alloc.namespace, &alloc.job_id)?.as_ref().clone(),
        };
        let eval = self.eval(&job, trigger::ALLOC_STOP, 0);
        let eval_id = eval.id.clone();
        let t = DesiredTransition {
            migrate: Some(true),
            no_shutdown_delay: no_shutdown_delay.then_some(true),
            ..Default::default()
        };
        let (index, _) = self.apply(Command::AllocUpdateDesiredTransition(
            AllocUpdateDesiredTransition {
                allocs: [(alloc.id.clone(), t)].into(),
                evals: vec![eval],
                time: now_nanos(),
            },
        ))?;
        Ok(AllocStopResponse { eval_id, index })
    }

    async fn node_update_eligibility(
        &self,
        req: NodeEligibilityRequest,
    ) -> BackendResult<NodeUpdateResponse> {
        let node = self
            .view()
            .node_by_id(&req.node_id)
            .cloned()
            .ok_or_else(|| BackendError::NotFound("node not found".into()))?;
        let eligibility = match req.eligibility.as_str() {
            "eligible" => SchedulingEligibility::Eligible,
            "ineligible" => SchedulingEligibility::Ineligible,
            other => {
                return Err(BackendError::BadRequest(format!(
                    "invalid scheduling eligibility {other:?}"
                )));
            }
        };
        if node.drain_strategy.is_some() && eligibility == SchedulingEligibility::Eligible {
            return Err(BackendError::BadRequest(
                "can not set node's scheduling eligibility to eligible while it is draining".into(),
            ));
        }
        let (index, _) = self.apply(Command::NodeUpdateEligibility(NodeUpdateEligibility {
            node_id: req.node_id,
            eligibility,
            updated_at: now_nanos() / 1_000_000_000,
            node_event: None,
            evals: vec![],
        }))?;
        Ok(NodeUpdateResponse {
            node_modify_index: index,
            index,
            ..Default::default()
        })
    }

    async fn node_update_drain(&self, req: NodeDrainRequest) -> BackendResult<NodeUpdateResponse> {
        if self.view().node_by_id(&req.node_id).is_none() {
            return Err(BackendError::NotFound("node not found".into()));
        }
        let now = now_nanos();
        let strategy = req.drain_spec.map(|s| DrainStrategy {
            deadline: drover_types::Duration(s.deadline),
            ignore_system_jobs: s.ignore_system_jobs,
            force_deadline: if s.deadline > 0 {
                rfc3339_nanos(now.saturating_add(s.deadline))
            } else {
                String::new()
            },
            started_at: rfc3339_nanos(now),
        });
        let (index, _) = self.apply(Command::NodeUpdateDrain(NodeUpdateDrain {
            node_id: req.node_id,
            drain_strategy: strategy,
            mark_eligible: req.mark_eligible,
            drain_complete: false,
            updated_at: now / 1_000_000_000,
            node_event: None,
            evals: vec![],
        }))?;
        Ok(NodeUpdateResponse {
            node_modify_index: index,
            index,
            ..Default::default()
        })
    }

    fn region(&self) -> String {
        self.region.clone()
    }

    async fn leader(&self) -> BackendResult<Option<String>> {
        Ok(Some(self.rpc_addr.clone()))
    }

    async fn peers(&self) -> BackendResult<Vec<String>> {
        Ok(vec![self.rpc_addr.clone()])
    }

    async fn members(&self) -> BackendResult<ServerMembers> {
        super::local_cluster::members(self)
    }

    async fn raft_configuration(&self) -> BackendResult<RaftConfiguration> {
        super::local_cluster::raft_configuration(self)
    }

    async fn agent_self(&self) -> BackendResult<serde_json::Value> {
        super::local_cluster::agent_self(self)
    }

    async fn metrics(&self) -> BackendResult<MetricsSummary> {
        Ok(super::local_cluster::metrics(&self.view()))
    }
}
