//! The change feed: every applied entry yields the events Nomad's event stream would
//! emit for it (`/v1/event/stream`, reference §3.8), kept in a bounded buffer for index
//! replay and for waking blocking queries.
//!
//! As in Nomad (`nomad/state/events.go`), the event `Type` comes from the command (a
//! job register emits `JobRegistered` on both the Job and the Evaluation topic), each
//! changed row yields one event, allocation payloads drop the embedded job, node
//! payloads drop the secret, and deletions emit only for nodes. Payloads share the
//! table rows (`Arc`), so recording an event costs no copy.
//!
//! Events are not state: they are not in snapshots, and a restored store starts with an
//! empty buffer (replay then begins at the first index applied after the restore).

use drover_types::{Allocation, Deployment, Evaluation, Job, Node};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::collections::VecDeque;
use std::sync::Arc;

/// Event topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Topic {
    /// Jobs.
    Job,
    /// Allocations.
    Allocation,
    /// Evaluations.
    Evaluation,
    /// Nodes.
    Node,
    /// Deployments.
    Deployment,
}

impl Topic {
    /// Nomad's string.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Job => "Job",
            Topic::Allocation => "Allocation",
            Topic::Evaluation => "Evaluation",
            Topic::Node => "Node",
            Topic::Deployment => "Deployment",
        }
    }
    /// Parses Nomad's string.
    pub fn parse(s: &str) -> Option<Topic> {
        [
            Topic::Job,
            Topic::Allocation,
            Topic::Evaluation,
            Topic::Node,
            Topic::Deployment,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Event `Type` strings (Nomad's `MsgTypeEvents`).
pub mod event_type {
    pub const NODE_REGISTRATION: &str = "NodeRegistration";
    pub const NODE_DEREGISTRATION: &str = "NodeDeregistration";
    pub const NODE_DRAIN: &str = "NodeDrain";
    pub const NODE_EVENT: &str = "NodeStreamEvent";
    pub const EVALUATION_UPDATED: &str = "EvaluationUpdated";
    pub const ALLOCATION_UPDATED: &str = "AllocationUpdated";
    pub const ALLOCATION_UPDATE_DESIRED_STATUS: &str = "AllocationUpdateDesiredStatus";
    pub const JOB_REGISTERED: &str = "JobRegistered";
    pub const JOB_DEREGISTERED: &str = "JobDeregistered";
    pub const JOB_BATCH_DEREGISTERED: &str = "JobBatchDeregistered";
    pub const DEPLOYMENT_STATUS_UPDATE: &str = "DeploymentStatusUpdate";
    pub const PLAN_RESULT: &str = "PlanResult";
}

/// The changed row an event carries.
#[derive(Debug, Clone)]
pub enum Payload {
    /// `{"Job": …}`.
    Job(Arc<Job>),
    /// `{"Allocation": …}` (serialized without its `Job`).
    Allocation(Arc<Allocation>),
    /// `{"Evaluation": …}`.
    Evaluation(Arc<Evaluation>),
    /// `{"Node": …}` (serialized without its `SecretID`).
    Node(Arc<Node>),
    /// `{"Deployment": …}`.
    Deployment(Arc<Deployment>),
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Payload::Job(j) => m.serialize_entry("Job", j.as_ref())?,
            Payload::Allocation(a) => {
                let mut a = a.as_ref().clone();
                a.job = None;
                m.serialize_entry("Allocation", &a)?
            }
            Payload::Evaluation(e) => m.serialize_entry("Evaluation", e.as_ref())?,
            Payload::Node(n) => {
                let mut n = n.as_ref().clone();
                n.secret_id.clear();
                n.drain = n.drain_strategy.is_some();
                m.serialize_entry("Node", &n)?
            }
            Payload::Deployment(d) => m.serialize_entry("Deployment", d.as_ref())?,
        }
        m.end()
    }
}

/// One event, in Nomad's JSON shape.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// Topic.
    pub topic: Topic,
    /// One of [`event_type`]'s strings.
    #[serde(rename = "Type")]
    pub kind: &'static str,
    /// The row's ID.
    pub key: String,
    /// The row's namespace (empty for nodes).
    pub namespace: String,
    /// Extra keys a `Topic:key` filter matches (job ID, deployment ID).
    pub filter_keys: Vec<String>,
    /// Raft index.
    pub index: u64,
    /// The row after the change (before, for deletions).
    pub payload: Payload,
}

impl Event {
    /// Whether a `Topic:key` subscription (`key` `*` = all) matches.
    pub fn matches(&self, topic: Topic, key: &str) -> bool {
        self.topic == topic
            && (key == "*" || self.key == key || self.filter_keys.iter().any(|k| k == key))
    }
}

/// The events of one applied entry: Nomad's `{"Index":N,"Events":[…]}` line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventBatch {
    /// Raft index.
    pub index: u64,
    /// Events, in the order the rows changed.
    pub events: Vec<Event>,
}

/// The last N events, for replay from an index.
#[derive(Debug, Clone)]
pub(crate) struct EventBuffer {
    batches: VecDeque<Arc<EventBatch>>,
    events: usize,
    capacity: usize,
}

impl EventBuffer {
    pub(crate) fn new(capacity: usize) -> Self {
        EventBuffer {
            batches: VecDeque::new(),
            events: 0,
            capacity,
        }
    }
    pub(crate) fn push(&mut self, batch: Arc<EventBatch>) {
        if batch.events.is_empty() || self.capacity == 0 {
            return;
        }
        self.events += batch.events.len();
        self.batches.push_back(batch);
        // Keep at least the newest batch, even when it alone exceeds the capacity.
        while self.events > self.capacity && self.batches.len() > 1 {
            if let Some(old) = self.batches.pop_front() {
                self.events -= old.events.len();
            }
        }
    }
    pub(crate) fn clear(&mut self) {
        self.batches.clear();
        self.events = 0;
    }
    pub(crate) fn since(&self, index: u64) -> Vec<Arc<EventBatch>> {
        let start = self.batches.partition_point(|b| b.index <= index);
        self.batches.range(start..).cloned().collect()
    }
    pub(crate) fn oldest_index(&self) -> Option<u64> {
        self.batches.front().map(|b| b.index)
    }
    pub(crate) fn len(&self) -> usize {
        self.events
    }
}
