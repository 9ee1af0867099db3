//! `/v1/nodes` and `/v1/node/:id[/allocations|/eligibility|/drain]`
//! (`node_endpoint.go`). Node objects never carry `SecretID` and gain the `Drain`
//! boolean (Nomad's `nodeExt`).

use super::blocking::{blocking_list, blocking_read};
use super::error::{ApiError, ApiResult};
use super::respond::Ctx;
use super::types::{NodeDrainRequest, NodeEligibilityRequest};
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Method, StatusCode};
use drover_state::Table;
use drover_types::Node;
use drover_types::node::{ClientHostVolume, DriverInfo, NodeReservedResources, NodeResources};
use drover_types::{Allocation, NodeStatus, SchedulingEligibility};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A node as the API shows it: without `SecretID`, with `Drain`.
pub fn node_json(node: &Node) -> Value {
    let mut v = serde_json::to_value(node).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("SecretID");
        m.insert("Drain".into(), Value::Bool(node.drain_strategy.is_some()));
    }
    v
}

/// `NodeListStub`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeListStub<'a> {
    address: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<BTreeMap<&'a str, &'a str>>,
    datacenter: &'a str,
    name: &'a str,
    node_pool: &'a str,
    node_class: &'a str,
    version: &'a str,
    drain: bool,
    scheduling_eligibility: SchedulingEligibility,
    status: NodeStatus,
    status_description: &'a str,
    drivers: &'a BTreeMap<String, DriverInfo>,
    host_volumes: &'a BTreeMap<String, ClientHostVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_resources: Option<&'a NodeResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reserved_resources: Option<&'a NodeReservedResources>,
    last_drain: Option<&'a Value>,
    create_index: u64,
    modify_index: u64,
}

fn attr<'a>(n: &'a Node, k: &str) -> &'a str {
    n.attributes.get(k).map_or("", String::as_str)
}

fn stub(n: &Node, resources: bool, os: bool) -> NodeListStub<'_> {
    NodeListStub {
        address: attr(n, "unique.network.ip-address"),
        id: &n.id,
        attributes: os.then(|| {
            ["os.name", "os.version"]
                .into_iter()
                .filter_map(|k| n.attributes.get_key_value(k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        }),
        datacenter: &n.datacenter,
        name: &n.name,
        node_pool: &n.node_pool,
        node_class: &n.node_class,
        version: attr(n, "nomad.version"),
        drain: n.drain_strategy.is_some(),
        scheduling_eligibility: n.scheduling_eligibility,
        status: n.status,
        status_description: &n.status_description,
        drivers: &n.drivers,
        host_volumes: &n.host_volumes,
        node_resources: if resources {
            n.node_resources.as_ref()
        } else {
            None
        },
        reserved_resources: if resources {
            n.reserved_resources.as_ref()
        } else {
            None
        },
        last_drain: n.last_drain.as_ref(),
        create_index: n.create_index,
        modify_index: n.modify_index,
    }
}

/// `GET /v1/nodes?prefix=&resources=&os=`.
pub async fn list(ctx: Ctx) -> ApiResult {
    let prefix = ctx.params.prefix().to_string();
    let resources = ctx.params.flag("resources", false)?;
    let os = ctx.params.flag("os", false)?;
    blocking_list(&ctx, &[Table::Nodes], |v| {
        let out: Vec<NodeListStub> = v
            .nodes_by_prefix(&prefix)
            .map(|n| stub(n, resources, os))
            .collect();
        serde_json::to_value(&out).map_err(|e| ApiError::internal(e.to_string()))
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
    blocking_list(ctx, &[Table::Allocs], |v| {
        Ok(v.allocs_by_node(id)
            .map(|a| a.as_ref().clone())
            .collect::<Vec<Allocation>>())
    })
    .await
}
