//! Faults of the node under a real agent: a port held by another process, a full
//! allocation filesystem, a read-only state directory. Each must end in a clear task
//! event or a clear startup error, never a crash; tasks already running are untouched.
//!
//! Full and read-only filesystems are small tmpfs mounts, so those tests need root (or
//! CAP_SYS_ADMIN); where mounting is impossible they print why and skip.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::real_agent::free_port;

/// A tmpfs mounted for one test, unmounted (lazily, tasks may still hold files) on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options` at `path`; `None` (after saying why) when this
    /// machine does not allow it.
    fn mount(path: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => {
                return Some(Tmpfs {
                    path: path.to_owned(),
                });
            }
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => format!("cannot run mount: {e}"),
        };
        eprintln!("skipped: mounting a tmpfs needs root or CAP_SYS_ADMIN ({why})");
        None
    }

    /// Fills every block and every inode: after this, no file or directory can be made.
    fn fill(&self) {
        let filler = self.path.join(".filler");
        std::fs::create_dir_all(&filler).expect("filler dir");
        let mut big = std::fs::File::create(filler.join("blocks")).expect("filler file");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = big.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(28), "filling: {e}");
                break;
            }
        }
        for i in 0.. {
            if let Err(e) = std::fs::File::create(filler.join(i.to_string())) {
                assert_eq!(e.raw_os_error(), Some(28), "filling inodes: {e}");
                break;
            }
        }
    }

    fn free(&self) {
        std::fs::remove_dir_all(self.path.join(".filler")).expect("remove the filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The `Setup Failure` event's message of `task`, or a panic showing the allocation.
fn setup_failure(alloc: &Value, task: &str) -> String {
    event(alloc, task, "Setup Failure")["DisplayMessage"]
        .as_str()
        .unwrap_or_else(|| panic!("no Setup Failure message: {alloc}"))
        .to_owned()
}

/// A batch job that runs once, without restarts or reschedules.
fn once_job(name: &str, network: &str, command: &str) -> String {
    format!(
        r#"job "{name}" {{
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
    ephemeral_disk {{
      size = 10
    }}
    {network}
    task "t" {{
      driver = "raw_exec"
      logs {{
        max_files     = 2
        max_file_size = 1
      }}
      config {{
        command = "/bin/sh"
        args    = ["-c", "{command}"]
      }}
    }}
  }}
}}"#
    )
}

#[test]
fn a_port_held_by_another_process_fails_the_allocation_with_a_clear_event() {
    let mut c = Cluster::new("");
    let agent = c.start();
    // Held on every address, so also on the one the node offers its ports on.
    let held = TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    let ran = c.path("ran");
    submit(
        &agent,
        &once_job(
            "porty",
            &format!("network {{\n      port \"db\" {{\n        static = {port}\n      }}\n    }}"),
            &format!("touch {}", ran.display()),
        ),
    );
    let a = job_alloc_with_status(&agent, "porty", "failed");
    let msg = setup_failure(&a, "t");
    assert!(
        msg.contains("\"db\"") && msg.contains(&port.to_string()) && msg.contains("in use"),
        "{msg}"
    );
    assert!(!ran.exists(), "the task ran although its port was taken");
    // Once the port is free, the same job runs.
    drop(held);
    submit(
        &agent,
        &once_job(
            "porty2",
            &format!("network {{\n      port \"db\" {{\n        static = {port}\n      }}\n    }}"),
            &format!("touch {}", ran.display()),
        ),
    );
    job_alloc_with_status(&agent, "porty2", "complete");
    assert!(ran.exists());
}

#[test]
fn a_full_alloc_filesystem_fails_new_allocations_clearly_and_running_tasks_live_on() {
    let mut c = Cluster::new("");
    // Big enough for the node to offer the jobs' ephemeral disks at fingerprint time;
    // few inodes, so filling it also stops `mkdir`.
    let Some(fs) = Tmpfs::mount(&c.path("allocfs"), "size=64m,nr_inodes=256") else {
        return;
    };
    c.opts.extra_config = format!("client {{\n  alloc_dir = \"{}\"\n}}\n", fs.path.display());
    let pid_file = c.path("chatty.pid");
    let agent = c.start();
    submit(
        &agent,
        &format!(
            r#"job "chatty" {{
  group "g" {{
    ephemeral_disk {{
      size = 10
    }}
    task "t" {{
      driver = "raw_exec"
      logs {{
        max_files     = 2
        max_file_size = 1
      }}
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo $$ > {}; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done"]
      }}
    }}
  }}
}}"#,
            pid_file.display()
        ),
    );
    let chatty = the_alloc(&agent, "chatty")["ID"]
        .as_str()
        .expect("id")
        .to_owned();
    let pid = read_pid(&agent, &pid_file);
    alloc_with_status(&agent, &chatty, "running");

    fs.fill();
    // A new allocation cannot get its directory: it fails, and says why.
    submit(&agent, &once_job("late", "", "true"));
    let a = job_alloc_with_status(&agent, "late", "failed");
    let msg = setup_failure(&a, "t");
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(msg.contains(&fs.path.display().to_string()), "{msg}");
    // The running task does not notice: its output is dropped, it is not blocked
    // or killed, and the agent answers.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(alive(pid), "the running task died when the disk filled");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(alloc_by_id(&agent, &chatty)["ClientStatus"], "running");
    let (code, body) = agent.get("/v1/agent/health").expect("health");
    assert_eq!(code, 200, "{body}");

    // With space again, the log collector writes again and new allocations run.
    fs.free();
    let logs = |agent: &RealAgent| {
        agent
            .get(&format!(
                "/v1/client/fs/logs/{chatty}?task=t&type=stdout&plain=true"
            ))
            .map(|(_, b)| b)
            .unwrap_or_default()
    };
    let last_tick = |text: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix("tick-")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    };
    let before = last_tick(&logs(&agent));
    until(
        "output written again after the disk was freed",
        &agent,
        || (last_tick(&logs(&agent)) > before + 5).then_some(()),
    );
    submit(&agent, &once_job("after", "", "true"));
    job_alloc_with_status(&agent, "after", "complete");
    stop_job(&agent, "chatty");
    until("the task stopped", &agent, || (!alive(pid)).then_some(()));
}

/// Starts an agent with `client_block` that must fail at startup; returns its output.
fn failed_start(c: &Cluster, client_block: &str) -> String {
    let config = c.path("agent.hcl");
    std::fs::write(
        &config,
        format!(
            "{client_block}\nports {{\n  http = {}\n  rpc  = {}\n  serf = {}\n}}\n",
            free_port(),
            free_port(),
            free_port()
        ),
    )
    .expect("config");
    let mut child = Command::new(drover_bin())
        .args(["agent", "-dev", "-config"])
        .arg(&config)
        .env("TMPDIR", c.path("tmp"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run drover agent");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "the agent did not stop within {DEADLINE:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn an_unwritable_client_state_dir_stops_the_agent_with_a_clear_error() {
    let c = Cluster::new("");
    std::fs::create_dir_all(c.path("tmp")).expect("tmp");
    // A path through a regular file: no privileges needed.
    let file = c.path("a-file");
    std::fs::write(&file, "").expect("file");
    let state = file.join("state");
    let text = failed_start(
        &c,
        &format!("client {{\n  state_dir = \"{}\"\n}}", state.display()),
    );
    assert!(
        text.contains(&state.display().to_string()) && text.contains("Not a directory"),
        "{text}"
    );
    // A read-only filesystem.
    let Some(ro) = Tmpfs::mount(&c.path("rofs"), "ro,size=1m") else {
        return;
    };
    let text = failed_start(
        &c,
        &format!("client {{\n  state_dir = \"{}\"\n}}", ro.path.display()),
    );
    assert!(
        text.contains(&ro.path.display().to_string()) && text.contains("Read-only file system"),
        "{text}"
    );
}

#[test]
fn a_full_client_state_disk_fails_new_allocations_instead_of_running_them_unrecorded() {
    let mut c = Cluster::new("");
    let Some(fs) = Tmpfs::mount(&c.path("statefs"), "size=64m,nr_inodes=1024") else {
        return;
    };
    c.opts.extra_config = format!("client {{\n  state_dir = \"{}\"\n}}\n", fs.path.display());
    let agent = c.start();
    fs.fill();
    // A task the client cannot record would be orphaned (and started again) by the next
    // agent restart: the allocation fails before anything runs.
    let ran = c.path("ran");
    submit(
        &agent,
        &once_job("unrecorded", "", &format!("touch {}", ran.display())),
    );
    let a = job_alloc_with_status(&agent, "unrecorded", "failed");
    let msg = setup_failure(&a, "t");
    assert!(
        msg.contains("cannot record the allocation")
            && msg.contains(&fs.path.display().to_string())
            && msg.contains("No space left on device")
            && msg.contains("restart the agent"),
        "{msg}"
    );
    assert!(!ran.exists(), "the task ran without being recorded");
    let (code, body) = agent.get("/v1/agent/health").expect("health");
    assert_eq!(code, 200, "{body}");
}
