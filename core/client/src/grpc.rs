//! [`GrpcServers`]: [`crate::ServerRpc`] over the cluster RPC (`drover.cluster.v1`,
//! gRPC on the servers' RPC port, 4647).
//!
//! Connections are made lazily, one channel per server address, kept while the
//! address stays in the list. A call goes to the current server; on a transport
//! error, a timeout or `Unavailable` (no leader, shutting down) it moves on to the
//! next server, trying each once, and fails with [`RpcError::Unavailable`] naming
//! every address tried. Register and heartbeat answers carry the servers' RPC
//! addresses and the leader's: the list becomes those (the leader first), followed by
//! the configured addresses they do not name, so a client can always fall back to
//! its configuration.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use drover_proto::cluster_v1 as pb;
use drover_proto::cluster_v1::client_rpc_client::ClientRpcClient;
use drover_types::api::NodeHeartbeatResponse;
use drover_types::{Allocation, Node, NodeStatus};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::rpc::{AllocEntry, ClientAllocs, RpcError, ServerRpc};

/// The servers' RPC port (Nomad's 4647), added to addresses without one.
pub const DEFAULT_RPC_PORT: u16 = 4647;
/// How long establishing a connection to one server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a call may take, on top of a blocking query's wait.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message accepted (a node's allocations with their jobs): 64 MiB.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The servers, reached over gRPC with failover. Cheap to share (`Arc`).
pub struct GrpcServers {
    /// The addresses given to [`GrpcServers::new`], normalized.
    configured: Vec<String>,
    state: Mutex<State>,
}

struct State {
    /// Failover order.
    servers: Vec<String>,
    /// Index into `servers` of the server calls go to first.
    current: usize,
    /// Lazily connected channels, by address.
    channels: HashMap<String, Channel>,
    /// The HTTP API address the last answering server gave.
    http_addr: Option<String>,
}

impl GrpcServers {
    /// Servers at `servers` (`host:port`, `host`, `[v6]:port`; the port defaults to
    /// 4647). Connects nothing yet. Fails on an empty list or a malformed address,
    /// naming it.
    pub fn new(servers: Vec<String>) -> Result<Self, RpcError> {
        if servers.is_empty() {
            return Err(RpcError::Unavailable(
                "no servers configured: give at least one server address".into(),
            ));
        }
        let mut configured: Vec<String> = Vec::with_capacity(servers.len());
        for (i, s) in servers.iter().enumerate() {
            let addr = normalize_addr(s)
                .map_err(|reason| RpcError::Unavailable(format!("servers[{i}] {s:?}: {reason}")))?;
            if !configured.contains(&addr) {
                configured.push(addr);
            }
        }
        Ok(Self {
            state: Mutex::new(State {
                servers: configured.clone(),
                current: 0,
                channels: HashMap::new(),
                http_addr: None,
            }),
            configured,
        })
    }

    /// The servers in failover order, the one calls go to first at the front.
    pub fn servers(&self) -> Vec<String> {
        let st = self.lock();
        let n = st.servers.len();
        (0..n)
            .map(|i| st.servers[(st.current + i) % n].clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The channel to `addr`, created (unconnected) on first use.
    fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut st = self.lock();
        if let Some(c) = st.channels.get(addr) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("invalid address: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        let channel = endpoint.connect_lazy();
        st.channels.insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }

    /// Makes `addr` the server calls go to first (when it is still in the list).
    fn prefer(&self, addr: &str) {
        let mut st = self.lock();
        if let Some(i) = st.servers.iter().position(|s| s == addr) {
            st.current = i;
        }
    }

    /// Adopts the server list of a register/heartbeat answer from `from`.
    fn learn_http(&self, addr: &str) {
        if !addr.is_empty() {
            self.lock().http_addr = Some(addr.to_owned());
        }
    }

    fn learn(&self, from: &str, servers: &[String], leader: &str) {
        let mut learned: Vec<String> = Vec::new();
        let leader = normalize_addr(leader).ok();
        for s in leader.iter().chain(servers) {
            match normalize_addr(s) {
                Ok(a) if !learned.contains(&a) => learned.push(a),
                Ok(_) => {}
                Err(reason) => {
                    tracing::warn!(server = %from, address = %s, %reason, "ignoring a malformed server address");
                }
            }
        }
        if learned.is_empty() {
            return;
        }
        for c in &self.configured {
            if !learned.contains(c) {
                learned.push(c.clone());
            }
        }
        let mut st = self.lock();
        if st.servers == learned {
            return;
        }
        let first = leader.as_deref().unwrap_or(from);
        st.current = learned.iter().position(|s| s == first).unwrap_or(0);
        st.channels.retain(|addr, _| learned.contains(addr));
        tracing::debug!(servers = ?learned, "server list updated");
        st.servers = learned;
    }

    /// Runs `call` against each server in turn (starting at the current one) until
    /// one answers something other than a transport error, a timeout or
    /// `Unavailable`. Answers the response and the address that gave it.
    async fn call<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        call: F,
    ) -> Result<(T, String), Status>
    where
        F: Fn(ClientRpcClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let order = self.servers();
        let mut tried = Vec::with_capacity(order.len());
        for addr in order {
            let channel = match self.channel(&addr) {
                Ok(c) => c,
                Err(e) => {
                    tried.push(format!("{addr} ({e})"));
                    continue;
                }
            };
            let client = ClientRpcClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES);
            match tokio::time::timeout(timeout, call(client)).await {
                Ok(Ok(resp)) => {
                    self.prefer(&addr);
                    return Ok((resp.into_inner(), addr));
                }
                Ok(Err(status)) if fails_over(&status) => {
                    let why = describe(&status);
                    tracing::debug!(server = %addr, call = what, error = %why, "trying the next server");
                    tried.push(format!("{addr} ({why})"));
                }
                Ok(Err(status)) => return Err(status),
                Err(_) => tried.push(format!("{addr} (no answer within {timeout:?})")),
            }
        }
        Err(Status::unavailable(format!(
            "{what}: tried {}",
            tried.join(", ")
        )))
    }
}

/// Whether a failed call should be retried on another server: the server could not
/// be reached, the connection broke (tonic gives such locally made statuses a
/// source error, whatever their code: an HTTP/2 reset is `Internal`), or the server
/// cannot serve the call now (no leader, shutting down).
fn fails_over(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::Cancelled)
        || std::error::Error::source(status).is_some()
}

/// The status's message and its sources ("tcp connect error: Connection refused").
fn describe(status: &Status) -> String {
    let mut text = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

/// A failure answered by a server (or by every server, as `Unavailable`).
fn rpc_error(what: &str, status: Status) -> RpcError {
    match status.code() {
        Code::Unavailable => RpcError::Unavailable(status.message().to_owned()),
        _ => RpcError::Server(format!("{what}: {}", status.message())),
    }
}

/// `host:port` with the port defaulted to 4647, or why `addr` is not an address.
fn normalize_addr(addr: &str) -> Result<String, String> {
    let addr = addr.trim();
    if addr.is_empty() {
        return Err("empty address".into());
    }
    if addr.contains("://") || addr.contains('/') {
        return Err("expected host or host:port, without a scheme or path".into());
    }
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address in brackets needs a closing ']'")?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{v6:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected ':port' after ']'")?),
        };
        (format!("[{v6}]"), port)
    } else {
        match addr.matches(':').count() {
            0 => (addr.to_owned(), None),
            1 => {
                let (h, p) = addr.split_once(':').unwrap_or((addr, ""));
                (h.to_owned(), Some(p))
            }
            _ => return Err("an IPv6 address needs brackets: [addr]:port".into()),
        }
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "host {host:?} may hold only letters, digits, '.', '-' and '_'"
        ));
    }
    let port = match port {
        None => DEFAULT_RPC_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("port {p:?} must be a number from 1 to 65535")),
        },
    };
    Ok(format!("{host}:{port}"))
}

fn node_status(s: NodeStatus) -> pb::NodeStatus {
    match s {
        NodeStatus::Initializing => pb::NodeStatus::Initializing,
        NodeStatus::Ready => pb::NodeStatus::Ready,
        NodeStatus::Down => pb::NodeStatus::Down,
        NodeStatus::Disconnected => pb::NodeStatus::Disconnected,
    }
}

fn heartbeat_response(r: &pb::HeartbeatResponse) -> NodeHeartbeatResponse {
    NodeHeartbeatResponse {
        heartbeat_ttl: r.heartbeat_ttl_ns,
        eval_ids: r.eval_ids.clone(),
        eval_create_index: r.eval_create_index,
        node_modify_index: r.node_modify_index,
        index: r.index,
    }
}

#[async_trait]
impl ServerRpc for GrpcServers {
    async fn register(&self, node: &Node) -> Result<NodeHeartbeatResponse, RpcError> {
        let node_json = serde_json::to_vec(node)
            .map_err(|e| RpcError::Server(format!("register: encode node {}: {e}", node.id)))?;
        let req = pb::RegisterRequest { node_json };
        let (resp, from) = self
            .call("register", CALL_TIMEOUT, |mut c| {
                let req = req.clone();
                async move { c.register(req).await }
            })
            .await
            .map_err(|s| rpc_error("register", s))?;
        self.learn(&from, &resp.servers, &resp.leader_rpc_addr);
        self.learn_http(&resp.http_addr);
        Ok(heartbeat_response(&resp))
    }

    async fn heartbeat(
        &self,
        node_id: &str,
        status: NodeStatus,
    ) -> Result<NodeHeartbeatResponse, RpcError> {
        let req = pb::HeartbeatRequest {
            node_id: node_id.to_owned(),
            status: node_status(status) as i32,
        };
        let (resp, from) = self
            .call("heartbeat", CALL_TIMEOUT, |mut c| {
                let req = req.clone();
                async move { c.heartbeat(req).await }
            })
            .await
            .map_err(|s| match s.code() {
                Code::NotFound => RpcError::NodeNotFound(node_id.to_owned()),
                _ => rpc_error("heartbeat", s),
            })?;
        self.learn(&from, &resp.servers, &resp.leader_rpc_addr);
        self.learn_http(&resp.http_addr);
        Ok(heartbeat_response(&resp))
    }

    async fn get_allocs(
        &self,
        node_id: &str,
        min_index: u64,
        wait: Duration,
    ) -> Result<ClientAllocs, RpcError> {
        let req = pb::GetAllocsRequest {
            node_id: node_id.to_owned(),
            min_index,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        };
        let (resp, from) = self
            .call("get allocations", wait + CALL_TIMEOUT, |mut c| {
                let req = req.clone();
                async move { c.get_allocs(req).await }
            })
            .await
            .map_err(|s| rpc_error("get allocations", s))?;
        let allocs = resp
            .allocs
            .into_iter()
            .map(|e| {
                let alloc = match e.alloc_json {
                    None => None,
                    Some(b) => Some(Box::new(serde_json::from_slice::<Allocation>(&b).map_err(
                        |err| {
                            RpcError::Server(format!(
                                "get allocations: allocation {} from {from}: malformed JSON: {err}",
                                e.id
                            ))
                        },
                    )?)),
                };
                Ok(AllocEntry {
                    id: e.id,
                    alloc_modify_index: e.alloc_modify_index,
                    alloc,
                })
            })
            .collect::<Result<_, RpcError>>()?;
        Ok(ClientAllocs {
            index: resp.index,
            allocs,
        })
    }

    async fn update_allocs(&self, allocs: Vec<Allocation>) -> Result<u64, RpcError> {
        let allocs_json = allocs
            .iter()
            .map(|a| {
                serde_json::to_vec(a).map_err(|e| {
                    RpcError::Server(format!("update allocations: encode {}: {e}", a.id))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let req = pb::UpdateAllocsRequest { allocs_json };
        let (resp, _) = self
            .call("update allocations", CALL_TIMEOUT, |mut c| {
                let req = req.clone();
                async move { c.update_allocs(req).await }
            })
            .await
            .map_err(|s| rpc_error("update allocations", s))?;
        Ok(resp.index)
    }

    fn server_http_addr(&self) -> Option<String> {
        self.lock().http_addr.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = [
            ("10.0.0.1", "10.0.0.1:4647"),
            (" 10.0.0.1:9000 ", "10.0.0.1:9000"),
            ("server-1.example", "server-1.example:4647"),
            ("[::1]", "[::1]:4647"),
            ("[::1]:1", "[::1]:1"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_addr(input).as_deref(), Ok(want), "{input}");
        }
        let bad = [
            ("", "empty"),
            ("http://a:1", "scheme"),
            ("a:0", "port \"0\""),
            ("a:70000", "port \"70000\""),
            ("a:", "port \"\""),
            (":4647", "missing host"),
            ("::1", "brackets"),
            ("[::1", "closing"),
            ("[zz]:1", "not an IPv6"),
            ("a b:1", "may hold only"),
        ];
        for (input, want) in bad {
            let err = normalize_addr(input).expect_err(input);
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn new_rejects_empty_and_malformed() {
        assert!(matches!(
            GrpcServers::new(vec![]),
            Err(RpcError::Unavailable(m)) if m.contains("no servers")
        ));
        let err = GrpcServers::new(vec!["a:1".into(), "b:x".into()])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("servers[1] \"b:x\""), "{err}");
        let s = GrpcServers::new(vec!["a".into(), "b:1".into(), "a:4647".into()]).expect("valid");
        assert_eq!(s.servers(), ["a:4647", "b:1"]);
    }

    #[test]
    fn learns_servers_leader_first_keeping_configured() {
        let s = GrpcServers::new(vec!["a:1".into()]).expect("valid");
        s.learn("a:1", &["b:2".into(), "c:3".into()], "c:3");
        assert_eq!(s.servers(), ["c:3", "b:2", "a:1"]);
        s.learn("c:3", &[], "");
        assert_eq!(
            s.servers(),
            ["c:3", "b:2", "a:1"],
            "an empty answer changes nothing"
        );
    }
}
