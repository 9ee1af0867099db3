//! The `/v1` endpoints the commands call, one typed method each (reference §3).

use drover_types::{
    AllocListStub, Allocation, Evaluation, Job, JobRegisterRequest, JobRegisterResponse,
    JobSummary, Node,
};
use hyper::Method;
use serde_json::{Value, json};

use super::{ApiError, Client, escape};
use drover_types::api::{
    JobDeregisterResponse, JobListStub, JobPlanResponse, NodeListStub, RaftConfiguration,
    ServerMembers,
};

impl Client {
    /// `GET /v1/jobs[?prefix=]`.
    pub async fn jobs(&self, prefix: Option<&str>) -> Result<Vec<JobListStub>, ApiError> {
        let q: Vec<(&str, &str)> = prefix.map(|p| ("prefix", p)).into_iter().collect();
        self.get("/v1/jobs", &q).await
    }

    /// `GET /v1/job/:id`.
    pub async fn job(&self, id: &str) -> Result<Job, ApiError> {
        self.get(&format!("/v1/job/{}", escape(id)), &[]).await
    }

    /// `POST /v1/jobs`.
    pub async fn register(
        &self,
        req: &JobRegisterRequest,
    ) -> Result<JobRegisterResponse, ApiError> {
        self.write(Method::POST, "/v1/jobs", &[], Some(req)).await
    }

    /// `DELETE /v1/job/:id[?purge=true]`.
    pub async fn deregister(
        &self,
        id: &str,
        purge: bool,
    ) -> Result<JobDeregisterResponse, ApiError> {
        let q: &[(&str, &str)] = if purge { &[("purge", "true")] } else { &[] };
        let path = format!("/v1/job/{}", escape(id));
        self.write::<Value, _>(Method::DELETE, &path, q, None).await
    }

    /// `POST /v1/job/:id/plan` with the diff requested.
    pub async fn plan(&self, job: &Job) -> Result<JobPlanResponse, ApiError> {
        let body = json!({ "Job": job, "Diff": true, "PolicyOverride": false });
        let path = format!("/v1/job/{}/plan", escape(job.id()));
        self.write(Method::POST, &path, &[], Some(&body)).await
    }

    /// `GET /v1/job/:id/allocations[?all=true]`.
    pub async fn job_allocations(
        &self,
        id: &str,
        all: bool,
    ) -> Result<Vec<AllocListStub>, ApiError> {
        let q: &[(&str, &str)] = if all { &[("all", "true")] } else { &[] };
        self.get(&format!("/v1/job/{}/allocations", escape(id)), q)
            .await
    }

    /// `GET /v1/job/:id/evaluations`.
    pub async fn job_evaluations(&self, id: &str) -> Result<Vec<Evaluation>, ApiError> {
        self.get(&format!("/v1/job/{}/evaluations", escape(id)), &[])
            .await
    }

    /// `GET /v1/job/:id/summary`.
    pub async fn job_summary(&self, id: &str) -> Result<JobSummary, ApiError> {
        self.get(&format!("/v1/job/{}/summary", escape(id)), &[])
            .await
    }

    /// `GET /v1/evaluations?prefix=`.
    pub async fn evaluations(&self, prefix: &str) -> Result<Vec<Evaluation>, ApiError> {
        self.get("/v1/evaluations", &[("prefix", prefix)]).await
    }

    /// `GET /v1/evaluation/:id`.
    pub async fn evaluation(&self, id: &str) -> Result<Evaluation, ApiError> {
        self.get(&format!("/v1/evaluation/{}", escape(id)), &[])
            .await
    }

    /// `GET /v1/evaluation/:id/allocations`.
    pub async fn eval_allocations(&self, id: &str) -> Result<Vec<AllocListStub>, ApiError> {
        self.get(&format!("/v1/evaluation/{}/allocations", escape(id)), &[])
            .await
    }

    /// `GET /v1/nodes[?prefix=]`.
    pub async fn nodes(&self, prefix: Option<&str>) -> Result<Vec<NodeListStub>, ApiError> {
        let q: Vec<(&str, &str)> = prefix.map(|p| ("prefix", p)).into_iter().collect();
        self.get("/v1/nodes", &q).await
    }

    /// `GET /v1/node/:id`.
    pub async fn node(&self, id: &str) -> Result<Node, ApiError> {
        self.get(&format!("/v1/node/{}", escape(id)), &[]).await
    }

    /// `GET /v1/node/:id/allocations`.
    pub async fn node_allocations(&self, id: &str) -> Result<Vec<Allocation>, ApiError> {
        self.get(&format!("/v1/node/{}/allocations", escape(id)), &[])
            .await
    }

    /// `GET /v1/agent/members`.
    pub async fn members(&self) -> Result<ServerMembers, ApiError> {
        self.get("/v1/agent/members", &[]).await
    }

    /// `GET /v1/status/leader` (`"ip:port"`, empty without a leader).
    pub async fn leader(&self) -> Result<String, ApiError> {
        self.get("/v1/status/leader", &[]).await
    }

    /// `GET /v1/operator/raft/configuration`.
    pub async fn raft_configuration(&self) -> Result<RaftConfiguration, ApiError> {
        self.get("/v1/operator/raft/configuration", &[]).await
    }
}
