//! The client: registers the node and heartbeats, watches the node's allocations on the
//! servers (a blocking query), runs one [`crate::runner`] per allocation, sends their
//! status back in batches, restores everything from the client state after a restart,
//! and collects terminal allocations by the `gc_*` rules.
//!
//! Every loop is an owned task stopped by [`Client::shutdown`]: a normal agent leaves
//! its tasks and driver plugins running for the next agent to recover; a dev agent
//! (whose state is temporary) stops them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use drover_pluginmgr::SupervisorOptions;
use drover_types::{Allocation, DesiredStatus, Node, NodeStatus};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::drivers::{DriverSpec, Drivers};
use crate::fetchers::{FetcherSpec, Fetchers};
use crate::fingerprint::{self, DriverFingerprint, FingerprintConfig, HostFacts, NodeIdentity};
use crate::gc::{self, GcCandidate, GcConfig, GcStats};
use crate::logmon::process::LogmonCommand;
use crate::rpc::{RpcError, ServerRpc};
use crate::runner::{self, AllocHandle, AllocUpdate, RunnerEnv};
use crate::state::{ClientDb, StateError};

mod exec;
pub use exec::{EXEC_DISABLED, ExecRequest, ExecStream};

/// How long a blocking allocation query waits on the servers.
const ALLOC_WAIT: Duration = Duration::from_secs(300);
/// How long startup waits for every driver's first fingerprint.
const FINGERPRINT_WAIT: Duration = Duration::from_secs(5);

/// The client's settings (the agent fills them from its configuration).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `data_dir/client` (`state_dir`).
    pub state_dir: PathBuf,
    /// Root of allocation directories (`alloc_dir`, default `data_dir/alloc`).
    pub alloc_dir: PathBuf,
    /// The agent's region.
    pub region: String,
    /// Node facts from the configuration.
    pub fingerprint: FingerprintConfig,
    /// Driver plugins to run.
    pub drivers: Vec<DriverSpec>,
    /// Artifact fetcher plugins to run.
    pub fetchers: Vec<FetcherSpec>,
    /// How to run a log collector.
    pub logmon: LogmonCommand,
    /// `max_kill_timeout`.
    pub max_kill_timeout: Duration,
    /// `env.denylist` client option, when given.
    pub env_denylist: Option<Vec<String>>,
    /// `gc_*` settings.
    pub gc: GcConfig,
    /// `gc_interval`.
    pub gc_interval: Duration,
    /// Plugin supervision.
    pub supervisor: SupervisorOptions,
    /// On shutdown, stop tasks and plugins instead of leaving them for the next agent
    /// (dev mode, whose state is thrown away).
    pub stop_tasks_on_shutdown: bool,
    /// `disable_remote_exec`: refuse `alloc exec`.
    pub disable_remote_exec: bool,
}

/// A failed request on an allocation (`alloc restart`, `alloc signal`, stats).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such allocation or task on this node.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be carried out.
    #[error("{0}")]
    BadRequest(String),
    /// The client's configuration forbids it (`disable_remote_exec`).
    #[error("{0}")]
    Forbidden(String),
}

/// Why the client could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client state.
    #[error(transparent)]
    State(#[from] StateError),
    /// The node identity.
    #[error("{0}")]
    Identity(String),
    /// A directory.
    #[error("cannot create {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

struct Inner {
    cfg: ClientConfig,
    env: Arc<RunnerEnv>,
    rpc: Arc<dyn ServerRpc>,
    drivers: Arc<Drivers>,
    identity: NodeIdentity,
    facts: HostFacts,
    node: watch::Sender<Arc<Node>>,
    allocs: Mutex<BTreeMap<String, AllocHandle>>,
    /// When each allocation became terminal (unix ns), for GC order.
    terminal_at: Mutex<BTreeMap<String, i64>>,
    /// Re-register (node changed, or the servers forgot it).
    reregister: tokio::sync::Notify,
    registered: watch::Sender<bool>,
    updates: mpsc::UnboundedSender<AllocUpdate>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

/// A running client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

fn mkdir(path: &Path) -> Result<(), ClientError> {
    std::fs::create_dir_all(path).map_err(|source| ClientError::Dir {
        path: path.to_owned(),
        source,
    })
}

impl Client {
    /// Starts the client: state, drivers, restore of known allocations, then the
    /// registration, allocation, update and GC loops.
    pub async fn start(cfg: ClientConfig, rpc: Arc<dyn ServerRpc>) -> Result<Client, ClientError> {
        mkdir(&cfg.state_dir)?;
        mkdir(&cfg.alloc_dir)?;
        // Opening may wait (blocking) for a sled lock a stopping instance still holds.
        let state_dir = cfg.state_dir.clone();
        let db = tokio::task::spawn_blocking(move || ClientDb::open(&state_dir))
            .await
            .map_err(|e| ClientError::Identity(format!("opening the client state: {e}")))??;
        let identity = fingerprint::identity::load_or_create(&cfg.state_dir)
            .map_err(|e| ClientError::Identity(e.to_string()))?;
        let facts =
            fingerprint::host::gather(&cfg.alloc_dir, cfg.fingerprint.network_interface.as_deref());
        let drivers =
            Arc::new(Drivers::start(cfg.drivers.clone(), &db, cfg.supervisor.clone()).await);
        let fetchers =
            Arc::new(Fetchers::start(cfg.fetchers.clone(), cfg.supervisor.clone()).await);
        // Wait briefly for each driver's first fingerprint so the first registration
        // already says which drivers work.
        let mut fps = drivers.fingerprints();
        let want = cfg.drivers.len();
        let _ = tokio::time::timeout(FINGERPRINT_WAIT, fps.wait_for(|m| m.len() >= want)).await;
        let fp_now = fps.borrow().clone();
        let mut node = fingerprint::build_node(
            &cfg.fingerprint,
            &facts,
            &identity,
            &fp_now,
            SystemTime::now(),
        );
        node.status = NodeStatus::Ready;
        let (node_tx, node_rx) = watch::channel(Arc::new(node));
        let env = Arc::new(RunnerEnv {
            db: db.clone(),
            drivers: drivers.clone(),
            fetchers,
            node: node_rx,
            region: cfg.region.clone(),
            logmon: cfg.logmon.clone(),
            alloc_root: cfg.alloc_dir.clone(),
            max_kill_timeout: cfg.max_kill_timeout,
            env_denylist: cfg.env_denylist.clone(),
        });
        let (updates_tx, updates_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            cfg,
            env,
            rpc,
            drivers,
            identity,
            facts,
            node: node_tx,
            allocs: Mutex::new(BTreeMap::new()),
            terminal_at: Mutex::new(BTreeMap::new()),
            reregister: tokio::sync::Notify::new(),
            registered: watch::Sender::new(false),
            updates: updates_tx,
            stop: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        let client = Client { inner };
        client.restore();
        let c = client.clone();
        client
            .inner
            .tracker
            .spawn(async move { c.register_loop().await });
        let c = client.clone();
        client
            .inner
            .tracker
            .spawn(async move { c.fingerprint_loop(fps).await });
        let c = client.clone();
        client
            .inner
            .tracker
            .spawn(async move { c.alloc_loop().await });
        let c = client.clone();
        client
            .inner
            .tracker
            .spawn(async move { c.update_loop(updates_rx).await });
        let c = client.clone();
        client.inner.tracker.spawn(async move { c.gc_loop().await });
        Ok(client)
    }

    /// The HTTP API address of the server agent that answered last, once known.
    pub fn server_http_addr(&self) -> Option<String> {
        self.inner.rpc.server_http_addr()
    }

    /// This node's ID.
    pub fn node_id(&self) -> &str {
        &self.inner.identity.id
    }

    /// The node as last registered.
    pub fn node(&self) -> Arc<Node> {
        self.inner.node.borrow().clone()
    }

    /// Host facts (for `/v1/client/stats`).
    pub fn host_facts(&self) -> &HostFacts {
        &self.inner.facts
    }

    /// Whether the servers accepted the node.
    pub fn registered(&self) -> watch::Receiver<bool> {
        self.inner.registered.subscribe()
    }

    /// The runner of an allocation on this node.
    pub fn alloc(&self, alloc_id: &str) -> Option<AllocHandle> {
        self.inner.allocs.lock().ok()?.get(alloc_id).cloned()
    }

    /// The directory of an allocation on this node.
    pub fn alloc_dir(&self, alloc_id: &str) -> Option<PathBuf> {
        self.alloc(alloc_id).map(|h| h.dir.path().to_owned())
    }

    /// The root of the allocation directories.
    pub fn alloc_root(&self) -> &Path {
        &self.inner.cfg.alloc_dir
    }

    /// The driver plugins.
    pub fn drivers(&self) -> &Arc<Drivers> {
        &self.inner.drivers
    }

    fn tasks_of(
        &self,
        alloc_id: &str,
        task: Option<&str>,
        all: bool,
    ) -> Result<Vec<crate::taskrunner::TaskCtl>, ControlError> {
        let h = self
            .alloc(alloc_id)
            .ok_or_else(|| ControlError::NotFound(format!("unknown allocation {alloc_id:?}")))?;
        match task {
            Some(t) if !all => h.task(t).map(|c| vec![c]).ok_or_else(|| {
                ControlError::NotFound(format!("unknown task {t:?} in allocation {alloc_id}"))
            }),
            _ => Ok(h.all_tasks()),
        }
    }

    /// `alloc restart`: restarts one task (or every running one) in place, without
    /// counting against the restart policy.
    pub async fn restart(
        &self,
        alloc_id: &str,
        task: Option<&str>,
        all: bool,
    ) -> Result<(), ControlError> {
        let tasks = self.tasks_of(alloc_id, task, all)?;
        let mut any = false;
        for t in tasks {
            if t.state.borrow().state == drover_types::TaskStateValue::Running {
                any = true;
                let _ = t.restart.send(false).await;
            } else if task.is_some() && !all {
                return Err(ControlError::BadRequest(format!(
                    "task {:?} is not running",
                    t.name
                )));
            }
        }
        if !any {
            return Err(ControlError::BadRequest(
                "no running task to restart".into(),
            ));
        }
        Ok(())
    }

    /// `alloc signal`: sends `signal` to one task or every running one.
    pub async fn signal(
        &self,
        alloc_id: &str,
        task: Option<&str>,
        signal: &str,
    ) -> Result<(), ControlError> {
        let tasks = self.tasks_of(alloc_id, task, task.is_none())?;
        let mut sent = 0;
        for t in tasks {
            let Some(id) = t.task_id() else {
                if task.is_some() {
                    return Err(ControlError::BadRequest(format!(
                        "task {:?} is not running",
                        t.name
                    )));
                }
                continue;
            };
            let driver = self.inner.drivers.get(&t.driver).ok_or_else(|| {
                ControlError::BadRequest(format!("driver {:?} is not running", t.driver))
            })?;
            driver
                .signal_task(&id, signal)
                .await
                .map_err(|e| ControlError::BadRequest(e.to_string()))?;
            sent += 1;
        }
        if sent == 0 {
            return Err(ControlError::BadRequest("no running task to signal".into()));
        }
        Ok(())
    }

    /// One resource-usage sample of every running task of an allocation.
    pub async fn alloc_stats(
        &self,
        alloc_id: &str,
    ) -> Result<BTreeMap<String, drover_proto::v1::TaskResourceUsage>, ControlError> {
        use futures::StreamExt;
        let mut out = BTreeMap::new();
        for t in self.tasks_of(alloc_id, None, true)? {
            let (Some(id), Some(driver)) = (t.task_id(), self.inner.drivers.get(&t.driver)) else {
                continue;
            };
            let Ok(mut s) = driver.task_stats(&id, Duration::from_secs(1)).await else {
                continue;
            };
            if let Ok(Some(Ok(u))) = tokio::time::timeout(Duration::from_secs(5), s.next()).await {
                out.insert(t.name.clone(), u);
            }
        }
        Ok(out)
    }

    /// Stops the loops. Tasks and plugins keep running for the next agent unless the
    /// config says to stop them (dev mode).
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        if self.inner.cfg.stop_tasks_on_shutdown {
            let handles: Vec<AllocHandle> = self
                .inner
                .allocs
                .lock()
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            for h in &handles {
                h.stop.cancel();
            }
            for h in handles {
                let mut t = h.terminal.clone();
                let _ = tokio::time::timeout(
                    self.inner.cfg.max_kill_timeout + Duration::from_secs(5),
                    t.wait_for(|d| *d),
                )
                .await;
            }
            self.inner.drivers.shutdown(&self.inner.env.db).await;
        } else {
            self.inner.drivers.detach().await;
        }
        // Stateless: nothing for a next agent to reattach to.
        self.inner.env.fetchers.shutdown().await;
    }

    fn restore(&self) {
        for alloc in self.inner.env.db.allocs() {
            let id = alloc.id.clone();
            tracing::info!(alloc = %id, "restoring allocation");
            self.start_runner(Arc::new(alloc));
        }
    }

    fn start_runner(&self, alloc: Arc<Allocation>) {
        let id = alloc.id.clone();
        match runner::start(self.inner.env.clone(), alloc, self.inner.updates.clone()) {
            Ok(h) => {
                if let Ok(mut m) = self.inner.allocs.lock() {
                    m.insert(id, h);
                }
            }
            Err(e) => tracing::error!(alloc = %id, error = %e, "cannot run allocation"),
        }
    }

    async fn register_once(&self) -> Result<Duration, RpcError> {
        let node = self.node();
        let r = self.inner.rpc.register(&node).await?;
        self.inner.registered.send_replace(true);
        Ok(Duration::from_nanos(
            u64::try_from(r.heartbeat_ttl).unwrap_or(0),
        ))
    }

    /// Registers, then heartbeats at half the TTL; registers again when the node
    /// changes or the servers forgot it.
    async fn register_loop(&self) {
        let mut backoff = Duration::from_millis(100);
        let mut ttl = loop {
            match self.register_once().await {
                Ok(ttl) => {
                    tracing::info!(node_id = %self.node_id(), "node registered");
                    break ttl;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "node registration failed; retrying in {backoff:?}");
                    tokio::select! {
                        _ = self.inner.stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(15));
                }
            }
        };
        loop {
            let wait = (ttl / 2).max(Duration::from_millis(500));
            let mut rereg = false;
            tokio::select! {
                _ = self.inner.stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.reregister.notified() => rereg = true,
            }
            let r = if rereg {
                self.register_once().await
            } else {
                match self
                    .inner
                    .rpc
                    .heartbeat(self.node_id(), NodeStatus::Ready)
                    .await
                {
                    Ok(r) => Ok(Duration::from_nanos(
                        u64::try_from(r.heartbeat_ttl).unwrap_or(0),
                    )),
                    Err(RpcError::NodeNotFound(_)) => self.register_once().await,
                    Err(e) => Err(e),
                }
            };
            match r {
                Ok(t) => ttl = t,
                Err(e) => {
                    tracing::warn!(error = %e, "heartbeat failed");
                    ttl = Duration::from_secs(2);
                }
            }
        }
    }

    /// Rebuilds the node when a driver's fingerprint changes.
    async fn fingerprint_loop(
        &self,
        mut fps: watch::Receiver<BTreeMap<String, DriverFingerprint>>,
    ) {
        loop {
            tokio::select! {
                _ = self.inner.stop.cancelled() => return,
                r = fps.changed() => if r.is_err() { return },
            }
            let drivers = fps.borrow_and_update().clone();
            let mut node = (*self.node()).clone();
            let mut changed = false;
            for (name, fp) in &drivers {
                changed |= fingerprint::apply_driver(&mut node, name, fp, SystemTime::now());
            }
            if changed {
                self.inner.node.send_replace(Arc::new(node));
                self.inner.reregister.notify_one();
            }
        }
    }

    /// Follows the node's allocations on the servers.
    async fn alloc_loop(&self) {
        let mut registered = self.registered();
        tokio::select! {
            _ = self.inner.stop.cancelled() => return,
            _ = registered.wait_for(|r| *r) => {}
        }
        let mut index = 0u64;
        let mut backoff = Duration::from_millis(100);
        loop {
            let r = tokio::select! {
                _ = self.inner.stop.cancelled() => return,
                r = self.inner.rpc.get_allocs(self.node_id(), index, ALLOC_WAIT) => r,
            };
            let r = match r {
                Ok(r) => {
                    backoff = Duration::from_millis(100);
                    r
                }
                Err(e) => {
                    if matches!(e, RpcError::NodeNotFound(_)) {
                        self.inner.reregister.notify_one();
                    }
                    tracing::warn!(error = %e, "watching allocations failed; retrying in {backoff:?}");
                    tokio::select! {
                        _ = self.inner.stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            index = r.index.max(index);
            let mut seen = BTreeSet::new();
            for entry in r.allocs {
                seen.insert(entry.id.clone());
                let existing = self.alloc(&entry.id);
                let Some(alloc) = entry.alloc else { continue };
                match existing {
                    None => {
                        if alloc.desired_status != DesiredStatus::Run || alloc.client_terminal() {
                            continue;
                        }
                        // A task the client state does not know of would be lost (and
                        // started twice) at the next agent restart: fail it instead.
                        if let Err(e) = self.inner.env.db.put_alloc(&alloc).await {
                            tracing::error!(alloc = %alloc.id, error = %e, "cannot store allocation; failing it");
                            let msg = format!("cannot record the allocation on this node: {e}");
                            let _ = self
                                .inner
                                .updates
                                .send(runner::failed_before_start(&alloc, &msg));
                            continue;
                        }
                        self.start_runner(Arc::new(*alloc));
                    }
                    Some(h) => {
                        let known = h.alloc.borrow().alloc_modify_index;
                        if alloc.alloc_modify_index > known
                            || alloc.desired_status != h.alloc.borrow().desired_status
                        {
                            if let Err(e) = self.inner.env.db.put_alloc(&alloc).await {
                                tracing::error!(alloc = %alloc.id, error = %e, "cannot store allocation");
                            }
                            h.alloc.send_replace(Arc::new(*alloc));
                        }
                    }
                }
            }
            // Allocations the servers no longer hold are destroyed.
            let gone: Vec<String> = self
                .inner
                .allocs
                .lock()
                .map(|m| m.keys().filter(|k| !seen.contains(*k)).cloned().collect())
                .unwrap_or_default();
            for id in gone {
                self.destroy(&id).await;
            }
        }
    }

    /// Stops an allocation's tasks, removes its directory and its state.
    pub async fn destroy(&self, alloc_id: &str) {
        let Some(h) = self.alloc(alloc_id) else {
            return;
        };
        h.stop.cancel();
        let mut t = h.terminal.clone();
        let _ = tokio::time::timeout(
            self.inner.cfg.max_kill_timeout + Duration::from_secs(5),
            t.wait_for(|d| *d),
        )
        .await;
        if let Ok(mut m) = self.inner.allocs.lock() {
            m.remove(alloc_id);
        }
        if let Ok(mut m) = self.inner.terminal_at.lock() {
            m.remove(alloc_id);
        }
        if let Err(e) = h.dir.destroy() {
            tracing::warn!(alloc = %alloc_id, error = %e, "removing the allocation directory");
        }
        if let Err(e) = self.inner.env.db.delete_alloc(alloc_id).await {
            tracing::warn!(alloc = %alloc_id, error = %e, "removing the allocation's state");
        }
        tracing::info!(alloc = %alloc_id, "allocation destroyed");
    }

    /// Sends status changes to the servers: everything that arrived while the previous
    /// send was in flight goes in the next batch (latest state per allocation).
    async fn update_loop(&self, mut rx: mpsc::UnboundedReceiver<AllocUpdate>) {
        let mut pending: BTreeMap<String, AllocUpdate> = BTreeMap::new();
        let mut registered = self.registered();
        loop {
            if pending.is_empty() {
                tokio::select! {
                    _ = self.inner.stop.cancelled() => return,
                    u = rx.recv() => match u {
                        Some(u) => { pending.insert(u.id.clone(), u); }
                        None => return,
                    },
                }
            }
            while let Ok(u) = rx.try_recv() {
                pending.insert(u.id.clone(), u);
            }
            if !*registered.borrow() {
                tokio::select! {
                    _ = self.inner.stop.cancelled() => return,
                    _ = registered.wait_for(|r| *r) => {}
                }
            }
            let batch: Vec<AllocUpdate> = std::mem::take(&mut pending).into_values().collect();
            self.note_terminal(&batch);
            let allocs: Vec<Allocation> = batch
                .iter()
                .map(|u| Allocation {
                    id: u.id.clone(),
                    node_id: self.node_id().to_owned(),
                    client_status: u.client_status,
                    client_description: u.client_description.clone(),
                    task_states: u.task_states.clone(),
                    ..Default::default()
                })
                .collect();
            if let Err(e) = self.inner.rpc.update_allocs(allocs).await {
                tracing::warn!(error = %e, "sending allocation updates failed; retrying");
                for u in batch {
                    pending.entry(u.id.clone()).or_insert(u);
                }
                tokio::select! {
                    _ = self.inner.stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }

    fn note_terminal(&self, batch: &[AllocUpdate]) {
        let Ok(mut m) = self.inner.terminal_at.lock() else {
            return;
        };
        let now = crate::taskrunner::now_ns();
        for u in batch {
            let terminal = matches!(
                u.client_status,
                drover_types::ClientStatus::Complete | drover_types::ClientStatus::Failed
            );
            if terminal {
                m.entry(u.id.clone()).or_insert(now);
            } else {
                m.remove(&u.id);
            }
        }
    }

    /// Removes terminal allocations by the `gc_*` rules.
    async fn gc_loop(&self) {
        loop {
            tokio::select! {
                _ = self.inner.stop.cancelled() => return,
                _ = tokio::time::sleep(self.inner.cfg.gc_interval) => {}
            }
            let stats = match statvfs(&self.inner.cfg.alloc_dir) {
                Some(s) => s,
                None => continue,
            };
            let live = self.inner.allocs.lock().map(|m| m.len()).unwrap_or(0);
            let candidates = self.gc_candidates();
            let plan = gc::plan(&self.inner.cfg.gc, stats, live, &candidates);
            if let Some(why) = &plan.blocked {
                tracing::debug!(reason = %why, "garbage collection skipped because no terminal allocations");
            }
            for d in plan.collect {
                tracing::info!(alloc = %d.alloc_id, reason = %d.reason, "garbage collecting allocation");
                self.destroy(&d.alloc_id).await;
            }
        }
    }

    fn gc_candidates(&self) -> Vec<GcCandidate> {
        let handles: Vec<(String, AllocHandle)> = self
            .inner
            .allocs
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let terminal_at = self
            .inner
            .terminal_at
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        handles
            .into_iter()
            .filter(|(_, h)| h.is_terminal())
            .map(|(id, h)| {
                let usage = h.dir.disk_usage().unwrap_or_default();
                let disk_mb = h
                    .alloc
                    .borrow()
                    .allocated_resources
                    .as_ref()
                    .map_or(0, |r| u64::try_from(r.shared.disk_mb).unwrap_or(0));
                GcCandidate {
                    terminal_at: terminal_at.get(&id).copied().unwrap_or(0),
                    alloc_id: id,
                    disk_bytes: usage.bytes,
                    inodes: usage.inodes,
                    disk_mb,
                }
            })
            .collect()
    }
}

/// The filesystem of `path` (size, available bytes, inodes).
pub fn statvfs(path: &Path) -> Option<GcStats> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(GcStats {
        total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
        available_bytes: s.f_bavail.saturating_mul(s.f_frsize),
        total_inodes: s.f_files,
        free_inodes: s.f_ffree,
    })
}
