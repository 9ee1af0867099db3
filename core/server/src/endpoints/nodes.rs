//! `Node.Register`, `Node.UpdateStatus` (heartbeats), `Node.UpdateEligibility`,
//! `Node.UpdateDrain`. Registrations and heartbeats arm the node's heartbeat timer on
//! the leader and answer the TTL by Nomad's formula.

use std::time::Duration;

use drover_state::Command;
use drover_state::Table;
use drover_state::command::{
    NodeRegister, NodeUpdateDrain, NodeUpdateEligibility, NodeUpdateStatus,
};
use drover_state::time::rfc3339_nanos;
use drover_types::eval::trigger;
use drover_types::node::DrainStrategy;
use drover_types::{Node, NodeStatus, SchedulingEligibility};
use tokio::time::Instant;

use crate::error::{ServerError, ServerResult};
use crate::leader::{heartbeat_ttl, node_evals};
use crate::server::{Server, now_ns};
use drover_types::api::{NodeDrainRequest, NodeHeartbeatResponse, NodeUpdateResponse};

fn ttl_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Server {
    /// Arms `node_id`'s heartbeat timer; returns the TTL handed to the client.
    fn reset_heartbeat(&self, node_id: &str) -> Duration {
        let cfg = &self.core.config.heartbeat;
        let nodes = self.view().node_count();
        let ttl = heartbeat_ttl(cfg, nodes, rand::random::<f64>());
        self.core
            .heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset(node_id, Instant::now() + ttl + cfg.grace);
        self.core.heartbeat_changed.notify_waiters();
        ttl
    }

    fn clear_heartbeat(&self, node_id: &str) {
        self.core
            .heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(node_id);
        self.core.heartbeat_changed.notify_waiters();
    }

    /// `Node.Register`: stores the node as fingerprinted (the server keeps its own
    /// eligibility, drain and events), fills `ComputedClass`, creates `node-update`
    /// evals for system jobs when the node becomes ready, and arms its heartbeat.
    pub async fn node_register(&self, mut node: Node) -> ServerResult<NodeHeartbeatResponse> {
        self.core.require_leader()?;
        if node.id.is_empty() {
            return Err(ServerError::BadRequest(
                "missing node ID for client registration".into(),
            ));
        }
        if node.datacenter.is_empty() {
            return Err(ServerError::BadRequest(
                "missing datacenter for client registration".into(),
            ));
        }
        if node.computed_class.is_empty() {
            node.computed_class = drover_scheduler::compute_node_class(&node);
        }
        let now = now_ns();
        node.status_updated_at = now / 1_000_000_000;
        let view = self.view();
        let became_ready = node.status == NodeStatus::Ready
            && view
                .node_by_id(&node.id)
                .is_none_or(|o| o.status != NodeStatus::Ready);
        let evals = if became_ready {
            node_evals(&view, &node.id, trigger::NODE_UPDATE, now)
        } else {
            Vec::new()
        };
        let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        let id = node.id.clone();
        let down = node.status == NodeStatus::Down;
        let (index, _) = self
            .core
            .propose(&Command::NodeRegister(NodeRegister { node, evals }))
            .await?;
        let ttl = if down {
            self.clear_heartbeat(&id);
            Duration::ZERO
        } else {
            self.reset_heartbeat(&id)
        };
        Ok(NodeHeartbeatResponse {
            heartbeat_ttl: ttl_ns(ttl),
            eval_create_index: if eval_ids.is_empty() { 0 } else { index },
            eval_ids,
            node_modify_index: index,
            index,
        })
    }

    /// `Node.UpdateStatus`: a heartbeat. A status change is written (with
    /// `node-update` evals when the node becomes ready or down); an unchanged status
    /// only re-arms the timer.
    pub async fn node_update_status(
        &self,
        node_id: &str,
        status: NodeStatus,
    ) -> ServerResult<NodeHeartbeatResponse> {
        self.core.require_leader()?;
        let view = self.view();
        let node = view
            .node_by_id(node_id)
            .cloned()
            .ok_or_else(|| ServerError::not_found("node"))?;
        let mut resp = NodeHeartbeatResponse {
            node_modify_index: node.modify_index,
            index: view.index(Table::Nodes),
            ..Default::default()
        };
        if node.status != status {
            let now = now_ns();
            let evals = if matches!(status, NodeStatus::Ready | NodeStatus::Down) {
                node_evals(&view, node_id, trigger::NODE_UPDATE, now)
            } else {
                Vec::new()
            };
            let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
            let cmd = Command::NodeUpdateStatus(NodeUpdateStatus {
                node_id: node_id.to_owned(),
                status,
                updated_at: now / 1_000_000_000,
                node_event: None,
                evals,
            });
            let (index, _) = self.core.propose(&cmd).await?;
            resp.eval_create_index = if eval_ids.is_empty() { 0 } else { index };
            resp.eval_ids = eval_ids;
            resp.node_modify_index = index;
            resp.index = index;
        }
        if status == NodeStatus::Down {
            self.clear_heartbeat(node_id);
        } else {
            resp.heartbeat_ttl = ttl_ns(self.reset_heartbeat(node_id));
        }
        Ok(resp)
    }

    /// `Node.UpdateEligibility` (`eligible` / `ineligible`).
    pub async fn node_update_eligibility(
        &self,
        node_id: &str,
        eligibility: &str,
    ) -> ServerResult<NodeUpdateResponse> {
        self.core.require_leader()?;
        let node = self
            .view()
            .node_by_id(node_id)
            .cloned()
            .ok_or_else(|| ServerError::not_found("node"))?;
        let eligibility = match eligibility {
            "eligible" => SchedulingEligibility::Eligible,
            "ineligible" => SchedulingEligibility::Ineligible,
            other => {
                return Err(ServerError::BadRequest(format!(
                    "invalid scheduling eligibility {other:?}"
                )));
            }
        };
        if node.drain_strategy.is_some() && eligibility == SchedulingEligibility::Eligible {
            return Err(ServerError::BadRequest(
                "can not set node's scheduling eligibility to eligible while it is draining".into(),
            ));
        }
        let now = now_ns();
        let view = self.view();
        let evals = if eligibility == SchedulingEligibility::Eligible {
            node_evals(&view, node_id, trigger::NODE_UPDATE, now)
        } else {
            Vec::new()
        };
        let eval_ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        let (index, _) = self
            .core
            .propose(&Command::NodeUpdateEligibility(NodeUpdateEligibility {
                node_id: node_id.to_owned(),
                eligibility,
                updated_at: now / 1_000_000_000,
                node_event: None,
                evals,
            }))
            .await?;
        Ok(NodeUpdateResponse {
            node_modify_index: index,
            eval_create_index: if eval_ids.is_empty() { 0 } else { index },
            eval_ids,
            index,
        })
    }

    /// `Node.UpdateDrain`: starts (the node becomes ineligible; the drainer migrates
    /// its allocations, see `leader/drain.rs`), updates or cancels a drain.
    pub async fn node_update_drain(
        &self,
        req: NodeDrainRequest,
    ) -> ServerResult<NodeUpdateResponse> {
        self.core.require_leader()?;
        if self.view().node_by_id(&req.node_id).is_none() {
            return Err(ServerError::not_found("node"));
        }
        let now = now_ns();
        let strategy = req.drain_spec.map(|s| DrainStrategy {
            deadline: drover_types::Duration(s.deadline),
            ignore_system_jobs: s.ignore_system_jobs,
            force_deadline: if s.deadline > 0 {
                rfc3339_nanos(now.saturating_add(s.deadline))
            } else {
                String::new()
            },
            started_at: rfc3339_nanos(now),
        });
        let (index, _) = self
            .core
            .propose(&Command::NodeUpdateDrain(NodeUpdateDrain {
                node_id: req.node_id,
                drain_strategy: strategy,
                mark_eligible: req.mark_eligible,
                drain_complete: false,
                updated_at: now / 1_000_000_000,
                node_event: None,
                evals: Vec::new(),
            }))
            .await?;
        Ok(NodeUpdateResponse {
            node_modify_index: index,
            index,
            ..Default::default()
        })
    }
}
