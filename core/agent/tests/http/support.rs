//! A served router and a small HTTP client.

use bytes::Bytes;
use drover_agent::http::{HttpOptions, LocalBackend, router_with, serve};
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

/// A running API server.
pub struct Server {
    pub addr: SocketAddr,
    pub backend: Arc<LocalBackend>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    client: Client<HttpConnector, Full<Bytes>>,
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

impl Server {
    pub async fn start() -> Server {
        Server::start_with(HttpOptions::default()).await
    }

    pub async fn start_with(opts: HttpOptions) -> Server {
        let backend = Arc::new(LocalBackend::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let app = router_with(backend.clone(), opts);
        let task = tokio::spawn(serve(listener, app, shutdown.clone()));
        Server {
            addr,
            backend,
            shutdown,
            task: Some(task),
            client: Client::builder(TokioExecutor::new()).build_http(),
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

    /// Stops the server and checks it ends cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.task.take() {
            let r = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("server stops within 10 s");
            r.expect("server task").expect("serve result");
        }
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
