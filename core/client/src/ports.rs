//! The port hook: before a new allocation's tasks start, check that every host port the
//! servers assigned to it can still be bound on this node.
//!
//! The schedulers only know the ports of allocations and the node's reserved ports; a
//! process outside Drover (or a task of a stopped allocation that refuses to die) can
//! still hold one. With host networking nothing else would notice: the task would start
//! and fail on its own bind, with the reason buried in its stderr. This hook turns that
//! into a `Setup Failure` event naming the label, address and port.
//!
//! Only TCP is checked (a UDP probe would collide with legitimate UDP users of the same
//! number), and only for allocations that start fresh: a restored allocation's tasks are
//! the ones holding its ports. The probe binds with `SO_REUSEADDR` (Rust's default on
//! Unix), so sockets in `TIME_WAIT` from a previous run do not count as taken. The check
//! is advisory: a port taken between the probe and the task's own bind still fails the
//! task in its own way.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use drover_types::Allocation;

/// The first assigned host port that cannot be bound, as an event message.
pub fn check_ports(alloc: &Allocation) -> Result<(), String> {
    let Some(resources) = &alloc.allocated_resources else {
        return Ok(());
    };
    // (label, host IP, host port), from the group and task networks and the port
    // mappings; `ignore_collision` ports are shared on purpose and not probed.
    let networks = resources
        .shared
        .networks
        .iter()
        .chain(resources.tasks.values().flat_map(|t| t.networks.iter()));
    let mut wanted: Vec<(&str, &str, i64)> = Vec::new();
    let mut shared_on_purpose: Vec<&str> = Vec::new();
    for n in networks {
        for (p, _) in n.ports() {
            if p.ignore_collision {
                shared_on_purpose.push(&p.label);
            } else {
                wanted.push((&p.label, &n.ip, p.value));
            }
        }
    }
    for p in &resources.shared.ports {
        if !shared_on_purpose.contains(&p.label.as_str()) {
            wanted.push((&p.label, &p.host_ip, p.value));
        }
    }
    let mut probed: Vec<SocketAddr> = Vec::new();
    for (label, ip, value) in wanted {
        let Ok(port) = u16::try_from(value) else {
            return Err(format!(
                "port {label:?} was assigned host port {value}, which is not a valid TCP port"
            ));
        };
        if port == 0 {
            continue;
        }
        let ip = match ip {
            "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            s => s.parse().map_err(|_| {
                format!(
                    "port {label:?} was assigned host address {s:?}, which is not an IP address"
                )
            })?,
        };
        let addr = SocketAddr::new(ip, port);
        if probed.contains(&addr) {
            continue;
        }
        probed.push(addr);
        if let Err(e) = TcpListener::bind(addr) {
            return Err(format!(
                "port {label:?} ({addr}) cannot be bound on this node: {e}; stop the process \
                 holding it or give the job another port"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use drover_types::AllocatedResources;
    use drover_types::allocated::AllocatedPortMapping;
    use drover_types::network::{NetworkResource, Port};

    use super::*;

    fn alloc_with(ports: Vec<AllocatedPortMapping>) -> Allocation {
        let mut a = Allocation::default();
        let mut r = AllocatedResources::default();
        r.shared.ports = ports;
        a.allocated_resources = Some(r);
        a
    }

    fn mapping(label: &str, ip: &str, value: i64) -> AllocatedPortMapping {
        AllocatedPortMapping {
            label: label.into(),
            value,
            to: 0,
            host_ip: ip.into(),
        }
    }

    #[test]
    fn a_port_held_by_another_socket_is_reported_with_its_label_and_address() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let err =
            check_ports(&alloc_with(vec![mapping("db", "127.0.0.1", port.into())])).unwrap_err();
        assert!(err.contains("\"db\""), "{err}");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(err.contains("in use"), "{err}");
    }

    #[test]
    fn group_network_ports_are_probed_unless_they_ignore_collisions() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let mut a = alloc_with(vec![]);
        let mut n = NetworkResource {
            ip: "127.0.0.1".into(),
            ..Default::default()
        };
        n.reserved_ports.push(Port {
            label: "http".into(),
            value: port.into(),
            ..Default::default()
        });
        if let Some(r) = a.allocated_resources.as_mut() {
            r.shared.networks.push(n);
        }
        let err = check_ports(&a).unwrap_err();
        assert!(err.contains("\"http\""), "{err}");
        if let Some(r) = a.allocated_resources.as_mut() {
            r.shared.networks[0].reserved_ports[0].ignore_collision = true;
        }
        check_ports(&a).unwrap();
    }

    #[test]
    fn free_ports_and_allocations_without_ports_pass() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        check_ports(&alloc_with(vec![mapping("http", "127.0.0.1", port.into())])).unwrap();
        check_ports(&Allocation::default()).unwrap();
    }

    #[test]
    fn nonsense_assignments_are_errors_not_panics() {
        let err = check_ports(&alloc_with(vec![mapping("x", "127.0.0.1", 70_000)])).unwrap_err();
        assert!(err.contains("70000"), "{err}");
        let err = check_ports(&alloc_with(vec![mapping("x", "not-an-ip", 80)])).unwrap_err();
        assert!(err.contains("not-an-ip"), "{err}");
    }
}
