//! `/v1/allocations` and `/v1/allocation/:id[/stop]` (`alloc_endpoint.go`).

use super::blocking::{blocking_page, blocking_read};
use super::error::{ApiError, ApiResult};
use super::page::PageKey;
use super::respond::{Ctx, Shared};
use axum::extract::Path;
use axum::http::Method;
use drover_state::Table;
use drover_types::AllocListStub;

/// `GET /v1/allocations?prefix=&namespace=&resources=&task_states=` and the list
/// options.
pub async fn list(ctx: Ctx) -> ApiResult {
    let ns = ctx.params.namespace();
    let prefix = ctx.params.prefix().to_string();
    let resources = ctx.params.flag("resources", false)?;
    let task_states = ctx.params.flag("task_states", true)?;
    blocking_page(&ctx, &[Table::Allocs], PageKey::Id, |v| {
        Ok(v.allocs_by_prefix(&prefix)
            .filter(|a| ns == "*" || a.namespace == ns)
            .map(|a| a.stub(resources, task_states))
            .collect::<Vec<AllocListStub>>())
    })
    .await
}

/// `GET /v1/allocation/:id`, `POST/PUT /v1/allocation/:id/stop`.
pub async fn dispatch(ctx: Ctx, Path(rest): Path<String>) -> ApiResult {
    let write = ctx.method == Method::PUT || ctx.method == Method::POST;
    let get = ctx.method == Method::GET || ctx.method == Method::HEAD;
    match rest.strip_suffix("/stop") {
        Some(id) if write => {
            let delay = ctx.params.flag("no_shutdown_delay", false)?;
            let resp = ctx.backend().alloc_stop(id, delay).await?;
            ctx.write_json(resp.index, &resp)
        }
        Some(_) => Err(ApiError::invalid_method()),
        None if get && !rest.contains('/') => read(&ctx, &rest).await,
        None if rest.contains('/') => Err(ApiError::not_found("404 page not found")),
        None => Err(ApiError::invalid_method()),
    }
}

async fn read(ctx: &Ctx, id: &str) -> ApiResult {
    blocking_read(ctx, &[Table::Allocs], |v| match v.alloc_by_id(id) {
        Some(a) => (Ok(Shared(a.clone())), a.modify_index),
        None => (
            Err(ApiError::not_found("alloc not found")),
            v.index(Table::Allocs),
        ),
    })
    .await
}
