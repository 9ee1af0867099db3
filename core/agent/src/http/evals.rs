//! `/v1/evaluations` and `/v1/evaluation/:id[/allocations]` (`eval_endpoint.go`).

use super::blocking::{blocking_page, blocking_read};
use super::error::{ApiError, ApiResult};
use super::page::PageKey;
use super::respond::{Ctx, Shared};
use axum::extract::Path;
use axum::http::Method;
use drover_state::Table;
use drover_types::{AllocListStub, Evaluation};

/// `GET /v1/evaluations?status=&job=&prefix=&namespace=` and the list options.
pub async fn list(ctx: Ctx) -> ApiResult {
    let ns = ctx.params.namespace();
    let prefix = ctx.params.prefix().to_string();
    let status = ctx.params.get("status").unwrap_or("").to_string();
    let job = ctx.params.get("job").unwrap_or("").to_string();
    blocking_page(&ctx, &[Table::Evals], PageKey::Id, |v| {
        Ok(v.evals_by_prefix(&prefix)
            .filter(|e| ns == "*" || e.namespace == ns)
            .filter(|e| status.is_empty() || e.status.as_str() == status)
            .filter(|e| job.is_empty() || e.job_id == job)
            .map(|e| e.as_ref().clone())
            .collect::<Vec<Evaluation>>())
    })
    .await
}

/// `GET /v1/evaluation/:id`, `GET /v1/evaluation/:id/allocations`.
pub async fn dispatch(ctx: Ctx, Path(rest): Path<String>) -> ApiResult {
    if ctx.method != Method::GET && ctx.method != Method::HEAD {
        return Err(ApiError::invalid_method());
    }
    match rest.strip_suffix("/allocations") {
        Some(id) => {
            let id = id.to_string();
            blocking_page(&ctx, &[Table::Allocs], PageKey::Id, |v| {
                Ok(v.allocs_by_eval(&id)
                    .map(|a| a.stub(false, true))
                    .collect::<Vec<AllocListStub>>())
            })
            .await
        }
        None if rest.contains('/') => Err(ApiError::not_found("404 page not found")),
        None => {
            blocking_read(&ctx, &[Table::Evals], |v| match v.eval_by_id(&rest) {
                Some(e) => (Ok(Shared(e.clone())), e.modify_index),
                None => (
                    Err(ApiError::not_found("eval not found")),
                    v.index(Table::Evals),
                ),
            })
            .await
        }
    }
}
