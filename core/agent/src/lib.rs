//! The Drover agent: its configuration ([`config`]), read from Nomad-compatible HCL and
//! JSON files; the Nomad-compatible `/v1` HTTP API ([`http`]) over a [`http::Backend`];
//! and [`ServerBackend`], that backend over a running `drover_server::Server`. The
//! `drover agent` command (in the `drover` crate) wires them together.

mod client_agent;
mod client_backend;
mod client_config;
pub mod config;
pub mod forward;
pub mod http;
mod server_backend;

pub use client_agent::{ClientAgentInfo, client_agent_router};
pub use client_backend::ClientSlot;
pub use client_config::{client_config, driver_specs, fetcher_specs};
pub use config::AgentConfig;
pub use server_backend::{AgentInfo, ServerBackend, backend_error};
