//! [`ManagedPlugin`]: a plugin kept running. When its process dies or its
//! health check fails twice in a row, the supervisor relaunches it with
//! exponential backoff, hands it its configuration again and calls
//! `RecoverTask` for every task the [`ManagedDriver`] remembers, before
//! callers see the new generation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_proto::v1::{self, RecoverTaskRequest, TaskHandle};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use crate::command::{LaunchOptions, PluginCommand};
use crate::connect::status_text;
use crate::driver::ManagedDriver;
use crate::error::{Error, quote};
use crate::fetcher::ManagedFetcher;
use crate::process::PluginProcess;
use crate::reattach::ReattachRecord;

/// A generation that lived this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Consecutive failed health checks that count as death.
const HEALTH_FAILURES: u32 = 2;
/// Time allowed for one `RecoverTask` call during a relaunch.
const RECOVER_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`ManagedPlugin`] is supervised. Defaults: health every 5 s, backoff
/// from 100 ms doubling to 30 s, 2 s grace for each stop step.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    pub launch: LaunchOptions,
    pub health_interval: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Grace for each step of a graceful stop (Shutdown, then SIGTERM).
    pub stop_grace: Duration,
    pub agent: v1::AgentConfig,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            launch: LaunchOptions::default(),
            health_interval: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            stop_grace: Duration::from_secs(2),
            agent: v1::AgentConfig::default(),
        }
    }
}

impl SupervisorOptions {
    /// How long a call waits for the plugin to come back before giving up.
    pub(crate) fn relaunch_wait(&self) -> Duration {
        self.health_interval * (HEALTH_FAILURES + 1) + self.backoff_max + self.launch.start_timeout
    }
}

/// What happened to a supervised plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginEvent {
    /// The process of `generation` died or stopped answering health checks.
    Died { generation: u64, reason: String },
    /// `generation` is up, configured, and its tasks were recovered:
    /// `recovered` task IDs, `failed` (task ID, error) (those are forgotten).
    Relaunched {
        generation: u64,
        recovered: Vec<String>,
        failed: Vec<(String, String)>,
    },
    /// Relaunch attempt `attempt` failed; another follows after a backoff.
    RelaunchFailed { attempt: u32, error: String },
    /// [`ManagedPlugin::stop`] ended supervision.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Up,
    Relaunching,
    Stopped,
}

#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub generation: u64,
    pub process: Arc<PluginProcess>,
    pub phase: Phase,
    since: Instant,
}

#[derive(Debug)]
pub(crate) struct Shared {
    cmd: PluginCommand,
    config: serde_json::Value,
    pub(crate) opts: SupervisorOptions,
    pub(crate) label: String,
    current: watch::Sender<Current>,
    events: broadcast::Sender<PluginEvent>,
    pub(crate) tasks: Mutex<BTreeMap<String, TaskHandle>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// A supervised plugin; clones (and their [`ManagedDriver`]s) share the same
/// supervisor. When the last clone is dropped without [`stop`](Self::stop),
/// supervision ends and the process is left running, as with
/// [`detach`](Self::detach).
#[derive(Debug, Clone)]
pub struct ManagedPlugin {
    pub(crate) shared: Arc<Shared>,
    _handles: Arc<DropGuard>,
}

impl ManagedPlugin {
    /// Launch the plugin, hand it `config` (field errors fail the start) and
    /// start supervising it.
    pub async fn start(
        cmd: PluginCommand,
        config: serde_json::Value,
        opts: SupervisorOptions,
    ) -> Result<Self, Error> {
        Self::start_or_reattach(None, cmd, config, opts).await
    }

    /// Like [`start`](Self::start), but first try to reattach to the process
    /// in `record`; a failed reattach is logged and a new process launched.
    pub async fn start_or_reattach(
        record: Option<ReattachRecord>,
        cmd: PluginCommand,
        config: serde_json::Value,
        opts: SupervisorOptions,
    ) -> Result<Self, Error> {
        let reattached = match &record {
            Some(record) => match PluginProcess::reattach(record).await {
                Ok(process) => Some(process),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reattach, launching a new process");
                    None
                }
            },
            None => None,
        };
        let process = match reattached {
            Some(process) => {
                configure(&process, &config, &opts).await?;
                process
            }
            None => launch_configured(&cmd, &config, &opts, None).await?,
        };
        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            label: quote(process.name()),
            cmd,
            config,
            current: watch::Sender::new(Current {
                generation: 0,
                process: Arc::new(process),
                phase: Phase::Up,
                since: Instant::now(),
            }),
            events,
            tasks: Mutex::new(BTreeMap::new()),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            opts,
        });
        shared.tracker.spawn(supervise(shared.clone()));
        let guard = shared.cancel.clone().drop_guard();
        Ok(Self {
            shared,
            _handles: Arc::new(guard),
        })
    }

    /// The process serving calls now.
    pub fn current(&self) -> Arc<PluginProcess> {
        self.shared.current.borrow().process.clone()
    }

    pub fn name(&self) -> String {
        self.current().name().to_string()
    }

    /// 0 at start, +1 on each relaunch.
    pub fn generation(&self) -> u64 {
        self.shared.current.borrow().generation
    }

    pub fn reattach_record(&self) -> ReattachRecord {
        self.current().reattach_record()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PluginEvent> {
        self.shared.events.subscribe()
    }

    /// Wait until `generation` (or a later one) is up.
    pub async fn wait_for_generation(
        &self,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.shared.wait_for_generation(generation, timeout).await
    }

    /// The plugin's `Driver` service, following relaunches.
    pub fn driver(&self) -> ManagedDriver {
        ManagedDriver::new(self.clone())
    }

    /// The plugin's `Fetcher` service, following relaunches.
    pub fn fetcher(&self) -> ManagedFetcher {
        ManagedFetcher::new(self.clone())
    }

    /// Stop supervising, then stop the process gracefully.
    pub async fn stop(&self) -> Result<(), Error> {
        let process = self.end_supervision().await;
        let result = process.stop(self.shared.opts.stop_grace).await;
        self.shared.emit(PluginEvent::Stopped);
        result
    }

    /// Stop supervising but leave the process running (an agent restart that
    /// will reattach); returns the record to reattach with.
    pub async fn detach(&self) -> ReattachRecord {
        let process = self.end_supervision().await;
        self.shared.emit(PluginEvent::Stopped);
        process.reattach_record()
    }

    async fn end_supervision(&self) -> Arc<PluginProcess> {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        self.shared
            .current
            .send_modify(|c| c.phase = Phase::Stopped);
        self.current()
    }
}

impl Shared {
    pub(crate) fn snapshot(&self) -> Current {
        self.current.borrow().clone()
    }

    pub(crate) async fn wait_for_generation(
        &self,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), Error> {
        let mut rx = self.current.subscribe();
        let reached = rx.wait_for(|c| {
            c.phase == Phase::Stopped || (c.phase == Phase::Up && c.generation >= generation)
        });
        match tokio::time::timeout(timeout, reached).await {
            Ok(Ok(c)) if c.phase != Phase::Stopped => Ok(()),
            Ok(_) => Err(Error::Stopped {
                plugin: self.label.clone(),
            }),
            Err(_) => Err(Error::GenerationTimeout {
                plugin: self.label.clone(),
                generation,
                timeout,
            }),
        }
    }

    /// The current process once it is up (waiting out a relaunch).
    pub(crate) async fn ready(&self) -> Result<(u64, Arc<PluginProcess>), Error> {
        let current = self.snapshot();
        match current.phase {
            Phase::Up => Ok((current.generation, current.process)),
            Phase::Stopped => Err(Error::Stopped {
                plugin: self.label.clone(),
            }),
            Phase::Relaunching => {
                self.wait_for_generation(current.generation + 1, self.opts.relaunch_wait())
                    .await?;
                let current = self.snapshot();
                Ok((current.generation, current.process))
            }
        }
    }

    fn emit(&self, event: PluginEvent) {
        // No subscribers is fine.
        let _ = self.events.send(event);
    }
}

async fn configure(
    process: &PluginProcess,
    config: &serde_json::Value,
    opts: &SupervisorOptions,
) -> Result<(), Error> {
    if let Err(e) = process.set_config(config, opts.agent.clone()).await {
        let _ = process.stop(opts.stop_grace).await;
        return Err(e);
    }
    Ok(())
}

async fn launch_configured(
    cmd: &PluginCommand,
    config: &serde_json::Value,
    opts: &SupervisorOptions,
    expected_name: Option<&str>,
) -> Result<PluginProcess, Error> {
    let process = PluginProcess::launch(cmd, &opts.launch).await?;
    if let Some(expected) = expected_name
        && process.name() != expected
    {
        let _ = process.stop(Duration::ZERO).await;
        return Err(Error::Process {
            plugin: quote(expected),
            reason: format!(
                "{} now says it is plugin {:?}",
                cmd.path.display(),
                process.name()
            ),
        });
    }
    configure(&process, config, opts).await?;
    Ok(process)
}

/// The supervision loop: watch, relaunch, recover; until cancelled.
async fn supervise(shared: Arc<Shared>) {
    let opts = &shared.opts;
    let mut backoff = opts.backoff_initial;
    loop {
        let current = shared.snapshot();
        let process = current.process.clone();
        let reason = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            () = process.exited() => format!(
                "process {} exited ({})",
                process.pid(),
                process.exit_status().unwrap_or_default()
            ),
            e = watch_health(&process, opts.health_interval) => e.to_string(),
        };
        tracing::warn!(plugin = %shared.label, generation = current.generation, %reason, "plugin died");
        shared.current.send_modify(|c| c.phase = Phase::Relaunching);
        shared.emit(PluginEvent::Died {
            generation: current.generation,
            reason,
        });
        // Make sure it is gone (a hung one is killed) and its socket dir removed.
        let _ = process.stop(Duration::ZERO).await;
        if current.since.elapsed() >= STABLE_AFTER {
            backoff = opts.backoff_initial;
        }

        let mut attempt = 0;
        let next = loop {
            attempt += 1;
            tokio::select! {
                _ = shared.cancel.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(opts.backoff_max);
            let launched = tokio::select! {
                // Dropping a launch midway kills what it started.
                _ = shared.cancel.cancelled() => return,
                r = launch_configured(&shared.cmd, &shared.config, opts, Some(process.name())) => r,
            };
            match launched {
                Ok(next) => break next,
                Err(e) => {
                    tracing::warn!(plugin = %shared.label, attempt, error = %e, "relaunch failed");
                    shared.emit(PluginEvent::RelaunchFailed {
                        attempt,
                        error: e.to_string(),
                    });
                }
            }
        };
        let (recovered, failed) = tokio::select! {
            _ = shared.cancel.cancelled() => {
                let _ = next.stop(opts.stop_grace).await;
                return;
            }
            outcome = recover_all(&shared, &next) => outcome,
        };
        let generation = current.generation + 1;
        tracing::info!(plugin = %shared.label, generation, pid = next.pid(), recovered = recovered.len(), failed = failed.len(), "plugin relaunched");
        shared.current.send_replace(Current {
            generation,
            process: Arc::new(next),
            phase: Phase::Up,
            since: Instant::now(),
        });
        shared.emit(PluginEvent::Relaunched {
            generation,
            recovered,
            failed,
        });
    }
}

/// Resolves with the error once `HEALTH_FAILURES` checks in a row failed.
async fn watch_health(process: &PluginProcess, interval: Duration) -> Error {
    let limit = interval.max(Duration::from_secs(1));
    let mut failures = 0;
    loop {
        tokio::time::sleep(interval).await;
        match process.check_health_within(limit).await {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                tracing::debug!(error = %e, failures, "health check failed");
                if failures >= HEALTH_FAILURES {
                    return e;
                }
            }
        }
    }
}

/// `RecoverTask` for each remembered handle; failed ones are forgotten.
async fn recover_all(
    shared: &Shared,
    process: &PluginProcess,
) -> (Vec<String>, Vec<(String, String)>) {
    let handles: Vec<(String, TaskHandle)> = match shared.tasks.lock() {
        Ok(tasks) => tasks.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Err(_) => Vec::new(),
    };
    let mut recovered = Vec::new();
    let mut failed = Vec::new();
    for (task_id, handle) in handles {
        let request = RecoverTaskRequest {
            task_id: task_id.clone(),
            handle: Some(handle),
        };
        let mut client = process.driver_client();
        match tokio::time::timeout(RECOVER_TIMEOUT, client.recover_task(request)).await {
            Ok(Ok(_)) => recovered.push(task_id),
            Ok(Err(status)) => failed.push((task_id, status_text(&status))),
            Err(_) => failed.push((task_id, format!("no answer within {RECOVER_TIMEOUT:?}"))),
        }
    }
    if let Ok(mut tasks) = shared.tasks.lock() {
        for (task_id, _) in &failed {
            tasks.remove(task_id);
        }
    }
    (recovered, failed)
}
