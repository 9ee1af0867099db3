//! Eval reads (`Eval.GetEval`, `Job.Evaluations`, `Eval.Allocations`) on the latest
//! view; the list endpoints' filters and paging are the HTTP layer's.

use std::sync::Arc;

use drover_types::{Allocation, Evaluation};

use crate::error::{ServerError, ServerResult};
use crate::server::Server;

impl Server {
    /// One evaluation (404 `eval not found`).
    pub fn eval(&self, eval_id: &str) -> ServerResult<Arc<Evaluation>> {
        self.view()
            .eval_by_id(eval_id)
            .cloned()
            .ok_or_else(|| ServerError::not_found("eval"))
    }

    /// A job's evaluations, ordered by ID.
    pub fn job_evals(&self, namespace: &str, job_id: &str) -> Vec<Arc<Evaluation>> {
        self.view()
            .evals_by_job(namespace, job_id)
            .cloned()
            .collect()
    }

    /// The allocations an evaluation placed.
    pub fn eval_allocs(&self, eval_id: &str) -> Vec<Arc<Allocation>> {
        self.view().allocs_by_eval(eval_id).cloned().collect()
    }
}
