//! The users' own job files parse unchanged and give the values they wrote.

use drover_jobspec::VarInputs;

use crate::{parse_ok, seed};

#[test]
fn job_bvc() {
    let job = parse_ok(&seed("job-bvc.hcl"), &VarInputs::default());
    assert_eq!(job.id(), "bvc");
    assert_eq!(job.datacenters, ["FT2000"]);
    assert_eq!(job.job_type.as_deref(), Some("service"));
    let g = job.group("bvc25").expect("group bvc25");
    assert_eq!(g.count, Some(1));
    let port = &g.networks[0].reserved_ports[0];
    assert_eq!(
        (port.label.as_str(), port.value, port.to),
        ("mysql", 3307, 3306)
    );
    assert!(g.networks[0].dynamic_ports.is_empty());
    let db = &g.volumes["db"];
    assert_eq!(
        (db.kind.as_str(), db.source.as_str(), db.read_only),
        ("host", "mysql", false)
    );
    let hd = &g.volumes["hd"];
    assert_eq!((hd.kind.as_str(), hd.source.as_str()), ("host", "storage"));

    let t = g.task("mysql").expect("task mysql");
    assert_eq!(t.driver, "docker");
    let r = t.resources.as_ref().expect("resources");
    assert_eq!((r.cpu, r.memory_mb), (Some(1500), Some(1024)));
    assert_eq!(
        t.artifacts[0].getter_source.as_deref(),
        Some("http://10.1.41.225/mysql-bvc25.tar")
    );
    // The env block's first line is tab-indented.
    assert_eq!(t.env["MYSQL_ROOT_PASSWORD"], "123456");
    assert_eq!(t.env["MYSQL_USER"], "sumadb");
    assert_eq!(t.env["MYSQL_PASSWORD"], "Sumavision@300079");
    assert_eq!(
        t.config["volumes"],
        serde_json::json!(["/opt/docker/storage/mysql.conf.d:/etc/mysql/mysql.conf.d"])
    );
    assert_eq!(t.config["ports"], serde_json::json!(["mysql"]));
    assert_eq!(t.config["load"], "mysql-bvc25.tar");
    let mounts: Vec<(&str, &str)> = t
        .volume_mounts
        .iter()
        .map(|m| {
            (
                m.volume.as_deref().unwrap_or(""),
                m.destination.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(mounts, [("db", "/var/lib/mysql"), ("hd", "/home/docker")]);
}

#[test]
fn job_tetris() {
    let job = parse_ok(&seed("job-tetris.hcl"), &VarInputs::default());
    assert_eq!(job.id(), "tetris");
    assert_eq!(job.datacenters, ["FT2000"]);
    let g = job.group("bvc").expect("group bvc");
    assert_eq!(g.networks[0].mode, "host");
    assert_eq!(g.volumes["hd"].source, "storage");
    let t = g.task("bvc25").expect("task bvc25");
    assert_eq!(t.config["network_mode"], "host");
    assert_eq!(t.config["image"], "bcv25:1.2");
    assert_eq!(
        t.config["volumes"],
        serde_json::json!([
            "/opt/docker/storage/log:/var/log",
            "/opt/docker/storage/log:/usr/sbin/sumavision/log",
            "/opt/docker/storage/logs:/usr/sbin/sumavision/logs",
            "/opt/docker/storage/logs:/var/logs",
        ])
    );
    let r = t.resources.as_ref().expect("resources");
    assert_eq!((r.cpu, r.memory_mb), (Some(24000), Some(13000)));
    assert_eq!(
        t.artifacts[0].getter_source.as_deref(),
        Some("http://10.1.41.225/bvc25-1.2.tar")
    );
    assert_eq!(
        t.volume_mounts[0].destination.as_deref(),
        Some("/home/docker")
    );
}
