//! [`ManagedDriver`]: the `Driver` service of a [`ManagedPlugin`], following
//! relaunches.
//!
//! Calls go to the current process. A call that fails in the transport (the
//! process died under it) waits for the next generation and is retried once;
//! `wait_task` keeps waiting across any number of relaunches, so a waiter
//! observes a task's exit across plugin crashes. The handle of every task
//! started or recovered is remembered (and forgotten on destroy) so the
//! supervisor can `RecoverTask` it in a relaunched plugin.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use drover_proto::error::{ErrorKind, PluginError};
use drover_proto::v1::driver_client::DriverClient;
use drover_proto::v1::{self, TaskHandle};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Channel;

use crate::connect::is_transport_error;
use crate::error::Error;
use crate::process::PluginProcess;
use crate::supervisor::ManagedPlugin;

/// A stream of plugin messages; ends when the plugin process does.
pub type PluginStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;

/// Typed `Driver` client bound to a [`ManagedPlugin`]. Clones share state.
#[derive(Debug, Clone)]
pub struct ManagedDriver {
    plugin: ManagedPlugin,
}

type Rpc<T> = Result<tonic::Response<T>, tonic::Status>;

impl ManagedDriver {
    pub(crate) fn new(plugin: ManagedPlugin) -> Self {
        Self { plugin }
    }

    pub async fn capabilities(&self) -> Result<v1::DriverCapabilities, Error> {
        let r = self
            .call("Capabilities", |mut c| async move {
                c.capabilities(v1::CapabilitiesRequest {}).await
            })
            .await?;
        Ok(r.capabilities.unwrap_or_default())
    }

    pub async fn task_config_schema(&self) -> Result<String, Error> {
        let r = self
            .call("TaskConfigSchema", |mut c| async move {
                c.task_config_schema(v1::TaskConfigSchemaRequest {}).await
            })
            .await?;
        Ok(r.json_schema)
    }

    /// The fingerprint stream of the current process; subscribe again after
    /// a `Relaunched` event.
    pub async fn fingerprint(&self) -> Result<PluginStream<v1::FingerprintResponse>, Error> {
        let s = self
            .call("Fingerprint", |mut c| async move {
                c.fingerprint(v1::FingerprintRequest {}).await
            })
            .await?;
        Ok(self.stream("Fingerprint", s, Some))
    }

    /// Start a task; a started task's handle is remembered.
    pub async fn start_task(&self, task: v1::TaskConfig) -> Result<v1::StartTaskResponse, Error> {
        let id = task.id.clone();
        let request = v1::StartTaskRequest { task: Some(task) };
        let r = self
            .call("StartTask", |mut c| {
                let request = request.clone();
                async move { c.start_task(request).await }
            })
            .await?;
        if let Some(handle) = &r.handle {
            self.remember(&id, handle.clone());
        }
        Ok(r)
    }

    /// Block until the task exits, across plugin relaunches.
    pub async fn wait_task(&self, task_id: &str) -> Result<v1::ExitResult, Error> {
        let request = v1::WaitTaskRequest {
            task_id: task_id.to_string(),
        };
        loop {
            let (generation, process) = self.ready().await?;
            match process.driver_client().wait_task(request.clone()).await {
                Ok(r) => {
                    let r = r.into_inner();
                    if !r.err.is_empty() {
                        return Err(Error::Rpc {
                            plugin: self.label(),
                            call: "WaitTask",
                            error: PluginError::internal(r.err),
                        });
                    }
                    return Ok(r.result.unwrap_or_default());
                }
                Err(status) if died(&status, &process) => {
                    self.after_transport_error(generation, &process, None)
                        .await?;
                }
                Err(status) => return Err(Error::rpc(&self.label(), "WaitTask", &status)),
            }
        }
    }

    pub async fn stop_task(
        &self,
        task_id: &str,
        timeout: Duration,
        signal: &str,
    ) -> Result<(), Error> {
        let request = v1::StopTaskRequest {
            task_id: task_id.to_string(),
            timeout: drover_proto::prost_types::Duration::try_from(timeout).ok(),
            signal: signal.to_string(),
        };
        self.call("StopTask", |mut c| {
            let request = request.clone();
            async move { c.stop_task(request).await }
        })
        .await?;
        Ok(())
    }

    /// Destroy a task and forget its handle (also when the plugin does not
    /// know it any more).
    pub async fn destroy_task(&self, task_id: &str, force: bool) -> Result<(), Error> {
        let request = v1::DestroyTaskRequest {
            task_id: task_id.to_string(),
            force,
        };
        let result = self
            .call("DestroyTask", |mut c| {
                let request = request.clone();
                async move { c.destroy_task(request).await }
            })
            .await;
        match &result {
            Ok(_) => self.forget(task_id),
            Err(e) if e.plugin_error().map(|p| p.kind) == Some(ErrorKind::NotFound) => {
                self.forget(task_id)
            }
            Err(_) => {}
        }
        result.map(|_| ())
    }

    pub async fn inspect_task(&self, task_id: &str) -> Result<v1::InspectTaskResponse, Error> {
        let request = v1::InspectTaskRequest {
            task_id: task_id.to_string(),
        };
        self.call("InspectTask", |mut c| {
            let request = request.clone();
            async move { c.inspect_task(request).await }
        })
        .await
    }

    pub async fn signal_task(&self, task_id: &str, signal: &str) -> Result<(), Error> {
        let request = v1::SignalTaskRequest {
            task_id: task_id.to_string(),
            signal: signal.to_string(),
        };
        self.call("SignalTask", |mut c| {
            let request = request.clone();
            async move { c.signal_task(request).await }
        })
        .await?;
        Ok(())
    }

    pub async fn exec_task(
        &self,
        task_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<v1::ExecTaskResponse, Error> {
        let request = v1::ExecTaskRequest {
            task_id: task_id.to_string(),
            command,
            timeout: drover_proto::prost_types::Duration::try_from(timeout).ok(),
        };
        self.call("ExecTask", |mut c| {
            let request = request.clone();
            async move { c.exec_task(request).await }
        })
        .await
    }

    /// Open an interactive exec (`alloc exec`): `requests` must start with
    /// the setup message. (`Sync`, because tonic's call future holds a reference
    /// to the stream across an await and must be `Send`.) Not retried: a stream cannot be replayed, so a
    /// plugin that dies under it ends the stream with an error.
    pub async fn exec_task_streaming(
        &self,
        requests: impl Stream<Item = v1::ExecTaskStreamingRequest> + Send + Sync + 'static,
    ) -> Result<PluginStream<v1::ExecTaskStreamingResponse>, Error> {
        let (_, process) = self.ready().await?;
        let s = process
            .driver_client()
            .exec_task_streaming(requests)
            .await
            .map_err(|status| Error::rpc(&self.label(), "ExecTaskStreaming", &status))?
            .into_inner();
        Ok(self.stream("ExecTaskStreaming", s, Some))
    }

    pub async fn task_stats(
        &self,
        task_id: &str,
        interval: Duration,
    ) -> Result<PluginStream<v1::TaskResourceUsage>, Error> {
        let request = v1::TaskStatsRequest {
            task_id: task_id.to_string(),
            collection_interval: drover_proto::prost_types::Duration::try_from(interval).ok(),
        };
        let s = self
            .call("TaskStats", |mut c| {
                let request = request.clone();
                async move { c.task_stats(request).await }
            })
            .await?;
        Ok(self.stream("TaskStats", s, |r: v1::TaskStatsResponse| r.stats))
    }

    pub async fn task_events(&self) -> Result<PluginStream<v1::DriverTaskEvent>, Error> {
        let s = self
            .call("TaskEvents", |mut c| async move {
                c.task_events(v1::TaskEventsRequest {}).await
            })
            .await?;
        Ok(self.stream("TaskEvents", s, Some))
    }

    /// Reattach the plugin to a task from its stored handle; remembered on success.
    pub async fn recover_task(&self, handle: TaskHandle) -> Result<(), Error> {
        let task_id = handle
            .config
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        let request = v1::RecoverTaskRequest {
            task_id: task_id.clone(),
            handle: Some(handle.clone()),
        };
        self.call("RecoverTask", |mut c| {
            let request = request.clone();
            async move { c.recover_task(request).await }
        })
        .await?;
        self.remember(&task_id, handle);
        Ok(())
    }

    /// Handles of the tasks started or recovered and not destroyed.
    pub fn tasks(&self) -> Vec<TaskHandle> {
        match self.plugin.shared.tasks.lock() {
            Ok(tasks) => tasks.values().cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    fn remember(&self, task_id: &str, handle: TaskHandle) {
        if let Ok(mut tasks) = self.plugin.shared.tasks.lock() {
            tasks.insert(task_id.to_string(), handle);
        }
    }

    fn forget(&self, task_id: &str) {
        if let Ok(mut tasks) = self.plugin.shared.tasks.lock() {
            tasks.remove(task_id);
        }
    }

    fn label(&self) -> String {
        self.plugin.shared.label.clone()
    }

    /// The current process once it is up (waiting out a relaunch).
    async fn ready(&self) -> Result<(u64, Arc<PluginProcess>), Error> {
        self.plugin.shared.ready().await
    }

    /// After a transport failure on `process` (of `generation`): return at
    /// once if it is still healthy (a blip), else wait for the next
    /// generation, at most `limit` (`None`: until the supervisor stops).
    async fn after_transport_error(
        &self,
        generation: u64,
        process: &PluginProcess,
        limit: Option<Duration>,
    ) -> Result<(), Error> {
        if process
            .check_health_within(Duration::from_secs(2))
            .await
            .is_ok()
        {
            return Ok(());
        }
        let shared = &self.plugin.shared;
        loop {
            let wait = limit.unwrap_or(shared.opts.relaunch_wait());
            match shared.wait_for_generation(generation + 1, wait).await {
                Err(Error::GenerationTimeout { .. }) if limit.is_none() => continue,
                other => return other,
            }
        }
    }

    /// One call on the current process, retried once after a transport
    /// failure (on the next generation if the process died).
    async fn call<T, F, Fut>(&self, name: &'static str, f: F) -> Result<T, Error>
    where
        F: Fn(DriverClient<Channel>) -> Fut,
        Fut: Future<Output = Rpc<T>>,
    {
        let (generation, process) = self.ready().await?;
        match f(process.driver_client()).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(status) if died(&status, &process) => {
                let limit = self.plugin.shared.opts.relaunch_wait();
                self.after_transport_error(generation, &process, Some(limit))
                    .await?;
            }
            Err(status) => return Err(Error::rpc(&self.label(), name, &status)),
        }
        let (_, process) = self.ready().await?;
        f(process.driver_client())
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::rpc(&self.label(), name, &status))
    }

    fn stream<M, T>(
        &self,
        name: &'static str,
        stream: tonic::Streaming<M>,
        pick: impl Fn(M) -> Option<T> + Send + 'static,
    ) -> PluginStream<T>
    where
        M: Send + 'static,
        T: Send + 'static,
    {
        let label = self.label();
        Box::pin(stream.filter_map(move |item| match item {
            Ok(message) => pick(message).map(Ok),
            Err(status) => Some(Err(Error::rpc(&label, name, &status))),
        }))
    }
}

/// Whether a failed call means the process (or the connection to it) is gone.
pub(crate) fn died(status: &tonic::Status, process: &PluginProcess) -> bool {
    is_transport_error(status) || process.exit_status().is_some()
}
