//! `alloc exec`: a command run interactively inside a running task, through its
//! driver's `ExecTaskStreaming`. The client only checks and connects; the driver
//! runs the command and the HTTP layer carries the bytes.

use drover_pluginmgr::PluginStream;
use drover_proto::error::ErrorKind;
use drover_proto::v1::{self, exec_task_streaming_request::Setup};
use drover_types::TaskStateValue;
use futures::{Stream, StreamExt};

use super::{Client, ControlError};

/// Why `alloc exec` is refused on a client with `disable_remote_exec = true`.
pub const EXEC_DISABLED: &str =
    "remote exec is disabled on this client (client { disable_remote_exec = true })";

/// What to run, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The task to run the command in.
    pub task: String,
    /// Program and arguments.
    pub command: Vec<String>,
    /// On a pseudo-terminal.
    pub tty: bool,
}

/// The driver's answers: output, then `exited` with the result.
pub type ExecStream = PluginStream<v1::ExecTaskStreamingResponse>;

impl Client {
    /// Starts `req.command` in a running task of `alloc_id`. `input` carries stdin and
    /// terminal sizes (the setup message is sent first, by this call); dropping the
    /// returned stream ends the session and the driver kills the command.
    pub async fn exec(
        &self,
        alloc_id: &str,
        req: ExecRequest,
        input: impl Stream<Item = v1::ExecTaskStreamingRequest> + Send + Sync + 'static,
    ) -> Result<ExecStream, ControlError> {
        if self.inner.cfg.disable_remote_exec {
            return Err(ControlError::Forbidden(EXEC_DISABLED.into()));
        }
        if req.command.first().is_none_or(String::is_empty) {
            return Err(ControlError::BadRequest(
                "command is empty: name a program to run".into(),
            ));
        }
        let h = self
            .alloc(alloc_id)
            .ok_or_else(|| ControlError::NotFound(format!("unknown allocation {alloc_id:?}")))?;
        let t = h.task(&req.task).ok_or_else(|| {
            ControlError::NotFound(format!(
                "unknown task {:?} in allocation {alloc_id}",
                req.task
            ))
        })?;
        let running = t.state.borrow().state == TaskStateValue::Running;
        let task_id = t
            .task_id()
            .filter(|_| running)
            .ok_or_else(|| ControlError::BadRequest(format!("task {:?} is not running", t.name)))?;
        let driver = self.inner.drivers.get(&t.driver).ok_or_else(|| {
            ControlError::BadRequest(format!("driver {:?} is not running", t.driver))
        })?;
        let caps = driver
            .capabilities()
            .await
            .map_err(|e| ControlError::BadRequest(e.to_string()))?;
        if !caps.exec {
            return Err(ControlError::BadRequest(format!(
                "driver {:?} of task {:?} does not support exec",
                t.driver, t.name
            )));
        }
        let setup = v1::ExecTaskStreamingRequest {
            setup: Some(Setup {
                task_id,
                command: req.command,
                tty: req.tty,
            }),
            ..Default::default()
        };
        let requests = futures::stream::once(std::future::ready(setup)).chain(input);
        driver.exec_task_streaming(requests).await.map_err(|e| {
            match e.plugin_error().map(|p| p.kind) {
                Some(ErrorKind::NotFound) => ControlError::NotFound(e.to_string()),
                _ => ControlError::BadRequest(e.to_string()),
            }
        })
    }
}
