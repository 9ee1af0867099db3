//! `StateStore`: the FSM the Raft layer drives (`apply`, `snapshot`, `restore`), the
//! typed apply used by tests and single-process tools, views and the event feed.
//!
//! `apply(index, entry)` contract:
//! * `index <= applied_index()` → skipped (`Outcome::skipped`), nothing changes: a
//!   replayed entry (e.g. after restoring a snapshot that already contains it) is
//!   idempotent, including `ApplyPlanResults`.
//! * An empty entry is a no-op (Raft's leader-election entries); it only advances the
//!   applied index.
//! * A malformed or rejected entry returns an error and changes nothing but the
//!   applied index: the command runs against a copy-on-write working set that is
//!   swapped in only on success (never half-applied).

use crate::command::Command;
use crate::error::{ApplyError, RestoreError};
use crate::events::{EventBatch, EventBuffer, event_type as et};
use crate::txn::Txn;
use crate::view::StateView;
use crate::{allocs, evals, jobs, nodes, plan, snapshot};
use serde::{Deserialize, Serialize};
use std::ops::Deref;
use std::sync::Arc;

/// Events kept for replay by default.
pub const DEFAULT_EVENT_CAPACITY: usize = 8192;

/// What a successful apply produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Outcome {
    /// The index was already applied; nothing changed.
    pub skipped: bool,
    /// Job writes: the job's `JobModifyIndex` after the write (unchanged when the spec
    /// was unchanged); purges report the purge index.
    pub job_modify_index: Option<u64>,
    /// Job writes: the job's version after the write.
    pub job_version: Option<u64>,
    /// Number of events recorded.
    pub events: usize,
}

/// The bytes `apply` returns, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyResponse {
    /// The Raft index of the entry.
    pub index: u64,
    /// `{"Ok":…}` or `{"Err":…}`.
    pub result: Result<Outcome, ApplyError>,
}

impl ApplyResponse {
    /// Encodes for the Raft layer (JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    /// Decodes what [`StateStore::apply`] returned.
    pub fn decode(bytes: &[u8]) -> Result<ApplyResponse, ApplyError> {
        serde_json::from_slice(bytes).map_err(|e| ApplyError::Decode {
            reason: format!("apply response: {e}"),
        })
    }
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct StateStore {
    view: StateView,
    events: EventBuffer,
}

impl Default for StateStore {
    fn default() -> Self {
        StateStore::new()
    }
}

impl Deref for StateStore {
    type Target = StateView;
    fn deref(&self) -> &StateView {
        &self.view
    }
}

impl StateStore {
    /// An empty store keeping [`DEFAULT_EVENT_CAPACITY`] events.
    pub fn new() -> Self {
        StateStore::with_event_capacity(DEFAULT_EVENT_CAPACITY)
    }

    /// An empty store keeping the last `events` events (0 disables the buffer).
    pub fn with_event_capacity(events: usize) -> Self {
        StateStore {
            view: StateView::default(),
            events: EventBuffer::new(events),
        }
    }

    /// Raft FSM: applies a log entry, returns an encoded [`ApplyResponse`].
    pub fn apply(&mut self, index: u64, entry: &[u8]) -> Vec<u8> {
        let result = if entry.is_empty() {
            if index > self.view.applied_index {
                self.view.applied_index = index;
                Ok(Outcome::default())
            } else {
                Ok(Outcome {
                    skipped: true,
                    ..Default::default()
                })
            }
        } else {
            match Command::decode(entry) {
                Ok(cmd) => self.apply_command(index, &cmd),
                Err(e) => {
                    if index > self.view.applied_index {
                        self.view.applied_index = index;
                    }
                    Err(e)
                }
            }
        };
        ApplyResponse { index, result }.encode()
    }

    /// Typed apply: same rules as [`StateStore::apply`].
    pub fn apply_command(&mut self, index: u64, cmd: &Command) -> Result<Outcome, ApplyError> {
        if index <= self.view.applied_index {
            return Ok(Outcome {
                skipped: true,
                ..Default::default()
            });
        }
        let mut t = Txn::new(self.view.clone(), index, event_kind(cmd));
        let result = run(&mut t, cmd);
        match result {
            Ok(mut out) => {
                jobs::settle_statuses(&mut t);
                let (view, events) = t.into_parts();
                self.view = view;
                out.events = events.len();
                self.events.push(Arc::new(EventBatch { index, events }));
                Ok(out)
            }
            Err(e) => {
                self.view.applied_index = index;
                Err(e)
            }
        }
    }

    /// An O(1) consistent read snapshot; later applies never change it.
    pub fn snapshot_view(&self) -> StateView {
        self.view.clone()
    }

    /// Raft FSM: the whole state as bytes (JSON, deterministic: equal states give equal
    /// bytes). Events are not included.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(&self.view)
    }

    /// The same image as [`StateStore::snapshot`], built from a view taken earlier
    /// (`snapshot_view()`): lets the Raft layer encode it on another thread while
    /// applies continue.
    pub fn snapshot_of(view: &StateView) -> Vec<u8> {
        snapshot::encode(view)
    }

    /// Raft FSM: replaces the state with a snapshot; on error the store is unchanged.
    /// The event buffer is cleared.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        self.view = snapshot::decode(bytes)?;
        self.events.clear();
        Ok(())
    }

    /// Event batches with an index greater than `index`, oldest first.
    pub fn events_since(&self, index: u64) -> Vec<Arc<EventBatch>> {
        self.events.since(index)
    }

    /// The index of the oldest batch still buffered: replay from an older index is
    /// incomplete.
    pub fn oldest_event_index(&self) -> Option<u64> {
        self.events.oldest_index()
    }

    /// Number of events buffered.
    pub fn buffered_events(&self) -> usize {
        self.events.len()
    }
}

fn event_kind(cmd: &Command) -> &'static str {
    match cmd {
        Command::JobRegister(_) | Command::JobScale(_) | Command::JobStability(_) => {
            et::JOB_REGISTERED
        }
        Command::JobDeregister(_) => et::JOB_DEREGISTERED,
        Command::JobBatchDeregister(_) => et::JOB_BATCH_DEREGISTERED,
        Command::NodeRegister(_) => et::NODE_REGISTRATION,
        Command::NodeDeregister(_) => et::NODE_DEREGISTRATION,
        Command::NodeUpdateStatus(_) => et::NODE_EVENT,
        Command::NodeUpdateEligibility(_) | Command::NodeUpdateDrain(_) => et::NODE_DRAIN,
        Command::UpsertEvals(_) | Command::DeleteEvals(_) => et::EVALUATION_UPDATED,
        Command::AllocClientUpdate(_) => et::ALLOCATION_UPDATED,
        Command::AllocUpdateDesiredTransition(_) => et::ALLOCATION_UPDATE_DESIRED_STATUS,
        Command::ApplyPlanResults(_) => et::PLAN_RESULT,
        Command::UpsertDeployment(_) | Command::DeploymentStatusUpdate(_) => {
            et::DEPLOYMENT_STATUS_UPDATE
        }
    }
}

fn run(t: &mut Txn, cmd: &Command) -> Result<Outcome, ApplyError> {
    let job = |w: jobs::JobWrite| Outcome {
        job_modify_index: Some(w.job_modify_index),
        job_version: Some(w.version),
        ..Default::default()
    };
    let none = |_: ()| Outcome::default();
    match cmd {
        Command::JobRegister(c) => jobs::register(t, c).map(job),
        Command::JobDeregister(c) => jobs::deregister(t, c).map(job),
        Command::JobBatchDeregister(c) => jobs::batch_deregister(t, c).map(none),
        Command::JobScale(c) => jobs::scale(t, c).map(job),
        Command::JobStability(c) => jobs::stability(t, c).map(none),
        Command::NodeRegister(c) => nodes::register(t, c).map(none),
        Command::NodeDeregister(c) => nodes::deregister(t, c).map(none),
        Command::NodeUpdateStatus(c) => nodes::update_status(t, c).map(none),
        Command::NodeUpdateEligibility(c) => nodes::update_eligibility(t, c).map(none),
        Command::NodeUpdateDrain(c) => nodes::update_drain(t, c).map(none),
        Command::UpsertEvals(c) => evals::upsert_evals(t, &c.evals).map(none),
        Command::DeleteEvals(c) => evals::delete(t, c).map(none),
        Command::AllocClientUpdate(c) => allocs::client_update(t, c).map(none),
        Command::AllocUpdateDesiredTransition(c) => allocs::desired_transition(t, c).map(none),
        Command::ApplyPlanResults(c) => plan::apply_plan(t, c).map(none),
        Command::UpsertDeployment(c) => plan::upsert(t, c).map(none),
        Command::DeploymentStatusUpdate(c) => plan::status_change(t, c).map(none),
    }
}
