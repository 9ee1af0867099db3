//! `/v1/client/allocation/:id/{stats,restart,signal}` and `/v1/client/stats`
//! (reference §3.3): the allocation's and the host's resource usage, and the two
//! writes a user sends to running tasks.

use axum::body::Body;
use axum::extract::Path as UrlPath;
use drover_types::api::client::{AllocRestartRequest, AllocSignalRequest};
use serde::de::DeserializeOwned;

use super::{check_alloc_id, client_of};
use crate::http::error::{ApiError, ApiResult};
use crate::http::respond::{Ctx, decode_json};

/// What `signal` sends when the body names none (Nomad's default).
pub const DEFAULT_SIGNAL: &str = "SIGKILL";

/// `GET /v1/client/allocation/:id/stats`.
pub async fn stats(ctx: Ctx, UrlPath(id): UrlPath<String>) -> ApiResult {
    let client = client_of(&ctx)?;
    check_alloc_id(&id)?;
    let usage = client.alloc_stats(&id).await?;
    ctx.json(&usage)
}

/// `GET /v1/client/stats`.
pub async fn host_stats(ctx: Ctx) -> ApiResult {
    let client = client_of(&ctx)?;
    let stats = client.host_stats().await?;
    ctx.json(&stats)
}

/// `POST/PUT /v1/client/allocation/:id/restart`, body `{TaskName, AllTasks}` (may be
/// empty: restart every running task).
pub async fn restart(ctx: Ctx, UrlPath(id): UrlPath<String>, body: Body) -> ApiResult {
    let client = client_of(&ctx)?;
    let req: AllocRestartRequest = optional_body(&ctx, body).await?;
    if !req.task_name.is_empty() && req.all_tasks {
        return Err(ApiError::bad_request(
            "TaskName and AllTasks cannot both be set: name one task, or ask for all",
        ));
    }
    check_alloc_id(&id)?;
    let task = (!req.task_name.is_empty()).then_some(req.task_name);
    client.restart(&id, task, req.all_tasks).await?;
    ctx.json(&serde_json::json!({}))
}

/// `POST/PUT /v1/client/allocation/:id/signal`, body `{Task, Signal}` (may be empty:
/// `SIGKILL` to every task).
pub async fn signal(ctx: Ctx, UrlPath(id): UrlPath<String>, body: Body) -> ApiResult {
    let client = client_of(&ctx)?;
    let req: AllocSignalRequest = optional_body(&ctx, body).await?;
    check_alloc_id(&id)?;
    let signal = match req.signal.trim() {
        "" => DEFAULT_SIGNAL.to_string(),
        s => s.to_ascii_uppercase(),
    };
    let task = (!req.task.is_empty()).then_some(req.task);
    client.signal(&id, task, signal).await?;
    ctx.json(&serde_json::json!({}))
}

/// The JSON body, its default when empty.
async fn optional_body<T: DeserializeOwned + Default>(ctx: &Ctx, body: Body) -> ApiResult<T> {
    let bytes = ctx.raw_body(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    decode_json(&bytes)
}
