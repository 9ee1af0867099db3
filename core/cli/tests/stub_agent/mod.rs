//! A one-layer test double of an agent's `/v1` HTTP API for the CLI tests: it answers
//! each `METHOD /path` with canned Nomad JSON and records every request, nothing
//! more (no state, no scheduling). The real `drover agent -dev` (`real_agent`) covers
//! what it can produce; this double remains for what it cannot yet: running
//! allocations and resource exhaustion (they need client nodes, which the agent
//! cannot register until the client exists) and the exact request a command sends
//! (headers such as `X-Nomad-Token`, the `Submission` body).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET /v1/jobs?prefix=web`.
    pub line: String,
    /// Lower-cased header names with their values.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer: status and body (JSON, or text/plain for errors).
type Route = (String, u16, String);

pub struct StubAgent {
    addr: SocketAddr,
    routes: Arc<Mutex<Vec<Route>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StubAgent {
    /// Listen on a free loopback port.
    pub fn start() -> StubAgent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub agent");
        let addr = listener.local_addr().expect("stub address");
        let routes: Arc<Mutex<Vec<Route>>> = Arc::default();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, q, s) = (routes.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    serve(conn, &r, &q);
                }
            }
        });
        StubAgent {
            addr,
            routes,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer `METHOD /path` (query ignored) with `status` and `body`; later routes
    /// for the same key replace earlier ones.
    pub fn route(&self, key: &str, status: u16, body: impl Into<String>) {
        let mut routes = self.routes.lock().expect("routes");
        routes.retain(|(k, _, _)| k != key);
        routes.push((key.to_string(), status, body.into()));
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }

    /// The last request whose line starts with `prefix`.
    pub fn last(&self, prefix: &str) -> Recorded {
        self.requests()
            .into_iter()
            .rev()
            .find(|r| r.line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no request {prefix:?} in {:#?}", self.requests()))
    }
}

impl Drop for StubAgent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, routes: &Mutex<Vec<Route>>, requests: &Mutex<Vec<Recorded>>) {
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
        return;
    }
    let line = line
        .trim()
        .trim_end_matches(" HTTP/1.1")
        .trim_end_matches(" HTTP/1.0")
        .to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let key = line.split('?').next().unwrap_or_default().to_string();
    requests.lock().expect("requests").push(Recorded {
        line,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, text) = routes
        .lock()
        .expect("routes")
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, s, b)| (*s, b.clone()))
        .unwrap_or((404, format!("stub agent: no route for {key}")));
    let ctype = if status < 300 {
        "application/json"
    } else {
        "text/plain"
    };
    let reply = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nX-Nomad-Index: 1\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let mut conn = conn;
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.flush();
}
