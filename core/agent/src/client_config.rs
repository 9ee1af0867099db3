//! The client's settings from the agent's: directories under `data_dir`, node facts from
//! the `client {}` block, the driver plugins found next to the `drover` executable and in
//! `plugin_dir` with their `plugin "name" { config {} }` blocks, and the GC rules.

use std::path::{Path, PathBuf};

use drover_client::drivers::{DriverSpec, driver_name};
use drover_client::fetchers::{FetcherSpec, fetcher_name};
use drover_client::fingerprint::ReservedConfig;
use drover_client::{ClientConfig, FingerprintConfig, GcConfig, LogmonCommand};
use drover_types::node::ClientHostVolume;

use crate::AgentConfig;

/// `22,80,8000-8100` from parsed ranges.
fn ports_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The driver plugins to run: every `drover-driver-*` executable in `dirs` (first one
/// of a name wins), configured by its `plugin` block. raw_exec also honours Nomad's
/// older client option `driver.raw_exec.enable`.
pub fn driver_specs(c: &AgentConfig, dirs: &[PathBuf]) -> Vec<DriverSpec> {
    let mut out: Vec<DriverSpec> = Vec::new();
    for path in drover_pluginmgr::discover(dirs) {
        let Some(name) = driver_name(&path) else {
            continue;
        };
        if out.iter().any(|d| d.name == name) {
            continue;
        }
        let block = c.plugin(&name);
        let mut config = block
            .map(|p| p.config.clone())
            .unwrap_or_else(|| serde_json::json!({}));
        if name == "raw_exec"
            && c.client
                .options
                .get("driver.raw_exec.enable")
                .and_then(|v| drover_types::parse_bool(v))
                == Some(true)
            && let Some(obj) = config.as_object_mut()
        {
            obj.entry("enabled")
                .or_insert(serde_json::Value::Bool(true));
        }
        out.push(DriverSpec {
            name,
            path,
            args: block.map(|p| p.args.clone()).unwrap_or_default(),
            config,
        });
    }
    out
}

/// The artifact fetcher plugins to run: every `drover-fetcher-*` executable in `dirs`
/// (first one of a name wins), configured by a `plugin "<name>"` block if there is one
/// (`drover-fetcher-http` is `plugin "http"`).
pub fn fetcher_specs(c: &AgentConfig, dirs: &[PathBuf]) -> Vec<FetcherSpec> {
    let mut out: Vec<FetcherSpec> = Vec::new();
    for path in drover_pluginmgr::discover(dirs) {
        let Some(name) = fetcher_name(&path) else {
            continue;
        };
        if out.iter().any(|f| f.name == name) {
            continue;
        }
        let block = c.plugin(&name);
        out.push(FetcherSpec {
            config: block
                .map(|p| p.config.clone())
                .unwrap_or_else(|| serde_json::json!({})),
            args: block.map(|p| p.args.clone()).unwrap_or_default(),
            name,
            path,
        });
    }
    out
}

/// What in the client's configuration will not work as written, said at startup: a
/// `plugin` block for a plugin that is not installed (the seed configures `docker`),
/// a `host_volume` whose path does not exist.
pub fn config_warnings(
    c: &AgentConfig,
    drivers: &[DriverSpec],
    fetchers: &[FetcherSpec],
    dirs: &[PathBuf],
) -> Vec<String> {
    let mut out = Vec::new();
    let searched = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    for p in &c.plugins {
        let found =
            drivers.iter().any(|d| d.name == p.name) || fetchers.iter().any(|f| f.name == p.name);
        if !found {
            let file = p.name.replace('_', "-");
            out.push(format!(
                "plugin {:?} is configured, but no drover-driver-{file} or drover-fetcher-{file} \
                 was found in {searched}: tasks using it cannot run on this node",
                p.name,
            ));
        }
    }
    for v in &c.client.host_volumes {
        if !v.path.exists() {
            out.push(format!(
                "host_volume {:?}: path {} does not exist; tasks mounting it fail until it is created",
                v.name,
                v.path.display()
            ));
        }
    }
    out
}

/// The client's configuration. `data_dir` is the agent's (a temporary one in dev
/// mode); `http_addr` the agent's HTTP address; `exe` the `drover` executable (runs
/// the log collectors) whose directory is searched for plugins first.
pub fn client_config(
    c: &AgentConfig,
    data_dir: &Path,
    http_addr: &str,
    exe: &Path,
) -> ClientConfig {
    let cl = &c.client;
    let alloc_dir = cl
        .alloc_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("alloc"));
    let mut dirs: Vec<PathBuf> = exe.parent().map(Path::to_path_buf).into_iter().collect();
    if let Some(d) = c.plugin_dir() {
        dirs.push(d);
    }
    let drivers = driver_specs(c, &dirs);
    let fetchers = fetcher_specs(c, &dirs);
    for w in config_warnings(c, &drivers, &fetchers, &dirs) {
        tracing::warn!("{w}");
    }
    let denylist = cl.options.get("env.denylist").map(|v| {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    ClientConfig {
        state_dir: cl
            .state_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("client")),
        alloc_dir: alloc_dir.clone(),
        region: c.region.clone(),
        fingerprint: FingerprintConfig {
            node_name: c.name.clone(),
            datacenter: c.datacenter.clone(),
            node_class: cl.node_class.clone(),
            node_pool: cl.node_pool.clone(),
            meta: cl.meta.clone(),
            http_addr: http_addr.to_owned(),
            alloc_dir,
            network_interface: cl.network_interface.clone(),
            cpu_total_compute: cl.cpu_total_compute,
            memory_total_mb: cl.memory_total_mb,
            disk_total_mb: cl.disk_total_mb,
            disk_free_mb: cl.disk_free_mb,
            reserved: ReservedConfig {
                cpu: cl.reserved.cpu,
                memory_mb: cl.reserved.memory_mb,
                disk_mb: cl.reserved.disk_mb,
                reserved_ports: ports_text(&cl.reserved.reserved_ports),
                cores: Vec::new(),
            },
            host_volumes: cl
                .host_volumes
                .iter()
                .map(|v| ClientHostVolume {
                    name: v.name.clone(),
                    path: v.path.display().to_string(),
                    read_only: v.read_only,
                })
                .collect(),
            min_dynamic_port: cl.min_dynamic_port,
            max_dynamic_port: cl.max_dynamic_port,
            default_ineligible: cl.default_ineligible,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        drivers,
        fetchers,
        logmon: LogmonCommand {
            program: exe.to_owned(),
            args: vec!["logmon".into()],
        },
        max_kill_timeout: cl.max_kill_timeout,
        env_denylist: denylist,
        gc: GcConfig {
            max_allocs: cl.gc_max_allocs as usize,
            disk_usage_threshold: cl.gc_disk_usage_threshold,
            inode_usage_threshold: cl.gc_inode_usage_threshold,
            reserved_disk_mb: cl.reserved.disk_mb,
        },
        gc_interval: cl.gc_interval,
        supervisor: Default::default(),
        stop_tasks_on_shutdown: c.data_dir.is_none(),
        disable_remote_exec: cl.disable_remote_exec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_config_maps_to_the_client() {
        let c = AgentConfig::dev();
        let cc = client_config(
            &c,
            Path::new("/tmp/d"),
            "127.0.0.1:4646",
            Path::new("/nonexistent/drover"),
        );
        assert_eq!(cc.state_dir, PathBuf::from("/tmp/d/client"));
        assert_eq!(cc.alloc_dir, PathBuf::from("/tmp/d/alloc"));
        assert_eq!(cc.fingerprint.datacenter, "dc1");
        assert!(cc.stop_tasks_on_shutdown);
        assert_eq!(cc.logmon.args, vec!["logmon".to_string()]);
        assert_eq!(ports_text(&[(22, 22), (8000, 8100)]), "22,8000-8100");
    }

    #[test]
    fn missing_plugins_and_host_volume_paths_are_warned_about() {
        let mut c = AgentConfig::dev();
        for name in ["docker", "raw_exec"] {
            c.plugins.push(crate::config::PluginConfig {
                name: name.into(),
                args: Vec::new(),
                config: serde_json::json!({}),
            });
        }
        let drivers = vec![DriverSpec {
            name: "raw_exec".into(),
            path: PathBuf::from("/x/drover-driver-raw-exec"),
            args: Vec::new(),
            config: serde_json::json!({}),
        }];
        let w = config_warnings(&c, &drivers, &[], &[PathBuf::from("/x")]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("plugin \"docker\"")
                && w[0].contains("drover-driver-docker")
                && w[0].contains("/x"),
            "{w:?}"
        );
        let here = tempfile::tempdir().expect("tempdir");
        for (name, path) in [
            ("present", here.path().to_owned()),
            ("mysql", here.path().join("nope")),
        ] {
            c.client.host_volumes.push(crate::config::HostVolume {
                name: name.into(),
                path,
                read_only: false,
            });
        }
        let w = config_warnings(&c, &drivers, &[], &[]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[1].starts_with("host_volume \"mysql\": path ") && w[1].contains("does not exist"),
            "{w:?}"
        );
    }

    #[test]
    fn fetchers_are_the_drover_fetcher_executables_with_their_plugin_blocks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["drover-fetcher-http", "drover-driver-raw-exec"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let mut c = AgentConfig::dev();
        c.plugins.push(crate::config::PluginConfig {
            name: "http".into(),
            args: vec!["-v".into()],
            config: serde_json::json!({"read_timeout_seconds": 5}),
        });
        let specs = fetcher_specs(&c, &[dir.path().to_path_buf()]);
        assert_eq!(specs.len(), 1, "{specs:?}");
        assert_eq!(specs[0].name, "http");
        assert_eq!(specs[0].path, dir.path().join("drover-fetcher-http"));
        assert_eq!(specs[0].args, vec!["-v".to_string()]);
        assert_eq!(specs[0].config["read_timeout_seconds"], 5);
        assert!(
            driver_specs(&c, &[dir.path().to_path_buf()])
                .iter()
                .all(|d| d.name == "raw_exec")
        );
    }
}
