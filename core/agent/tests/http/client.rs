//! `/v1/client/*` over a real server and a fake `ClientApi` whose allocation is a real
//! directory built by `drover_client::AllocDir`, with log files written by
//! `drover_client::FileRotator` (the writer logmon uses): logs plain and framed, with
//! offsets, origin, follow and rotation; ls/stat/cat/readat; paths kept inside the
//! allocation; stats, restart and signal; 404 for unknown allocations; 400 without a
//! client.

use crate::support::Server;
use async_trait::async_trait;
use base64::Engine;
use drover_agent::http::client::NO_CLIENT;
use drover_agent::http::client::exec::{ExecInput, ExecOutput, ExecQuery};
use drover_agent::http::{ClientApi, ClientApiError, HttpOptions};
use drover_client::{AllocDir, FileRotator};
use drover_proto::v1;
use drover_types::api::client::{
    AllocFileInfo, AllocResourceUsage, HostMemoryStats, HostStats, MemoryStats, ResourceUsage,
    StreamFrame, TaskResourceUsage,
};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::Incoming;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const ALLOC: &str = "5b2f8a0e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";

/// A client that knows one allocation and records the writes it is asked for.
pub(crate) struct FakeClient {
    alloc_dir: PathBuf,
    calls: Mutex<Vec<String>>,
}

#[async_trait]
impl ClientApi for FakeClient {
    fn alloc_dir(&self, alloc_id: &str) -> Result<PathBuf, ClientApiError> {
        if alloc_id != ALLOC {
            return Err(ClientApiError::NotFound(format!(
                "Unknown allocation {alloc_id:?}"
            )));
        }
        AllocDir::new(&self.alloc_dir, alloc_id)
            .map(|d| d.path().to_owned())
            .map_err(|e| ClientApiError::Internal(e.to_string()))
    }

    async fn alloc_stats(&self, alloc_id: &str) -> Result<AllocResourceUsage, ClientApiError> {
        self.known(alloc_id)?;
        let usage = ResourceUsage {
            memory_stats: Some(MemoryStats {
                rss: 4096,
                measured: vec!["RSS".into()],
                ..MemoryStats::default()
            }),
            cpu_stats: None,
        };
        let mut out = AllocResourceUsage {
            resource_usage: Some(usage.clone()),
            timestamp: 7,
            ..AllocResourceUsage::default()
        };
        out.tasks.insert(
            "web".into(),
            TaskResourceUsage {
                resource_usage: Some(usage),
                timestamp: 7,
                ..TaskResourceUsage::default()
            },
        );
        self.record(format!("stats {alloc_id}"));
        Ok(out)
    }

    async fn host_stats(&self) -> Result<HostStats, ClientApiError> {
        Ok(HostStats {
            memory: Some(HostMemoryStats {
                total: 8 << 30,
                ..HostMemoryStats::default()
            }),
            uptime: 42,
            ..HostStats::default()
        })
    }

    async fn restart(
        &self,
        alloc_id: &str,
        task: Option<String>,
        all_tasks: bool,
    ) -> Result<(), ClientApiError> {
        self.known(alloc_id)?;
        if task.as_deref() == Some("nope") {
            return Err(ClientApiError::NotFound("task \"nope\" not found".into()));
        }
        self.record(format!("restart {alloc_id} {task:?} {all_tasks}"));
        Ok(())
    }

    async fn signal(
        &self,
        alloc_id: &str,
        task: Option<String>,
        signal: String,
    ) -> Result<(), ClientApiError> {
        self.known(alloc_id)?;
        self.record(format!("signal {alloc_id} {task:?} {signal}"));
        Ok(())
    }

    /// A scripted session: stdin comes back on stdout, a terminal size as a line on
    /// stdout, and the stdin close ends it with `bye` on stderr and exit code 7.
    /// Command `fail` ends with a driver error instead.
    async fn exec(
        &self,
        alloc_id: &str,
        query: ExecQuery,
        input: ExecInput,
    ) -> Result<ExecOutput, ClientApiError> {
        self.known(alloc_id)?;
        if query.task != "web" {
            return Err(ClientApiError::NotFound(format!(
                "unknown task {:?}",
                query.task
            )));
        }
        self.record(format!(
            "exec {alloc_id} {} {:?} tty={}",
            query.task, query.command, query.tty
        ));
        let fail = query.command[0] == "fail";
        let answers = input
            .flat_map(move |r| {
                let mut out = Vec::new();
                if let Some(s) = r.tty_size {
                    out.push(io(
                        true,
                        format!("size {}x{}\n", s.height, s.width).into_bytes(),
                    ));
                }
                if let Some(op) = r.stdin {
                    if !op.data.is_empty() {
                        out.push(io(true, op.data));
                    }
                    if op.close && fail {
                        out.push(Err(ClientApiError::Internal("the driver failed".into())));
                    } else if op.close {
                        out.push(io(false, b"bye".to_vec()));
                        out.push(Ok(v1::ExecTaskStreamingResponse {
                            exited: true,
                            result: Some(v1::ExitResult {
                                exit_code: 7,
                                ..Default::default()
                            }),
                            ..Default::default()
                        }));
                    }
                }
                futures::stream::iter(out)
            })
            .boxed();
        Ok(answers)
    }
}

fn io(stdout: bool, data: Vec<u8>) -> Result<v1::ExecTaskStreamingResponse, ClientApiError> {
    let op = Some(v1::ExecTaskStreamingIoOperation { data, close: false });
    Ok(if stdout {
        v1::ExecTaskStreamingResponse {
            stdout: op,
            ..Default::default()
        }
    } else {
        v1::ExecTaskStreamingResponse {
            stderr: op,
            ..Default::default()
        }
    })
}

impl FakeClient {
    fn known(&self, alloc_id: &str) -> Result<(), ClientApiError> {
        self.alloc_dir(alloc_id).map(drop)
    }
    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }
}

/// A server whose client has allocation `ALLOC` with task `web`.
pub(crate) struct Fixture {
    pub(crate) server: Server,
    pub(crate) fake: Arc<FakeClient>,
    alloc: AllocDir,
    dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let alloc_root = dir.path().join("alloc");
        let alloc = AllocDir::new(&alloc_root, ALLOC).expect("alloc dir");
        alloc.build().expect("build alloc dir");
        alloc.build_task("web").expect("build task dir");
        let fake = Arc::new(FakeClient {
            alloc_dir: alloc_root,
            calls: Mutex::default(),
        });
        let opts = HttpOptions {
            client: Some(fake.clone()),
            ..HttpOptions::default()
        };
        Fixture {
            server: Server::start_with(opts).await,
            fake,
            alloc,
            dir,
        }
    }

    fn logs_dir(&self) -> PathBuf {
        self.alloc.logs_dir()
    }

    async fn logs(&self, query: &str) -> crate::support::Reply {
        self.server
            .get(&format!("/v1/client/fs/logs/{ALLOC}?{query}"))
            .await
    }
}

/// Writes `chunks` through a rotator of 8-byte files, as logmon would.
fn write_rotated(dir: &Path, base: &str, chunks: &[&str]) {
    let mut r = FileRotator::open(dir, base, 10, 8).expect("rotator");
    for c in chunks {
        r.write_all(c.as_bytes()).expect("write log");
    }
}

fn frames(body: &[u8]) -> Vec<StreamFrame> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<StreamFrame>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "not a frame stream ({e}): {}",
                String::from_utf8_lossy(body)
            )
        })
}

fn decode(f: &StreamFrame) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(&f.data)
        .expect("base64 data")
}

#[tokio::test]
async fn logs_plain_and_framed_across_rotated_files() {
    let fx = Fixture::start().await;
    write_rotated(
        &fx.logs_dir(),
        "web.stdout",
        &["one\ntwo\n", "three\n", "four\n"],
    );
    std::fs::write(fx.logs_dir().join("web.stderr.0"), "oops\n").expect("stderr");
    let names: Vec<String> = (0..3).map(|i| format!("web.stdout.{i}")).collect();
    for n in &names {
        assert!(fx.logs_dir().join(n).is_file(), "rotation made {n}");
    }

    let r = fx.logs("task=web&type=stdout&plain=true").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "one\ntwo\nthree\nfour\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = fx.logs("task=web&type=stdout&plain=true&offset=4").await;
    assert_eq!(r.text(), "two\nthree\nfour\n");
    let r = fx
        .logs("task=web&type=stdout&plain=true&origin=end&offset=8")
        .await;
    assert_eq!(r.text(), "ee\nfour\n");
    let r = fx.logs("task=web&type=stderr&plain=true").await;
    assert_eq!(r.text(), "oops\n");

    // Framed: one frame per file read, Offset just after the data.
    let r = fx.logs("task=web&type=stdout").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let fs = frames(&r.body);
    let files: Vec<&str> = fs.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "alloc/logs/web.stdout.0",
            "alloc/logs/web.stdout.1",
            "alloc/logs/web.stdout.2"
        ]
    );
    let data: Vec<u8> = fs.iter().flat_map(decode).collect();
    assert_eq!(data, b"one\ntwo\nthree\nfour\n");
    assert_eq!(fs[0].offset, 8);
    let r = fx.logs("task=web&type=stdout&offset=10").await;
    let fs = frames(&r.body);
    assert_eq!(fs.len(), 2, "{fs:?}");
    // Byte 10 is in web.stdout.1 ("three\nfo"), at its offset 2.
    assert_eq!((fs[0].offset, decode(&fs[0])), (8, b"ree\nfo".to_vec()));
    assert_eq!((fs[1].offset, decode(&fs[1])), (3, b"ur\n".to_vec()));
    fx.server.stop().await;
}

#[tokio::test]
async fn logs_bad_requests_and_unknown_allocations() {
    let fx = Fixture::start().await;
    std::fs::write(fx.logs_dir().join("web.stdout.0"), "x\n").expect("log");
    for (query, code, text) in [
        ("type=stdout", 400, "must provide task name"),
        ("task=web", 400, "must provide log type (stdout or stderr)"),
        (
            "task=web&type=stdin",
            400,
            "invalid log type \"stdin\": must be \"stdout\" or \"stderr\"",
        ),
        (
            "task=web&type=stdout&origin=middle",
            400,
            "origin must be start or end",
        ),
        (
            "task=web&type=stdout&offset=-3",
            400,
            "offset must be zero or positive, found -3",
        ),
        (
            "task=../web&type=stdout",
            400,
            "invalid task name \"../web\"",
        ),
        (
            "task=db&type=stdout",
            404,
            "log entry for task \"db\" and log type \"stdout\" not found",
        ),
    ] {
        let r = fx.logs(query).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (code, text),
            "{query}"
        );
    }
    let r = fx
        .server
        .get("/v1/client/fs/logs/0000?task=web&type=stdout")
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "Unknown allocation \"0000\"")
    );
    fx.server.stop().await;
}

/// Reads a streaming body until `want` holds for what arrived, within 10 s.
async fn read_until(
    body: &mut Incoming,
    got: &mut Vec<u8>,
    what: &str,
    want: impl Fn(&[u8]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !want(got) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {what}; got {:?}",
                    String::from_utf8_lossy(got)
                )
            })
            .unwrap_or_else(|| panic!("stream ended before {what}"))
            .expect("body frame");
        if let Ok(data) = frame.into_data() {
            got.extend_from_slice(&data);
        }
    }
}

#[tokio::test]
async fn follow_streams_appended_and_rotated_bytes_until_shutdown() {
    let fx = Fixture::start().await;
    let dir = fx.logs_dir();
    write_rotated(&dir, "web.stdout", &["old\n"]);
    let path = format!(
        "/v1/client/fs/logs/{ALLOC}?task=web&type=stdout&plain=true&follow=true&origin=end&offset=0"
    );
    let resp = fx.server.send(Method::GET, &path, Vec::new()).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut got = Vec::new();
    // Appended in the same file, then across a rotation to .1 and .2.
    write_rotated(&dir, "web.stdout", &["new\n"]);
    read_until(&mut body, &mut got, "the appended line", |g| g == b"new\n").await;
    write_rotated(&dir, "web.stdout", &["rotated\n", "again\n"]);
    assert!(dir.join("web.stdout.2").is_file());
    read_until(&mut body, &mut got, "the rotated lines", |g| {
        g == b"new\nrotated\nagain\n"
    })
    .await;

    // Framed follow sends `{}` heartbeats while idle.
    let path = format!("/v1/client/fs/logs/{ALLOC}?task=web&type=stdout&follow=true&origin=end");
    let resp = fx.server.send(Method::GET, &path, Vec::new()).await;
    let mut framed = resp.into_body();
    let mut beats = Vec::new();
    read_until(&mut framed, &mut beats, "a heartbeat", |g| {
        g.starts_with(b"{}")
    })
    .await;

    // Shutdown ends both followed streams.
    fx.server.stop().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for b in [&mut body, &mut framed] {
        loop {
            match tokio::time::timeout_at(deadline, b.frame()).await {
                Err(_) => panic!("the followed stream outlived the server"),
                Ok(None | Some(Err(_))) => break,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

#[tokio::test]
async fn fs_ls_stat_cat_readat_inside_the_alloc_dir_only() {
    let fx = Fixture::start().await;
    let local = fx.alloc.task_dir("web").expect("task dir").local_dir;
    std::fs::write(local.join("index.html"), "<h1>hello</h1>\n").expect("file");
    let outside = fx.dir.path().join("secret.txt");
    std::fs::write(&outside, "s3cret").expect("secret");
    std::os::unix::fs::symlink(&outside, local.join("leak")).expect("symlink");
    drover_client::logmon::create_fifo(&fx.alloc.fifo_path("web", drover_client::LogKind::Stdout))
        .expect("fifo");
    let s = &fx.server;
    let url = |op: &str, q: &str| format!("/v1/client/fs/{op}/{ALLOC}?{q}");

    let r = s.get(&url("ls", "")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let entries: Vec<AllocFileInfo> = serde_json::from_slice(&r.body).expect("ls JSON");
    let names: Vec<(&str, bool)> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.is_dir))
        .collect();
    assert_eq!(names, [("alloc", true), ("web", true)]);
    let r = s.get(&url("ls", "path=/alloc")).await;
    let entries: Vec<AllocFileInfo> = serde_json::from_slice(&r.body).expect("ls JSON");
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["data", "logs", "tmp"]);
    assert_eq!(entries[1].file_mode, "drwxrwxrwx");
    let r = s.get(&url("ls", "path=alloc/logs")).await;
    let entries: Vec<AllocFileInfo> = serde_json::from_slice(&r.body).expect("ls JSON");
    assert_eq!(
        entries
            .iter()
            .map(|e| (
                e.name.as_str(),
                e.file_mode.as_str(),
                e.content_type.as_str()
            ))
            .collect::<Vec<_>>(),
        [(".web.stdout.fifo", "prw-------", "")]
    );

    let r = s.get(&url("stat", "path=web/local/index.html")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let info: AllocFileInfo = serde_json::from_slice(&r.body).expect("stat JSON");
    assert_eq!(
        (
            info.name.as_str(),
            info.size,
            info.is_dir,
            info.content_type.as_str()
        ),
        ("index.html", 15, false, "text/plain; charset=utf-8")
    );
    assert!(
        info.mod_time.ends_with('Z') && info.mod_time.contains('T'),
        "{}",
        info.mod_time
    );

    let r = s.get(&url("cat", "path=web/local/index.html")).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (200, "<h1>hello</h1>\n")
    );
    let r = s
        .get(&url("readat", "path=web/local/index.html&offset=4&limit=5"))
        .await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "hello"));
    let r = s
        .get(&url(
            "readat",
            "path=web/local/index.html&offset=100&limit=5",
        ))
        .await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, ""));

    for (u, code, text) in [
        (url("cat", ""), 400, "must provide a file path".to_string()),
        (url("readat", "path=web/local/index.html&limit=5"), 400, "must provide offset".into()),
        (url("cat", "path=web/local"), 400, "path \"web/local\" is a directory, not a file".into()),
        (url("ls", "path=web/local/index.html"), 400, "path \"web/local/index.html\" is a file, not a directory".into()),
        (
            url("cat", "path=alloc/logs/.web.stdout.fifo"),
            400,
            "path \"alloc/logs/.web.stdout.fifo\" is not a regular file".into(),
        ),
        (url("stat", "path=web/nope"), 404, "file not found: \"web/nope\"".into()),
        (
            url("cat", "path=../../secret.txt"),
            400,
            "path \"../../secret.txt\" escapes the allocation directory: \"..\" climbs above its root".into(),
        ),
        (
            url("cat", "path=web/local/leak"),
            403,
            "path \"web/local/leak\" resolves outside the allocation directory".into(),
        ),
        (
            url("stat", "path=web/local/leak"),
            403,
            "path \"web/local/leak\" resolves outside the allocation directory".into(),
        ),
        // Absolute paths are relative to the allocation directory: never the host's.
        (url("cat", &format!("path={}", outside.display())), 404, format!("file not found: {:?}", outside.display().to_string())),
        ("/v1/client/fs/ls/nope?path=/".to_string(), 404, "Unknown allocation \"nope\"".into()),
    ] {
        let r = s.get(&u).await;
        assert_eq!((r.status.as_u16(), r.text()), (code, text), "{u}");
    }
    // The symlink itself is listed, not followed.
    let r = s.get(&url("ls", "path=web/local")).await;
    let entries: Vec<AllocFileInfo> = serde_json::from_slice(&r.body).expect("ls JSON");
    let leak = entries
        .iter()
        .find(|e| e.name == "leak")
        .expect("leak listed");
    assert!(leak.file_mode.starts_with('L'), "{leak:?}");
    fx.server.stop().await;
}

#[tokio::test]
async fn stats_restart_signal_and_no_client() {
    let fx = Fixture::start().await;
    let s = &fx.server;
    let r = s.get(&format!("/v1/client/allocation/{ALLOC}/stats")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["Tasks"]["web"]["ResourceUsage"]["MemoryStats"]["RSS"],
        4096
    );
    assert_eq!(v["ResourceUsage"]["MemoryStats"]["Measured"][0], "RSS");
    let r = s.get("/v1/client/stats").await;
    assert_eq!(
        (r.status.as_u16(), r.json()["Uptime"].as_u64()),
        (200, Some(42))
    );
    assert_eq!(r.json()["Memory"]["Total"], 8u64 << 30);

    let restart = format!("/v1/client/allocation/{ALLOC}/restart");
    let signal = format!("/v1/client/allocation/{ALLOC}/signal");
    let r = s
        .post_json(&restart, &serde_json::json!({"TaskName": "web"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.call(Method::PUT, &restart, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .post_json(
            &restart,
            &serde_json::json!({"TaskName": "web", "AllTasks": true}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("cannot both be set"), "{}", r.text());
    let r = s
        .post_json(&restart, &serde_json::json!({"TaskName": "nope"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "task \"nope\" not found")
    );
    let r = s
        .post_json(
            &signal,
            &serde_json::json!({"Task": "web", "Signal": "sighup"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.call(Method::POST, &signal, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.call(Method::POST, &signal, "{\"Signal\": 9}").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().starts_with("Signal: invalid type"), "{}", r.text());
    let r = s.get(&restart).await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (405, "Invalid method")
    );
    let r = s
        .post_json("/v1/client/allocation/nope/restart", &serde_json::json!({}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (404, "Unknown allocation \"nope\"")
    );
    assert_eq!(
        fx.fake.calls(),
        [
            format!("stats {ALLOC}"),
            format!("restart {ALLOC} Some(\"web\") false"),
            format!("restart {ALLOC} None false"),
            format!("signal {ALLOC} Some(\"web\") SIGHUP"),
            format!("signal {ALLOC} None SIGKILL"),
        ]
    );
    fx.server.stop().await;

    // A server-only agent: every client route is a 400 that says why.
    let s = Server::start().await;
    for (method, path) in [
        (
            Method::GET,
            format!("/v1/client/fs/logs/{ALLOC}?task=web&type=stdout"),
        ),
        (Method::GET, format!("/v1/client/fs/ls/{ALLOC}")),
        (Method::GET, format!("/v1/client/fs/cat/{ALLOC}?path=x")),
        (Method::GET, "/v1/client/stats".to_string()),
        (Method::GET, format!("/v1/client/allocation/{ALLOC}/stats")),
        (
            Method::POST,
            format!("/v1/client/allocation/{ALLOC}/restart"),
        ),
        (
            Method::POST,
            format!("/v1/client/allocation/{ALLOC}/signal"),
        ),
    ] {
        let r = s.call(method, &path, Vec::new()).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (400, NO_CLIENT),
            "{path}"
        );
    }
    s.stop().await;
}
