//! Integration tests of the plugin manager against real plugin processes on
//! real unix sockets: the `test_plugin` example (a plugin written against
//! `drover-proto` only, built by `cargo test`) and small shell scripts.

#[path = "pluginmgr/support.rs"]
mod support;

#[path = "pluginmgr/launch.rs"]
mod launch;

#[path = "pluginmgr/stop.rs"]
mod stop;

#[path = "pluginmgr/supervise.rs"]
mod supervise;
