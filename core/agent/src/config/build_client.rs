//! The `client {}` block: defaults (`DefaultConfig()`/`DevConfig()`) and Nomad's rules for
//! ports, GC thresholds, host volumes and networks.

use std::path::PathBuf;

use super::build::{Checker, d, join, secs};
use super::raw::RawClient;
use super::types::*;

pub(super) fn build_client(cl: RawClient, dev: bool, c: &mut Checker) -> ClientConfig {
    let node_pool = cl.node_pool.unwrap_or_else(|| "default".into());
    if node_pool == "all" {
        c.err("client.node_pool", "\"all\" is a reserved node pool name");
    }
    let min_dynamic_port = cl.min_dynamic_port.unwrap_or(20000);
    let max_dynamic_port = cl.max_dynamic_port.unwrap_or(32000);
    if min_dynamic_port > max_dynamic_port {
        c.err(
            "client.min_dynamic_port",
            format!(
                "must not exceed max_dynamic_port ({max_dynamic_port}), found {min_dynamic_port}"
            ),
        );
    }
    let client_min_port = cl.client_min_port.unwrap_or(14000);
    let client_max_port = cl.client_max_port.unwrap_or(14512);
    if client_min_port > client_max_port {
        c.err(
            "client.client_min_port",
            format!("must not exceed client_max_port ({client_max_port}), found {client_min_port}"),
        );
    }
    for (key, v) in [
        ("gc_disk_usage_threshold", cl.gc_disk_usage_threshold),
        ("gc_inode_usage_threshold", cl.gc_inode_usage_threshold),
    ] {
        if let Some(v) = v.filter(|v| !(0.0..=100.0).contains(v)) {
            c.err(
                &format!("client.{key}"),
                format!("must be a percentage from 0 to 100, found {v}"),
            );
        }
    }
    if let Some(f) = cl
        .preferred_address_family
        .as_deref()
        .filter(|f| !["ipv4", "ipv6"].contains(f))
    {
        c.err(
            "client.preferred_address_family",
            format!("must be \"ipv4\" or \"ipv6\", found {f:?}"),
        );
    }
    let reserved = cl.reserved.unwrap_or_default();
    let reserved = Reserved {
        cpu: reserved.cpu.unwrap_or(0),
        memory_mb: reserved.memory.unwrap_or(0),
        disk_mb: reserved.disk.unwrap_or(0),
        reserved_ports: c.ports("client.reserved.reserved_ports", &reserved.reserved_ports),
        cores: reserved.cores,
    };
    let mut host_volumes = Vec::new();
    for (name, v) in cl.host_volume {
        let at = format!("client.host_volume.{name}");
        let Some(path) = v.path else {
            c.err(&at, "missing path in host_volume config");
            continue;
        };
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            c.err(
                &format!("{at}.path"),
                format!(
                    "must be an absolute path, found {:?}",
                    path.display().to_string()
                ),
            );
        }
        host_volumes.push(HostVolume {
            name,
            path,
            read_only: v.read_only.unwrap_or(false),
        });
    }
    let host_networks = cl
        .host_network
        .into_iter()
        .map(|(name, n)| HostNetwork {
            reserved_ports: c.ports(
                &format!("client.host_network.{name}.reserved_ports"),
                &n.reserved_ports,
            ),
            name,
            cidr: n.cidr,
            interface: n.interface,
        })
        .collect();
    let mut options = cl.options.unwrap_or_default();
    if dev {
        options
            .entry("driver.raw_exec.enable".into())
            .or_insert_with(|| "true".into());
        options
            .entry("driver.docker.volumes".into())
            .or_insert_with(|| "true".into());
    }
    let state_dir = c.abs_path("client.state_dir", &cl.state_dir);
    let alloc_dir = c.abs_path("client.alloc_dir", &cl.alloc_dir);
    let alloc_mounts_dir = c.abs_path("client.alloc_mounts_dir", &cl.alloc_mounts_dir);
    ClientConfig {
        enabled: cl.enabled.unwrap_or(dev),
        state_dir,
        alloc_dir,
        alloc_mounts_dir,
        servers: cl.servers.unwrap_or_default(),
        server_join: join(cl.server_join),
        node_class: cl.node_class.unwrap_or_default(),
        node_pool,
        meta: cl.meta.unwrap_or_default(),
        options,
        chroot_env: cl.chroot_env.unwrap_or_default(),
        network_interface: cl.network_interface,
        network_speed: cl.network_speed,
        preferred_address_family: cl.preferred_address_family,
        cpu_total_compute: cl.cpu_total_compute,
        memory_total_mb: cl.memory_total_mb,
        disk_total_mb: cl.disk_total_mb,
        disk_free_mb: cl.disk_free_mb,
        reservable_cores: cl.reservable_cores,
        reserved,
        min_dynamic_port,
        max_dynamic_port,
        client_min_port,
        client_max_port,
        max_kill_timeout: d(cl.max_kill_timeout, secs(30)),
        gc_interval: d(cl.gc_interval, secs(if dev { 600 } else { 60 })),
        gc_parallel_destroys: cl.gc_parallel_destroys.unwrap_or(2),
        gc_disk_usage_threshold: cl.gc_disk_usage_threshold.unwrap_or(if dev {
            99.0
        } else {
            80.0
        }),
        gc_inode_usage_threshold: cl.gc_inode_usage_threshold.unwrap_or(if dev {
            99.0
        } else {
            70.0
        }),
        gc_max_allocs: cl.gc_max_allocs.unwrap_or(50),
        gc_volumes_on_node_gc: cl.gc_volumes_on_node_gc.unwrap_or(false),
        no_host_uuid: cl.no_host_uuid.unwrap_or(true),
        disable_remote_exec: cl.disable_remote_exec.unwrap_or(false),
        host_volumes,
        host_networks,
        cni_path: cl
            .cni_path
            .unwrap_or_else(|| "/opt/cni/bin:/usr/libexec/cni".into()),
        cni_config_dir: cl
            .cni_config_dir
            .unwrap_or_else(|| "/opt/cni/config".into()),
        bridge_network_name: cl.bridge_network_name,
        bridge_network_subnet: cl.bridge_network_subnet,
        cgroup_parent: cl.cgroup_parent,
        node_max_allocs: cl.node_max_allocs.unwrap_or(0),
        default_ineligible: cl.default_ineligible.unwrap_or(false),
    }
}

/// Parse `"22,80,8000-8100"` into inclusive ranges.
pub fn parse_port_ranges(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let port = |x: &str| {
            x.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    format!(
                        "invalid port {:?} in {s:?}: expected a port from 1 to 65535",
                        x.trim()
                    )
                })
        };
        let (lo, hi) = (port(lo)?, port(hi)?);
        if lo > hi {
            return Err(format!("invalid port range {part:?}: start is after end"));
        }
        out.push((lo, hi));
    }
    Ok(out)
}
