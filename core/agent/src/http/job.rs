//! `/v1/job/:id[/…]` (`JobSpecificRequest`): job IDs may contain `/` (dispatched and
//! periodic children: `parent/dispatch-…`), so, like Nomad, the sub-resource is
//! recognised by the path's suffix and the rest is the job ID.

use super::error::{ApiError, ApiResult};
use super::respond::Ctx;
use super::{job_actions as act, job_reads as read, jobs};
use axum::body::Body;
use axum::extract::Path;
use axum::http::Method;

/// Sub-resources, by path suffix, checked in this order (Nomad's).
const SUFFIXES: &[&str] = &[
    "/evaluate",
    "/allocations",
    "/evaluations",
    "/periodic/force",
    "/plan",
    "/summary",
    "/dispatch",
    "/versions",
    "/revert",
    "/deployments",
    "/deployment",
    "/stable",
    "/scale",
];

fn split(path: &str) -> (&str, &str) {
    for s in SUFFIXES {
        if let Some(id) = path.strip_suffix(s) {
            return (id, s);
        }
    }
    (path, "")
}

fn is_write(m: &Method) -> bool {
    m == Method::PUT || m == Method::POST
}

/// Routes one `/v1/job/{*rest}` request.
pub async fn dispatch(ctx: Ctx, Path(rest): Path<String>, body: Body) -> ApiResult {
    let (id, sub) = split(&rest);
    let ns = ctx.params.namespace();
    let m = ctx.method.clone();
    let get = m == Method::GET || m == Method::HEAD;
    match sub {
        "" if get => read::read(&ctx, &ns, id).await,
        "" if is_write(&m) => jobs::register_at(ctx, body, Some(id)).await,
        "" if m == Method::DELETE => act::deregister(&ctx, &ns, id).await,
        "/allocations" if get => read::allocations(&ctx, &ns, id).await,
        "/evaluations" if get => read::evaluations(&ctx, &ns, id).await,
        "/summary" if get => read::summary(&ctx, &ns, id).await,
        "/versions" if get => read::versions(&ctx, &ns, id).await,
        "/deployments" if get => read::deployments(&ctx, &ns, id).await,
        "/deployment" if get => read::deployment(&ctx, &ns, id).await,
        "/scale" if get => read::scale(&ctx, &ns, id).await,
        "/scale" if is_write(&m) => act::scale(&ctx, body, &ns, id).await,
        "/evaluate" if is_write(&m) => act::evaluate(&ctx, body, &ns, id).await,
        "/plan" if is_write(&m) => act::plan(&ctx, body, &ns, id).await,
        "/dispatch" if is_write(&m) => act::dispatch(&ctx, body, &ns, id).await,
        "/periodic/force" if is_write(&m) => act::periodic_force(&ctx, &ns, id).await,
        "/revert" | "/stable" if is_write(&m) => Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!("{} is not implemented yet", sub.trim_start_matches('/')),
        )),
        _ => Err(ApiError::invalid_method()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_routing_keeps_slashes_in_ids() {
        assert_eq!(split("web"), ("web", ""));
        assert_eq!(split("web/allocations"), ("web", "/allocations"));
        assert_eq!(
            split("batch/dispatch-1700000000-abcd1234/summary"),
            ("batch/dispatch-1700000000-abcd1234", "/summary")
        );
        assert_eq!(split("cron/periodic/force"), ("cron", "/periodic/force"));
        assert_eq!(split("web/deployment"), ("web", "/deployment"));
    }
}
