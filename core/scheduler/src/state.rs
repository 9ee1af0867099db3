//! The read-only view of the cluster a scheduler works from (Nomad's `State`), and
//! [`MemState`], a plain in-memory implementation for tests, benchmarks and tools.
//! The server's state store implements [`State`] on its consistent snapshots.

use crate::fxhash::FxMap;
use drover_types::{Allocation, Job, Node};
use std::collections::HashMap;
use std::sync::Arc;

/// What the schedulers read. Implementations return consistent data (one snapshot).
pub trait State {
    /// The current version of a job.
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>>;
    /// Every node (any status); the scheduler filters ready ones itself. Shared so
    /// that each evaluation does not copy the node list.
    fn nodes(&self) -> Arc<Vec<Arc<Node>>>;
    /// One node.
    fn node(&self, id: &str) -> Option<Arc<Node>>;
    /// Every allocation of a job, terminal ones included.
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>>;
    /// Every allocation on a node, terminal ones included.
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>>;
    /// The snapshot's Raft index.
    fn latest_index(&self) -> u64;
}

/// An in-memory [`State`]: nodes, jobs and allocations with secondary indexes.
#[derive(Debug, Clone, Default)]
pub struct MemState {
    jobs: HashMap<(String, String), Arc<Job>>,
    nodes: Arc<Vec<Arc<Node>>>,
    node_pos: HashMap<String, usize>,
    allocs: FxMap<String, Arc<Allocation>>,
    by_job: FxMap<(String, String), Vec<Arc<Allocation>>>,
    by_node: FxMap<String, Vec<Arc<Allocation>>>,
    /// The snapshot index; bumped on every write.
    pub index: u64,
}

impl MemState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }
    /// Inserts or replaces a node; fills `ComputedClass` when empty.
    pub fn upsert_node(&mut self, mut node: Node) {
        if node.computed_class.is_empty() {
            node.computed_class = crate::feasible::compute_node_class(&node);
        }
        self.index += 1;
        let nodes = Arc::make_mut(&mut self.nodes);
        match self.node_pos.get(&node.id) {
            Some(&i) => nodes[i] = Arc::new(node),
            None => {
                self.node_pos.insert(node.id.clone(), nodes.len());
                nodes.push(Arc::new(node));
            }
        }
    }
    /// Inserts or replaces a job (keyed by namespace and ID).
    pub fn upsert_job(&mut self, job: Job) {
        self.index += 1;
        let key = (job.namespace().to_owned(), job.id().to_owned());
        self.jobs.insert(key, Arc::new(job));
    }
    /// Inserts or replaces an allocation.
    pub fn upsert_alloc(&mut self, alloc: Allocation) {
        self.index += 1;
        let alloc = Arc::new(alloc);
        let job_key = (alloc.namespace.clone(), alloc.job_id.clone());
        if let Some(old) = self.allocs.insert(alloc.id.clone(), alloc.clone()) {
            let old_job = (old.namespace.clone(), old.job_id.clone());
            for (v, same) in [
                (
                    self.by_node.get_mut(&old.node_id),
                    old.node_id == alloc.node_id,
                ),
                (self.by_job.get_mut(&old_job), old_job == job_key),
            ] {
                let Some(v) = v else { continue };
                if let Some(i) = v.iter().position(|a| a.id == old.id) {
                    if same {
                        v[i] = alloc.clone();
                    } else {
                        v.swap_remove(i);
                    }
                }
            }
            if old.node_id == alloc.node_id && old_job == job_key {
                return;
            }
        }
        self.by_node
            .entry(alloc.node_id.clone())
            .or_default()
            .push(alloc.clone());
        self.by_job.entry(job_key).or_default().push(alloc);
    }
    /// One allocation by ID.
    pub fn alloc(&self, id: &str) -> Option<Arc<Allocation>> {
        self.allocs.get(id).cloned()
    }
    /// Every allocation.
    pub fn allocs(&self) -> impl Iterator<Item = &Arc<Allocation>> {
        self.allocs.values()
    }
}

impl State for MemState {
    fn job(&self, namespace: &str, id: &str) -> Option<Arc<Job>> {
        self.jobs
            .get(&(namespace.to_owned(), id.to_owned()))
            .cloned()
    }
    fn nodes(&self) -> Arc<Vec<Arc<Node>>> {
        self.nodes.clone()
    }
    fn node(&self, id: &str) -> Option<Arc<Node>> {
        self.node_pos.get(id).map(|&i| self.nodes[i].clone())
    }
    fn allocs_by_job(&self, namespace: &str, job_id: &str) -> Vec<Arc<Allocation>> {
        self.by_job
            .get(&(namespace.to_owned(), job_id.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
    fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.by_node.get(node_id).cloned().unwrap_or_default()
    }
    fn latest_index(&self) -> u64 {
        self.index
    }
}
