//! Merged [`RawConfig`] → validated [`AgentConfig`]: apply defaults (`DefaultConfig()`, or
//! `DevConfig()` under `-dev`) and check Nomad's rules, collecting every violation as a
//! [`FieldError`] at the path of the offending key, which the loader then locates in the
//! file that set it.

use std::path::PathBuf;
use std::time::Duration;

use drover_hcl::de::GoDuration;
use drover_hcl::{FieldError, FieldPath};
use serde_json::{Value, json};

use super::raw::*;
use super::types::*;

const SCHEDULERS: [&str; 5] = ["service", "batch", "system", "sysbatch", "_core"];

pub(super) fn d(v: Option<GoDuration>, default: Duration) -> Duration {
    v.map_or(default, |g| g.0)
}

pub(super) const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) struct Checker {
    errors: Vec<FieldError>,
    /// Errors about combinations of keys ("server needs data_dir"): not reported when
    /// some keys were dropped as invalid, since the combination may then be an artefact.
    cross: Vec<FieldError>,
}

impl Checker {
    pub(super) fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.errors
            .push(FieldError::new(FieldPath::parse(path), msg));
    }

    fn cross(&mut self, path: &str, msg: impl Into<String>) {
        self.cross
            .push(FieldError::new(FieldPath::parse(path), msg));
    }

    pub(super) fn abs_path(&mut self, path: &str, v: &Option<String>) -> Option<PathBuf> {
        let s = v.as_ref()?;
        let p = PathBuf::from(s);
        if !p.is_absolute() {
            self.err(
                path,
                format!("must be given as an absolute path, found {s:?}"),
            );
        }
        Some(p)
    }

    pub(super) fn ports(&mut self, path: &str, v: &Option<String>) -> Vec<(u16, u16)> {
        match v.as_deref().map(super::build_client::parse_port_ranges) {
            None => Vec::new(),
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                self.err(path, e);
                Vec::new()
            }
        }
    }
}

/// Build the validated configuration. `dev` selects `-dev` defaults and relaxes the
/// "server or client" and `data_dir` requirements.
pub fn build(raw: RawConfig, dev: bool) -> Result<AgentConfig, Vec<FieldError>> {
    let (config, mut errors, cross) = build_checked(raw, dev);
    errors.extend(cross);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// [`build`], keeping single-key errors and cross-key errors apart.
pub(crate) fn build_checked(
    raw: RawConfig,
    dev: bool,
) -> (AgentConfig, Vec<FieldError>, Vec<FieldError>) {
    let mut c = Checker {
        errors: Vec::new(),
        cross: Vec::new(),
    };

    let region = raw.region.unwrap_or_else(|| "global".into());
    if region.contains('\0') {
        c.err("region", "must not contain a NUL character");
    }
    let datacenter = raw.datacenter.unwrap_or_else(|| "dc1".into());
    if datacenter.contains(['\0', '*']) {
        c.err("datacenter", "must not contain NUL or \"*\"");
    }
    let level = match raw.log_level.as_deref() {
        None if dev => LogLevel::Debug,
        None => LogLevel::Info,
        Some(s) => LogLevel::parse(s).unwrap_or_else(|| {
            c.err(
                "log_level",
                format!(
                    "invalid log level {s:?}; valid: {}",
                    LogLevel::NAMES.join(", ")
                ),
            );
            LogLevel::Info
        }),
    };
    let limits = raw.limits.unwrap_or_default();
    let data_dir = c.abs_path("data_dir", &raw.data_dir);
    let plugin_dir = c.abs_path("plugin_dir", &raw.plugin_dir);

    let ports = raw.ports.unwrap_or_default();
    let ports = Ports {
        http: ports.http.unwrap_or(4646),
        rpc: ports.rpc.unwrap_or(4647),
        serf: ports.serf.unwrap_or(4648),
    };
    for (name, p) in [
        ("http", ports.http),
        ("rpc", ports.rpc),
        ("serf", ports.serf),
    ] {
        if p == 0 {
            c.err(
                &format!("ports.{name}"),
                "must be a port from 1 to 65535, found 0",
            );
        }
    }
    let addrs = |a: Option<RawAddresses>| {
        let a = a.unwrap_or_default();
        Addresses {
            http: a.http,
            rpc: a.rpc,
            serf: a.serf,
        }
    };

    let server = build_server(raw.server.unwrap_or_default(), dev, &mut c);
    let client = super::build_client::build_client(raw.client.unwrap_or_default(), dev, &mut c);

    if !dev && !server.enabled && !client.enabled {
        c.cross("", "must specify either server, client or dev mode for the agent: set server { enabled = true } or client { enabled = true }");
    }
    if !dev && server.enabled && data_dir.is_none() {
        c.cross(
            "server.enabled",
            "data_dir is required when the server is enabled",
        );
    }
    if !dev
        && client.enabled
        && data_dir.is_none()
        && (client.state_dir.is_none() || client.alloc_dir.is_none() || plugin_dir.is_none())
    {
        c.cross(
            "client.enabled",
            "data_dir is required when the client is enabled (or set client.state_dir, client.alloc_dir and plugin_dir)",
        );
    }

    let mut plugins: Vec<PluginConfig> = Vec::new();
    if dev {
        plugins.push(PluginConfig {
            name: "raw_exec".into(),
            args: Vec::new(),
            config: json!({"enabled": true}),
        });
    }
    for (name, p) in raw.plugin {
        let plugin = PluginConfig {
            name: name.clone(),
            args: p.args.unwrap_or_default(),
            config: p
                .config
                .unwrap_or_else(|| Value::Object(Default::default())),
        };
        if !plugin.config.is_object() {
            c.err(&format!("plugin.{name}.config"), "expected a block");
        }
        match plugins.iter_mut().find(|x| x.name == name) {
            Some(existing) => *existing = plugin,
            None => plugins.push(plugin),
        }
    }

    let acl = raw.acl.unwrap_or_default();
    let tls = raw.tls.unwrap_or_default();
    let tls = TlsConfig {
        http: tls.http.unwrap_or(false),
        rpc: tls.rpc.unwrap_or(false),
        ca_file: tls.ca_file.map(PathBuf::from),
        cert_file: tls.cert_file.map(PathBuf::from),
        key_file: tls.key_file.map(PathBuf::from),
        verify_server_hostname: tls.verify_server_hostname.unwrap_or(false),
        verify_https_client: tls.verify_https_client.unwrap_or(false),
        rpc_upgrade_mode: tls.rpc_upgrade_mode.unwrap_or(false),
        tls_min_version: tls.tls_min_version,
        tls_cipher_suites: tls.tls_cipher_suites,
    };
    if (tls.http || tls.rpc) && (tls.cert_file.is_none() || tls.key_file.is_none()) {
        let key = if tls.http { "tls.http" } else { "tls.rpc" };
        c.err(key, "TLS needs both cert_file and key_file");
    }
    let t = raw.telemetry.unwrap_or_default();

    let ignored_blocks = [
        (raw.consul.is_some(), 0),
        (raw.vault.is_some(), 1),
        (raw.ui.is_some(), 2),
        (raw.sentinel.is_some(), 3),
        (raw.autopilot.is_some(), 4),
        (raw.audit.is_some(), 5),
        (raw.reporting.is_some(), 6),
        (raw.keyring.is_some(), 7),
        (raw.eventlog.is_some(), 8),
        (raw.rpc.is_some(), 9),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, i)| UNSUPPORTED_BLOCKS[i].to_string())
    .collect();

    let config = AgentConfig {
        region,
        datacenter,
        name: raw.name.unwrap_or_else(hostname),
        data_dir,
        plugin_dir,
        log: LogConfig {
            level,
            json: raw.log_json.unwrap_or(false),
            file: raw.log_file.map(PathBuf::from),
            include_location: raw.log_include_location.unwrap_or(false),
            rotate_duration: d(raw.log_rotate_duration, secs(24 * 3600)),
            rotate_bytes: raw
                .log_rotate_bytes
                .or(limits.log_rotate_bytes)
                .unwrap_or(0),
            rotate_max_files: raw
                .log_rotate_max_files
                .or(limits.log_rotate_max_files)
                .unwrap_or(0),
        },
        bind_addr: raw
            .bind_addr
            .unwrap_or_else(|| if dev { "127.0.0.1" } else { "0.0.0.0" }.into()),
        enable_debug: raw.enable_debug.unwrap_or(dev),
        ports,
        addresses: addrs(raw.addresses),
        advertise: addrs(raw.advertise),
        server,
        client,
        plugins,
        limits: Limits {
            https_handshake_timeout: d(limits.https_handshake_timeout, secs(5)),
            http_max_conns_per_client: limits.http_max_conns_per_client.unwrap_or(100),
            rpc_handshake_timeout: d(limits.rpc_handshake_timeout, secs(5)),
            rpc_max_conns_per_client: limits.rpc_max_conns_per_client.unwrap_or(100),
        },
        acl: AclConfig {
            enabled: acl.enabled.unwrap_or(false),
            token_ttl: d(acl.token_ttl, secs(30)),
            policy_ttl: d(acl.policy_ttl, secs(30)),
            role_ttl: d(acl.role_ttl, secs(30)),
            replication_token: acl.replication_token,
        },
        tls,
        telemetry: Telemetry {
            collection_interval: d(t.collection_interval, secs(1)),
            in_memory_collection_interval: d(t.in_memory_collection_interval, secs(10)),
            in_memory_retention_period: d(t.in_memory_retention_period, secs(60)),
            prometheus_metrics: t.prometheus_metrics.unwrap_or(dev),
            publish_allocation_metrics: t.publish_allocation_metrics.unwrap_or(dev),
            publish_node_metrics: t.publish_node_metrics.unwrap_or(dev),
            disable_hostname: t.disable_hostname.unwrap_or(false),
            use_node_name: t.use_node_name.unwrap_or(false),
            statsd_address: t.statsd_address,
            statsite_address: t.statsite_address,
            datadog_address: t.datadog_address,
            datadog_tags: t.datadog_tags.unwrap_or_default(),
            filter_default: t.filter_default.unwrap_or(true),
            prefix_filter: t.prefix_filter.unwrap_or_default(),
        },
        leave_on_interrupt: raw.leave_on_interrupt.unwrap_or(false),
        leave_on_terminate: raw.leave_on_terminate.unwrap_or(false),
        enable_syslog: raw.enable_syslog.unwrap_or(false),
        syslog_facility: raw.syslog_facility.unwrap_or_else(|| "LOCAL0".into()),
        disable_update_check: raw.disable_update_check.unwrap_or(false),
        disable_anonymous_signature: raw.disable_anonymous_signature.unwrap_or(false),
        http_api_response_headers: raw.http_api_response_headers.unwrap_or_default(),
        dev_mode: dev,
        ignored_blocks,
    };
    (config, c.errors, c.cross)
}

pub(super) fn join(j: Option<RawServerJoin>) -> ServerJoin {
    let j = j.unwrap_or_default();
    ServerJoin {
        retry_join: j.retry_join.unwrap_or_default(),
        retry_max: j.retry_max.unwrap_or(0),
        retry_interval: d(j.retry_interval, secs(30)),
        start_join: j.start_join.unwrap_or_default(),
    }
}

fn build_server(s: RawServer, dev: bool, c: &mut Checker) -> ServerConfig {
    let legacy = s.retry_join.is_some()
        || s.start_join.is_some()
        || s.retry_max.is_some()
        || s.retry_interval.is_some();
    if legacy && s.server_join.is_some() {
        c.err(
            "server.server_join",
            "cannot be combined with the legacy server.retry_join/start_join/retry_max/retry_interval keys",
        );
    }
    let server_join = if legacy {
        join(Some(RawServerJoin {
            retry_join: s.retry_join,
            retry_max: s.retry_max,
            retry_interval: s.retry_interval,
            start_join: s.start_join,
        }))
    } else {
        join(s.server_join)
    };
    let enabled_schedulers = s
        .enabled_schedulers
        .unwrap_or_else(|| SCHEDULERS.iter().map(|x| x.to_string()).collect());
    for (i, name) in enabled_schedulers.iter().enumerate() {
        if !SCHEDULERS.contains(&name.as_str()) {
            c.err(
                &format!("server.enabled_schedulers[{i}]"),
                format!(
                    "unknown scheduler {name:?}; valid: {}",
                    SCHEDULERS.join(", ")
                ),
            );
        }
    }
    let job_max_priority = s.job_max_priority.unwrap_or(100);
    if !(50..=32766).contains(&job_max_priority) {
        c.err(
            "server.job_max_priority",
            format!("must be from 50 to 32766, found {job_max_priority}"),
        );
    }
    let job_default_priority = s.job_default_priority.unwrap_or(50);
    if job_default_priority < 50 || job_default_priority > job_max_priority {
        c.err(
            "server.job_default_priority",
            format!("must be from 50 to job_max_priority ({job_max_priority}), found {job_default_priority}"),
        );
    }
    let data_dir = c.abs_path("server.data_dir", &s.data_dir);
    ServerConfig {
        enabled: s.enabled.unwrap_or(dev),
        bootstrap_expect: s.bootstrap_expect.unwrap_or(u32::from(dev)),
        data_dir,
        num_schedulers: s.num_schedulers,
        enabled_schedulers,
        heartbeat_grace: d(s.heartbeat_grace, secs(10)),
        min_heartbeat_ttl: d(s.min_heartbeat_ttl, secs(10)),
        max_heartbeats_per_second: s.max_heartbeats_per_second.unwrap_or(50.0),
        failover_heartbeat_ttl: d(s.failover_heartbeat_ttl, secs(300)),
        node_gc_threshold: d(s.node_gc_threshold, secs(24 * 3600)),
        job_gc_interval: d(s.job_gc_interval, secs(300)),
        job_gc_threshold: d(s.job_gc_threshold, secs(4 * 3600)),
        eval_gc_threshold: d(s.eval_gc_threshold, secs(3600)),
        batch_eval_gc_threshold: d(s.batch_eval_gc_threshold, secs(24 * 3600)),
        deployment_gc_threshold: d(s.deployment_gc_threshold, secs(3600)),
        raft_protocol: s.raft_protocol.unwrap_or(3),
        raft_multiplier: s.raft_multiplier,
        raft_snapshot_threshold: s.raft_snapshot_threshold,
        raft_snapshot_interval: s.raft_snapshot_interval.map(|g| g.0),
        raft_trailing_logs: s.raft_trailing_logs,
        encrypt: s.encrypt,
        rejoin_after_leave: s.rejoin_after_leave.unwrap_or(false),
        non_voting_server: s.non_voting_server.unwrap_or(false),
        redundancy_zone: s.redundancy_zone,
        server_join,
        job_default_priority,
        job_max_priority,
        job_max_count: s.job_max_count.unwrap_or(50_000),
        enable_event_broker: s.enable_event_broker.unwrap_or(true),
        event_buffer_size: s.event_buffer_size.unwrap_or(100),
        plan_apply_pipeline: s.plan_apply_pipeline.unwrap_or(1),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}
