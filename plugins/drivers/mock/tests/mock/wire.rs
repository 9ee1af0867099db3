//! The real `drover-driver-mock` binary over its unix socket: the handshake,
//! a scripted exit, and a task that survives the plugin crashing
//! (`plugin_exit_after`) through `RecoverTask` in a relaunched plugin.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_proto::handshake::{
    HandshakeLine, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSIONS_KEY, SOCKET_DIR_KEY,
};
use drover_proto::v1::plugin_client::PluginClient;
use drover_proto::v1::{self, controller_client::ControllerClient, driver_client::DriverClient};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};
use tonic::transport::{Channel, Endpoint, Uri};

/// Generous bound for anything that should take milliseconds.
const DEADLINE: Duration = Duration::from_secs(20);

struct Plugin {
    child: Child,
    channel: Channel,
    stderr: Arc<Mutex<String>>,
}

impl Plugin {
    /// Launch the binary as a host would and connect to the socket it prints.
    async fn launch(socket_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_drover-driver-mock"))
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env(PROTOCOL_VERSIONS_KEY, "1")
            .env(SOCKET_DIR_KEY, socket_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn drover-driver-mock");
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text).await;
                sink.lock().expect("lock").push_str(&text);
            });
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = timeout(DEADLINE, lines.next_line())
            .await
            .expect("handshake line within the deadline")
            .expect("read stdout")
            .expect("a handshake line before stdout closed");
        let handshake: HandshakeLine = line.parse().expect("a valid handshake line");
        assert_eq!(
            (handshake.core_version, handshake.app_version),
            (1, 1),
            "{line}"
        );
        assert_eq!(
            Path::new(&handshake.address),
            socket_dir.join("plugin.sock")
        );
        let path = handshake.address.clone();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        });
        let channel = Endpoint::from_static("http://[::]:50051")
            .connect_with_connector(connector)
            .await
            .expect("connect to the plugin socket");
        let plugin = Self {
            child,
            channel,
            stderr,
        };
        let errors = PluginClient::new(plugin.channel.clone())
            .set_config(v1::SetConfigRequest {
                config_json: "{}".into(),
                agent: None,
            })
            .await
            .expect("SetConfig")
            .into_inner()
            .errors;
        assert!(errors.is_empty(), "SetConfig errors: {errors:?}");
        plugin
    }

    fn driver(&self) -> DriverClient<Channel> {
        DriverClient::new(self.channel.clone())
    }

    /// Wait for the process to exit on its own; its exit code.
    async fn exited(&mut self) -> Option<i32> {
        let status = timeout(DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("plugin did not exit; stderr:\n{}", self.logs()))
            .expect("wait for the plugin");
        status.code()
    }

    fn logs(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

fn task(name: &str, config_json: &str) -> v1::TaskConfig {
    v1::TaskConfig {
        id: format!("wire-alloc/{name}/0000000b"),
        name: name.into(),
        alloc_id: "wire-alloc".into(),
        config_json: config_json.into(),
        ..Default::default()
    }
}

async fn wait(driver: &mut DriverClient<Channel>, task_id: &str) -> v1::ExitResult {
    let request = v1::WaitTaskRequest {
        task_id: task_id.into(),
    };
    timeout(DEADLINE, driver.wait_task(request))
        .await
        .expect("WaitTask within the deadline")
        .expect("WaitTask")
        .into_inner()
        .result
        .expect("an exit result")
}

#[tokio::test]
async fn real_plugin_runs_scripts_and_recovers_after_a_crash() {
    let dirs = [(); 2].map(|()| tempfile::tempdir().expect("socket dir"));
    let mut first = Plugin::launch(dirs[0].path()).await;
    let mut driver = first.driver();

    let caps = driver
        .capabilities(v1::CapabilitiesRequest {})
        .await
        .expect("Capabilities")
        .into_inner()
        .capabilities
        .expect("capabilities");
    assert!(caps.send_signals && caps.exec && caps.recover && caps.mounts);

    // A bad key is refused, naming it.
    let bad = driver
        .start_task(v1::StartTaskRequest {
            task: Some(task("typo", r#"{"run_fro": "1s"}"#)),
        })
        .await
        .expect_err("unknown key");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().contains("run_fro"), "{}", bad.message());

    // A short script ends with its exit code.
    let quick = task("quick", r#"{"run_for": "100ms", "exit_code": 3}"#);
    let quick_id = quick.id.clone();
    let started = driver
        .start_task(v1::StartTaskRequest { task: Some(quick) })
        .await
        .expect("StartTask")
        .into_inner();
    assert_eq!(
        started.result,
        v1::StartResult::Success as i32,
        "{started:?}"
    );
    assert_eq!(wait(&mut driver, &quick_id).await.exit_code, 3);

    // This one takes the plugin down 300 ms in and ends 2 s after its start.
    let phoenix = task(
        "phoenix",
        r#"{"run_for": "2s", "exit_code": 5, "plugin_exit_after": "300ms"}"#,
    );
    let phoenix_id = phoenix.id.clone();
    let began = Instant::now();
    let started = driver
        .start_task(v1::StartTaskRequest {
            task: Some(phoenix),
        })
        .await
        .expect("StartTask")
        .into_inner();
    let handle = started.handle.expect("a task handle");
    assert_eq!(first.exited().await, Some(1), "stderr:\n{}", first.logs());

    let second = Plugin::launch(dirs[1].path()).await;
    let mut driver = second.driver();
    let recover = v1::RecoverTaskRequest {
        task_id: phoenix_id.clone(),
        handle: Some(handle),
    };
    driver
        .recover_task(recover.clone())
        .await
        .expect("RecoverTask");
    driver
        .recover_task(recover)
        .await
        .expect("RecoverTask again is a no-op");
    let status = driver
        .inspect_task(v1::InspectTaskRequest {
            task_id: phoenix_id.clone(),
        })
        .await
        .expect("InspectTask")
        .into_inner()
        .task
        .expect("a status");
    assert_eq!(status.state, v1::TaskState::Running as i32);
    assert_eq!(wait(&mut driver, &phoenix_id).await.exit_code, 5);
    let lived = began.elapsed();
    // The start time is stored with millisecond precision.
    assert!(
        lived >= Duration::from_millis(1_990),
        "ended early: {lived:?}"
    );

    ControllerClient::new(second.channel.clone())
        .shutdown(v1::ShutdownRequest {})
        .await
        .expect("Shutdown");
    let mut second = second;
    assert_eq!(second.exited().await, Some(0), "stderr:\n{}", second.logs());
}
