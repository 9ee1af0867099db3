//! The fetcher against a real HTTP server on 127.0.0.1 (a std TcpListener
//! answering canned responses), called in-process and over the plugin wire.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use drover_fetcher_http::HttpFetcher;
use drover_plugin_sdk::{ErrorKind, FetchMode, FetchRequest, Fetcher};

/// One canned answer: status line, extra headers, body.
#[derive(Clone)]
struct Canned {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn ok(body: &[u8]) -> Canned {
    Canned {
        status: "200 OK",
        headers: Vec::new(),
        body: body.to_vec(),
    }
}

/// A server answering each path from `routes` (404 otherwise), one
/// connection at a time, recording each request's head.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(routes: Vec<(&'static str, Canned)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let routes: BTreeMap<&str, Canned> = routes.into_iter().collect();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                seen.lock().expect("lock").push(head);
                let canned = routes.get(path.as_str()).cloned().unwrap_or(Canned {
                    status: "404 Not Found",
                    headers: Vec::new(),
                    body: b"no such file".to_vec(),
                });
                let mut out = format!(
                    "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    canned.status,
                    canned.body.len()
                );
                for (k, v) in &canned.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes());
                let _ = stream.write_all(&canned.body);
            }
        });
        Server { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn request(root: &Path, source: String, mode: FetchMode, dest: &str) -> FetchRequest {
    FetchRequest {
        source,
        destination: root.join(dest),
        mode,
        headers: BTreeMap::new(),
        insecure: false,
        root: root.to_path_buf(),
    }
}

/// Every file under `dir`, relative, sorted (temporary files included).
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("under").display().to_string());
            }
        }
    }
    out.sort();
    out
}

const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

#[tokio::test]
async fn any_mode_writes_the_file_under_its_name_and_sends_the_headers() {
    let server = Server::start(vec![("/img/hello.tar", ok(b"hello\n"))]);
    let root = tempfile::tempdir().expect("tempdir");
    let mut req = request(
        root.path(),
        server.url("/img/hello.tar"),
        FetchMode::Any,
        "t/local",
    );
    req.headers.insert("X-Token".into(), "s3cr3t".into());
    let fetched = HttpFetcher::default().fetch(req).await.expect("fetch");
    assert_eq!(fetched.written, vec!["t/local/hello.tar".to_string()]);
    assert_eq!(fetched.bytes, 6);
    assert_eq!(
        std::fs::read(root.path().join("t/local/hello.tar")).expect("read"),
        b"hello\n"
    );
    assert_eq!(files(root.path()), vec!["t/local/hello.tar".to_string()]);
    let head = server.requests.lock().expect("lock")[0].to_ascii_lowercase();
    assert!(head.starts_with("get /img/hello.tar "), "{head}");
    assert!(head.contains("x-token: s3cr3t"), "{head}");
}

#[tokio::test]
async fn a_matching_checksum_passes_and_is_not_sent_to_the_server() {
    let server = Server::start(vec![("/hello.tar", ok(b"hello\n"))]);
    let root = tempfile::tempdir().expect("tempdir");
    let source = format!(
        "{}?checksum=sha256:{HELLO_SHA256}",
        server.url("/hello.tar")
    );
    HttpFetcher::default()
        .fetch(request(root.path(), source, FetchMode::Any, "local"))
        .await
        .expect("fetch");
    assert_eq!(files(root.path()), vec!["local/hello.tar".to_string()]);
    let head = server.requests.lock().expect("lock")[0].clone();
    assert!(head.starts_with("GET /hello.tar HTTP/1.1"), "{head}");
}

#[tokio::test]
async fn a_checksum_mismatch_is_invalid_and_leaves_no_file() {
    let server = Server::start(vec![("/hello.tar", ok(b"tampered\n"))]);
    let root = tempfile::tempdir().expect("tempdir");
    let source = format!(
        "{}?checksum=sha256:{HELLO_SHA256}",
        server.url("/hello.tar")
    );
    let e = HttpFetcher::default()
        .fetch(request(root.path(), source, FetchMode::Any, "local"))
        .await
        .expect_err("mismatch");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message.contains("checksum mismatch") && e.message.contains(HELLO_SHA256),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(&server.url("/hello.tar")),
        "{}",
        e.message
    );
    assert_eq!(files(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn not_found_is_invalid_and_a_server_error_is_retryable() {
    let server = Server::start(vec![(
        "/boom",
        Canned {
            status: "503 Service Unavailable",
            headers: Vec::new(),
            body: Vec::new(),
        },
    )]);
    let root = tempfile::tempdir().expect("tempdir");
    let fetcher = HttpFetcher::default();
    let url = server.url("/missing.tar");
    let e = fetcher
        .fetch(request(root.path(), url.clone(), FetchMode::Any, "local"))
        .await
        .expect_err("404");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message.contains(&url) && e.message.contains("404"),
        "{}",
        e.message
    );
    let e = fetcher
        .fetch(request(
            root.path(),
            server.url("/boom"),
            FetchMode::File,
            "local/boom",
        ))
        .await
        .expect_err("503");
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("503"), "{}", e.message);
    assert_eq!(files(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn file_mode_writes_the_destination_itself_after_a_redirect() {
    let server = Server::start(vec![
        (
            "/latest",
            Canned {
                status: "302 Found",
                headers: vec![("Location".into(), "/v2/app.bin".into())],
                body: Vec::new(),
            },
        ),
        ("/v2/app.bin", ok(b"\x7fELF binary")),
    ]);
    let root = tempfile::tempdir().expect("tempdir");
    let fetched = HttpFetcher::default()
        .fetch(request(
            root.path(),
            server.url("/latest"),
            FetchMode::File,
            "t/local/bin/app",
        ))
        .await
        .expect("fetch");
    assert_eq!(fetched.written, vec!["t/local/bin/app".to_string()]);
    assert_eq!(
        std::fs::read(root.path().join("t/local/bin/app")).expect("read"),
        b"\x7fELF binary"
    );
}

#[tokio::test]
async fn https_dir_mode_and_unreachable_servers_fail_clearly() {
    let root = tempfile::tempdir().expect("tempdir");
    let fetcher = HttpFetcher::default();
    let e = fetcher
        .fetch(request(
            root.path(),
            "https://127.0.0.1:1/a.tar".into(),
            FetchMode::Any,
            "local",
        ))
        .await
        .expect_err("https");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message.contains("https is not supported"),
        "{}",
        e.message
    );
    let e = fetcher
        .fetch(request(
            root.path(),
            "http://127.0.0.1:1/a.tgz".into(),
            FetchMode::Dir,
            "local",
        ))
        .await
        .expect_err("dir");
    assert!(e.message.contains("mode \"dir\""), "{}", e.message);
    // Port 1 on loopback: nothing listens, the connection is refused.
    let e = fetcher
        .fetch(request(
            root.path(),
            "http://127.0.0.1:1/a.tar".into(),
            FetchMode::Any,
            "local",
        ))
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(
        e.message.contains("http://127.0.0.1:1/a.tar") && e.message.contains("refused"),
        "{}",
        e.message
    );
}

/// The binary through the real plugin manager: handshake, `PluginInfo`
/// type FETCHER, `Schemes`, `Fetch`, and INVALID_ARGUMENT across the wire.
#[tokio::test]
async fn the_plugin_binary_serves_schemes_and_fetch() {
    use drover_pluginmgr::{ManagedPlugin, PluginCommand, SupervisorOptions};
    let server = Server::start(vec![("/hello.tar", ok(b"hello\n"))]);
    let root = tempfile::tempdir().expect("tempdir");
    let cmd = PluginCommand::new(env!("CARGO_BIN_EXE_drover-fetcher-http"));
    let plugin = ManagedPlugin::start(cmd, serde_json::json!({}), SupervisorOptions::default())
        .await
        .expect("launch");
    assert_eq!(plugin.name(), "http");
    assert_eq!(
        plugin.current().info().r#type,
        drover_plugin_sdk::proto::v1::PluginType::Fetcher as i32
    );
    let fetcher = plugin.fetcher();
    assert_eq!(fetcher.schemes().await.expect("schemes"), vec!["http"]);
    let wire = |source: String| drover_plugin_sdk::proto::v1::FetchRequest {
        source,
        destination: root.path().join("t/local").display().to_string(),
        root: root.path().display().to_string(),
        ..Default::default()
    };
    let r = fetcher
        .fetch(wire(server.url("/hello.tar")))
        .await
        .expect("fetch");
    assert_eq!(r.written, vec!["t/local/hello.tar".to_string()]);
    assert_eq!(r.bytes, 6);
    let e = fetcher
        .fetch(wire(server.url("/nope.tar")))
        .await
        .expect_err("404");
    let pe = e.plugin_error().expect("an RPC error");
    assert_eq!(pe.kind, ErrorKind::InvalidArgument, "{e}");
    assert!(pe.message.contains("/nope.tar"), "{e}");
    plugin.stop().await.expect("stop");
}

/// A fetcher whose host is gone (here: a shell that started it and exited, as
/// an agent killed with SIGKILL would) shuts down by itself.
#[test]
fn the_plugin_exits_once_its_host_is_gone() {
    use drover_plugin_sdk::proto::handshake::{
        MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSIONS_KEY, SOCKET_DIR_KEY,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let handshake = dir.path().join("handshake");
    // The shell waits for the handshake line (the plugin is serving), prints
    // the plugin's pid and exits, leaving the plugin an orphan.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            r#""$0" > "$1" 2>/dev/null & while ! [ -s "$1" ]; do sleep 0.05; done; echo $!"#,
            env!("CARGO_BIN_EXE_drover-fetcher-http"),
        ])
        .arg(&handshake)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env(PROTOCOL_VERSIONS_KEY, "1")
        .env(SOCKET_DIR_KEY, dir.path())
        .output()
        .expect("sh runs");
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the plugin's pid");
    let line = std::fs::read_to_string(&handshake).expect("handshake");
    assert!(line.starts_with("1|1|unix|"), "{line}");
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !gone(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "plugin {pid} still runs 10 s after its host exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !dir.path().join("plugin.sock").exists(),
        "the socket was not removed"
    );
}
