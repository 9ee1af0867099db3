//! The server's state machine: indexed tables of jobs (with versions), job summaries,
//! nodes, allocations, evaluations and deployments, changed only by applying Raft log
//! entries. Pure: no I/O, no async, no clocks (times travel inside the entries).
//!
//! Why a separate crate: every server must reach byte-identical state from the same
//! log, so the rules Nomad's `nomad/state` and `nomad/fsm.go` enforce live here, where
//! they can be tested without a network, a disk or a clock (STYLE 1).
//!
//! * [`Command`]: the log entry (versioned JSON envelope, see [`command`]).
//! * [`StateStore`]: the FSM. The Raft layer calls [`StateStore::apply`],
//!   [`StateStore::snapshot`] and [`StateStore::restore`] with bytes; everything else
//!   uses [`StateStore::apply_command`] and the read API.
//! * [`StateView`]: an O(1), immutable read snapshot (`store.snapshot_view()`) for
//!   schedulers, the plan applier and blocking queries; `StateStore` derefs to its
//!   current view. [`StateView::index`] gives the last Raft index that changed a table
//!   (`X-Nomad-Index`).
//! * [`Event`]/[`EventBatch`]: the change feed in Nomad's event-stream shape, kept for
//!   replay ([`StateStore::events_since`]).
//!
//! ```
//! use drover_state::{Command, StateStore, command::JobRegister};
//! use drover_types::Job;
//!
//! let mut store = StateStore::new();
//! let job = Job { id: Some("web".into()), ..Default::default() };
//! let cmd = Command::JobRegister(JobRegister { job, submit_time: 1, ..Default::default() });
//! let out = store.apply_command(5, &cmd).unwrap();
//! assert_eq!(out.job_modify_index, Some(5));
//! let view = store.snapshot_view();
//! assert_eq!(view.job_by_id("default", "web").unwrap().status.as_deref(), Some("pending"));
//! assert_eq!(view.index_of("jobs"), 5);
//! ```

mod allocs;
pub mod command;
pub mod error;
mod evals;
pub mod events;
mod jobs;
mod nodes;
mod plan;
mod render;
mod snapshot;
mod store;
pub mod time;
mod txn;
mod view;

pub use command::{Command, ENTRY_VERSION};
pub use error::{ApplyError, RestoreError};
pub use events::{Event, EventBatch, Payload, Topic, event_type};
pub use nodes::MAX_NODE_EVENTS;
pub use snapshot::SNAPSHOT_VERSION;
pub use store::{ApplyResponse, DEFAULT_EVENT_CAPACITY, Outcome, StateStore};
pub use txn::MAX_JOB_VERSIONS;
pub use view::{StateView, Table};
