//! Artifacts end to end: a real agent launches the real `drover-fetcher-http` plugin
//! found next to `drover`, which downloads from an HTTP server on 127.0.0.1 into the
//! task directory before raw_exec starts the task.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::{Cluster, event, events, job_alloc_with_status, stop_job, submit};

/// Serves `body` at `path` (404 elsewhere) until the test process ends.
fn serve(path: &'static str, body: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
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
            let head = String::from_utf8_lossy(&head);
            let asked = head.split(' ').nth(1).unwrap_or("");
            let (status, body): (&str, &[u8]) = if asked == path {
                ("200 OK", body)
            } else {
                ("404 Not Found", b"not here")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    port
}

/// The fetcher plugin must sit next to `drover`, where the agent looks for plugins.
fn require_fetcher() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_drover"));
    let fetcher = exe.with_file_name("drover-fetcher-http");
    assert!(
        fetcher.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --workspace --bins`) first",
        fetcher.display()
    );
}

fn job(name: &str, source: &str, restart_attempts: u32) -> String {
    format!(
        r#"job "{name}" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = {restart_attempts}
      delay    = "1s"
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "raw_exec"
      artifact {{
        source = "{source}"
      }}
      config {{
        command = "/bin/cat"
        args    = ["${{NOMAD_TASK_DIR}}/hello.tar"]
      }}
    }}
  }}
}}"#
    )
}

#[test]
fn a_task_reads_the_artifact_the_http_fetcher_downloaded() {
    require_fetcher();
    let port = serve("/hello.tar", b"hello from the artifact\n");
    let mut c = Cluster::new("");
    let agent = c.start();
    submit(
        &agent,
        &job("art-ok", &format!("http://127.0.0.1:{port}/hello.tar"), 0),
    );
    let a = job_alloc_with_status(&agent, "art-ok", "complete");
    let evs = events(&a, "t");
    let downloading = evs.iter().position(|e| e == "Downloading Artifacts");
    let started = evs.iter().position(|e| e == "Started");
    assert!(
        matches!((downloading, started), (Some(d), Some(s)) if d < s),
        "{evs:?}"
    );
    let alloc_id = a["ID"].as_str().expect("id");
    let (code, logs) = agent
        .get(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"
        ))
        .expect("logs");
    assert_eq!(code, 200, "{logs}");
    assert_eq!(logs, "hello from the artifact\n");
    stop_job(&agent, "art-ok");
}

#[test]
fn a_missing_artifact_fails_the_task_at_once_despite_restart_attempts() {
    require_fetcher();
    let port = serve("/hello.tar", b"unused");
    let mut c = Cluster::new("");
    let agent = c.start();
    let url = format!("http://127.0.0.1:{port}/gone.tar");
    submit(&agent, &job("art-404", &url, 3));
    let a = job_alloc_with_status(&agent, "art-404", "failed");
    let ev = event(&a, "t", "Failed Artifact Download");
    let msg = ev["DownloadError"].as_str().unwrap_or_default();
    assert!(msg.contains(&url) && msg.contains("404"), "{msg}");
    assert_eq!(ev["FailsTask"], true, "{ev}");
    // Not recoverable: no restart was tried.
    let evs = events(&a, "t");
    assert!(
        !evs.iter().any(|e| e == "Restarting" || e == "Started"),
        "{evs:?}"
    );
}
