//! The Drover agent: its configuration ([`config`]), read from Nomad-compatible HCL and
//! JSON files, and the Nomad-compatible `/v1` HTTP API ([`http`]); later the wiring of
//! server and client.

pub mod config;
pub mod http;

pub use config::AgentConfig;
