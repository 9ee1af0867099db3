//! Request and response bodies of the `/v1` API that are not objects of the data
//! model: write requests and responses, list stubs, plan diffs, cluster membership,
//! health and metrics. Nomad's JSON form: PascalCase Go field names, unknown fields
//! ignored, `null` read as empty for every collection (Go encodes nil slices and maps
//! as `null`).
//!
//! Why here: the HTTP layer (`drover-agent`), the server's endpoints (`drover-server`)
//! and the CLI's client (`drover`) exchange exactly these shapes; one definition keeps
//! them from drifting. Where Nomad has a request struct with URL-derived parts (job ID,
//! namespace, query flags), those parts are `#[serde(skip)]`: the HTTP layer fills them.
//!
//! * [`jobs`]: `Job.Deregister`, `Job.Evaluate`, `Job.Plan`, `Job.Scale`,
//!   `Job.Dispatch`, `Periodic.Force`, `Alloc.Stop`, and `JobListStub`.
//! * [`diff`]: `JobDiff` and its parts, as `job plan -diff` renders them.
//! * [`nodes`]: drain and eligibility requests, their response, heartbeats, and
//!   `NodeListStub`.
//! * [`cluster`]: members, raft configuration, health, metrics.

pub mod client;
pub mod cluster;
pub mod diff;
pub mod jobs;
pub mod nodes;

pub use cluster::{
    AgentHealth, AgentHealthResponse, AgentMember, GaugeValue, MetricsSummary, RaftConfiguration,
    RaftServer, SampledValue, ServerMembers,
};
pub use diff::{FieldDiff, JobDiff, ObjectDiff, TaskDiff, TaskGroupDiff};
pub use jobs::{
    AllocStopResponse, EvalOptions, JobDeregisterRequest, JobDeregisterResponse,
    JobDispatchRequest, JobDispatchResponse, JobEvaluateRequest, JobListStub, JobPlanRequest,
    JobPlanResponse, JobScaleRequest, PeriodicForceResponse, ScalingRequest,
};
pub use nodes::{
    DrainSpec, NodeDrainRequest, NodeEligibilityRequest, NodeHeartbeatResponse, NodeListStub,
    NodeUpdateResponse,
};
