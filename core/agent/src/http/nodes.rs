//! `/v1/nodes` and `/v1/node/:id[/allocations|/eligibility|/drain]`
//! (`node_endpoint.go`). Node objects never carry `SecretID` and gain the `Drain`
//! boolean (Nomad's `nodeExt`).

use super::blocking::{blocking_page, blocking_read};
use super::error::{ApiError, ApiResult};
use super::page::PageKey;
use super::respond::Ctx;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use drover_state::Table;
use drover_types::api::{NodeDrainRequest, NodeEligibilityRequest, NodeListStub};
use drover_types::{Allocation, Node};
use serde_json::Value;

/// A node as the API shows it: without `SecretID`, with `Drain`.
pub fn node_json(node: &Node) -> Value {
    let mut v = serde_json::to_value(node).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("SecretID");
        m.insert("Drain".into(), Value::Bool(node.drain_strategy.is_some()));
    }
    v
}

/// `GET /v1/nodes?prefix=&resources=&os=` and the list options.
pub async fn list(ctx: Ctx) -> ApiResult {
    let prefix = ctx.params.prefix().to_string();
    let resources = ctx.params.flag("resources", false)?;
    let os = ctx.params.flag("os", false)?;
    blocking_page(&ctx, &[Table::Nodes], PageKey::Id, |v| {
        Ok(v.nodes_by_prefix(&prefix)
            .map(|n| NodeListStub::new(n, resources, os))
            .collect::<Vec<NodeListStub>>())
    })
    .await
}

/// `/v1/node/:id` and its sub-resources.
pub async fn dispatch(ctx: Ctx, Path(rest): Path<String>, body: Body) -> ApiResult {
    let get = ctx.method == Method::GET || ctx.method == Method::HEAD;
    let write = ctx.method == Method::PUT || ctx.method == Method::POST;
    let (id, sub) = match rest.split_once('/') {
        Some((id, sub)) => (id.to_string(), sub),
        None => (rest.clone(), ""),
    };
    match sub {
        "" if get => read(&ctx, &id).await,
        "allocations" if get => allocations(&ctx, &id).await,
        "eligibility" if write => {
            let mut req: NodeEligibilityRequest = ctx.json_body(body).await?;
            req.node_id = id;
            let resp = ctx.backend().node_update_eligibility(req).await?;
            ctx.write_json(resp.index, &resp)
        }
        "drain" if write => {
            let mut req: NodeDrainRequest = ctx.json_body(body).await?;
            req.node_id = id;
            let resp = ctx.backend().node_update_drain(req).await?;
            ctx.write_json(resp.index, &resp)
        }
        "evaluate" | "purge" if write => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("node {sub} is not implemented yet"),
        )),
        "" | "allocations" | "eligibility" | "drain" | "evaluate" | "purge" => {
            Err(ApiError::invalid_method())
        }
        _ => Err(ApiError::not_found("404 page not found")),
    }
}

async fn read(ctx: &Ctx, id: &str) -> ApiResult {
    blocking_read(ctx, &[Table::Nodes], |v| match v.node_by_id(id) {
        Some(n) => (Ok(node_json(n)), n.modify_index),
        None => (
            Err(ApiError::not_found("node not found")),
            v.index(Table::Nodes),
        ),
    })
    .await
}

/// `GET /v1/node/:id/allocations`: full allocations.
async fn allocations(ctx: &Ctx, id: &str) -> ApiResult {
    blocking_page(ctx, &[Table::Allocs], PageKey::Id, |v| {
        Ok(v.allocs_by_node(id)
            .map(|a| a.as_ref().clone())
            .collect::<Vec<Allocation>>())
    })
    .await
}
