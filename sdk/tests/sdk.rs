//! The SDK through the real wire: the `hello-driver` example runs as a real
//! process with the environment a host gives it, and the test talks gRPC to
//! it over its unix socket, as the agent would.
//!
//! `cargo test -p drover-plugin-sdk` builds the example first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use drover_plugin_sdk::proto::handshake::{
    HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, NOT_A_PROGRAM, PROTOCOL_VERSIONS_KEY,
    SOCKET_DIR_KEY,
};
use drover_plugin_sdk::proto::v1::{
    self, controller_client::ControllerClient, driver_client::DriverClient,
    plugin_client::PluginClient,
};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// Upper bound for anything the test waits on.
const DEADLINE: Duration = Duration::from_secs(20);

/// `target/debug/examples/hello-driver`, next to this test's `deps/` dir.
fn hello_driver() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("examples").join("hello-driver");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p drover-plugin-sdk --example hello-driver`",
        bin.display()
    );
    bin
}

/// The plugin command with exactly `env` (plus a PATH).
fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(hello_driver());
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Run a plugin that should refuse to start; its exit code and stderr.
async fn refused(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let child = command(env).spawn().expect("spawn");
    let out = tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("plugin exits")
        .expect("output");
    assert!(out.stdout.is_empty(), "no handshake line expected");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running plugin and the clients to talk to it.
struct Plugin {
    child: Child,
    socket: PathBuf,
    stderr: watch::Receiver<Vec<String>>,
    channel: Channel,
    /// Task directories, output files (and the socket dir, when we gave one).
    root: tempfile::TempDir,
}

impl Plugin {
    async fn start(socket_dir: bool) -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let sock_dir = root.path().join("s");
        std::fs::create_dir(&sock_dir).expect("socket dir");
        let dir = sock_dir.to_str().expect("utf-8 path");
        let mut env = vec![
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "1"),
            ("DROVER_PLUGIN_LOG", "debug"),
        ];
        if socket_dir {
            env.push((SOCKET_DIR_KEY, dir));
        }
        let mut child = command(&env).spawn().expect("spawn plugin");

        let (tx, stderr) = watch::channel(Vec::new());
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tx.send_modify(|all| all.push(line));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(DEADLINE, stdout.next_line())
            .await
            .expect("handshake line in time")
            .expect("read stdout")
            .expect("a line before EOF");
        let handshake: HandshakeLine = line.parse().expect("valid handshake line");
        assert_eq!(handshake.app_version, 1);
        let socket = PathBuf::from(&handshake.address);
        if socket_dir {
            assert_eq!(socket, sock_dir.join("plugin.sock"));
        }
        let channel = connect(socket.clone()).await;
        Self {
            child,
            socket,
            stderr,
            channel,
            root,
        }
    }

    fn plugin(&self) -> PluginClient<Channel> {
        PluginClient::new(self.channel.clone())
    }

    fn driver(&self) -> DriverClient<Channel> {
        DriverClient::new(self.channel.clone())
    }

    async fn configure(&self) {
        let reply = self
            .plugin()
            .set_config(set_config(r#"{"greeting":"hi"}"#))
            .await;
        assert!(reply.expect("SetConfig").into_inner().errors.is_empty());
    }

    /// A task whose `config` block is `config`; output under the tempdir.
    fn task(&self, name: &str, config: serde_json::Value) -> v1::StartTaskRequest {
        let alloc = self.root.path().join("alloc");
        let path = |suffix: &str| alloc.join(format!("{name}.{suffix}")).display().to_string();
        std::fs::create_dir_all(&alloc).expect("alloc dir");
        v1::StartTaskRequest {
            task: Some(v1::TaskConfig {
                id: format!("alloc1/{name}/0000beef"),
                name: name.to_string(),
                config_json: config.to_string(),
                env: HashMap::from([("GREETING".to_string(), "hello from env".to_string())]),
                alloc_dir: alloc.display().to_string(),
                stdout_path: path("stdout"),
                stderr_path: path("stderr"),
                ..Default::default()
            }),
        }
    }

    async fn health(&self) -> i32 {
        let request = HealthCheckRequest {
            service: "plugin".into(),
        };
        let reply = HealthClient::new(self.channel.clone()).check(request).await;
        reply.expect("health check").into_inner().status
    }

    /// Wait until a stderr log line contains `text`; return it.
    async fn log_line(&self, text: &str) -> String {
        let mut stderr = self.stderr.clone();
        let found = tokio::time::timeout(
            DEADLINE,
            stderr.wait_for(|lines| lines.iter().any(|l| l.contains(text))),
        )
        .await;
        let Ok(Ok(lines)) = found else {
            panic!("no log line with {text:?}: {:?}", self.stderr.borrow());
        };
        lines
            .iter()
            .find(|l| l.contains(text))
            .cloned()
            .unwrap_or_default()
    }

    async fn exit_code(&mut self) -> Option<i32> {
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("plugin exits in time")
            .expect("wait");
        status.code()
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: kill(2) on the pid of a child this test spawned.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
}

async fn connect(socket: PathBuf) -> Channel {
    let endpoint = Endpoint::try_from("http://plugin.invalid").expect("endpoint");
    let connector = tower::service_fn(move |_: Uri| {
        let socket = socket.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(socket).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    tokio::time::timeout(DEADLINE, endpoint.connect_with_connector(connector))
        .await
        .expect("connect in time")
        .expect("connect to the plugin socket")
}

fn set_config(json: &str) -> v1::SetConfigRequest {
    v1::SetConfigRequest {
        config_json: json.to_string(),
        agent: None,
    }
}

fn wait(task_id: &str) -> v1::WaitTaskRequest {
    v1::WaitTaskRequest {
        task_id: task_id.into(),
    }
}

fn inspect(task_id: &str) -> v1::InspectTaskRequest {
    v1::InspectTaskRequest {
        task_id: task_id.into(),
    }
}

#[tokio::test]
async fn started_by_hand_it_says_so_and_exits_1() {
    let (code, stderr) = refused(&[]).await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.trim_end(), NOT_A_PROGRAM);
}

#[tokio::test]
async fn a_version_mismatch_exits_1_naming_both_sides() {
    let env = [
        (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
        (PROTOCOL_VERSIONS_KEY, "7"),
    ];
    let (code, stderr) = refused(&env).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim_end(),
        r#"plugin "hello" speaks protocol versions 1; the host offered 7"#
    );
}

#[tokio::test]
async fn serves_the_protocol_and_exits_0_on_shutdown() {
    let mut p = Plugin::start(true).await;
    assert_eq!(p.health().await, ServingStatus::Serving as i32);

    let info = p.plugin().plugin_info(v1::PluginInfoRequest {}).await;
    let info = info.expect("PluginInfo").into_inner();
    assert_eq!(info.r#type, v1::PluginType::Driver as i32);
    assert_eq!(
        (info.name.as_str(), info.protocol_versions),
        ("hello", vec![1])
    );

    let caps = p.driver().capabilities(v1::CapabilitiesRequest {}).await;
    let caps = caps
        .expect("Capabilities")
        .into_inner()
        .capabilities
        .expect("caps");
    assert!(caps.send_signals && !caps.exec && !caps.recover, "{caps:?}");

    // Task calls before SetConfig are refused.
    let early = p
        .driver()
        .start_task(p.task("t0", serde_json::json!({})))
        .await;
    let early = early.expect_err("not configured");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(early.message().contains("SetConfig first"), "{early:?}");

    // A bad plugin config is answered in the response, naming the field.
    let bad = p.plugin().set_config(set_config(r#"{"greeting":5}"#)).await;
    let errors = bad.expect("SetConfig").into_inner().errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "greeting");
    assert!(
        errors[0].message.starts_with("invalid type: integer"),
        "{errors:?}"
    );
    let typo = p
        .plugin()
        .set_config(set_config(r#"{"greting":"hi"}"#))
        .await;
    let errors = typo.expect("SetConfig").into_inner().errors;
    assert_eq!(errors[0].field, "greting");
    p.configure().await;

    // A bad task config is INVALID_ARGUMENT naming the field.
    let bad = p
        .driver()
        .start_task(p.task("t0", serde_json::json!({"args": []})))
        .await;
    let bad = bad.expect_err("missing command");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(bad.message(), r#"config.command: missing field "command""#);

    // A task runs in its task dir with its env, and its exit code comes back.
    let script = r#"echo "$GREETING"; pwd; exit 3"#;
    let config = serde_json::json!({"command": "/bin/sh", "args": ["-c", script]});
    let started = p.driver().start_task(p.task("t1", config)).await;
    let started = started.expect("StartTask").into_inner();
    assert_eq!(started.result, v1::StartResult::Success as i32);
    let handle = started.handle.expect("handle");
    assert_eq!(
        (handle.version, handle.state),
        (1, v1::TaskState::Running as i32)
    );
    let state: serde_json::Value = serde_json::from_slice(&handle.driver_state).expect("JSON");
    assert!(state["pid"].as_i64().is_some_and(|pid| pid > 0), "{state}");
    let id = "alloc1/t1/0000beef";
    let exit = p
        .driver()
        .wait_task(wait(id))
        .await
        .expect("WaitTask")
        .into_inner();
    assert_eq!(exit.result.expect("result").exit_code, 3);
    let task_dir = p.root.path().join("alloc").join("t1");
    let out = std::fs::read_to_string(p.root.path().join("alloc/t1.stdout")).expect("stdout");
    assert_eq!(out, format!("hello from env\n{}\n", task_dir.display()));
    let status = p
        .driver()
        .inspect_task(inspect(id))
        .await
        .expect("Inspect")
        .into_inner();
    let status = status.task.expect("status");
    assert_eq!(status.state, v1::TaskState::Exited as i32);
    assert_eq!(status.result.expect("result").exit_code, 3);

    // What the SDK answers without asking the driver.
    let exec = v1::ExecTaskRequest {
        task_id: id.into(),
        command: vec!["true".into()],
        timeout: None,
    };
    let exec = p
        .driver()
        .exec_task(exec)
        .await
        .expect_err("exec not declared");
    assert_eq!(exec.code(), Code::Unimplemented);
    let recover = p
        .driver()
        .recover_task(v1::RecoverTaskRequest::default())
        .await;
    assert_eq!(
        recover.expect_err("recover not declared").code(),
        Code::Unimplemented
    );
    let signal = v1::SignalTaskRequest {
        task_id: id.into(),
        signal: "SIGNOPE".into(),
    };
    let signal = p
        .driver()
        .signal_task(signal)
        .await
        .expect_err("bad signal");
    assert_eq!(signal.code(), Code::InvalidArgument);
    assert!(signal.message().contains("SIGNOPE"), "{signal:?}");
    let stats = v1::TaskStatsRequest {
        task_id: id.into(),
        collection_interval: None,
    };
    let stats = p.driver().task_stats(stats).await.expect_err("no stats");
    assert_eq!(stats.code(), Code::Unimplemented);
    let unknown = p
        .driver()
        .wait_task(wait("nope"))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);

    let fingerprints = p.driver().fingerprint(v1::FingerprintRequest {}).await;
    let mut fingerprints = fingerprints.expect("Fingerprint").into_inner();
    let first = tokio::time::timeout(DEADLINE, fingerprints.message()).await;
    let first = first
        .expect("first report in time")
        .expect("ok")
        .expect("a report");
    assert_eq!(first.health, v1::Health::Healthy as i32);
    assert!(first.attributes.contains_key("driver.hello"), "{first:?}");

    let destroy = v1::DestroyTaskRequest {
        task_id: id.into(),
        force: false,
    };
    p.driver().destroy_task(destroy).await.expect("DestroyTask");
    assert_eq!(
        p.driver()
            .inspect_task(inspect(id))
            .await
            .expect_err("gone")
            .code(),
        Code::NotFound
    );

    // Shutdown: answered, streams end, the socket goes away, exit 0.
    let controller = ControllerClient::new(p.channel.clone());
    controller
        .clone()
        .shutdown(Request::new(v1::ShutdownRequest {}))
        .await
        .expect("Shutdown");
    let ended = tokio::time::timeout(DEADLINE, fingerprints.message()).await;
    assert!(matches!(
        ended.expect("stream ends in time"),
        Ok(None) | Err(_)
    ));
    assert_eq!(p.exit_code().await, Some(0));
    assert!(!p.socket.exists(), "socket removed on exit");

    // Logs are JSON lines with the keys the host reads.
    let line = p.log_line("shutdown requested").await;
    let log: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
    assert_eq!(log["level"], "INFO");
    assert!(
        log["timestamp"].is_string() && log["target"].is_string(),
        "{log}"
    );
    let started = p.log_line("\"started\"").await;
    let started: serde_json::Value = serde_json::from_str(&started).expect("JSON log line");
    assert_eq!(started["greeting"], "hi", "fields are top-level: {started}");
}

#[tokio::test]
async fn sigint_is_ignored_and_sigterm_leaves_tasks_running() {
    let mut p = Plugin::start(true).await;
    p.configure().await;

    // StopTask signals the task's process group, SIGKILL after the timeout.
    let config = serde_json::json!({"command": "/bin/sh", "args": ["-c", "sleep 60"]});
    p.driver()
        .start_task(p.task("stopped", config))
        .await
        .expect("start");
    let stop = v1::StopTaskRequest {
        task_id: "alloc1/stopped/0000beef".into(),
        timeout: Some(drover_plugin_sdk::proto::prost_types::Duration {
            seconds: 10,
            nanos: 0,
        }),
        signal: "term".into(),
    };
    p.driver().stop_task(stop).await.expect("StopTask");
    let exit = p.driver().wait_task(wait("alloc1/stopped/0000beef")).await;
    let exit = exit.expect("WaitTask").into_inner().result.expect("result");
    assert_eq!(exit.signal, libc::SIGTERM);

    let config = serde_json::json!({"command": "sleep", "args": ["60"]});
    p.driver()
        .start_task(p.task("survivor", config))
        .await
        .expect("start");
    let status = p
        .driver()
        .inspect_task(inspect("alloc1/survivor/0000beef"))
        .await;
    let attrs = status.expect("Inspect").into_inner().driver_attributes;
    let task_pid: i32 = attrs["pid"].parse().expect("pid attribute");

    p.signal(libc::SIGINT);
    p.log_line("ignoring SIGINT").await;
    assert_eq!(p.health().await, ServingStatus::Serving as i32);

    p.signal(libc::SIGTERM);
    assert_eq!(p.exit_code().await, Some(0));
    assert!(!p.socket.exists(), "socket removed on exit");
    // SAFETY: signal 0 only checks that the task process exists.
    let alive = unsafe { libc::kill(task_pid, 0) } == 0;
    // SAFETY: the task leads its own process group; clean it up.
    unsafe { libc::kill(-task_pid, libc::SIGKILL) };
    assert!(alive, "the task must outlive its plugin");
}

#[tokio::test]
async fn without_a_socket_dir_it_makes_a_private_one() {
    use std::os::unix::fs::PermissionsExt;
    let mut p = Plugin::start(false).await;
    let dir = p.socket.parent().expect("socket dir").to_path_buf();
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let controller = ControllerClient::new(p.channel.clone());
    controller
        .clone()
        .shutdown(v1::ShutdownRequest {})
        .await
        .expect("Shutdown");
    assert_eq!(p.exit_code().await, Some(0));
    let left = std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>());
    assert!(
        !dir.exists(),
        "its own socket dir is removed on exit; left: {left:?}; stderr: {:?}",
        p.stderr.borrow()
    );
}
