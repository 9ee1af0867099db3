//! Nomad's data model (Job, TaskGroup, Task, Node, Allocation, Evaluation …) and its
//! `/v1` JSON form; canonicalization and validation. Pure: no I/O, no async.
//!
//! Why one crate: the job-file parser (`drover-jobspec`), the HTTP API, the state
//! machine and the schedulers must agree byte-for-byte on Nomad's JSON shapes and on
//! the defaults a job gets, so the shapes and the rules live here once.
//!
//! * The job model mirrors Nomad's `api` package: one file per block
//!   ([`job`], [`group`], [`task`], [`resources`], [`network`], …). Fields Nomad keeps as
//!   pointers are `Option`s; [`Job::canonicalize`] fills them with Nomad's defaults.
//! * [`Job::validate`] reports every rule broken, each with a structured
//!   [`ValidationError::path`] the parser maps back to a file position.
//! * The cluster model ([`node`], [`alloc`], [`eval`], [`plan`], …) is plain data.
//! * [`api`]: the other `/v1` request and response bodies (write requests and
//!   responses, list stubs, diffs, members, health, metrics), shared by the HTTP
//!   layer, the server and the CLI.

mod de;

pub mod alloc;
pub mod allocated;
pub mod api;
pub mod artifact;
mod canonicalize;
pub mod ci_json;
pub mod constraint;
pub mod deployment;
pub mod duration;
pub mod error;
pub mod eval;
pub mod group;
pub mod job;
pub mod lifecycle;
pub mod logs;
pub mod metric;
pub mod network;
pub mod node;
pub mod periodic;
pub mod plan;
pub mod resources;
pub mod restart;
pub mod service;
pub mod task;
pub mod template;
pub mod update;
mod validate;
pub mod volume;

pub use alloc::{
    AllocListStub, Allocation, ClientStatus, DesiredStatus, TaskEvent, TaskState, TaskStateValue,
};
pub use allocated::{AllocatedResources, AllocatedTaskResources, ComparableResources};
pub use artifact::TaskArtifact;
pub use ci_json::{CaseInsensitive, from_slice_ci, from_str_ci, from_value_ci};
pub use constraint::{Affinity, Constraint, Spread, SpreadTarget};
pub use deployment::{Deployment, JobSummary, TaskGroupSummary};
pub use duration::Duration;
pub use error::{PathSegment, ValidationError, multierror_text};
pub use eval::{EvalStatus, Evaluation};
pub use group::{DisconnectStrategy, EphemeralDisk, ScalingPolicy, TaskGroup};
pub use job::{Job, JobRegisterRequest, JobRegisterResponse, JobType};
pub use lifecycle::TaskLifecycle;
pub use logs::LogConfig;
pub use metric::{AllocMetric, NodeScoreMeta};
pub use network::{NetworkResource, Port};
pub use node::{Node, NodeResources, NodeStatus, SchedulingEligibility};
pub use periodic::{DispatchPayloadConfig, ParameterizedJobConfig, PeriodicConfig};
pub use plan::{Plan, PlanResult};
pub use resources::{RequestedDevice, Resources};
pub use restart::{ReschedulePolicy, RestartPolicy};
pub use service::{Service, ServiceCheck};
pub use task::Task;
pub use template::Template;
pub use update::{MigrateStrategy, UpdateStrategy};
pub use volume::{VolumeMount, VolumeRequest};

/// Go's `strconv.ParseBool`, which Nomad uses for flags, query parameters, client
/// options and driver attributes: `1 t T true TRUE True` and `0 f F false FALSE False`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}
