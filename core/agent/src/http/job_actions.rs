//! Writes under `/v1/job/:id` other than register: deregister, evaluate, plan, scale,
//! dispatch and periodic force. Each checks what Nomad's HTTP handler checks, then
//! calls the backend's RPC.

use super::error::{ApiError, ApiResult};
use super::jobs::admit;
use super::respond::Ctx;
use axum::body::Body;
use drover_types::api::{
    JobDeregisterRequest, JobDispatchRequest, JobEvaluateRequest, JobPlanRequest, JobScaleRequest,
    ScalingRequest,
};

/// Nomad's `DispatchPayloadSizeLimit`.
pub const DISPATCH_PAYLOAD_LIMIT: usize = 16 * 1024;

/// `DELETE /v1/job/:id?purge=&global=&eval_priority=&no_shutdown_delay=`.
pub async fn deregister(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    let req = JobDeregisterRequest {
        namespace: ns.to_string(),
        job_id: id.to_string(),
        purge: ctx.params.flag("purge", false)?,
        global: ctx.params.flag("global", false)?,
        eval_priority: ctx.params.int("eval_priority")?.unwrap_or(0),
        no_shutdown_delay: ctx.params.flag("no_shutdown_delay", false)?,
    };
    let resp = ctx.backend().job_deregister(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// `POST/PUT /v1/job/:id/evaluate`; the body (`EvalOptions`) is optional.
pub async fn evaluate(ctx: &Ctx, body: Body, ns: &str, id: &str) -> ApiResult {
    let bytes = ctx.raw_body(body).await?;
    let mut req: JobEvaluateRequest = if bytes.is_empty() {
        JobEvaluateRequest::default()
    } else {
        super::respond::decode_json(&bytes)?
    };
    req.job_id = id.to_string();
    req.namespace = ns.to_string();
    let resp = ctx.backend().job_evaluate(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// `POST/PUT /v1/job/:id/plan`.
pub async fn plan(ctx: &Ctx, body: Body, ns: &str, id: &str) -> ApiResult {
    let mut req: JobPlanRequest = ctx.json_body(body).await?;
    let job = req
        .job
        .take()
        .ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    if job.id.as_deref().is_some_and(|j| j != id) {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    req.job = Some(admit(ctx, job, Some(id), Some(ns), None)?);
    let resp = ctx.backend().job_plan(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// `POST/PUT /v1/job/:id/scale`.
pub async fn scale(ctx: &Ctx, body: Body, ns: &str, id: &str) -> ApiResult {
    let body: ScalingRequest = ctx.json_body(body).await?;
    let target = body.target;
    if target.get("Job").is_some_and(|j| !j.is_empty() && j != id) {
        return Err(ApiError::bad_request("job ID in payload did not match URL"));
    }
    let group = target
        .get("Group")
        .filter(|g| !g.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::bad_request("missing task group name for scaling action"))?;
    let req = JobScaleRequest {
        namespace: ns.to_string(),
        job_id: id.to_string(),
        group,
        count: body.count,
        message: body.message,
        error: body.error,
        meta: body.meta,
        policy_override: body.policy_override,
        job_modify_index: body.job_modify_index,
    };
    let resp = ctx.backend().job_scale(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// Decoded size of a base64 string (padding-aware), without decoding it.
fn base64_decoded_len(s: &str) -> usize {
    let s = s.trim_end();
    let pad = s.bytes().rev().take_while(|b| *b == b'=').count();
    (s.len() / 4 * 3 + (s.len() % 4).saturating_sub(1)).saturating_sub(pad)
}

/// `POST/PUT /v1/job/:id/dispatch?idempotency_token=`.
pub async fn dispatch(ctx: &Ctx, body: Body, ns: &str, id: &str) -> ApiResult {
    let mut req: JobDispatchRequest = ctx.json_body(body).await?;
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    if let Some(p) = &req.payload {
        let n = base64_decoded_len(p);
        if n > DISPATCH_PAYLOAD_LIMIT {
            return Err(ApiError::bad_request(format!(
                "Payload exceeds maximum size; {n} > {DISPATCH_PAYLOAD_LIMIT}"
            )));
        }
    }
    req.job_id = id.to_string();
    req.namespace = ns.to_string();
    req.idempotency_token = ctx
        .params
        .get("idempotency_token")
        .unwrap_or("")
        .to_string();
    let resp = ctx.backend().job_dispatch(req).await?;
    ctx.write_json(resp.index, &resp)
}

/// `POST/PUT /v1/job/:id/periodic/force`.
pub async fn periodic_force(ctx: &Ctx, ns: &str, id: &str) -> ApiResult {
    let resp = ctx.backend().periodic_force(ns, id).await?;
    ctx.write_json(resp.index, &resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_sizes() {
        assert_eq!(base64_decoded_len(""), 0);
        assert_eq!(base64_decoded_len("aGk="), 2);
        assert_eq!(base64_decoded_len("aGVsbG8="), 5);
        assert_eq!(base64_decoded_len("aGVsbG8h"), 6);
        assert_eq!(base64_decoded_len("aGVsbG8"), 5);
    }
}
