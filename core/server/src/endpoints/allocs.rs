//! `Alloc.Stop` and `Node.UpdateAlloc` (what clients report about their
//! allocations).

use std::collections::BTreeSet;

use drover_state::Command;
use drover_state::command::{AllocClientUpdate, AllocUpdateDesiredTransition};
use drover_types::alloc::DesiredTransition;
use drover_types::eval::trigger;
use drover_types::{Allocation, ClientStatus};

use super::jobs::new_eval;
use crate::error::{ServerError, ServerResult};
use crate::server::{Server, now_ns};
use drover_types::api::AllocStopResponse;

impl Server {
    /// `Alloc.Stop`: marks the allocation for migration with an `alloc-stop` eval.
    pub async fn alloc_stop(
        &self,
        alloc_id: &str,
        no_shutdown_delay: bool,
    ) -> ServerResult<AllocStopResponse> {
        self.core.require_leader()?;
        let view = self.view();
        let alloc = view
            .alloc_by_id(alloc_id)
            .cloned()
            .ok_or_else(|| ServerError::not_found("alloc"))?;
        let job = match &alloc.job {
            Some(j) => j.as_ref().clone(),
            None => view
                .job_by_id(&alloc.namespace, &alloc.job_id)
                .map(|j| j.as_ref().clone())
                .ok_or_else(|| ServerError::not_found("job"))?,
        };
        let now = now_ns();
        let eval = new_eval(&job, trigger::ALLOC_STOP, 0, now);
        let eval_id = eval.id.clone();
        let t = DesiredTransition {
            migrate: Some(true),
            no_shutdown_delay: no_shutdown_delay.then_some(true),
            ..Default::default()
        };
        let cmd = Command::AllocUpdateDesiredTransition(AllocUpdateDesiredTransition {
            allocs: [(alloc.id.clone(), t)].into(),
            evals: vec![eval],
            time: now,
        });
        let (index, _) = self.core.propose(&cmd).await?;
        Ok(AllocStopResponse { eval_id, index })
    }

    /// `Node.UpdateAlloc`: client-reported statuses, in one entry for the batch. Jobs
    /// with newly failed allocations get an `alloc-failure` eval (reschedule).
    /// Returns the raft index.
    pub async fn alloc_client_update(&self, allocs: Vec<Allocation>) -> ServerResult<u64> {
        self.core.require_leader()?;
        if allocs.is_empty() {
            return Err(ServerError::BadRequest(
                "must update at least one allocation".into(),
            ));
        }
        let view = self.view();
        let now = now_ns();
        let failed_jobs: BTreeSet<(String, String)> = allocs
            .iter()
            .filter(|a| a.client_status == ClientStatus::Failed)
            .filter_map(|a| view.alloc_by_id(&a.id))
            .filter(|a| a.client_status != ClientStatus::Failed)
            .map(|a| (a.namespace.clone(), a.job_id.clone()))
            .collect();
        let evals = failed_jobs
            .iter()
            .filter_map(|(ns, id)| view.job_by_id(ns, id))
            .filter(|j| !j.stop.unwrap_or(false))
            .map(|j| new_eval(j, trigger::ALLOC_FAILURE, 0, now))
            .collect();
        let cmd = Command::AllocClientUpdate(AllocClientUpdate {
            allocs,
            evals,
            time: now,
        });
        self.core.propose(&cmd).await.map(|(i, _)| i)
    }
}
