//! [`PluginProcess`]: one running plugin, launched or reattached, and the
//! calls that concern the process as a whole (info, config, health, stop).

use std::path::{Path, PathBuf};
use std::time::Duration;

use drover_proto::v1::controller_client::ControllerClient;
use drover_proto::v1::driver_client::DriverClient;
use drover_proto::v1::fetcher_client::FetcherClient;
use drover_proto::v1::plugin_client::PluginClient;
use drover_proto::v1::{self, PluginInfoRequest, PluginInfoResponse, SetConfigRequest};
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;
use tonic::transport::Channel;

use crate::connect;
use crate::error::{ConfigFieldError, Error, quote};
use crate::os::ProcHandle;
use crate::reattach::ReattachRecord;
use crate::stderr::StderrLog;

/// Time allowed for the stop sequence's last step, after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// One running plugin process and a gRPC channel to it.
///
/// Dropping it leaves the process running (it can be reattached to); use
/// [`PluginProcess::stop`] to end it.
#[derive(Debug)]
pub struct PluginProcess {
    pub(crate) label: String,
    pub(crate) path: PathBuf,
    pub(crate) info: PluginInfoResponse,
    pub(crate) protocol_version: u32,
    pub(crate) socket: PathBuf,
    /// The private directory this host made for the socket, removed on stop.
    pub(crate) socket_dir: Option<PathBuf>,
    pub(crate) start_time: u64,
    pub(crate) proc: ProcHandle,
    pub(crate) channel: Channel,
    pub(crate) stderr: Option<StderrLog>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) _guard: DropGuard,
}

impl PluginProcess {
    /// The plugin's name, from `PluginInfo`.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn info(&self) -> &PluginInfoResponse {
        &self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The application protocol version agreed in the handshake.
    pub fn protocol_version(&self) -> u32 {
        self.protocol_version
    }

    /// What to store to reattach to this process after a host restart.
    pub fn reattach_record(&self) -> ReattachRecord {
        ReattachRecord {
            name: self.info.name.clone(),
            path: self.path.clone(),
            pid: self.proc.pid(),
            start_time: self.start_time,
            socket: self.socket.clone(),
            socket_dir: self.socket_dir.clone(),
            protocol_version: self.protocol_version,
            plugin_version: self.info.version.clone(),
        }
    }

    /// The last stderr lines (empty for a reattached plugin).
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr
            .as_ref()
            .map(StderrLog::tail)
            .unwrap_or_default()
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn plugin_client(&self) -> PluginClient<Channel> {
        PluginClient::new(self.channel.clone())
    }

    pub fn driver_client(&self) -> DriverClient<Channel> {
        DriverClient::new(self.channel.clone())
    }

    pub fn fetcher_client(&self) -> FetcherClient<Channel> {
        FetcherClient::new(self.channel.clone())
    }

    pub fn controller_client(&self) -> ControllerClient<Channel> {
        ControllerClient::new(self.channel.clone())
    }

    /// Hand the plugin its `config` block. Field errors come back as
    /// [`Error::Config`].
    pub async fn set_config(
        &self,
        config: &serde_json::Value,
        agent: v1::AgentConfig,
    ) -> Result<(), Error> {
        let request = SetConfigRequest {
            config_json: config.to_string(),
            agent: Some(agent),
        };
        let response = self
            .plugin_client()
            .set_config(request)
            .await
            .map_err(|s| Error::rpc(&self.label, "SetConfig", &s))?
            .into_inner();
        if response.errors.is_empty() {
            return Ok(());
        }
        Err(Error::Config {
            plugin: self.label.clone(),
            errors: response
                .errors
                .into_iter()
                .map(|e| ConfigFieldError {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        })
    }

    /// The plugin's JSON Schema for its `config` block ("" when it takes none).
    pub async fn config_schema(&self) -> Result<String, Error> {
        let response = self
            .plugin_client()
            .config_schema(v1::ConfigSchemaRequest {})
            .await
            .map_err(|s| Error::rpc(&self.label, "ConfigSchema", &s))?;
        Ok(response.into_inner().json_schema)
    }

    /// Health check with a 5 s bound; fails too when the process has exited.
    pub async fn check_health(&self) -> Result<(), Error> {
        self.check_health_within(Duration::from_secs(5)).await
    }

    pub(crate) async fn check_health_within(&self, limit: Duration) -> Result<(), Error> {
        if let Some(how) = self.proc.exit_status() {
            return Err(Error::Unhealthy {
                plugin: self.label.clone(),
                reason: format!("process {} exited ({how})", self.pid()),
            });
        }
        connect::check_health(self.channel.clone(), limit)
            .await
            .map_err(|reason| Error::Unhealthy {
                plugin: self.label.clone(),
                reason,
            })
    }

    /// Whether the process has exited, and how.
    pub fn exit_status(&self) -> Option<String> {
        self.proc.exit_status()
    }

    /// Resolves when the process is gone (for a launched plugin: reaped).
    pub async fn exited(&self) {
        self.proc.exited().await;
    }

    /// SIGKILL now. The process is reaped in the background; await
    /// [`exited`](Self::exited) to know it is gone.
    pub fn kill(&self) {
        self.proc.signal(libc::SIGKILL);
    }

    /// Stop the plugin: `Controller.Shutdown`, wait `grace`; SIGTERM, wait
    /// `grace`; SIGKILL. A zero `grace` goes straight to SIGKILL. Always waits
    /// for the process to be gone and removes the private socket directory.
    pub async fn stop(&self, grace: Duration) -> Result<(), Error> {
        let result = self.stop_process(grace).await;
        if let Some(dir) = &self.socket_dir {
            connect::remove_dir(dir);
        }
        // Let the stderr reader drain what the plugin said last, then end it.
        self.tracker.close();
        if tokio::time::timeout(Duration::from_millis(500), self.tracker.wait())
            .await
            .is_err()
        {
            self.cancel.cancel();
            self.tracker.wait().await;
        }
        result
    }

    async fn stop_process(&self, grace: Duration) -> Result<(), Error> {
        if self.proc.exit_status().is_some() {
            return Ok(());
        }
        if !grace.is_zero() {
            let mut controller = self.controller_client();
            let shutdown = controller.shutdown(v1::ShutdownRequest {});
            match tokio::time::timeout(grace, shutdown).await {
                Ok(Ok(_)) => {}
                Ok(Err(status)) => {
                    tracing::debug!(plugin = %self.label, error = %connect::status_text(&status), "Shutdown failed")
                }
                Err(_) => tracing::debug!(plugin = %self.label, "Shutdown did not answer"),
            }
            if self.proc.exited_within(grace).await {
                return Ok(());
            }
            tracing::warn!(plugin = %self.label, pid = self.pid(), ?grace, "plugin did not exit after Shutdown, sending SIGTERM");
            self.proc.signal(libc::SIGTERM);
            if self.proc.exited_within(grace).await {
                return Ok(());
            }
            tracing::warn!(plugin = %self.label, pid = self.pid(), "plugin ignored SIGTERM, sending SIGKILL");
        }
        self.proc.signal(libc::SIGKILL);
        if self.proc.exited_within(AFTER_KILL).await {
            return Ok(());
        }
        Err(Error::Process {
            plugin: self.label.clone(),
            reason: format!(
                "process {} still there {AFTER_KILL:?} after SIGKILL",
                self.pid()
            ),
        })
    }

    /// Ask for `PluginInfo` and check it names the plugin.
    pub(crate) async fn fetch_info(
        channel: &Channel,
        label: &str,
        limit: Duration,
    ) -> Result<PluginInfoResponse, Error> {
        let mut client = PluginClient::new(channel.clone());
        let info = match tokio::time::timeout(limit, client.plugin_info(PluginInfoRequest {})).await
        {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(status)) => return Err(Error::rpc(label, "PluginInfo", &status)),
            Err(_) => {
                return Err(Error::rpc(
                    label,
                    "PluginInfo",
                    &tonic::Status::deadline_exceeded(format!("no answer within {limit:?}")),
                ));
            }
        };
        if info.name.trim().is_empty() {
            return Err(Error::Process {
                plugin: label.to_string(),
                reason: "PluginInfo returned an empty name".into(),
            });
        }
        Ok(info)
    }

    /// Quoted name for messages.
    pub(crate) fn quoted_name(info: &PluginInfoResponse) -> String {
        quote(&info.name)
    }
}
