//! The server's Raft state machine: [`StateStore`] plus what the rest of the server
//! needs from every apply.
//!
//! * Readers never lock the store: after each apply the new [`StateView`] (an O(1)
//!   clone) is published on a `watch` channel; blocking queries and workers wait on it.
//! * The leader's side effects (enqueue new evals, block or unblock evals, note
//!   capacity that appeared) are sent as [`Applied`] notes on a channel; the apply
//!   itself stays deterministic and pure (Nomad's FSM hooks `evalBroker.Enqueue` and
//!   `blockedEvals.Unblock` the same way).

use std::sync::{Arc, Mutex};

use drover_state::{ApplyResponse, Command, EventBatch, StateStore, StateView};
use drover_types::{ClientStatus, Evaluation, NodeStatus, SchedulingEligibility};
use tokio::sync::{mpsc, watch};

use crate::raft::{RestoreError, SnapshotImage, StateMachine};

/// A side effect of one applied entry, for the leader.
#[derive(Debug, Clone)]
pub(crate) enum Applied {
    /// The entry at `index` committed.
    Entry {
        /// Its raft index.
        index: u64,
        /// Evals the entry created or updated, as stored.
        evals: Vec<Arc<Evaluation>>,
        /// Computed node classes (`""` = unknown) where capacity appeared.
        capacity: Vec<String>,
    },
    /// The whole state was replaced from a snapshot.
    Restored,
}

/// The [`StateMachine`] raft drives; see the module docs.
pub(crate) struct ServerFsm {
    store: Arc<Mutex<StateStore>>,
    views: watch::Sender<StateView>,
    notes: mpsc::UnboundedSender<Applied>,
}

impl ServerFsm {
    pub(crate) fn new(
        store: Arc<Mutex<StateStore>>,
        views: watch::Sender<StateView>,
        notes: mpsc::UnboundedSender<Applied>,
    ) -> Self {
        Self {
            store,
            views,
            notes,
        }
    }
}

/// Locks the shared store; a poisoned lock still holds a whole state (applies are
/// copy-on-write and never half-done).
pub(crate) fn lock(store: &Mutex<StateStore>) -> std::sync::MutexGuard<'_, StateStore> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// Event batches newer than `index` from the shared store.
pub(crate) fn events_since(store: &Mutex<StateStore>, index: u64) -> Vec<Arc<EventBatch>> {
    lock(store).events_since(index)
}

impl StateMachine for ServerFsm {
    fn apply(&mut self, index: u64, entry: &[u8]) -> Vec<u8> {
        let mut store = lock(&self.store);
        let (bytes, note) = if entry.is_empty() {
            (store.apply(index, entry), None)
        } else {
            match Command::decode(entry) {
                Ok(cmd) => {
                    let result = store.apply_command(index, &cmd);
                    let note = match &result {
                        Ok(out) if !out.skipped => Some(effects(&store, index, &cmd)),
                        _ => None,
                    };
                    (ApplyResponse { index, result }.encode(), note)
                }
                // Let the store record the index and answer the decode error.
                Err(_) => (store.apply(index, entry), None),
            }
        };
        self.views.send_replace(store.snapshot_view());
        drop(store);
        if let Some(note) = note {
            let _ = self.notes.send(note);
        }
        bytes
    }

    fn snapshot(&self) -> Vec<u8> {
        lock(&self.store).snapshot()
    }

    /// The view is an O(1) persistent copy: encode it on another thread.
    fn snapshot_image(&self) -> SnapshotImage {
        let view = lock(&self.store).snapshot_view();
        SnapshotImage::Deferred(Box::new(move || StateStore::snapshot_of(&view)))
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let mut store = lock(&self.store);
        store.restore(snapshot)?;
        self.views.send_replace(store.snapshot_view());
        drop(store);
        let _ = self.notes.send(Applied::Restored);
        Ok(())
    }
}

/// The evals an entry wrote and where it freed or added capacity.
fn effects(store: &StateStore, index: u64, cmd: &Command) -> Applied {
    let mut eval_ids: Vec<&str> = Vec::new();
    let mut capacity: Vec<String> = Vec::new();
    let class_of = |node_id: &str| {
        store
            .node_by_id(node_id)
            .map(|n| n.computed_class.clone())
            .unwrap_or_default()
    };
    match cmd {
        Command::JobRegister(c) => eval_ids.extend(c.eval.iter().map(|e| e.id.as_str())),
        Command::JobDeregister(c) => eval_ids.extend(c.eval.iter().map(|e| e.id.as_str())),
        Command::JobBatchDeregister(c) => eval_ids.extend(c.evals.iter().map(|e| e.id.as_str())),
        Command::JobScale(c) => eval_ids.extend(c.eval.iter().map(|e| e.id.as_str())),
        Command::JobStability(_) | Command::NodeDeregister(_) | Command::DeleteEvals(_) => {}
        Command::UpsertDeployment(_) => {}
        Command::DeploymentStatusUpdate(c) => eval_ids.extend(c.eval.iter().map(|e| e.id.as_str())),
        Command::NodeRegister(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            if c.node.status == NodeStatus::Ready {
                capacity.push(class_of(&c.node.id));
            }
        }
        Command::NodeUpdateStatus(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            if c.status == NodeStatus::Ready {
                capacity.push(class_of(&c.node_id));
            }
        }
        Command::NodeUpdateEligibility(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            if c.eligibility == SchedulingEligibility::Eligible {
                capacity.push(class_of(&c.node_id));
            }
        }
        Command::NodeUpdateDrain(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            if c.drain_strategy.is_none() && c.mark_eligible {
                capacity.push(class_of(&c.node_id));
            }
        }
        Command::UpsertEvals(c) => eval_ids.extend(c.evals.iter().map(|e| e.id.as_str())),
        Command::AllocClientUpdate(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            for a in &c.allocs {
                let terminal = matches!(
                    a.client_status,
                    ClientStatus::Complete | ClientStatus::Failed | ClientStatus::Lost
                );
                if terminal && let Some(stored) = store.alloc_by_id(&a.id) {
                    capacity.push(class_of(&stored.node_id));
                }
            }
        }
        Command::AllocUpdateDesiredTransition(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()))
        }
        Command::ApplyPlanResults(c) => {
            eval_ids.extend(c.evals.iter().map(|e| e.id.as_str()));
            let r = &c.result;
            for node in r.node_update.keys().chain(r.node_preemptions.keys()) {
                capacity.push(class_of(node));
            }
        }
    }
    capacity.sort_unstable();
    capacity.dedup();
    let evals = eval_ids
        .into_iter()
        .filter_map(|id| store.eval_by_id(id).cloned())
        .collect();
    Applied::Entry {
        index,
        evals,
        capacity,
    }
}
