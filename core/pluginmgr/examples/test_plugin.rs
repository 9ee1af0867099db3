//! A Drover driver plugin written straight against `drover-proto`, without
//! the SDK: it shows the protocol can be implemented from the spec alone, and
//! it is the plugin the plugin manager's tests launch.
//!
//! Behaviour is chosen by `TEST_PLUGIN_MODE`:
//!
//! | mode          | does                                                         |
//! |---------------|--------------------------------------------------------------|
//! | `good`        | serves everything (default)                                  |
//! | `garbage`     | prints a line that is not a handshake, then hangs            |
//! | `silent`      | logs an error on stderr, prints nothing, exits 0             |
//! | `exit_early`  | logs an error on stderr, exits 2                             |
//! | `hang`        | prints nothing and hangs                                     |
//! | `bad_version` | prints a handshake with app protocol version 99, then hangs  |
//! | `unhealthy`   | serves, but reports health NOT_SERVING                       |
//! | `stubborn`    | serves, but ignores `Shutdown` and SIGTERM                   |
//!
//! Other variables: `TEST_PLUGIN_MODE_FILE` (a file whose content, when it
//! exists, overrides `TEST_PLUGIN_MODE`: lets a test change how the next
//! relaunch behaves), `TEST_PLUGIN_NAME` (default `test`), `TEST_PLUGIN_PID_FILE`
//! (the pid is written there first). Tasks are fake: a task "exits" when
//! stopped, or when a file `<state_dir>/<task id with / as _>.exit` appears
//! holding its exit code, so a test can end a task across plugin restarts.
//! `InspectTask` reports `recovered = true` for tasks that came back through
//! `RecoverTask`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_proto::handshake::{self, HandshakeLine};
use drover_proto::v1::controller_server::{Controller, ControllerServer};
use drover_proto::v1::driver_server::{Driver, DriverServer};
use drover_proto::v1::plugin_server::{Plugin, PluginServer};
use drover_proto::v1::*;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_stream::Stream;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;

type Rpc<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn main() {
    if std::env::var(handshake::MAGIC_COOKIE_KEY).as_deref() != Ok(handshake::MAGIC_COOKIE_VALUE) {
        eprintln!("{}", handshake::NOT_A_PROGRAM);
        std::process::exit(1);
    }
    if let Ok(path) = std::env::var("TEST_PLUGIN_PID_FILE") {
        let _ = std::fs::write(path, std::process::id().to_string());
    }
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::stderr)
        .init();
    let mode = std::env::var("TEST_PLUGIN_MODE_FILE")
        .ok()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|m| m.trim().to_string())
        .or_else(|| std::env::var("TEST_PLUGIN_MODE").ok())
        .unwrap_or_else(|| "good".into());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a runtime");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(run(&mode));
    std::process::exit(code);
}

async fn run(mode: &str) -> i32 {
    // The host controls our lifetime: a Ctrl-C aimed at it is ignored here.
    let Ok(mut sigint) = signal(SignalKind::interrupt()) else {
        return 1;
    };
    tokio::spawn(async move {
        while sigint.recv().await.is_some() {
            tracing::debug!("ignoring SIGINT");
        }
    });
    if mode == "stubborn" {
        let Ok(mut sigterm) = signal(SignalKind::terminate()) else {
            return 1;
        };
        tokio::spawn(async move {
            while sigterm.recv().await.is_some() {
                tracing::warn!("ignoring SIGTERM");
            }
        });
    }
    let dir = std::env::var(handshake::SOCKET_DIR_KEY).unwrap_or_default();
    let socket = PathBuf::from(dir).join("plugin.sock");
    match mode {
        "garbage" => {
            println!("Hello! I am not a plugin handshake.");
            return hang().await;
        }
        "silent" => {
            tracing::error!("nothing to say");
            return 0;
        }
        "exit_early" => {
            tracing::error!(reason = "missing thing", "cannot start");
            return 2;
        }
        "hang" => return hang().await,
        "bad_version" => {
            println!("{}", HandshakeLine::unix(99, socket.display().to_string()));
            return hang().await;
        }
        _ => {}
    }
    let host = std::env::var(handshake::PROTOCOL_VERSIONS_KEY).unwrap_or_default();
    let host = handshake::parse_versions(&host).unwrap_or_default();
    let Some(version) = handshake::negotiate(&host, &[1]) else {
        tracing::error!(?host, "no common protocol version (this plugin speaks 1)");
        return 1;
    };
    let listener = match UnixListener::bind(&socket) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(socket = %socket.display(), error = %e, "cannot bind");
            return 1;
        }
    };
    let (reporter, health) = tonic_health::server::health_reporter();
    let status = if mode == "unhealthy" {
        ServingStatus::NotServing
    } else {
        ServingStatus::Serving
    };
    reporter
        .set_service_status(handshake::HEALTH_SERVICE, status)
        .await;
    let shutdown = CancellationToken::new();
    let state = Arc::new(State::default());
    let server = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(PluginServer::from_arc(state.clone()))
        .add_service(ControllerServer::new(Control {
            shutdown: shutdown.clone(),
            ignore: mode == "stubborn",
        }))
        .add_service(DriverServer::from_arc(state))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown.cancelled());
    println!(
        "{}",
        HandshakeLine::unix(version, socket.display().to_string())
    );
    tracing::info!(mode, socket = %socket.display(), "test plugin serving");
    let forced_exit = async {
        shutdown.cancelled().await;
        // Blocked calls (WaitTask) would hold a graceful shutdown forever.
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    tokio::select! {
        r = server => if let Err(e) = r {
            tracing::error!(error = %e, "server failed");
            return 1;
        },
        () = forced_exit => {}
    }
    tracing::info!("test plugin exiting");
    0
}

async fn hang() -> i32 {
    std::future::pending::<()>().await;
    0
}

struct Control {
    shutdown: CancellationToken,
    ignore: bool,
}

#[tonic::async_trait]
impl Controller for Control {
    async fn shutdown(&self, _: Request<ShutdownRequest>) -> Rpc<ShutdownResponse> {
        if self.ignore {
            tracing::warn!("ignoring Shutdown");
        } else {
            self.shutdown.cancel();
        }
        Ok(Response::new(ShutdownResponse {}))
    }
}

#[derive(Default)]
struct State {
    tasks: Mutex<HashMap<String, FakeTask>>,
    state_dir: Mutex<Option<PathBuf>>,
}

struct FakeTask {
    config: TaskConfig,
    recovered: bool,
    exit: watch::Sender<Option<ExitResult>>,
}

impl State {
    fn tasks(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, FakeTask>>, Status> {
        self.tasks
            .lock()
            .map_err(|_| Status::internal("task table poisoned"))
    }

    fn exit_file(&self, task_id: &str) -> Option<PathBuf> {
        let dir = self.state_dir.lock().ok()?.clone()?;
        Some(dir.join(format!("{}.exit", task_id.replace('/', "_"))))
    }

    fn insert(&self, config: TaskConfig, recovered: bool) -> Result<TaskHandle, Status> {
        let mut tasks = self.tasks()?;
        if tasks.contains_key(&config.id) && !recovered {
            return Err(Status::already_exists(format!(
                "task {:?} exists",
                config.id
            )));
        }
        let handle = TaskHandle {
            version: 1,
            config: Some(config.clone()),
            state: TaskState::Running as i32,
            driver_state: b"fake".to_vec(),
        };
        tasks.entry(config.id.clone()).or_insert_with(|| FakeTask {
            config,
            recovered,
            exit: watch::Sender::new(None),
        });
        Ok(handle)
    }
}

#[tonic::async_trait]
impl Plugin for State {
    async fn plugin_info(&self, _: Request<PluginInfoRequest>) -> Rpc<PluginInfoResponse> {
        Ok(Response::new(PluginInfoResponse {
            r#type: PluginType::Driver as i32,
            name: std::env::var("TEST_PLUGIN_NAME").unwrap_or_else(|_| "test".into()),
            version: "0.1.0".into(),
            protocol_versions: vec![1],
        }))
    }

    async fn config_schema(&self, _: Request<ConfigSchemaRequest>) -> Rpc<ConfigSchemaResponse> {
        let schema = r#"{"type":"object","properties":{"enabled":{"type":"boolean"}},"additionalProperties":false}"#;
        Ok(Response::new(ConfigSchemaResponse {
            json_schema: schema.into(),
        }))
    }

    async fn set_config(&self, request: Request<SetConfigRequest>) -> Rpc<SetConfigResponse> {
        let request = request.into_inner();
        let error = |field: &str, message: String| ConfigError {
            field: field.into(),
            message,
        };
        let errors = match serde_json::from_str::<serde_json::Value>(&request.config_json) {
            Ok(serde_json::Value::Object(config)) => config
                .iter()
                .filter_map(|(key, value)| match key.as_str() {
                    "enabled" => serde_json::from_value::<bool>(value.clone())
                        .err()
                        .map(|e| error(key, e.to_string())),
                    _ => Some(error(key, "unknown field".into())),
                })
                .collect(),
            Ok(_) => vec![error("", "must be an object".into())],
            Err(e) => vec![error("", format!("not JSON: {e}"))],
        };
        if errors.is_empty() {
            tracing::info!(config = %request.config_json, "config accepted");
        }
        if errors.is_empty()
            && let Some(agent) = request.agent
            && !agent.state_dir.is_empty()
            && let Ok(mut dir) = self.state_dir.lock()
        {
            *dir = Some(agent.state_dir.into());
        }
        Ok(Response::new(SetConfigResponse { errors }))
    }
}

#[tonic::async_trait]
impl Driver for State {
    type FingerprintStream = BoxStream<FingerprintResponse>;
    type TaskStatsStream = BoxStream<TaskStatsResponse>;
    type TaskEventsStream = BoxStream<DriverTaskEvent>;
    type ExecTaskStreamingStream = BoxStream<drover_proto::v1::ExecTaskStreamingResponse>;

    async fn task_config_schema(
        &self,
        _: Request<TaskConfigSchemaRequest>,
    ) -> Rpc<TaskConfigSchemaResponse> {
        Ok(Response::new(TaskConfigSchemaResponse {
            json_schema: r#"{"type":"object"}"#.into(),
        }))
    }

    async fn capabilities(&self, _: Request<CapabilitiesRequest>) -> Rpc<CapabilitiesResponse> {
        Ok(Response::new(CapabilitiesResponse {
            capabilities: Some(DriverCapabilities {
                send_signals: true,
                recover: true,
                ..Default::default()
            }),
        }))
    }

    async fn fingerprint(&self, _: Request<FingerprintRequest>) -> Rpc<Self::FingerprintStream> {
        let first = FingerprintResponse {
            health: Health::Healthy as i32,
            health_description: "healthy".into(),
            attributes: HashMap::new(),
        };
        let stream =
            tokio_stream::StreamExt::chain(tokio_stream::once(Ok(first)), tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }

    async fn start_task(&self, request: Request<StartTaskRequest>) -> Rpc<StartTaskResponse> {
        let Some(task) = request.into_inner().task else {
            return Err(Status::invalid_argument("task: missing"));
        };
        let handle = self.insert(task, false)?;
        Ok(Response::new(StartTaskResponse {
            handle: Some(handle),
            ..Default::default()
        }))
    }

    async fn wait_task(&self, request: Request<WaitTaskRequest>) -> Rpc<WaitTaskResponse> {
        let task_id = request.into_inner().task_id;
        let mut exit = match self.tasks()?.get(&task_id) {
            Some(task) => task.exit.subscribe(),
            None => return Err(Status::not_found(format!("task {task_id:?} is not known"))),
        };
        let file = self.exit_file(&task_id);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            if let Some(result) = *exit.borrow_and_update() {
                return Ok(Response::new(WaitTaskResponse {
                    result: Some(result),
                    err: String::new(),
                }));
            }
            if let Some(code) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
                let exit_code = code.trim().parse().unwrap_or(-1);
                return Ok(Response::new(WaitTaskResponse {
                    result: Some(ExitResult {
                        exit_code,
                        ..Default::default()
                    }),
                    err: String::new(),
                }));
            }
            tokio::select! {
                _ = exit.changed() => {}
                _ = tick.tick() => {}
            }
        }
    }

    async fn stop_task(&self, request: Request<StopTaskRequest>) -> Rpc<StopTaskResponse> {
        let task_id = request.into_inner().task_id;
        match self.tasks()?.get(&task_id) {
            Some(task) => task.exit.send_replace(Some(ExitResult {
                exit_code: 0,
                signal: 15,
                oom_killed: false,
            })),
            None => return Err(Status::not_found(format!("task {task_id:?} is not known"))),
        };
        Ok(Response::new(StopTaskResponse {}))
    }

    async fn destroy_task(&self, request: Request<DestroyTaskRequest>) -> Rpc<DestroyTaskResponse> {
        let task_id = request.into_inner().task_id;
        match self.tasks()?.remove(&task_id) {
            Some(_) => Ok(Response::new(DestroyTaskResponse {})),
            None => Err(Status::not_found(format!("task {task_id:?} is not known"))),
        }
    }

    async fn inspect_task(&self, request: Request<InspectTaskRequest>) -> Rpc<InspectTaskResponse> {
        let task_id = request.into_inner().task_id;
        let tasks = self.tasks()?;
        let Some(task) = tasks.get(&task_id) else {
            return Err(Status::not_found(format!("task {task_id:?} is not known")));
        };
        let exited = *task.exit.borrow();
        let state = if exited.is_some() {
            TaskState::Exited
        } else {
            TaskState::Running
        };
        let attributes = HashMap::from([
            ("recovered".to_string(), task.recovered.to_string()),
            ("plugin_pid".to_string(), std::process::id().to_string()),
        ]);
        Ok(Response::new(InspectTaskResponse {
            task: Some(TaskStatus {
                id: task.config.id.clone(),
                name: task.config.name.clone(),
                state: state as i32,
                result: exited,
                ..Default::default()
            }),
            driver_attributes: attributes,
            network_override: None,
        }))
    }

    async fn task_stats(&self, request: Request<TaskStatsRequest>) -> Rpc<Self::TaskStatsStream> {
        let task_id = request.into_inner().task_id;
        let stats = TaskStatsResponse {
            stats: Some(TaskResourceUsage {
                task_id,
                ..Default::default()
            }),
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(stats)))))
    }

    async fn task_events(&self, _: Request<TaskEventsRequest>) -> Rpc<Self::TaskEventsStream> {
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }

    async fn signal_task(&self, request: Request<SignalTaskRequest>) -> Rpc<SignalTaskResponse> {
        let task_id = request.into_inner().task_id;
        if !self.tasks()?.contains_key(&task_id) {
            return Err(Status::not_found(format!("task {task_id:?} is not known")));
        }
        Ok(Response::new(SignalTaskResponse {}))
    }

    async fn exec_task(&self, _: Request<ExecTaskRequest>) -> Rpc<ExecTaskResponse> {
        Err(Status::unimplemented(
            "ExecTask is not supported by this plugin",
        ))
    }

    async fn exec_task_streaming(
        &self,
        _: Request<tonic::Streaming<drover_proto::v1::ExecTaskStreamingRequest>>,
    ) -> Rpc<Self::ExecTaskStreamingStream> {
        Err(Status::unimplemented(
            "ExecTaskStreaming is not supported by this plugin",
        ))
    }

    async fn recover_task(&self, request: Request<RecoverTaskRequest>) -> Rpc<RecoverTaskResponse> {
        let request = request.into_inner();
        let Some(config) = request.handle.and_then(|h| h.config) else {
            return Err(Status::invalid_argument("handle.config: missing"));
        };
        if config.id != request.task_id {
            return Err(Status::invalid_argument("task_id does not match handle"));
        }
        tracing::info!(task_id = %config.id, "recovered task");
        self.insert(config, true)?;
        Ok(Response::new(RecoverTaskResponse {}))
    }
}
