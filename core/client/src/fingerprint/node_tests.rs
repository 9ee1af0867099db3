//! Building the node from fixture facts.

use std::time::Duration;

use super::*;

fn facts() -> HostFacts {
    HostFacts {
        kernel_name: "linux".into(),
        kernel_version: "6.1.0-18-amd64".into(),
        kernel_arch: "x86_64".into(),
        os_name: "debian".into(),
        os_version: "12".into(),
        cpu: CpuInfo {
            model_name: "Xeon".into(),
            mhz: Some(2399.998),
            cores: 4,
        },
        cpu_mhz: 2400,
        memory_bytes: 8 * 1024 * MB,
        hostname: "worker-a".into(),
        network: Some(("eth0".into(), "10.0.0.5".parse().unwrap())),
        storage: Some(Storage {
            volume: "/dev/sda1".into(),
            total_bytes: 100 * 1024 * MB,
            free_bytes: 40 * 1024 * MB,
            total_inodes: 1000,
            free_inodes: 900,
        }),
        warnings: vec![],
    }
}

fn cfg() -> FingerprintConfig {
    FingerprintConfig {
        datacenter: "dc1".into(),
        node_class: "db".into(),
        meta: [("rack".into(), "r9".into())].into(),
        http_addr: "10.0.0.5:4646".into(),
        min_dynamic_port: 20000,
        max_dynamic_port: 32000,
        reserved: ReservedConfig {
            cpu: 500,
            memory_mb: 512,
            disk_mb: 1024,
            reserved_ports: "22,8000-8100".into(),
            cores: vec![0],
        },
        host_volumes: vec![ClientHostVolume {
            name: "mysql".into(),
            path: "/opt/mysql".into(),
            read_only: false,
        }],
        version: "0.1.0".into(),
        ..Default::default()
    }
}

fn id() -> NodeIdentity {
    NodeIdentity {
        id: "11111111-1111-4111-8111-111111111111".into(),
        secret_id: "22222222-2222-4222-8222-222222222222".into(),
    }
}

#[test]
fn attributes_use_nomads_names() {
    let a = host_attributes(&cfg(), &facts());
    for (k, v) in [
        ("kernel.name", "linux"),
        ("kernel.version", "6.1.0-18-amd64"),
        ("kernel.arch", "x86_64"),
        ("os.name", "debian"),
        ("os.version", "12"),
        ("cpu.arch", "amd64"),
        ("cpu.numcores", "4"),
        ("cpu.frequency", "2400"),
        ("cpu.totalcompute", "9600"),
        ("cpu.usablecompute", "7200"),
        ("cpu.modelname", "Xeon"),
        ("memory.totalbytes", "8589934592"),
        ("unique.hostname", "worker-a"),
        ("unique.network.ip-address", "10.0.0.5"),
        ("unique.storage.volume", "/dev/sda1"),
        ("unique.storage.bytestotal", "107374182400"),
        ("unique.storage.bytesfree", "42949672960"),
        ("nomad.version", "0.1.0"),
    ] {
        assert_eq!(a.get(k).map(String::as_str), Some(v), "{k}");
    }
}

#[test]
fn overrides_win() {
    let mut c = cfg();
    c.cpu_total_compute = Some(3000);
    c.memory_total_mb = Some(1024);
    c.disk_free_mb = Some(10);
    c.disk_total_mb = Some(20);
    let a = host_attributes(&c, &facts());
    assert_eq!(a["cpu.totalcompute"], "3000");
    assert_eq!(a["memory.totalbytes"], (1024 * MB).to_string());
    assert_eq!(a["unique.storage.bytesfree"], (10 * MB).to_string());
    let r = node_resources(&c, &facts());
    assert_eq!(
        (r.cpu.cpu_shares, r.memory.memory_mb, r.disk.disk_mb),
        (3000, 1024, 10)
    );
}

#[test]
fn node_resources_reserved_and_drivers() {
    let drivers: BTreeMap<String, DriverFingerprint> = [
        (
            "raw_exec".to_string(),
            DriverFingerprint {
                health: DriverHealth::Healthy,
                description: "Healthy".into(),
                attributes: [("driver.raw_exec".into(), "true".into())].into(),
            },
        ),
        (
            "docker".to_string(),
            DriverFingerprint {
                health: DriverHealth::Undetected,
                description: "docker not found".into(),
                attributes: [("driver.docker.version".into(), "x".into())].into(),
            },
        ),
        (
            "mock".to_string(),
            DriverFingerprint {
                health: DriverHealth::Unhealthy,
                description: "broken".into(),
                attributes: BTreeMap::new(),
            },
        ),
    ]
    .into();
    let now = UNIX_EPOCH + Duration::from_secs(1_714_564_800);
    let n = build_node(&cfg(), &facts(), &id(), &drivers, now);
    assert_eq!(
        (n.name.as_str(), n.node_pool.as_str()),
        ("worker-a", "default")
    );
    assert_eq!(n.status, NodeStatus::Initializing);
    let r = n.node_resources.as_ref().unwrap();
    assert_eq!((r.cpu.cpu_shares, r.cpu.total_cpu_cores), (9600, 4));
    assert_eq!(r.cpu.reservable_cpu_cores, [1, 2, 3]);
    assert_eq!((r.memory.memory_mb, r.disk.disk_mb), (8192, 40 * 1024));
    assert_eq!(r.networks[0].device, "eth0");
    assert_eq!(r.networks[0].cidr, "10.0.0.5/32");
    assert_eq!(r.networks[0].mode, "host");
    let res = n.reserved_resources.as_ref().unwrap();
    assert_eq!(res.networks.reserved_host_ports, "22,8000-8100");
    assert_eq!(
        (res.cpu.cpu_shares, res.memory.memory_mb, res.disk.disk_mb),
        (500, 512, 1024)
    );
    assert_eq!(n.host_volumes["mysql"].path, "/opt/mysql");
    assert_eq!(n.attributes["driver.raw_exec"], "true");
    assert_eq!(
        n.attributes["driver.mock"], "1",
        "detected but unhealthy still gets the attribute"
    );
    assert!(!n.attributes.contains_key("driver.docker"));
    assert!(!n.attributes.contains_key("driver.docker.version"));
    let d = &n.drivers["raw_exec"];
    assert!(d.detected && d.healthy);
    assert_eq!(d.update_time, "2024-05-01T12:00:00Z");
    let d = &n.drivers["mock"];
    assert!(d.detected && !d.healthy && d.health_description == "broken");
    // The node serializes with Nomad's field names.
    let v = serde_json::to_value(&n).unwrap();
    assert_eq!(v["Drivers"]["docker"]["Detected"], false);
    assert_eq!(v["NodeResources"]["Cpu"]["CpuShares"], 9600);
}

#[test]
fn driver_updates_are_detected_and_undetection_removes_attributes() {
    let mut n = build_node(&cfg(), &facts(), &id(), &BTreeMap::new(), UNIX_EPOCH);
    let healthy = DriverFingerprint {
        health: DriverHealth::Healthy,
        description: "ok".into(),
        attributes: [("driver.x.version".into(), "2".into())].into(),
    };
    assert!(apply_driver(&mut n, "x", &healthy, UNIX_EPOCH));
    assert_eq!(n.attributes["driver.x.version"], "2");
    assert!(
        !apply_driver(&mut n, "x", &healthy, UNIX_EPOCH + Duration::from_secs(5)),
        "same report, no change"
    );
    let gone = DriverFingerprint::default();
    assert!(apply_driver(&mut n, "x", &gone, UNIX_EPOCH));
    assert!(
        !n.attributes.contains_key("driver.x") && !n.attributes.contains_key("driver.x.version")
    );
    assert!(!n.drivers["x"].detected);
    assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "2000-02-29T00:00:00Z"
    );
}
