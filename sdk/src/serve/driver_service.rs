//! The `Driver` gRPC service, adapted onto the [`Driver`] trait.
//!
//! Everything a driver author should not have to write lives here: decoding
//! the task config with field paths, refusing calls before `SetConfig` and
//! calls the capabilities do not declare, validating signal names, and
//! ending every stream and blocking wait when the plugin shuts down. The
//! streams' pacing is in `streams.rs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use drover_proto::v1::{self, driver_server};
use futures::stream::{BoxStream, Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::plugin_service::{DriverPlugin, Shared};
use super::{convert, exec, streams};
use crate::driver::{Driver, StartError, TASK_HANDLE_VERSION};
use crate::{PluginError, config, signal};

/// `Fingerprint` re-sends the latest report at least this often.
const FINGERPRINT_RESEND: Duration = Duration::from_secs(30);
/// `TaskStats` interval when the host does not ask for one.
const STATS_DEFAULT: Duration = Duration::from_secs(1);
/// Shortest `TaskStats` interval; asking for less gets this.
const STATS_MIN: Duration = Duration::from_millis(10);
/// `StopTask` timeout when the host does not send one (Nomad's `kill_timeout`).
const STOP_DEFAULT: Duration = Duration::from_secs(5);
/// `ExecTask` timeout when the host does not send one.
const EXEC_DEFAULT: Duration = Duration::from_secs(30);

type RpcStream<T> = BoxStream<'static, Result<T, Status>>;

pub(super) struct DriverService<D>(pub(super) Arc<Shared<DriverPlugin<D>>>);

impl<D: Driver> DriverService<D> {
    /// `UNIMPLEMENTED` unless `declared`, then `FAILED_PRECONDITION` until configured.
    fn gate(&self, declared: bool, call: &str) -> Result<(), Status> {
        if !declared {
            return Err(PluginError::unimplemented(call).into_status());
        }
        self.0.require_config()
    }

    /// End `stream` when the plugin shuts down, so a graceful stop does not
    /// wait for streams that never end on their own.
    fn until_shutdown<T: Send + 'static>(
        &self,
        stream: impl Stream<Item = Result<T, Status>> + Send + 'static,
    ) -> Response<RpcStream<T>> {
        let stop = self.0.shutdown.clone().cancelled_owned();
        Response::new(stream.take_until(stop).boxed())
    }
}

fn ok<T>(message: T) -> Result<Response<T>, Status> {
    Ok(Response::new(message))
}

/// A validated signal name in its canonical spelling (`term` → `SIGTERM`).
fn signal_name(name: &str) -> Result<&'static str, Status> {
    let number = signal::parse(name).map_err(PluginError::into_status)?;
    signal::name(number).ok_or_else(|| Status::invalid_argument(format!("unknown signal {name:?}")))
}

#[tonic::async_trait]
impl<D: Driver> driver_server::Driver for DriverService<D> {
    async fn task_config_schema(
        &self,
        _: Request<v1::TaskConfigSchemaRequest>,
    ) -> Result<Response<v1::TaskConfigSchemaResponse>, Status> {
        ok(v1::TaskConfigSchemaResponse {
            json_schema: config::schema_json::<D::TaskConfig>(),
        })
    }

    async fn capabilities(
        &self,
        _: Request<v1::CapabilitiesRequest>,
    ) -> Result<Response<v1::CapabilitiesResponse>, Status> {
        ok(v1::CapabilitiesResponse {
            capabilities: Some(self.0.plugin.capabilities()),
        })
    }

    type FingerprintStream = RpcStream<v1::FingerprintResponse>;

    async fn fingerprint(
        &self,
        _: Request<v1::FingerprintRequest>,
    ) -> Result<Response<Self::FingerprintStream>, Status> {
        let reports = self.0.plugin.fingerprint();
        let reports = streams::fingerprints(reports, FINGERPRINT_RESEND);
        Ok(self.until_shutdown(reports))
    }

    async fn start_task(
        &self,
        request: Request<v1::StartTaskRequest>,
    ) -> Result<Response<v1::StartTaskResponse>, Status> {
        self.0.require_config()?;
        let Some(task) = request.into_inner().task else {
            return Err(Status::invalid_argument("StartTask needs a task"));
        };
        if task.id.is_empty() {
            return Err(Status::invalid_argument("task.id is empty"));
        }
        let task_config = config::decode_str::<D::TaskConfig>(&task.config_json)
            .map_err(|errors| Status::invalid_argument(config::render("config", &errors)))?;
        let failed = |result: v1::StartResult, msg: String| {
            tracing::warn!(task_id = %task.id, error = %msg, "task did not start");
            ok(v1::StartTaskResponse {
                result: result as i32,
                driver_error_msg: msg,
                ..Default::default()
            })
        };
        match self.0.plugin.start_task(task.clone(), task_config).await {
            Err(StartError::Invalid(e)) => Err(e.into_status()),
            Err(StartError::Recoverable(msg)) => failed(v1::StartResult::Retry, msg),
            Err(StartError::Fatal(msg)) => failed(v1::StartResult::Fatal, msg),
            Ok(started) => {
                let driver_state = serde_json::to_vec(&started.driver_state).map_err(|e| {
                    Status::internal(format!("cannot encode the task's driver_state: {e}"))
                })?;
                tracing::info!(task_id = %task.id, "task started");
                ok(v1::StartTaskResponse {
                    result: v1::StartResult::Success as i32,
                    driver_error_msg: String::new(),
                    handle: Some(v1::TaskHandle {
                        version: TASK_HANDLE_VERSION,
                        config: Some(task),
                        state: v1::TaskState::Running as i32,
                        driver_state,
                    }),
                    network_override: started.network,
                })
            }
        }
    }

    async fn wait_task(
        &self,
        request: Request<v1::WaitTaskRequest>,
    ) -> Result<Response<v1::WaitTaskResponse>, Status> {
        self.0.require_config()?;
        let task_id = request.into_inner().task_id;
        tokio::select! {
            exit = self.0.plugin.wait_task(&task_id) => ok(v1::WaitTaskResponse {
                result: Some(convert::exit_result(exit?)),
                err: String::new(),
            }),
            () = self.0.shutdown.cancelled() => {
                Err(Status::unavailable("plugin is shutting down; wait again after reattaching"))
            }
        }
    }

    async fn stop_task(
        &self,
        request: Request<v1::StopTaskRequest>,
    ) -> Result<Response<v1::StopTaskResponse>, Status> {
        self.0.require_config()?;
        let request = request.into_inner();
        let timeout = convert::duration(request.timeout, "timeout", STOP_DEFAULT)?;
        let signal = match request.signal.as_str() {
            "" => None,
            name => Some(signal_name(name)?),
        };
        let driver = &self.0.plugin;
        driver.stop_task(&request.task_id, timeout, signal).await?;
        ok(v1::StopTaskResponse {})
    }

    async fn destroy_task(
        &self,
        request: Request<v1::DestroyTaskRequest>,
    ) -> Result<Response<v1::DestroyTaskResponse>, Status> {
        self.0.require_config()?;
        let request = request.into_inner();
        self.0
            .plugin
            .destroy_task(&request.task_id, request.force)
            .await?;
        ok(v1::DestroyTaskResponse {})
    }

    async fn inspect_task(
        &self,
        request: Request<v1::InspectTaskRequest>,
    ) -> Result<Response<v1::InspectTaskResponse>, Status> {
        self.0.require_config()?;
        let status = self
            .0
            .plugin
            .inspect_task(&request.into_inner().task_id)
            .await?;
        ok(convert::inspect(status))
    }

    type TaskStatsStream = RpcStream<v1::TaskStatsResponse>;

    async fn task_stats(
        &self,
        request: Request<v1::TaskStatsRequest>,
    ) -> Result<Response<Self::TaskStatsStream>, Status> {
        self.0.require_config()?;
        let request = request.into_inner();
        let interval = convert::duration(
            request.collection_interval,
            "collection_interval",
            STATS_DEFAULT,
        )?
        .max(STATS_MIN);
        // The first sample answers the call itself, so an unknown task or a
        // driver without stats fails the call rather than the stream.
        let first = self.0.plugin.task_stats(&request.task_id).await?;
        let shared = Arc::clone(&self.0);
        let task_id = request.task_id.clone();
        let sample = move || {
            let (shared, task_id) = (Arc::clone(&shared), task_id.clone());
            async move { shared.plugin.task_stats(&task_id).await }
        };
        let samples = streams::stats(request.task_id, first, interval, sample);
        Ok(self.until_shutdown(samples))
    }

    type TaskEventsStream = RpcStream<v1::DriverTaskEvent>;

    async fn task_events(
        &self,
        _: Request<v1::TaskEventsRequest>,
    ) -> Result<Response<Self::TaskEventsStream>, Status> {
        let events = self
            .0
            .plugin
            .task_events()
            .map(|e| Ok(convert::event(e, SystemTime::now())));
        Ok(self.until_shutdown(events))
    }

    async fn signal_task(
        &self,
        request: Request<v1::SignalTaskRequest>,
    ) -> Result<Response<v1::SignalTaskResponse>, Status> {
        self.gate(self.0.plugin.capabilities().send_signals, "SignalTask")?;
        let request = request.into_inner();
        let signal = signal_name(&request.signal)?;
        self.0.plugin.signal_task(&request.task_id, signal).await?;
        ok(v1::SignalTaskResponse {})
    }

    async fn exec_task(
        &self,
        request: Request<v1::ExecTaskRequest>,
    ) -> Result<Response<v1::ExecTaskResponse>, Status> {
        self.gate(self.0.plugin.capabilities().exec, "ExecTask")?;
        let request = request.into_inner();
        if request.command.is_empty() {
            return Err(Status::invalid_argument("ExecTask needs a command"));
        }
        let timeout = convert::duration(request.timeout, "timeout", EXEC_DEFAULT)?;
        let driver = &self.0.plugin;
        let out = driver
            .exec_task(&request.task_id, request.command, timeout)
            .await?;
        ok(v1::ExecTaskResponse {
            stdout: out.stdout,
            stderr: out.stderr,
            result: Some(convert::exit_result(out.exit)),
        })
    }

    type ExecTaskStreamingStream = RpcStream<v1::ExecTaskStreamingResponse>;

    async fn exec_task_streaming(
        &self,
        request: Request<tonic::Streaming<v1::ExecTaskStreamingRequest>>,
    ) -> Result<Response<Self::ExecTaskStreamingStream>, Status> {
        self.gate(self.0.plugin.capabilities().exec, "ExecTaskStreaming")?;
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.ok_or_else(|| {
            Status::invalid_argument("ExecTaskStreaming: the stream ended before its setup message")
        })?;
        let (session, output) = exec::session(first, inbound)?;
        let shared = Arc::clone(&self.0);
        let run = async move { shared.plugin.exec_task_streaming(session).await };
        Ok(self.until_shutdown(exec::responses(run, output)))
    }

    async fn recover_task(
        &self,
        request: Request<v1::RecoverTaskRequest>,
    ) -> Result<Response<v1::RecoverTaskResponse>, Status> {
        self.gate(self.0.plugin.capabilities().recover, "RecoverTask")?;
        let request = request.into_inner();
        let (task, driver_state) = recoverable(request)?;
        let task_id = task.id.clone();
        self.0.plugin.recover_task(task, driver_state).await?;
        tracing::info!(%task_id, "task recovered");
        ok(v1::RecoverTaskResponse {})
    }
}

/// Check a `RecoverTask` request and decode its handle's `driver_state`.
fn recoverable(
    request: v1::RecoverTaskRequest,
) -> Result<(v1::TaskConfig, serde_json::Value), Status> {
    let invalid = |msg: String| Err(Status::invalid_argument(msg));
    let Some(handle) = request.handle else {
        return invalid("RecoverTask needs a handle".into());
    };
    if handle.version != TASK_HANDLE_VERSION {
        return invalid(format!(
            "task handle version {} is not supported (this plugin writes version {TASK_HANDLE_VERSION})",
            handle.version
        ));
    }
    let Some(task) = handle.config else {
        return invalid("handle.config is missing".into());
    };
    if !request.task_id.is_empty() && request.task_id != task.id {
        return invalid(format!(
            "task_id {:?} does not match handle.config.id {:?}",
            request.task_id, task.id
        ));
    }
    let driver_state = if handle.driver_state.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&handle.driver_state).map_err(|e| {
            Status::invalid_argument(format!("handle.driver_state is not JSON: {e}"))
        })?
    };
    Ok((task, driver_state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(version: u32, state: &[u8]) -> v1::RecoverTaskRequest {
        v1::RecoverTaskRequest {
            task_id: "a/b/c".into(),
            handle: Some(v1::TaskHandle {
                version,
                config: Some(v1::TaskConfig {
                    id: "a/b/c".into(),
                    ..Default::default()
                }),
                state: v1::TaskState::Running as i32,
                driver_state: state.to_vec(),
            }),
        }
    }

    #[test]
    fn recover_decodes_driver_state_and_rejects_bad_handles() {
        let (task, state) = recoverable(handle(1, br#"{"pid":7}"#)).expect("valid");
        assert_eq!(task.id, "a/b/c");
        assert_eq!(state["pid"], 7);

        let bad = recoverable(handle(1, b"\xff not json")).expect_err("bad bytes");
        assert_eq!(bad.code(), tonic::Code::InvalidArgument);
        assert!(bad.message().contains("driver_state"), "{bad:?}");

        let old = recoverable(handle(9, b"{}")).expect_err("version");
        assert!(old.message().contains("version 9"), "{old:?}");

        let mut other = handle(1, b"{}");
        other.task_id = "x/y/z".into();
        assert!(recoverable(other).is_err());
        assert!(recoverable(v1::RecoverTaskRequest::default()).is_err());
    }

    #[test]
    fn signal_names_are_canonical() {
        assert_eq!(signal_name("term").expect("valid"), "SIGTERM");
        assert_eq!(signal_name("9").expect("valid"), "SIGKILL");
        let err = signal_name("SIGNOPE").expect_err("unknown");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}
