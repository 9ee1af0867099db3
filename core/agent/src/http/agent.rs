//! Cluster information: `/v1/agent/{self,members,health}`, `/v1/status/{leader,peers}`,
//! `/v1/regions`, `/v1/operator/raft/configuration` (`agent_endpoint.go`,
//! `status_endpoint.go`, `operator_endpoint.go`).

use super::error::{ApiError, ApiResult};
use super::respond::{Ctx, json_response};
use axum::http::{HeaderMap, StatusCode};

/// `GET /v1/agent/self`.
pub async fn agent_self(ctx: Ctx) -> ApiResult {
    let v = ctx.backend().agent_self().await?;
    ctx.json(&v)
}

/// `GET /v1/agent/members`.
pub async fn members(ctx: Ctx) -> ApiResult {
    let v = ctx.backend().members().await?;
    ctx.json(&v)
}

/// `GET /v1/agent/health?type=client|server`: 500 with the same body when a role is
/// not ok.
pub async fn health(ctx: Ctx) -> ApiResult {
    let mut h = ctx.backend().agent_health().await?;
    match ctx.params.get("type") {
        None | Some("") => {}
        Some("server") => h.client = None,
        Some("client") => h.server = None,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid health type {other:?}: expected client or server"
            )));
        }
    }
    let ok = h.client.iter().chain(h.server.iter()).all(|r| r.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    json_response(ctx.params.pretty(), status, &h, HeaderMap::new())
}

/// `GET /v1/status/leader`: a JSON string, `""` without a leader.
pub async fn leader(ctx: Ctx) -> ApiResult {
    let l = ctx.backend().leader().await?;
    ctx.json(&l.unwrap_or_default())
}

/// `GET /v1/status/peers`.
pub async fn peers(ctx: Ctx) -> ApiResult {
    let p = ctx.backend().peers().await?;
    ctx.json(&p)
}

/// `GET /v1/regions`.
pub async fn regions(ctx: Ctx) -> ApiResult {
    let r = ctx.backend().regions().await?;
    ctx.json(&r)
}

/// `GET /v1/operator/raft/configuration`.
pub async fn raft_configuration(ctx: Ctx) -> ApiResult {
    let c = ctx.backend().raft_configuration().await?;
    ctx.json(&c)
}
