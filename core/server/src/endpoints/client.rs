//! `Node.GetClientAllocs`: a client's view of the allocations placed on its node, as
//! a blocking query on the allocations table.
//!
//! The answer's index follows Nomad: the highest `AllocModifyIndex` among the node's
//! allocations (the allocations table's index when it has none). Client status
//! updates do not change `AllocModifyIndex`, so a client's own reports do not wake
//! its query; every server-side change to one of its allocations does. The index is
//! at least 1, so that passing it back as `min_index` always blocks.

use std::sync::Arc;
use std::time::Duration;

use drover_state::{StateView, Table};
use drover_types::Allocation;
use tokio::time::Instant;

use crate::error::{ServerError, ServerResult};
use crate::server::Server;

/// The longest a client's blocking query waits (Nomad's `MaxBlockingRPCQueryTime`).
pub const MAX_CLIENT_ALLOCS_WAIT: Duration = Duration::from_secs(300);

/// The node's allocations in `view` (ordered by ID) and the index they are
/// consistent with.
fn node_allocs(view: &StateView, node_id: &str) -> (u64, Vec<Arc<Allocation>>) {
    let allocs: Vec<Arc<Allocation>> = view.allocs_by_node(node_id).cloned().collect();
    let index = allocs
        .iter()
        .map(|a| a.alloc_modify_index)
        .max()
        .unwrap_or_else(|| view.index(Table::Allocs));
    // Never 0: a client passes the answer back as `min_index`, and 0 does not block.
    (index.max(1), allocs)
}

impl Server {
    /// `Node.GetClientAllocs`: every allocation on `node_id` the servers hold, once
    /// the answer's index (see the module docs) is greater than `min_index`, or when
    /// `wait` (capped at [`MAX_CLIENT_ALLOCS_WAIT`]) elapsed: then the current answer,
    /// possibly unchanged. `min_index` 0 answers at once. An unknown node has no
    /// allocations (as in Nomad). Served by any server from its applied state.
    pub async fn client_allocs(
        &self,
        node_id: &str,
        min_index: u64,
        wait: Duration,
    ) -> ServerResult<(u64, Vec<Arc<Allocation>>)> {
        if node_id.is_empty() {
            return Err(ServerError::BadRequest(
                "missing node ID for client allocations".into(),
            ));
        }
        let deadline = Instant::now() + wait.min(MAX_CLIENT_ALLOCS_WAIT);
        let mut views = self.core.views.clone();
        loop {
            let view = views.borrow_and_update().clone();
            let (index, allocs) = node_allocs(&view, node_id);
            if index > min_index || Instant::now() >= deadline {
                return Ok((index, allocs));
            }
            let seen = view.index(Table::Allocs);
            let changed = views.wait_for(|v| v.index(Table::Allocs) > seen);
            tokio::select! {
                r = tokio::time::timeout_at(deadline, changed) => match r {
                    Ok(Ok(_)) | Err(_) => {}
                    Ok(Err(_)) => {
                        return Err(ServerError::Unavailable("server is shutting down".into()));
                    }
                },
                () = self.core.shutdown.cancelled() => {
                    return Err(ServerError::Unavailable("server is shutting down".into()));
                }
            }
        }
    }
}
