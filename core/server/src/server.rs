//! [`Server`]: Raft (log in a WAL on disk) with the state store as its FSM, and the tasks around it
//! (eval broker and blocked evals on the leader, scheduler workers, the plan applier,
//! heartbeat timers, the drainer). Every write is a [`Command`] proposed to Raft, also
//! on a single server.
//!
//! Readers never block the Raft loop: each apply publishes the new [`StateView`] on a
//! `watch` channel; [`Server::view`] is an O(1) clone and [`Server::wait_for`] blocks
//! until an index is reached (blocking queries, workers).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_state::{ApplyResponse, Command, EventBatch, Outcome, StateStore, StateView, Table};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::error::{ServerError, ServerResult, StartError};
use crate::fsm::{self, Applied, ServerFsm};
use crate::leader::{self, PlanRequest, SharedBroker, Timers};
use crate::raft::{GrpcTransport, RaftConfig, RaftHandle, RaftNode, RaftStatus, RaftStorage};
use crate::snapshot::NodeListCache;
use crate::worker;

/// Shared internals of a running server.
pub(crate) struct Core {
    pub(crate) config: ServerConfig,
    pub(crate) raft: RaftHandle,
    pub(crate) raft_addr: String,
    pub(crate) rpc_addr: String,
    pub(crate) http_addr: std::sync::OnceLock<String>,
    pub(crate) views: watch::Receiver<StateView>,
    pub(crate) store: Arc<Mutex<StateStore>>,
    pub(crate) broker: SharedBroker,
    pub(crate) heartbeats: Mutex<Timers>,
    pub(crate) heartbeat_changed: Notify,
    pub(crate) plans: mpsc::Sender<PlanRequest>,
    pub(crate) node_cache: NodeListCache,
    pub(crate) tracker: TaskTracker,
    pub(crate) shutdown: CancellationToken,
}

/// Unix nanoseconds now (stamped into log entries by the leader).
pub(crate) fn now_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A random UUID-shaped ID, as Nomad's `uuid.Generate`.
pub(crate) fn generate_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl Core {
    pub(crate) fn view(&self) -> StateView {
        self.views.borrow().clone()
    }

    /// Proposes `cmd`; resolves once it is committed and applied, with its index and
    /// the state machine's outcome.
    pub(crate) async fn propose(&self, cmd: &Command) -> ServerResult<(u64, Outcome)> {
        let (index, bytes) = self.raft.propose(cmd.encode()).await?;
        let resp = ApplyResponse::decode(&bytes)
            .map_err(|e| ServerError::Internal(format!("{} at index {index}: {e}", cmd.name())))?;
        Ok((index, resp.result?))
    }

    /// The view once it has applied `index`, or `None` at `deadline`/shutdown.
    pub(crate) async fn wait_index(&self, index: u64, deadline: Instant) -> Option<StateView> {
        let mut rx = self.views.clone();
        let wait = rx.wait_for(|v| v.applied_index() >= index);
        tokio::select! {
            r = tokio::time::timeout_at(deadline, wait) => r.ok()?.ok().map(|v| v.clone()),
            _ = self.shutdown.cancelled() => None,
        }
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.raft.is_leader()
    }

    /// Fails with `NoLeader` (naming the leader) unless this server leads.
    pub(crate) fn require_leader(&self) -> ServerResult<()> {
        if self.is_leader() {
            return Ok(());
        }
        let status = self.raft.status();
        let leader = status
            .leader_id
            .and_then(|id| status.peers.get(&id).cloned());
        Err(ServerError::NoLeader { leader })
    }
}

/// A running server; cheap to clone. See the module docs and the crate docs for the
/// request methods (one file per resource under `endpoints/`).
#[derive(Clone)]
pub struct Server {
    pub(crate) core: Arc<Core>,
}

/// Raft membership as `/v1/operator/raft/configuration` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftServerInfo {
    /// Raft id, as a string (Nomad's `ID`).
    pub id: String,
    /// Raft address.
    pub address: String,
    /// Whether it leads.
    pub leader: bool,
    /// Whether it votes.
    pub voter: bool,
}

impl Server {
    /// Opens Raft under `<data_dir>/server/` with the state store as its FSM (restoring
    /// the state from snapshot + log), binds the raft transport and the cluster RPC
    /// (`rpc_bind`), and starts every task. The returned handle resolves once all of
    /// them stopped after `shutdown`.
    pub async fn start(
        config: ServerConfig,
        shutdown: CancellationToken,
    ) -> Result<(Server, JoinHandle<()>), StartError> {
        config.validate()?;
        let listener =
            crate::listen(&config.raft_bind)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.raft_bind.clone(),
                    source,
                })?;
        let bound = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.raft_bind.clone(),
            source,
        })?;
        let raft_addr = config
            .raft_advertise
            .clone()
            .unwrap_or_else(|| bound.to_string());
        let rpc_bind_err = |e: std::io::Error| {
            StartError::Config(format!(
                "rpc_bind: cannot listen on {}: {e}",
                config.rpc_bind
            ))
        };
        let rpc_listener = crate::listen(&config.rpc_bind)
            .await
            .map_err(rpc_bind_err)?;
        let rpc_addr = match &config.rpc_advertise {
            Some(a) => a.clone(),
            None => rpc_listener.local_addr().map_err(rpc_bind_err)?.to_string(),
        };
        let mut raft_config = if config.peers.is_empty() {
            RaftConfig::single(config.node_id, raft_addr.clone())
        } else {
            RaftConfig::cluster(config.node_id, config.peers.clone())
        };
        raft_config.tick_interval = config.raft_tick;
        raft_config.snapshot_threshold = config.snapshot_threshold;

        let store = Arc::new(Mutex::new(StateStore::new()));
        let (views_tx, views) = watch::channel(StateView::default());
        let (notes_tx, notes) = mpsc::unbounded_channel::<Applied>();
        let fsm = ServerFsm::new(store.clone(), views_tx, notes_tx);
        let storage = RaftStorage::open(&config.data_dir)?;
        let transport = GrpcTransport::new(config.node_id, shutdown.clone());
        let transport_tasks = transport.tracker();
        let (node, raft) = RaftNode::open(raft_config, storage, fsm, Box::new(transport))?;
        let (plans, plan_rx) = mpsc::channel(1024);
        let tracker = TaskTracker::new();
        let core = Arc::new(Core {
            broker: SharedBroker::new(config.broker.clone()),
            config,
            raft: raft.clone(),
            raft_addr,
            rpc_addr,
            http_addr: std::sync::OnceLock::new(),
            views,
            store,
            heartbeats: Mutex::new(Timers::default()),
            heartbeat_changed: Notify::new(),
            plans,
            node_cache: NodeListCache::default(),
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
        });

        let raft_stop = CancellationToken::new();
        let raft_task = tokio::spawn(node.run(raft_stop.clone()));
        let serve_stop = raft_stop.clone();
        let serve_raft = raft.clone();
        let serve_task = tokio::spawn(async move {
            if let Err(e) = crate::raft::serve(listener, serve_raft, serve_stop).await {
                tracing::error!(error = %e, "raft transport server failed");
            }
        });
        tracker.spawn(leader::run_leader_loop(core.clone(), notes));
        tracker.spawn(leader::run_plan_applier(core.clone(), plan_rx));
        tracker.spawn(leader::run_heartbeats(core.clone()));
        tracker.spawn(leader::run_drainer(core.clone()));
        for id in 0..core.config.num_schedulers {
            tracker.spawn(worker::run_worker(core.clone(), id));
        }
        let rpc_server = Server { core: core.clone() };
        let rpc_stop = shutdown.clone();
        tracker.spawn(async move {
            if let Err(e) = crate::rpc::serve(rpc_listener, rpc_server, rpc_stop).await {
                tracing::error!(error = %e, "cluster RPC server failed");
            }
        });
        let done = tokio::spawn(async move {
            shutdown.cancelled().await;
            tracker.close();
            tracker.wait().await;
            // Raft last: the tasks above may have been waiting on proposals.
            raft_stop.cancel();
            match raft_task.await {
                Ok(Err(e)) => tracing::error!(error = %e, "raft node stopped with an error"),
                Err(e) => tracing::error!(error = %e, "raft node task failed"),
                Ok(Ok(())) => {}
            }
            let _ = serve_task.await;
            transport_tasks.close();
            transport_tasks.wait().await;
        });
        Ok((Server { core }, done))
    }

    /// The latest applied state: an O(1) consistent snapshot.
    pub fn view(&self) -> StateView {
        self.core.view()
    }

    /// Waits until one of `tables` (every table when empty) has an index greater than
    /// `min_index`, or until `deadline`; returns the state at that moment.
    pub async fn wait_for(&self, tables: &[Table], min_index: u64, deadline: Instant) -> StateView {
        let index_of = |v: &StateView| {
            if tables.is_empty() {
                v.latest_index()
            } else {
                tables.iter().map(|t| v.index(*t)).max().unwrap_or(0)
            }
        };
        let mut rx = self.core.views.clone();
        let wait = rx.wait_for(|v| index_of(v) > min_index);
        match tokio::time::timeout_at(deadline, wait).await {
            Ok(Ok(v)) => v.clone(),
            _ => self.view(),
        }
    }

    /// The state once it has applied raft index `index`; `None` at `deadline`.
    pub async fn wait_index(&self, index: u64, deadline: Instant) -> Option<StateView> {
        self.core.wait_index(index, deadline).await
    }

    /// Event batches with an index greater than `index`, oldest first.
    pub fn events_since(&self, index: u64) -> Vec<Arc<EventBatch>> {
        fsm::events_since(&self.core.store, index)
    }

    /// The state machine's snapshot image now (deterministic JSON; equal states give
    /// equal bytes): for operator snapshots and recovery checks.
    pub fn state_snapshot(&self) -> Vec<u8> {
        fsm::lock(&self.core.store).snapshot()
    }

    /// Raft progress and membership.
    pub fn raft_status(&self) -> RaftStatus {
        self.core.raft.status()
    }

    /// Whether this server leads.
    pub fn is_leader(&self) -> bool {
        self.core.is_leader()
    }

    /// Waits up to `timeout` for this server to know a leader; whether it does.
    pub async fn wait_for_leader(&self, timeout: Duration) -> bool {
        self.core
            .raft
            .wait_for(timeout, |s| s.leader_id.is_some())
            .await
            .is_some()
    }

    /// The leader's raft address (`None` without a leader).
    pub fn leader_addr(&self) -> Option<String> {
        let s = self.core.raft.status();
        s.leader_id.and_then(|id| s.peers.get(&id).cloned())
    }

    /// The raft addresses of the voters, sorted.
    pub fn peers(&self) -> Vec<String> {
        let s = self.core.raft.status();
        let mut v: Vec<String> = s
            .voters
            .iter()
            .filter_map(|id| s.peers.get(id).cloned())
            .collect();
        v.sort();
        v
    }

    /// `/v1/operator/raft/configuration`'s servers.
    pub fn raft_configuration(&self) -> Vec<RaftServerInfo> {
        let s = self.core.raft.status();
        s.voters
            .iter()
            .map(|id| RaftServerInfo {
                id: id.to_string(),
                address: s.peers.get(id).cloned().unwrap_or_default(),
                leader: s.leader_id == Some(*id),
                voter: true,
            })
            .collect()
    }

    /// The address clients reach this server's cluster RPC at (`rpc_advertise`, or
    /// the bound `rpc_bind` address).
    pub fn rpc_addr(&self) -> &str {
        &self.core.rpc_addr
    }

    /// Records the address of the agent's HTTP API (known once it is bound, after the
    /// server started), which clients learn to forward API requests to. Set once.
    pub fn set_http_addr(&self, addr: String) {
        let _ = self.core.http_addr.set(addr);
    }

    /// The agent's HTTP API address, once set.
    pub fn http_addr(&self) -> Option<&str> {
        self.core.http_addr.get().map(String::as_str)
    }

    /// This server's raft address.
    pub fn raft_addr(&self) -> &str {
        &self.core.raft_addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.core.config
    }

    /// Eval broker counts (ready, unacked, pending, delayed).
    pub fn broker_stats(&self) -> leader::BrokerStats {
        self.core.broker.stats()
    }
}
