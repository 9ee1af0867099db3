//! `/v1/jobs` (list, register), `/v1/jobs/parse` and `/v1/validate/job`
//! (`command/agent/job_endpoint.go`), and the admission step every job write shares:
//! the checks Nomad's handler makes, then canonicalize and validate.

use super::backend::BackendError;
use super::blocking::blocking_page;
use super::error::{ApiError, ApiResult};
use super::page::PageKey;
use super::respond::Ctx;
use axum::body::Body;
use drover_state::Table;
use drover_types::api::JobListStub;
use drover_types::{Job, JobRegisterRequest, JobType, multierror_text};
use serde::{Deserialize, Serialize};

/// `GET /v1/jobs?prefix=&namespace=&meta=` and the list options; `namespace=*` lists
/// every namespace.
pub async fn list(ctx: Ctx) -> ApiResult {
    let ns = ctx.params.namespace();
    let prefix = ctx.params.prefix().to_string();
    let meta = ctx.params.flag("meta", false)?;
    let tables = [Table::Jobs, Table::JobSummaries];
    blocking_page(&ctx, &tables, PageKey::NamespaceId, |v| {
        let jobs: Vec<_> = if ns == "*" {
            v.jobs().filter(|j| j.id().starts_with(&prefix)).collect()
        } else {
            v.jobs_by_prefix(&ns, &prefix).collect()
        };
        Ok(jobs
            .into_iter()
            .map(|j| {
                let s = v.job_summary(j.namespace(), j.id()).map(|s| s.as_ref());
                JobListStub::new(j, s, meta)
            })
            .collect::<Vec<_>>())
    })
    .await
}

/// `POST/PUT /v1/jobs`.
pub async fn register(ctx: Ctx, body: Body) -> ApiResult {
    register_at(ctx, body, None).await
}

/// Register, optionally at `/v1/job/:id` (whose ID must match the body's).
pub(crate) async fn register_at(ctx: Ctx, body: Body, path_id: Option<&str>) -> ApiResult {
    let mut req: JobRegisterRequest = ctx.json_body(body).await?;
    let job = req
        .job
        .take()
        .ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    let job = admit(
        &ctx,
        job,
        path_id,
        req.namespace.as_deref(),
        req.region.as_deref(),
    )?;
    req.namespace = job.namespace.clone();
    req.region = job.region.clone();
    req.job = Some(job);
    let resp = ctx.backend().job_register(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// Nomad's handler checks, then `ApiJobToStructJob` (canonicalize) and the
/// `Job.Register` admission validator. Namespace: the job's, else the body's, else the
/// query's; region likewise with the agent's region last.
pub(crate) fn admit(
    ctx: &Ctx,
    mut job: Job,
    path_id: Option<&str>,
    namespace: Option<&str>,
    region: Option<&str>,
) -> ApiResult<Job> {
    check_job(&job, path_id)?;
    if job.namespace.as_deref().is_none_or(str::is_empty) {
        job.namespace = Some(
            namespace
                .filter(|n| !n.is_empty())
                .map_or_else(|| ctx.params.namespace(), str::to_string),
        );
    }
    if job.region.as_deref().is_none_or(str::is_empty) {
        job.region = Some(match (region, ctx.params.get("region")) {
            (Some(r), _) if !r.is_empty() => r.to_string(),
            (_, Some(r)) if !r.is_empty() => r.to_string(),
            _ => ctx.backend().region(),
        });
    }
    job.canonicalize();
    job.validate().map_err(BackendError::Validation)?;
    Ok(job)
}

/// The checks Nomad's `jobUpdate` makes before anything else.
pub(crate) fn check_job(job: &Job, path_id: Option<&str>) -> ApiResult<()> {
    let id = job
        .id
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("Job ID hasn't been provided"))?;
    if let Some(p) = path_id
        && p != id
    {
        return Err(ApiError::bad_request("Job ID does not match name"));
    }
    if job.kind() == Some(JobType::System) && job.task_groups.iter().any(|g| g.scaling.is_some()) {
        return Err(ApiError::bad_request(
            "Task groups with job type system do not support scaling blocks",
        ));
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct JobsParseRequest {
    #[serde(rename = "JobHCL")]
    job_hcl: String,
    variables: String,
    canonicalize: bool,
    #[serde(rename = "HCLv1")]
    hclv1: bool,
}

/// `POST/PUT /v1/jobs/parse`: HCL2 in, the job's JSON out. `Variables` is the text
/// of a var file. The job is always canonicalized and validated (our parser does
/// both), whatever `Canonicalize` says.
pub async fn parse(ctx: Ctx, body: Body) -> ApiResult {
    let req: JobsParseRequest = ctx.json_body(body).await?;
    if req.job_hcl.trim().is_empty() {
        return Err(ApiError::bad_request("Job spec is empty"));
    }
    if req.hclv1 {
        return Err(ApiError::bad_request(
            "Failed to parse job: HCL1 job specifications are not supported",
        ));
    }
    let _ = req.canonicalize;
    let job = tokio::task::spawn_blocking(move || parse_with_vars(&req.job_hcl, &req.variables))
        .await
        .map_err(|e| ApiError::internal(format!("job parser failed: {e}")))??;
    ctx.json(&job)
}

/// Parses with `Variables` as a var file and, as Nomad's `AllowFS: false`, without
/// the functions that would read the server's files.
fn parse_with_vars(hcl: &str, variables: &str) -> ApiResult<Job> {
    let mut vars = drover_jobspec::VarInputs::default();
    if !variables.trim().is_empty() {
        vars.texts
            .push(("Variables".to_string(), variables.to_string()));
    }
    drover_jobspec::parse_hcl_without_fs("job.nomad.hcl", hcl, &vars)
        .map_err(|d| ApiError::bad_request(format!("Failed to parse job: {d}")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct JobValidateRequest {
    job: Option<Job>,
}

/// `JobValidateResponse`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct JobValidateResponse {
    /// Driver configs are checked against plugin schemas on the client, not here.
    driver_config_validated: bool,
    validation_errors: Vec<String>,
    error: String,
    warnings: String,
}

/// `POST/PUT /v1/validate/job`: 200 for any decodable body with a job; the rules it
/// breaks are in the answer (`ValidationErrors`, and `Error` as Nomad's multierror).
pub async fn validate(ctx: Ctx, body: Body) -> ApiResult {
    let req: JobValidateRequest = ctx.json_body(body).await?;
    let mut job = req
        .job
        .ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    let errors = match check_job(&job, None) {
        Err(e) => vec![drover_types::ValidationError::new(vec![], e.message)],
        Ok(()) => {
            job.canonicalize();
            job.validate().err().unwrap_or_default()
        }
    };
    let out = JobValidateResponse {
        validation_errors: errors.iter().map(ToString::to_string).collect(),
        error: if errors.is_empty() {
            String::new()
        } else {
            multierror_text(&errors)
        },
        ..Default::default()
    };
    ctx.json(&out)
}
