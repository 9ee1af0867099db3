//! Forwarding API requests to another agent's HTTP API, streaming both ways:
//!
//! * a client-only agent sends the `/v1` requests it cannot answer to a server agent
//!   ([`crate::client_agent_router`]);
//! * any agent with the servers' state sends `/v1/client/fs/*` and
//!   `/v1/client/allocation/:id/*` requests for an allocation that runs on another node
//!   to that node's agent ([`client_routes_layer`]), so a UI pointed at a server reads
//!   every allocation's logs and files, as with Nomad.
//!
//! A forwarded request carries [`FORWARDED`]; an agent never forwards such a request
//! again, so a stale or wrong address cannot make two agents bounce it forever.
//! WebSocket upgrades (`alloc exec`) are not forwarded: `drover alloc exec` talks to
//! the node's agent itself.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::{Backend, ClientApi};

/// Header set on forwarded requests.
pub const FORWARDED: &str = "x-drover-forwarded";

/// The HTTP client forwarded requests go through.
pub(crate) type Forwarder = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    axum::body::Body,
>;

pub(crate) fn forwarder() -> Forwarder {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Whether `req` was forwarded to us already.
pub(crate) fn was_forwarded(req: &Request) -> bool {
    req.headers().contains_key(FORWARDED)
}

/// Sends `req` to the agent whose HTTP API is at `addr`; its answer streams back.
pub(crate) async fn forward(http: &Forwarder, addr: &str, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("http://{addr}{path}").parse() {
        Ok(u) => u,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("the agent address {addr:?} is not usable: {e}"),
            )
                .into_response();
        }
    };
    parts.headers.remove(header::HOST);
    parts
        .headers
        .insert(FORWARDED, HeaderValue::from_static("1"));
    match http.request(Request::from_parts(parts, body)).await {
        Ok(resp) => resp.map(axum::body::Body::new),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("cannot forward the request to the agent at {addr}: {e}"),
        )
            .into_response(),
    }
}

/// The allocation a client route is about: `/v1/client/fs/<op>/<alloc>` or
/// `/v1/client/allocation/<alloc>/<action>`.
fn client_route_alloc(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/client/")?;
    let mut parts = rest.split('/');
    match (parts.next()?, parts.next()?, parts.next()) {
        ("fs", _op, Some(alloc)) if !alloc.is_empty() => Some(alloc),
        ("allocation", alloc, Some(_action)) if !alloc.is_empty() => Some(alloc),
        _ => None,
    }
}

/// Adds the forwarding of client routes for allocations on other nodes to `router`:
/// `backend` holds the servers' state (allocation → node → HTTP address), `client`
/// this agent's own client if it runs one, `own_http` this agent's advertised HTTP
/// address.
pub fn client_routes_layer(
    router: Router,
    backend: Arc<dyn Backend>,
    client: Option<Arc<dyn ClientApi>>,
    own_http: String,
) -> Router {
    let http = forwarder();
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let (backend, client, own, http) = (
                backend.clone(),
                client.clone(),
                own_http.clone(),
                http.clone(),
            );
            async move {
                let target = (!was_forwarded(&req) && !req.headers().contains_key(header::UPGRADE))
                    .then(|| client_route_alloc(req.uri().path()))
                    .flatten()
                    .filter(|alloc| client.as_ref().is_none_or(|c| c.alloc_dir(alloc).is_err()))
                    .and_then(|alloc| {
                        let view = backend.view();
                        let node = view.alloc_by_id(alloc)?.node_id.clone();
                        let addr = view.node_by_id(&node)?.http_addr.clone();
                        (!addr.is_empty() && addr != own).then_some(addr)
                    });
                match target {
                    Some(addr) => forward(&http, &addr, req).await,
                    None => next.run(req).await,
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_allocation_of_client_routes_only() {
        assert_eq!(client_route_alloc("/v1/client/fs/logs/a1"), Some("a1"));
        assert_eq!(client_route_alloc("/v1/client/fs/cat/a1"), Some("a1"));
        assert_eq!(
            client_route_alloc("/v1/client/allocation/a1/stats"),
            Some("a1")
        );
        assert_eq!(client_route_alloc("/v1/client/stats"), None);
        assert_eq!(client_route_alloc("/v1/client/fs/logs/"), None);
        assert_eq!(client_route_alloc("/v1/client/allocation/a1"), None);
        assert_eq!(client_route_alloc("/v1/jobs"), None);
    }
}
