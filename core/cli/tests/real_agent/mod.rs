//! A real `drover agent -dev` process for the end-to-end tests: its HTTP and Raft
//! ports chosen free and written to a config file (`ports { http = N  serf = M }`,
//! the way any user picks ports), its stdout collected by a thread, and SIGTERM to
//! stop it. Dropping it kills a still-running agent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Deadline for the agent to start, elect itself and stop.
const DEADLINE: Duration = Duration::from_secs(30);

pub struct RealAgent {
    child: Child,
    pub http: u16,
    pub rpc: u16,
    pub serf: u16,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    /// Holds the config file and `logs/`.
    pub dir: tempfile::TempDir,
}

/// The body of a raw HTTP/1.1 response, de-chunked when chunked.
fn body_of(text: &str) -> String {
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return String::new();
    };
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// How to start a [`RealAgent`].
#[derive(Default, Clone)]
pub struct Options {
    /// A persistent data dir (`-data-dir`); `None` for dev mode's temporary one.
    pub data_dir: Option<PathBuf>,
    /// HCL appended to the generated config.
    pub extra_config: String,
    /// (http, rpc, serf); free ports when `None`.
    pub ports: Option<(u16, u16, u16)>,
    /// Start without `-dev` (the config must enable the server or the client).
    pub no_dev: bool,
    /// `TMPDIR` of the agent and so of everything it starts (plugins, their socket
    /// dirs, log collectors, raw_exec tasks): [`kill_tagged`] finds them by it.
    pub tmpdir: Option<PathBuf>,
}

/// Kills every process whose environment has `TMPDIR=<tmpdir>`: what agents started
/// with [`Options::tmpdir`] left behind on purpose (plugins and tasks outlive an
/// agent).
pub fn kill_tagged(tmpdir: &Path) {
    let tag = format!("TMPDIR={}", tmpdir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == tag.as_bytes()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl RealAgent {
    /// `drover agent -dev -bind 127.0.0.1 -config <ports and log_file>`, once its
    /// banner says it started.
    pub fn start(drover: &Path) -> RealAgent {
        Self::start_with(drover, &Options::default())
    }

    /// Like [`RealAgent::start`], with `opts`.
    pub fn start_with(drover: &Path, opts: &Options) -> RealAgent {
        let dir = tempfile::tempdir().expect("tempdir");
        let (http, rpc, serf) = opts
            .ports
            .unwrap_or_else(|| (free_port(), free_port(), free_port()));
        let cfg = dir.path().join("ports.hcl");
        let logs = dir.path().join("logs");
        std::fs::write(
            &cfg,
            format!(
                "ports {{\n  http = {http}\n  rpc = {rpc}\n  serf = {serf}\n}}\nlog_file = \"{}/\"\n{}\n",
                logs.display(),
                opts.extra_config
            ),
        )
        .expect("write config");
        let mut cmd = Command::new(drover);
        cmd.arg("agent");
        if !opts.no_dev {
            cmd.arg("-dev");
        }
        cmd.args(["-bind", "127.0.0.1", "-config"]).arg(&cfg);
        if let Some(d) = &opts.data_dir {
            cmd.arg("-data-dir").arg(d);
        }
        if let Some(t) = &opts.tmpdir {
            std::fs::create_dir_all(t).expect("create TMPDIR");
            cmd.env("TMPDIR", t);
        }
        let mut child = cmd
            .env_remove("DROVER_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn drover agent");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            let sink2 = sink.clone();
            let errs = std::thread::spawn(move || {
                if let Some(e) = err {
                    for l in BufReader::new(e).lines().map_while(Result::ok) {
                        sink2.lock().expect("lines").push(l);
                    }
                }
            });
            if let Some(o) = out {
                for l in BufReader::new(o).lines().map_while(Result::ok) {
                    sink.lock().expect("lines").push(l);
                }
            }
            let _ = errs.join();
        });
        let agent = RealAgent {
            child,
            http,
            rpc,
            serf,
            lines,
            reader: Some(reader),
            dir,
        };
        agent.wait_line("the startup banner", |l| {
            l == "==> Drover agent started! Log data will stream in below:"
        });
        agent
    }

    /// The agent's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The ports (http, rpc, serf), to start the next agent on the same ones.
    pub fn ports(&self) -> (u16, u16, u16) {
        (self.http, self.rpc, self.serf)
    }

    /// SIGKILL, and reap it.
    /// The output reader is left to finish on its own: processes the agent started
    /// may still hold its pipes.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.reader.take());
    }

    /// `PUT`/`POST` `path` with a JSON body → (status, body).
    pub fn send(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((status, body_of(&text)))
    }

    /// `http://127.0.0.1:<http>`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// Everything the agent printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    /// The log file under `dir/logs/`.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("logs").join("drover.log")
    }

    fn wait_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(l) = self.lines.lock().expect("lines").iter().find(|l| pred(l)) {
                return l.clone();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The banner line for `key` (`Data Dir`, `Bind Addrs` …), value only.
    pub fn banner(&self, key: &str) -> String {
        let prefix = format!("{key}: ");
        let line = self.wait_line(key, |l| l.trim_start().starts_with(&prefix));
        line.trim_start()[prefix.len()..].to_string()
    }

    /// `GET path` → (status, body), on a fresh connection.
    pub fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        self.send("GET", path, "")
    }

    /// Polls `/v1/status/leader` until it names a leader; returns it.
    pub fn wait_for_leader(&self) -> String {
        let started = Instant::now();
        loop {
            if let Ok((200, body)) = self.get("/v1/status/leader") {
                let leader: String = serde_json::from_str(&body).unwrap_or_default();
                if !leader.is_empty() {
                    return leader;
                }
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no leader within {DEADLINE:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM; waits for the exit. Returns its status, how long it took, and the
    /// whole output.
    pub fn terminate(&mut self) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "agent still running {DEADLINE:?} after SIGTERM:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (status, took, self.output())
    }
}

impl Drop for RealAgent {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
