//! The fixture every case shares: one supervised plugin, its capabilities,
//! the task recipe, and a scratch directory holding the allocation dirs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use drover_pluginmgr::{
    LaunchOptions, ManagedPlugin, PluginCommand, PluginProcess, SupervisorOptions,
};
use serde_json::Value;
use tonic::transport::Channel;

use super::Outcome;
use super::recipe::{Behaviour, Recipe, detect};
use crate::proto::v1::{self, driver_client::DriverClient};

/// Shared state of a conformance run.
pub struct Ctx {
    pub(crate) cmd: PluginCommand,
    pub(crate) config: Value,
    pub(crate) plugin: ManagedPlugin,
    pub(crate) caps: v1::DriverCapabilities,
    pub(crate) task_schema: String,
    recipe: Option<Box<dyn Recipe>>,
    dir: tempfile::TempDir,
    seq: AtomicU32,
    started: Mutex<Vec<String>>,
}

pub(crate) enum SetupError {
    Launch(String),
    Config(String),
}

/// Options the suite launches plugins with: a short start timeout, since a
/// conforming plugin prints its handshake line at once.
pub(crate) fn launch_options(socket_root: &Path) -> LaunchOptions {
    LaunchOptions {
        start_timeout: Duration::from_secs(10),
        socket_root: Some(socket_root.to_path_buf()),
        ..LaunchOptions::default()
    }
}

impl Ctx {
    pub(crate) async fn start(
        path: &Path,
        args: &[String],
        config: &Value,
        recipe: Option<Box<dyn Recipe>>,
    ) -> Result<Self, SetupError> {
        let dir = tempfile::Builder::new()
            .prefix("drover-conf-")
            .tempdir()
            .map_err(|e| SetupError::Launch(format!("cannot create a scratch directory: {e}")))?;
        let cmd = PluginCommand {
            path: path.to_path_buf(),
            args: args.to_vec(),
        };
        // The handshake with the right cookie, on its own, then a clean stop.
        let probe = PluginProcess::launch(&cmd, &launch_options(dir.path()))
            .await
            .map_err(|e| SetupError::Launch(e.to_string()))?;
        probe
            .stop(Duration::from_secs(2))
            .await
            .map_err(|e| SetupError::Launch(e.to_string()))?;

        let opts = SupervisorOptions {
            launch: launch_options(dir.path()),
            agent: v1::AgentConfig {
                state_dir: dir.path().join("plugin-state").display().to_string(),
                agent_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            ..SupervisorOptions::default()
        };
        let plugin = ManagedPlugin::start(cmd.clone(), config.clone(), opts)
            .await
            .map_err(|e| {
                if e.is_config() {
                    SetupError::Config(e.to_string())
                } else {
                    SetupError::Launch(e.to_string())
                }
            })?;
        let mut driver = plugin.current().driver_client();
        let caps = driver
            .capabilities(v1::CapabilitiesRequest {})
            .await
            .map_err(|e| SetupError::Launch(format!("Capabilities failed: {}", e.message())))?
            .into_inner()
            .capabilities
            .unwrap_or_default();
        let task_schema = driver
            .task_config_schema(v1::TaskConfigSchemaRequest {})
            .await
            .map_err(|e| SetupError::Launch(format!("TaskConfigSchema failed: {}", e.message())))?
            .into_inner()
            .json_schema;
        let recipe = recipe.or_else(|| detect(&task_schema));
        Ok(Self {
            cmd,
            config: config.clone(),
            plugin,
            caps,
            task_schema,
            recipe,
            dir,
            seq: AtomicU32::new(0),
            started: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn recipe_name(&self) -> Option<&'static str> {
        self.recipe.as_ref().map(|r| r.name())
    }

    /// The recipe, or the outcome a case that needs one ends with.
    pub(crate) fn recipe(&self) -> Result<&dyn Recipe, Outcome> {
        self.recipe.as_deref().ok_or_else(|| {
            Outcome::Skipped(
                "no task recipe for this driver's task config (pass one to Suite::recipe)".into(),
            )
        })
    }

    pub(crate) fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// A client of the plugin process running now.
    pub(crate) fn driver(&self) -> DriverClient<Channel> {
        self.plugin.current().driver_client()
    }

    /// A task config for `b` with a fresh allocation directory.
    pub(crate) fn task(&self, config: &Value) -> Result<v1::TaskConfig, String> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let alloc_id = format!("{:08x}-c0f0-4000-8000-{n:012x}", std::process::id());
        let name = format!("t{n}");
        let alloc_dir = self.dir.path().join(&alloc_id);
        let logs = alloc_dir.join("alloc").join("logs");
        for d in [
            logs.clone(),
            alloc_dir.join(&name).join("local"),
            alloc_dir.join(&name).join("tmp"),
        ] {
            std::fs::create_dir_all(&d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        let path_env = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let s = |p: PathBuf| p.display().to_string();
        Ok(v1::TaskConfig {
            id: format!("{alloc_id}/{name}/{n:08x}"),
            name: name.clone(),
            config_json: config.to_string(),
            env: [
                ("PATH".to_string(), path_env),
                ("NOMAD_TASK_NAME".to_string(), name.clone()),
                ("NOMAD_ALLOC_ID".to_string(), alloc_id.clone()),
            ]
            .into(),
            alloc_dir: s(alloc_dir.clone()),
            stdout_path: s(logs.join(format!("{name}.stdout.0"))),
            stderr_path: s(logs.join(format!("{name}.stderr.0"))),
            task_group_name: "conformance".into(),
            job_name: "conformance".into(),
            job_id: "conformance".into(),
            alloc_id,
            namespace: "default".into(),
            ..v1::TaskConfig::default()
        })
    }

    /// Start a task behaving as `b`; fails unless the driver says SUCCESS.
    pub(crate) async fn start_task(&self, b: &Behaviour) -> Result<v1::StartTaskResponse, String> {
        let recipe = self.recipe().map_err(|_| "no task recipe".to_string())?;
        let task = self.task(&recipe.task_config(b))?;
        let id = task.id.clone();
        let resp = self
            .driver()
            .start_task(v1::StartTaskRequest { task: Some(task) })
            .await
            .map_err(|e| format!("StartTask failed: {:?}: {}", e.code(), e.message()))?
            .into_inner();
        if resp.result() != v1::StartResult::Success {
            return Err(format!(
                "StartTask answered {:?}: {}",
                resp.result(),
                resp.driver_error_msg
            ));
        }
        if resp
            .handle
            .as_ref()
            .and_then(|h| h.config.as_ref())
            .map(|c| c.id.as_str())
            != Some(id.as_str())
        {
            return Err("StartTask's handle does not carry the task's config".into());
        }
        self.track(&id);
        Ok(resp)
    }

    /// Remember a task so [`Ctx::cleanup`] destroys it.
    pub(crate) fn track(&self, id: &str) {
        if let Ok(mut started) = self.started.lock() {
            started.push(id.to_string());
        }
    }

    /// WaitTask with a deadline.
    pub(crate) async fn wait_task(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<v1::ExitResult, String> {
        let mut driver = self.driver();
        let call = driver.wait_task(v1::WaitTaskRequest {
            task_id: id.to_string(),
        });
        let resp = tokio::time::timeout(within, call)
            .await
            .map_err(|_| format!("task did not exit within {within:?}"))?
            .map_err(|e| format!("WaitTask failed: {:?}: {}", e.code(), e.message()))?
            .into_inner();
        if !resp.err.is_empty() {
            return Err(format!("WaitTask reported an error: {}", resp.err));
        }
        resp.result
            .ok_or_else(|| "WaitTask answered without a result".to_string())
    }

    /// Task state as InspectTask reports it.
    pub(crate) async fn state(&self, id: &str) -> Result<v1::TaskStatus, String> {
        self.driver()
            .inspect_task(v1::InspectTaskRequest {
                task_id: id.to_string(),
            })
            .await
            .map_err(|e| format!("InspectTask failed: {:?}: {}", e.code(), e.message()))?
            .into_inner()
            .task
            .ok_or_else(|| "InspectTask answered without a task status".to_string())
    }

    /// Destroy every task a case started (force), so cases do not leak.
    pub(crate) async fn cleanup(&self) {
        let ids = self
            .started
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        for id in ids {
            let _ = self
                .driver()
                .destroy_task(v1::DestroyTaskRequest {
                    task_id: id,
                    force: true,
                })
                .await;
        }
    }

    pub(crate) async fn stop(self) {
        self.cleanup().await;
        let _ = self.plugin.stop().await;
    }
}
