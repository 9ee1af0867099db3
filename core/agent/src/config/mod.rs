//! Agent configuration: Nomad's agent config files (HCL and JSON, reference §1) into a
//! validated [`AgentConfig`].
//!
//! Pipeline: [`load`] expands `-config` paths ([`config_files`]), decodes each file into
//! the all-optional [`raw`] model (unknown keys and wrong types reported per file, with
//! line and column), merges them in Nomad's order ([`merge`]), then [`build`] applies
//! the defaults of `DefaultConfig()` / `DevConfig()` and checks Nomad's rules. Every
//! error is a [`drover_hcl::Diagnostic`] naming the file, line, column and key path.
//!
//! Differences from Nomad, on purpose: `limits { log_rotate_bytes, log_rotate_max_files }`
//! (the users' spelling) is accepted as well as the top-level keys, the top-level ones
//! winning; blocks Drover does not use (`consul`, `vault`, `ui`, …) are accepted and listed
//! in [`AgentConfig::ignored_blocks`] so the agent can warn.

mod build;
mod build_client;
mod load;
pub mod merge;
pub mod raw;
mod types;

pub use build::build;
pub use build_client::parse_port_ranges;
pub use load::{config_files, load, load_sources};
pub use types::*;

impl AgentConfig {
    /// Nomad's `-dev` configuration (reference §1.8): server and client enabled,
    /// `bootstrap_expect = 1`, bound to 127.0.0.1, DEBUG logs, debug endpoints on,
    /// `raw_exec` enabled (plugin config and the legacy client option), metrics
    /// published, and no `data_dir`: the agent creates a temporary one.
    pub fn dev() -> AgentConfig {
        match build(raw::RawConfig::default(), true) {
            Ok(c) => c,
            Err(errs) => unreachable!("dev defaults are valid: {errs:?}"),
        }
    }
}
