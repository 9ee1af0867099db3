//! The client end to end: a real `drover agent` (server + client) with a persistent
//! data dir, real raw_exec plugin and executor processes, real tasks. The agent and the
//! plugin are killed with SIGKILL; the tasks must not notice.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::real_agent::{Options, RealAgent, kill_tagged};

mod artifacts;
mod faults;
mod host_stats;

const DEADLINE: Duration = Duration::from_secs(30);

fn drover_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_drover"))
}

/// Registers `hcl` through `/v1/jobs/parse` and `/v1/jobs`.
fn submit(agent: &RealAgent, hcl: &str) {
    let body = serde_json::json!({ "JobHCL": hcl, "Canonicalize": true }).to_string();
    let (code, job) = agent.send("POST", "/v1/jobs/parse", &body).expect("parse");
    assert_eq!(code, 200, "{job}");
    let body = format!("{{\"Job\": {job}}}");
    let (code, resp) = agent.send("PUT", "/v1/jobs", &body).expect("register");
    assert_eq!(code, 200, "{resp}");
}

fn get_json(agent: &RealAgent, path: &str) -> Option<Value> {
    match agent.get(path) {
        Ok((200, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Polls `f` until it returns `Some`, within `DEADLINE`.
fn until<T>(what: &str, agent: &RealAgent, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}\nagent output:\n{}",
            agent.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The job's only allocation, once it exists.
fn the_alloc(agent: &RealAgent, job: &str) -> Value {
    until("an allocation", agent, || {
        let list = get_json(agent, &format!("/v1/job/{job}/allocations"))?;
        let id = list.get(0)?.get("ID")?.as_str()?.to_owned();
        get_json(agent, &format!("/v1/allocation/{id}"))
    })
}

/// The allocation `alloc_id` once its client status is `status`.
fn alloc_with_status(agent: &RealAgent, alloc_id: &str, status: &str) -> Value {
    until(&format!("allocation {alloc_id} {status}"), agent, || {
        let a = get_json(agent, &format!("/v1/allocation/{alloc_id}"))?;
        (a["ClientStatus"] == status).then_some(a)
    })
}

/// The first allocation of `job` once its client status is `status`.
fn job_alloc_with_status(agent: &RealAgent, job: &str, status: &str) -> Value {
    until(&format!("an allocation of {job} {status}"), agent, || {
        let list = get_json(agent, &format!("/v1/job/{job}/allocations"))?;
        let id = list.get(0)?.get("ID")?.as_str()?.to_owned();
        let a = get_json(agent, &format!("/v1/allocation/{id}"))?;
        (a["ClientStatus"] == status).then_some(a)
    })
}

fn alloc_by_id(agent: &RealAgent, id: &str) -> Value {
    until("the allocation", agent, || {
        get_json(agent, &format!("/v1/allocation/{id}"))
    })
}

/// The first event of type `kind` of `task`, or a panic showing the allocation.
fn event<'a>(alloc: &'a Value, task: &str, kind: &str) -> &'a Value {
    alloc["TaskStates"][task]["Events"]
        .as_array()
        .and_then(|evs| evs.iter().find(|e| e["Type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} event: {alloc}"))
}

fn events(alloc: &Value, task: &str) -> Vec<String> {
    alloc["TaskStates"][task]["Events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["Type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, r)| !r.starts_with('Z') && !r.starts_with('X'))
        })
        .unwrap_or(false)
}

/// The pid a task wrote to `path`, once written.
fn read_pid(agent: &RealAgent, path: &Path) -> u32 {
    until("the task's pid file", agent, || {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    })
}

/// The raw_exec plugin process started by the agent (not its executors).
fn raw_exec_plugin_pid(agent: &RealAgent) -> u32 {
    until("the raw_exec plugin process", agent, || {
        for entry in std::fs::read_dir("/proc").ok()? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
            let is_plugin = args.len() == 1 && args[0].ends_with(b"drover-driver-raw-exec");
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, r)| r.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if is_plugin && ppid == Some(agent.pid()) {
                return Some(pid);
            }
        }
        None
    })
}

fn kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

struct Cluster {
    data: tempfile::TempDir,
    opts: Options,
}

impl Cluster {
    fn new(extra_config: &str) -> Cluster {
        let data = tempfile::tempdir().expect("tempdir");
        let opts = Options {
            data_dir: Some(data.path().join("data")),
            extra_config: extra_config.to_owned(),
            ports: None,
            tmpdir: Some(data.path().join("tmp")),
            no_dev: false,
        };
        Cluster { data, opts }
    }

    fn start(&mut self) -> RealAgent {
        let agent = RealAgent::start_with(drover_bin(), &self.opts);
        self.opts.ports = Some(agent.ports());
        agent.wait_for_leader();
        agent
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.data.path().join(rel)
    }
}

impl Drop for Cluster {
    /// Plugins, log collectors and tasks outlive their agent by design: end them.
    fn drop(&mut self) {
        if let Some(t) = &self.opts.tmpdir {
            kill_tagged(t);
        }
    }
}

/// Stops the job (its tasks must end) once a test is done.
fn stop_job(agent: &RealAgent, job: &str) {
    let _ = agent.send("DELETE", &format!("/v1/job/{job}?purge=true"), "");
}

#[test]
fn service_task_survives_20_agent_sigkills() {
    let mut c = Cluster::new("");
    let pid_file = c.path("svc.pid");
    let mut agent = c.start();
    submit(
        &agent,
        &format!(
            r#"job "svc" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo $$ > {}; while true; do echo tick; sleep 0.2; done"]
      }}
    }}
  }}
}}"#,
            pid_file.display()
        ),
    );
    let alloc = the_alloc(&agent, "svc");
    let alloc_id = alloc["ID"].as_str().expect("id").to_owned();
    let pid = read_pid(&agent, &pid_file);
    for round in 0..20 {
        agent.kill9();
        assert!(alive(pid), "round {round}: the task died with the agent");
        agent = c.start();
        // The new agent's client recovered the task: it samples its resource usage
        // through the driver (only a recovered handle allows that) …
        until("the recovered task's stats", &agent, || {
            let s = get_json(&agent, &format!("/v1/client/allocation/{alloc_id}/stats"))?;
            let rss = s["Tasks"]["t"]["ResourceUsage"]["MemoryStats"]["RSS"].as_u64()?;
            (rss > 0).then_some(())
        });
        // … and reports it running (round 0 kills the agent so soon that its first
        // report may not have reached the servers yet), never restarted.
        let a = alloc_with_status(&agent, &alloc_id, "running");
        assert_eq!(a["TaskStates"]["t"]["Restarts"], 0, "round {round}: {a}");
        assert_eq!(
            std::fs::read_to_string(&pid_file).expect("pid").trim(),
            pid.to_string(),
            "round {round}: the task was started again"
        );
        assert!(alive(pid), "round {round}");
    }
    let a = alloc_by_id(&agent, &alloc_id);
    assert_eq!(
        events(&a, "t"),
        ["Received", "Task Setup", "Started"],
        "{a}"
    );
    // The output kept flowing into the log files across the restarts.
    let (code, logs) = agent
        .get(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"
        ))
        .expect("logs");
    assert_eq!(code, 200, "{logs}");
    assert!(logs.lines().filter(|l| *l == "tick").count() > 5, "{logs}");
    stop_job(&agent, "svc");
    until("the task stopped", &agent, || (!alive(pid)).then_some(()));
}

#[test]
fn batch_task_that_exits_while_the_agent_is_down_is_reported() {
    let mut c = Cluster::new("");
    let pid_file = c.path("batch.pid");
    let trigger = c.path("go");
    let mut agent = c.start();
    submit(
        &agent,
        &format!(
            r#"job "once" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo $$ > {pid}; while [ ! -e {go} ]; do sleep 0.05; done; exit 3"]
      }}
    }}
  }}
}}"#,
            pid = pid_file.display(),
            go = trigger.display()
        ),
    );
    let alloc = the_alloc(&agent, "once");
    let alloc_id = alloc["ID"].as_str().expect("id").to_owned();
    let pid = read_pid(&agent, &pid_file);
    alloc_with_status(&agent, &alloc_id, "running");
    agent.kill9();
    std::fs::write(&trigger, "").expect("trigger");
    let started = Instant::now();
    while alive(pid) {
        assert!(started.elapsed() < DEADLINE, "the task did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent = c.start();
    let a = alloc_with_status(&agent, &alloc_id, "failed");
    let terminated = event(&a, "t", "Terminated");
    assert_eq!(terminated["ExitCode"], 3, "{a}");
    assert_eq!(a["TaskStates"]["t"]["State"], "dead");
    assert_eq!(a["TaskStates"]["t"]["Failed"], true);
}

#[test]
fn raw_exec_plugin_sigkill_keeps_the_task_and_its_allocation_running() {
    let mut c = Cluster::new("");
    let pid_file = c.path("p.pid");
    let agent = c.start();
    submit(
        &agent,
        &format!(
            r#"job "p" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo $$ > {}; exec sleep 600"]
      }}
    }}
  }}
}}"#,
            pid_file.display()
        ),
    );
    let alloc_id = the_alloc(&agent, "p")["ID"]
        .as_str()
        .expect("id")
        .to_owned();
    let pid = read_pid(&agent, &pid_file);
    alloc_with_status(&agent, &alloc_id, "running");
    let plugin = raw_exec_plugin_pid(&agent);
    kill(plugin, "-KILL");
    // The supervisor relaunches the plugin and recovers the task: a new plugin
    // process, the same task, and an allocation that stayed running meanwhile.
    let relaunched = until("a new raw_exec plugin", &agent, || {
        let p = raw_exec_plugin_pid(&agent);
        (p != plugin).then_some(p)
    });
    assert_ne!(relaunched, plugin);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let a = alloc_by_id(&agent, &alloc_id);
        assert_eq!(a["ClientStatus"], "running", "{a}");
        assert_eq!(a["TaskStates"]["t"]["Restarts"], 0, "{a}");
        assert!(alive(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The recovered task is still controlled: stopping the job kills it.
    stop_job(&agent, "p");
    until("the task killed", &agent, || (!alive(pid)).then_some(()));
    let a = alloc_with_status(&agent, &alloc_id, "complete");
    assert_eq!(
        events(&a, "t"),
        [
            "Received",
            "Task Setup",
            "Started",
            "Killing",
            "Terminated",
            "Killed"
        ],
        "{a}"
    );
}

#[test]
fn missing_host_volume_path_fails_the_task_with_a_clear_event() {
    let mut c = Cluster::new("");
    let missing = c.path("no-such-dir");
    c.opts.extra_config = format!(
        "client {{\n  host_volume \"data\" {{\n    path = \"{}\"\n  }}\n}}\n",
        missing.display()
    );
    // The directory exists when the node registers and is gone when the task starts.
    std::fs::create_dir_all(&missing).expect("mkdir");
    let agent = c.start();
    std::fs::remove_dir(&missing).expect("rmdir");
    submit(
        &agent,
        r#"job "vol" {
  type = "batch"
  group "g" {
    restart {
      attempts = 0
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    volume "data" {
      type   = "host"
      source = "data"
    }
    task "t" {
      driver = "raw_exec"
      volume_mount {
        volume      = "data"
        destination = "/data"
      }
      config {
        command = "/bin/true"
      }
    }
  }
}"#,
    );
    let a = job_alloc_with_status(&agent, "vol", "failed");
    let msg = event(&a, "t", "Setup Failure")["DisplayMessage"]
        .as_str()
        .unwrap_or_default();
    assert!(
        msg.contains("host volume \"data\"") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn client_only_agent_runs_tasks_for_a_separate_server_agent() {
    // A server agent (no client) and a client-only agent pointed at its RPC port.
    let mut server_cluster =
        Cluster::new("server {\n  enabled = true\n  bootstrap_expect = 1\n}\n");
    server_cluster.opts.no_dev = true;
    let server = server_cluster.start();
    assert_eq!(server.banner("Client"), "false");
    let mut client_cluster = Cluster::new(&format!(
        "client {{\n  enabled = true\n  servers = [\"127.0.0.1:{}\"]\n}}\n\
         plugin \"raw_exec\" {{\n  config {{\n    enabled = true\n  }}\n}}\n",
        server.rpc
    ));
    client_cluster.opts.no_dev = true;
    let client = RealAgent::start_with(drover_bin(), &client_cluster.opts);
    assert_eq!(client.banner("Server"), "false");
    let node_id = client.banner("Node Id");
    // The node registers with the server over the cluster RPC.
    until("the client node ready on the server", &server, || {
        let n = get_json(&server, &format!("/v1/node/{node_id}"))?;
        (n["Status"] == "ready" && n["Drivers"]["raw_exec"]["Healthy"] == true).then_some(())
    });
    // Submitted through the client agent: it forwards server routes (bodies included)
    // to the server agent's HTTP API, as Nomad's client agents do.
    submit(
        &client,
        r#"job "remote" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        args    = ["ran on the client agent"]
      }
    }
  }
}"#,
    );
    let a = job_alloc_with_status(&server, "remote", "complete");
    assert_eq!(a["NodeID"], node_id.as_str(), "{a}");
    let alloc_id = a["ID"].as_str().expect("id");
    // Its files are served by the client agent itself.
    let (code, logs) = client
        .get(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"
        ))
        .expect("logs");
    assert_eq!(code, 200, "{logs}");
    assert_eq!(logs, "ran on the client agent\n");
    // The server agent, which runs no client, forwards them to the node's agent.
    let (code, logs) = server
        .get(&format!(
            "/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true"
        ))
        .expect("logs via the server");
    assert_eq!(code, 200, "{logs}");
    assert_eq!(logs, "ran on the client agent\n");
    let (code, body) = server
        .get(&format!("/v1/client/fs/ls/{alloc_id}?path=/alloc/logs"))
        .expect("ls via the server");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("t.stdout.0"), "{body}");
    // `alloc exec` pointed at the server agent reaches the task on the node's agent.
    submit(
        &server,
        r#"job "svc" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
    }
  }
}"#,
    );
    let svc = job_alloc_with_status(&server, "svc", "running");
    let out = std::process::Command::new(drover_bin())
        .args(["alloc", "exec", "-address", &server.address(), "-i=false"])
        .arg(svc["ID"].as_str().expect("id"))
        .args(["/bin/echo", "exec via the node's agent"])
        .output()
        .expect("drover alloc exec");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "exec via the node's agent\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
    stop_job(&server, "svc");
    // Reads, blocking queries and their headers come back through the client agent.
    let (code, body) = client.get("/v1/jobs").expect("jobs");
    assert_eq!(code, 200, "{body}");
    let jobs: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(jobs[0]["ID"], "remote", "{jobs}");
    let (code, body) = client
        .get(&format!("/v1/allocation/{alloc_id}"))
        .expect("alloc");
    assert_eq!(code, 200, "{body}");
    let (code, body) = client.get("/v1/job/nope").expect("missing job");
    assert_eq!(code, 404, "{body}");
    // The CLI pointed at the client agent works too.
    let out = std::process::Command::new(drover_bin())
        .args(["job", "status", "-address", &client.address(), "remote"])
        .output()
        .expect("drover job status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("complete"), "{text}");
}

#[test]
fn alloc_signal_and_restart_reach_the_running_task() {
    let mut c = Cluster::new("");
    let pid_file = c.path("sig.pid");
    let got = c.path("got-usr1");
    let agent = c.start();
    submit(
        &agent,
        &format!(
            r#"job "sig" {{
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "trap 'touch {got}' USR1; echo $$ > {pid}; while true; do sleep 0.05; done"]
      }}
    }}
  }}
}}"#,
            got = got.display(),
            pid = pid_file.display()
        ),
    );
    let alloc_id = the_alloc(&agent, "sig")["ID"]
        .as_str()
        .expect("id")
        .to_owned();
    let first = read_pid(&agent, &pid_file);
    alloc_with_status(&agent, &alloc_id, "running");
    let (code, body) = agent
        .send(
            "POST",
            &format!("/v1/client/allocation/{alloc_id}/signal"),
            r#"{"Task": "t", "Signal": "SIGUSR1"}"#,
        )
        .expect("signal");
    assert_eq!(code, 200, "{body}");
    until("the trap ran", &agent, || got.exists().then_some(()));
    assert!(alive(first));

    std::fs::remove_file(&pid_file).expect("rm pid");
    let (code, body) = agent
        .send(
            "POST",
            &format!("/v1/client/allocation/{alloc_id}/restart"),
            r#"{"TaskName": "t"}"#,
        )
        .expect("restart");
    assert_eq!(code, 200, "{body}");
    let second = read_pid(&agent, &pid_file);
    assert_ne!(first, second, "restart must start a new process");
    until("the old process gone", &agent, || {
        (!alive(first)).then_some(())
    });
    let a = until("running again", &agent, || {
        let a = get_json(&agent, &format!("/v1/allocation/{alloc_id}"))?;
        (a["ClientStatus"] == "running"
            && events(&a, "t").iter().filter(|e| *e == "Started").count() == 2)
            .then_some(a)
    });
    let evs = events(&a, "t");
    assert!(evs.contains(&"Restart Signaled".to_string()), "{evs:?}");
    let (code, body) = agent
        .send(
            "POST",
            &format!("/v1/client/allocation/{alloc_id}/signal"),
            r#"{"Task": "nope", "Signal": "SIGUSR1"}"#,
        )
        .expect("signal");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("unknown task \"nope\""), "{body}");
    stop_job(&agent, "sig");
    until("the task stopped", &agent, || {
        (!alive(second)).then_some(())
    });
}

#[test]
fn terminal_allocations_are_garbage_collected_by_gc_max_allocs() {
    let mut c = Cluster::new("client {\n  gc_max_allocs = 1\n  gc_interval = \"200ms\"\n}\n");
    let agent = c.start();
    let alloc_root = c.path("data").join("alloc");
    let mut ids = Vec::new();
    for i in 0..3 {
        let job = format!("gc{i}");
        submit(
            &agent,
            &format!(
                r#"job "{job}" {{
  type = "batch"
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/true"
      }}
    }}
  }}
}}"#
            ),
        );
        let a = job_alloc_with_status(&agent, &job, "complete");
        ids.push(a["ID"].as_str().expect("id").to_owned());
    }
    // Three terminal allocations, at most one kept: the oldest directories go.
    until("terminal allocations collected", &agent, || {
        let left = ids.iter().filter(|id| alloc_root.join(id).exists()).count();
        (left <= 1).then_some(())
    });
    for id in &ids[..2] {
        assert!(!alloc_root.join(id).exists(), "the oldest must go first");
    }
    // Collected allocations are not started again by the next allocation update.
    submit(
        &agent,
        r#"job "after" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}"#,
    );
    job_alloc_with_status(&agent, "after", "complete");
    for id in &ids[..2] {
        // A restarted allocation would have its directory built again.
        assert!(!alloc_root.join(id).exists(), "{id} came back");
        let a = alloc_by_id(&agent, id);
        assert_eq!(a["ClientStatus"], "complete", "{a}");
    }
}

#[test]
fn a_task_with_an_unreachable_artifact_fails_clearly_instead_of_starting_without_it() {
    let mut c = Cluster::new("");
    let agent = c.start();
    submit(
        &agent,
        r#"job "art" {
  type = "batch"
  group "g" {
    restart {
      attempts = 0
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      artifact {
        source = "http://127.0.0.1:1/image.tar"
      }
      config {
        command = "/bin/true"
      }
    }
  }
}"#,
    );
    let a = job_alloc_with_status(&agent, "art", "failed");
    let ev = event(&a, "t", "Failed Artifact Download");
    let msg = ev["DisplayMessage"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("failed to download artifact \"http://127.0.0.1:1/image.tar\"")
            && msg.contains("refused"),
        "{msg}"
    );
    assert_eq!(ev["DownloadError"], msg, "{ev}");
    // A refused connection may work next time: the restart policy (no attempts
    // left here) decides, so the event itself does not fail the task.
    assert_eq!(ev["FailsTask"], false, "{ev}");
    assert!(!events(&a, "t").iter().any(|e| e == "Started"), "{a}");
}

/// `drover alloc exec ARGS` against `agent` with `stdin`, within `DEADLINE`:
/// exit code, stdout, stderr.
fn alloc_exec(agent: &RealAgent, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(drover_bin())
        .args(["alloc", "exec"])
        .args(args)
        .env_remove("DROVER_ADDR")
        .env("NOMAD_ADDR", agent.address())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run drover alloc exec");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("drover alloc exec did not end within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    (status.code().unwrap_or(-1), out, err)
}

const EXEC_JOB: &str = r#"job "shell" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do sleep 0.05; done"]
      }
    }
  }
}"#;

#[test]
fn alloc_exec_runs_a_command_in_the_task_with_stdin_and_its_exit_code() {
    let mut c = Cluster::new("");
    let agent = c.start();
    submit(&agent, EXEC_JOB);
    let alloc_id = the_alloc(&agent, "shell")["ID"]
        .as_str()
        .expect("id")
        .to_owned();
    alloc_with_status(&agent, &alloc_id, "running");
    let script = "echo out; echo err >&2; read x; echo got $x; echo task=$NOMAD_TASK_NAME; exit 7";
    let (code, out, err) = alloc_exec(&agent, &[&alloc_id[..8], "sh", "-c", script], "hi\n");
    assert_eq!(code, 7, "stdout {out:?}, stderr {err:?}");
    assert_eq!(out, "out\ngot hi\ntask=t\n", "stderr {err:?}");
    assert_eq!(err, "err\n");

    // Named task, a command whose arguments look like flags, and no input.
    let (code, out, err) = alloc_exec(
        &agent,
        &[
            "-task",
            "t",
            "-i=false",
            &alloc_id,
            "sh",
            "-c",
            "cat; echo -n done",
        ],
        "ignored\n",
    );
    assert_eq!((code, out.as_str()), (0, "done"), "stderr {err:?}");

    // -t: a terminal on the remote side, stderr merged, \r\n line endings.
    let (code, out, err) = alloc_exec(
        &agent,
        &["-t", &alloc_id, "sh", "-c", "echo a; echo b >&2"],
        "",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "a\r\nb\r\n", ""));

    let (code, _, err) = alloc_exec(&agent, &["-task", "nope", &alloc_id, "true"], "");
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    stop_job(&agent, "shell");
}

#[test]
fn alloc_exec_is_refused_when_the_client_disables_remote_exec() {
    let mut c = Cluster::new("client {\n  disable_remote_exec = true\n}\n");
    let agent = c.start();
    submit(&agent, EXEC_JOB);
    let alloc_id = the_alloc(&agent, "shell")["ID"]
        .as_str()
        .expect("id")
        .to_owned();
    alloc_with_status(&agent, &alloc_id, "running");
    let (code, out, err) = alloc_exec(&agent, &[&alloc_id, "echo", "hello"], "");
    assert_eq!(code, 1, "stdout {out:?}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("remote exec is disabled"), "{err}");
    assert!(err.contains("403"), "{err}");
    stop_job(&agent, "shell");
}
