//! Reads under `/v1/job/:id`: the job, its allocations, evaluations, versions,
//! summary, scale status and deployments. All are blocking queries.

use super::blocking::{blocking_list, blocking_page, blocking_read, tables_index};
use super::error::{ApiError, ApiResult};
use super::page::PageKey;
use super::respond::{Ctx, Shared};
use drover_state::{StateView, Table};
use drover_types::{AllocListStub, Deployment, Evaluation, Job};
use serde::Serialize;
use std::collections::BTreeMap;

fn job_not_found() -> ApiError {
    ApiError::not_found("job not found")
}

/// `GET /v1/job/:id`: index = the job's `ModifyIndex` (the table's when absent).
pub async fn read(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    blocking_read(ctx, &[Table::Jobs], |v| match v.job_by_id(ns, id) {
        Some(j) => (Ok(Shared(j.clone())), j.modify_index.unwrap_or(0)),
        None => (Err(job_not_found()), v.index(Table::Jobs)),
    })
    .await
}

/// The allocations of the current job instance (`all=true`: every instance).
fn job_allocs(v: &StateView, ns: &str, id: &str, all: bool) -> Vec<AllocListStub> {
    let create_index = v.job_by_id(ns, id).and_then(|j| j.create_index);
    v.allocs_by_job(ns, id)
        .filter(|a| {
            all || create_index.is_none()
                || a.job
                    .as_ref()
                    .is_none_or(|j| j.create_index == create_index)
        })
        .map(|a| a.stub(false, true))
        .collect()
}

/// `GET /v1/job/:id/allocations?all=`.
pub async fn allocations(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    let all = ctx.params.flag("all", false)?;
    blocking_page(ctx, &[Table::Allocs], PageKey::Id, |v| {
        Ok(job_allocs(v, ns, id, all))
    })
    .await
}

/// `GET /v1/job/:id/evaluations`.
pub async fn evaluations(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    blocking_page(ctx, &[Table::Evals], PageKey::Id, |v| {
        Ok(v.evals_by_job(ns, id)
            .map(|e| e.as_ref().clone())
            .collect::<Vec<Evaluation>>())
    })
    .await
}

/// `GET /v1/job/:id/summary`: index = the summary's `ModifyIndex`.
pub async fn summary(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    blocking_read(ctx, &[Table::JobSummaries], |v| {
        match v.job_summary(ns, id) {
            Some(s) => (Ok(Shared(s.clone())), s.modify_index),
            None => (Err(job_not_found()), v.index(Table::JobSummaries)),
        }
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionsResponse {
    versions: Vec<Job>,
    /// Version diffs are not computed yet: always `null`.
    diffs: Option<Vec<serde_json::Value>>,
    index: u64,
    known_leader: bool,
    last_contact: u64,
    next_token: String,
}

/// `GET /v1/job/:id/versions`: newest first; 404 `job versions not found`.
pub async fn versions(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    let meta = ctx.backend().query_meta();
    blocking_read(ctx, &[Table::JobVersions], |v| {
        let index = v.index(Table::JobVersions);
        let versions: Vec<Job> = v
            .job_versions(ns, id)
            .into_iter()
            .map(|j| j.as_ref().clone())
            .collect();
        if versions.is_empty() {
            return (Err(ApiError::not_found("job versions not found")), index);
        }
        let body = VersionsResponse {
            versions,
            diffs: None,
            index,
            known_leader: meta.known_leader,
            last_contact: meta.last_contact_ms,
            next_token: String::new(),
        };
        (Ok(body), index)
    })
    .await
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TaskGroupScaleStatus {
    desired: i64,
    placed: u64,
    running: u64,
    healthy: u64,
    unhealthy: u64,
    /// Scaling events are not recorded yet.
    events: Vec<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JobScaleStatus {
    #[serde(rename = "JobID")]
    job_id: String,
    namespace: String,
    job_create_index: u64,
    job_modify_index: u64,
    job_stopped: bool,
    task_groups: BTreeMap<String, TaskGroupScaleStatus>,
}

/// Nomad's `Job.ScaleStatus`: desired counts, and the live, non-canary allocations.
fn scale_status(v: &StateView, job: &Job) -> JobScaleStatus {
    let mut groups: BTreeMap<String, TaskGroupScaleStatus> = job
        .task_groups
        .iter()
        .map(|g| {
            let s = TaskGroupScaleStatus {
                desired: g.count.unwrap_or(0),
                ..Default::default()
            };
            (g.name.clone(), s)
        })
        .collect();
    for a in v.allocs_by_job(job.namespace(), job.id()) {
        let canary = a.deployment_status.as_ref().is_some_and(|d| d.canary);
        if canary || a.is_terminal() {
            continue;
        }
        let Some(g) = groups.get_mut(&a.task_group) else {
            continue;
        };
        g.placed += 1;
        if a.client_status == drover_types::ClientStatus::Running {
            g.running += 1;
        }
        match a.deployment_status.as_ref().and_then(|d| d.healthy) {
            Some(true) => g.healthy += 1,
            Some(false) => g.unhealthy += 1,
            None => {}
        }
    }
    JobScaleStatus {
        job_id: job.id().to_string(),
        namespace: job.namespace().to_string(),
        job_create_index: job.create_index.unwrap_or(0),
        job_modify_index: job.modify_index.unwrap_or(0),
        job_stopped: job.stop.unwrap_or(false),
        task_groups: groups,
    }
}

/// `GET /v1/job/:id/scale`.
pub async fn scale(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    let tables = [Table::Jobs, Table::Allocs];
    blocking_read(ctx, &tables, |v| match v.job_by_id(ns, id) {
        Some(j) => (Ok(scale_status(v, j)), tables_index(v, &tables)),
        None => (Err(job_not_found()), tables_index(v, &tables)),
    })
    .await
}

/// `GET /v1/job/:id/deployments`.
pub async fn deployments(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    blocking_list(ctx, &[Table::Deployments], |v| {
        Ok(v.deployments_by_job(ns, id)
            .map(|d| d.as_ref().clone())
            .collect::<Vec<Deployment>>())
    })
    .await
}

/// `GET /v1/job/:id/deployment`: the latest, `null` when none.
pub async fn deployment(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    blocking_list(ctx, &[Table::Deployments], |v| {
        Ok(v.latest_deployment_by_job(ns, id)
            .map(|d| d.as_ref().clone()))
    })
    .await
}
