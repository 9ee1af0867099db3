//! A real single-node server (Raft on sled in a tempdir, raft on 127.0.0.1:0, short
//! heartbeat TTLs) behind the `/v1` router through `ServerBackend`, bound to
//! 127.0.0.1:0, and a small HTTP client.
//!
//! [`Server::start`] runs the server with its scheduler workers dequeuing nothing
//! (`enabled_schedulers = []`, a Nomad server setting): every eval a write creates stays
//! `pending`, so tests can observe exactly what each write stored.
//! [`Server::start_scheduling`] runs every scheduler, for tests about placements.

use bytes::Bytes;
use drover_agent::http::{HttpOptions, router_with, serve};
use drover_agent::{AgentInfo, ServerBackend};
use drover_server::ServerConfig;
use drover_types::{Node, NodeStatus};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A running server and its API.
pub struct Server {
    pub addr: SocketAddr,
    /// The server behind the API, for seeding nodes (`node_register`).
    pub server: drover_server::Server,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    server_stop: CancellationToken,
    server_done: Option<JoinHandle<()>>,
    heartbeats: TaskTracker,
    client: Client<HttpConnector, Full<Bytes>>,
    _dir: tempfile::TempDir,
}

/// An answer, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn index(&self) -> u64 {
        self.header("x-nomad-index")
            .unwrap_or_else(|| panic!("no X-Nomad-Index: {:?}", self.headers))
            .parse()
            .expect("numeric index")
    }
}

fn server_config(dir: &Path, scheduling: bool) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.node_name = "drover-test".into();
    c.raft_tick = Duration::from_millis(20);
    c.num_schedulers = 2;
    if !scheduling {
        c.enabled_schedulers = Vec::new();
    }
    c.heartbeat.min_ttl = Duration::from_millis(600);
    c.heartbeat.grace = Duration::from_millis(400);
    c.heartbeat.failover_ttl = Duration::from_secs(2);
    // Slow enough that a test sees a drain in progress before it completes.
    c.drain_interval = Duration::from_secs(2);
    c
}

impl Server {
    /// Schedulers idle: evals stay pending (see the module docs).
    pub async fn start() -> Server {
        Server::launch(HttpOptions::default(), false).await
    }

    pub async fn start_with(opts: HttpOptions) -> Server {
        Server::launch(opts, false).await
    }

    /// Every scheduler running: evals are processed and allocations placed.
    pub async fn start_scheduling() -> Server {
        Server::launch(HttpOptions::default(), true).await
    }

    async fn launch(opts: HttpOptions, scheduling: bool) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let server_stop = CancellationToken::new();
        let (server, server_done) = drover_server::Server::start(
            server_config(dir.path(), scheduling),
            server_stop.clone(),
        )
        .await
        .expect("server starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !server.is_leader() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server leads within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let info = AgentInfo {
            bootstrap_expect: 1,
            client_enabled: false,
            http_addr: Some(addr.to_string()),
            ..AgentInfo::default()
        };
        let backend = Arc::new(ServerBackend::new(server.clone(), info));
        let shutdown = CancellationToken::new();
        let app = router_with(backend, opts);
        let task = tokio::spawn(serve(listener, app, shutdown.clone()));
        Server {
            addr,
            server,
            shutdown,
            task: Some(task),
            server_stop,
            server_done: Some(server_done),
            heartbeats: TaskTracker::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            _dir: dir,
        }
    }

    /// Registers `node` through the server's `Node.Register` and keeps it alive with
    /// heartbeats (`Node.UpdateStatus`) at a third of its TTL, as a client would.
    pub async fn add_node(&self, node: Node) {
        let id = node.id.clone();
        let resp = self
            .server
            .node_register(node)
            .await
            .expect("node registers");
        let ttl = Duration::from_nanos(u64::try_from(resp.heartbeat_ttl).unwrap_or(0));
        let every = (ttl / 3).max(Duration::from_millis(50));
        let (server, stop) = (self.server.clone(), self.server_stop.clone());
        self.heartbeats.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
                if server
                    .node_update_status(&id, NodeStatus::Ready)
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }

    /// Polls `path` until `ok` holds for its JSON (deadline 20 s).
    pub async fn poll(
        &self,
        path: &str,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.get(path).await;
            if r.status == 200 {
                let v = r.json();
                if ok(&v) {
                    return v;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what} at {path}: {}",
                r.text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request and returns the streaming response.
    pub async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> Response<Incoming> {
        let req = Request::builder()
            .method(method)
            .uri(self.url(path))
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .expect("answer within 30 s")
            .expect("HTTP exchange")
    }

    pub async fn call(&self, method: Method, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        let resp = self.send(method, path, body.into()).await;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Vec::new()).await
    }

    pub async fn post_json(&self, path: &str, v: &serde_json::Value) -> Reply {
        self.call(Method::POST, path, serde_json::to_vec(v).expect("json"))
            .await
    }

    /// Registers a job JSON (`{"Job": …}`), asserting success.
    pub async fn register(&self, body: &serde_json::Value) -> Reply {
        let r = self.post_json("/v1/jobs", body).await;
        assert_eq!(r.status, 200, "register: {}", r.text());
        r
    }

    /// Stops the API, then the server, and checks both end cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.task.take() {
            let r = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("API stops within 10 s");
            r.expect("API task").expect("serve result");
        }
        self.server_stop.cancel();
        self.heartbeats.close();
        tokio::time::timeout(Duration::from_secs(10), self.heartbeats.wait())
            .await
            .expect("heartbeats stop within 10 s");
        if let Some(done) = self.server_done.take() {
            tokio::time::timeout(Duration::from_secs(15), done)
                .await
                .expect("server stops within 15 s")
                .expect("server task");
        }
    }
}

impl Drop for Server {
    /// Tests that share the server (`Arc`) never call `stop`: cancel everything.
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.server_stop.cancel();
    }
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

pub fn read(rel: &str) -> String {
    let p = repo_file(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The seed job `bvc` in API JSON.
pub fn seed_job_json() -> serde_json::Value {
    serde_json::from_str(&read("core/types/tests/golden/job-bvc.json")).expect("seed JSON")
}

/// A minimal service job named `id`.
pub fn minimal_job(id: &str) -> serde_json::Value {
    serde_json::json!({"Job": {"ID": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 1,
            "Tasks": [{"Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": ["300"]},
                "Resources": {"CPU": 100, "MemoryMB": 64}}]}]}})
}
