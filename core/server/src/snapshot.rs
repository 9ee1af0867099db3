//! [`drover_scheduler::State`] over a [`StateView`]: what a worker hands the scheduler.
//!
//! The scheduler asks for the whole node list once per evaluation; building it from
//! the view's ordered map costs one pointer copy per node, so the list is cached per
//! nodes-table index ([`NodeListCache`]) and shared by every evaluation until a node
//! changes.

use std::sync::{Arc, Mutex};

use drover_scheduler::State;
use drover_state::{StateView, Table};
use drover_types::{Allocation, Job, Node};

type NodeList = Arc<Vec<Arc<Node>>>;

/// The node list of the latest nodes-table index.
#[derive(Default)]
pub(crate) struct NodeListCache {
    slot: Mutex<Option<(u64, NodeList)>>,
}

impl NodeListCache {
    /// The node list of `view`, reused when the nodes table did not change.
    pub(crate) fn nodes(&self, view: &StateView) -> Arc<Vec<Arc<Node>>> {
        let index = view.index(Table::Nodes);
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((i, list)) = slot.as_ref()
            && *i == index
        {
            return list.clone();
        }
        let list: Arc<Vec<Arc<Node>>> = Arc::new(view.nodes().cloned().collect());
        *slot = Some((index, list.clone()));
        list
    }
}

/// A consistent scheduler snapshot.
pub struct SnapshotState {
    view: StateView,
    nodes: Arc<Vec<Arc<Node>>>,
}

impl SnapshotState {
    /// Wraps `view`, taking its node list from `cache`.
    pub(crate) fn new(view: StateView, cache: &NodeListCache) -> Self {
        let nodes = cache.nodes(&view);
        Self { view, nodes }
    }

    /// Wraps `view` without a cache (tools, tests).
    pub fn from_view(view: StateView) -> Self {
        let nodes = Arc::new(view.nodes().cloned().collect());
        Self { view, nodes }
    }

    /// The underlying view.
    pub fn view(&self) -> &StateView {
        &self.view
    }
}

impl State for SnapshotState {
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.view.job_by_id(namespace, id).cloned()
    }
    fn nodes(&self) -> Arc<Vec<Arc<Node>>> {
        self.nodes.clone()
    }
    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.view.node_by_id(id).cloned()
    }
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.view
            .allocs_by_job(namespace, job_id)
            .cloned()
            .collect()
    }
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.view.allocs_by_node(node_id).cloned().collect()
    }
    fn latest_index(&self) -> u64 {
        self.view.applied_index()
    }
}
