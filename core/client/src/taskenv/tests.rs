//! Table tests of the task environment, including the seed `job-bvc` file parsed by the
//! real job parser.

use std::collections::BTreeMap;

use drover_types::allocated::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedPortMapping, AllocatedResources,
    AllocatedSharedResources, AllocatedTaskResources,
};
use drover_types::{Allocation, Job, NetworkResource, Node, Port};

use super::*;
use crate::allocdir::{AllocDir, FsIsolation};

const ALLOC_ID: &str = "0c4a1b2e-8f6d-4c1a-9e0b-5a7d3f2e1c44";

fn node() -> Node {
    Node {
        id: "node-1".into(),
        name: "worker-a".into(),
        datacenter: "FT2000".into(),
        node_class: "db".into(),
        node_pool: "default".into(),
        attributes: [("kernel.name".into(), "linux".into())].into(),
        meta: [("rack".into(), "r9".into())].into(),
        ..Default::default()
    }
}

fn job(hcl_env: &[(&str, &str)]) -> Job {
    let mut job: Job = serde_json::from_value(serde_json::json!({
        "ID": "web", "Name": "web-name", "Namespace": "default", "ParentID": "",
        "Meta": {"owner": "job", "level": "job", "my-key": "dash"},
        "TaskGroups": [{"Name": "frontend", "Meta": {"level": "group"},
            "Tasks": [
                {"Name": "server", "Driver": "raw_exec", "Meta": {"level": "task", "who": "${node.unique.name}"},
                 "Resources": {"CPU": 100, "MemoryMB": 64}},
                {"Name": "sidecar", "Driver": "raw_exec"}
            ]}]
    }))
    .unwrap();
    job.task_groups[0].tasks[0].env = hcl_env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    job
}

fn alloc(job: Job) -> Allocation {
    let task = |cpu, mem, cores: Vec<u16>, networks| AllocatedTaskResources {
        cpu: AllocatedCpuResources {
            cpu_shares: cpu,
            reserved_cores: cores,
        },
        memory: AllocatedMemoryResources {
            memory_mb: mem,
            memory_max_mb: 0,
        },
        networks,
        devices: vec![],
    };
    let sidecar_net = NetworkResource {
        ip: "10.0.0.5".into(),
        dynamic_ports: vec![Port {
            label: "admin".into(),
            value: 25001,
            ..Default::default()
        }],
        ..Default::default()
    };
    Allocation {
        id: ALLOC_ID.into(),
        namespace: "default".into(),
        name: "web.frontend[2]".into(),
        task_group: "frontend".into(),
        job: Some(Box::new(job)),
        allocated_resources: Some(AllocatedResources {
            tasks: [
                ("server".into(), task(500, 256, vec![3, 0, 1], vec![])),
                ("sidecar".into(), task(100, 64, vec![], vec![sidecar_net])),
            ]
            .into(),
            shared: AllocatedSharedResources {
                ports: vec![
                    AllocatedPortMapping {
                        label: "http".into(),
                        value: 23456,
                        to: 0,
                        host_ip: "10.0.0.5".into(),
                    },
                    AllocatedPortMapping {
                        label: "grpc-api".into(),
                        value: 23457,
                        to: 9090,
                        host_ip: "::1".into(),
                    },
                ],
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn build(a: &Allocation, host: &[(&str, &str)], iso: FsIsolation) -> TaskEnv {
    let n = node();
    let td = AllocDir::new(std::path::Path::new("/data/alloc"), ALLOC_ID)
        .unwrap()
        .task_dir("server")
        .unwrap();
    TaskEnvBuilder::new(&n, a, "server", "global")
        .unwrap()
        .dirs(td.env_dirs(iso), td.host_env_dirs())
        .host_env(host.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .build()
}

#[test]
fn nomad_variables_table() {
    let a = alloc(job(&[]));
    let e = build(&a, &[], FsIsolation::None).env;
    let dir = format!("/data/alloc/{ALLOC_ID}");
    let want: &[(&str, &str)] = &[
        ("NOMAD_ALLOC_DIR", &format!("{dir}/alloc")),
        ("NOMAD_TASK_DIR", &format!("{dir}/server/local")),
        ("NOMAD_SECRETS_DIR", &format!("{dir}/server/secrets")),
        ("NOMAD_MEMORY_LIMIT", "256"),
        ("NOMAD_CPU_LIMIT", "500"),
        ("NOMAD_CPU_CORES", "0-1,3"),
        ("NOMAD_ALLOC_ID", ALLOC_ID),
        ("NOMAD_SHORT_ALLOC_ID", "0c4a1b2e"),
        ("NOMAD_ALLOC_NAME", "web.frontend[2]"),
        ("NOMAD_ALLOC_INDEX", "2"),
        ("NOMAD_GROUP_NAME", "frontend"),
        ("NOMAD_TASK_NAME", "server"),
        ("NOMAD_JOB_ID", "web"),
        ("NOMAD_JOB_NAME", "web-name"),
        ("NOMAD_DC", "FT2000"),
        ("NOMAD_NAMESPACE", "default"),
        ("NOMAD_REGION", "global"),
        // Group ports.
        ("NOMAD_IP_http", "10.0.0.5"),
        ("NOMAD_HOST_IP_http", "10.0.0.5"),
        ("NOMAD_PORT_http", "23456"),
        ("NOMAD_ALLOC_PORT_http", "23456"),
        ("NOMAD_HOST_PORT_http", "23456"),
        ("NOMAD_ADDR_http", "10.0.0.5:23456"),
        ("NOMAD_HOST_ADDR_http", "10.0.0.5:23456"),
        ("NOMAD_PORT_grpc_api", "9090"),
        ("NOMAD_HOST_PORT_grpc_api", "23457"),
        ("NOMAD_ADDR_grpc_api", "[::1]:23457"),
        ("NOMAD_HOST_ADDR_grpc-api", "[::1]:23457"),
        // Another task's ports (host values).
        ("NOMAD_ADDR_sidecar_admin", "10.0.0.5:25001"),
        ("NOMAD_IP_sidecar_admin", "10.0.0.5"),
        ("NOMAD_PORT_sidecar_admin", "25001"),
        // Meta: task > group > job, both cases, interpolated, key cleaned.
        ("NOMAD_META_level", "task"),
        ("NOMAD_META_LEVEL", "task"),
        ("NOMAD_META_owner", "job"),
        ("NOMAD_META_OWNER", "job"),
        ("NOMAD_META_who", "worker-a"),
        ("NOMAD_META_my_key", "dash"),
        ("NOMAD_META_MY_KEY", "dash"),
    ];
    for (k, v) in want {
        assert_eq!(e.get(*k).map(String::as_str), Some(*v), "{k}");
    }
    for absent in [
        "NOMAD_MEMORY_MAX_LIMIT",
        "NOMAD_JOB_PARENT_ID",
        "NOMAD_PARENT_CGROUP",
    ] {
        assert!(!e.contains_key(absent), "{absent} should be unset");
    }
}

#[test]
fn isolated_drivers_see_container_paths_but_client_env_keeps_host_paths() {
    let a = alloc(job(&[("CONF", "${NOMAD_TASK_DIR}/app.conf")]));
    for iso in [FsIsolation::Chroot, FsIsolation::Image] {
        let t = build(&a, &[], iso);
        assert_eq!(t.env["NOMAD_ALLOC_DIR"], "/alloc");
        assert_eq!(t.env["NOMAD_TASK_DIR"], "/local");
        assert_eq!(t.env["NOMAD_SECRETS_DIR"], "/secrets");
        assert_eq!(t.env["CONF"], "/local/app.conf");
        assert_eq!(
            t.client_env["CONF"],
            format!("/data/alloc/{ALLOC_ID}/server/local/app.conf")
        );
        assert_eq!(
            t.interpolate_client("${NOMAD_TASK_DIR}/x"),
            format!("/data/alloc/{ALLOC_ID}/server/local/x")
        );
    }
}

#[test]
fn precedence_host_env_denylist_and_user_env() {
    let user = [
        ("PATH", "/opt/bin:${env[\"PATH\"]}"),
        (
            "NODE",
            "${node.unique.id}/${node.unique.name}/${node.datacenter}",
        ),
        ("NODE2", "${node.region}/${node.class}/${node.pool}"),
        ("ATTR", "${attr.kernel.name}-${meta.rack}"),
        ("KEEP", "${attr.nope} ${NOMAD_NOPE} ${env[\"NOPE\"]}"),
        ("NOMAD_TASK_NAME", "overridden"),
        ("OTHER", "${PATH}"),
    ];
    let host = [
        ("PATH", "/usr/bin"),
        ("HOME", "/root"),
        ("VAULT_TOKEN", "s.secret"),
        ("ACME_LICENSE", "lic"),
        ("AWS_SECRET_ACCESS_KEY", "k"),
        ("NOMAD_ALLOC_ID", "from-host"),
        ("GREETING", "hi ${NOMAD_JOB_ID}"),
    ];
    let a = alloc(job(&user));
    let e = build(&a, &host, FsIsolation::None).env;
    let cases: &[(&str, Option<&str>)] = &[
        ("PATH", Some("/opt/bin:/usr/bin")),
        ("HOME", Some("/root")),
        ("GREETING", Some("hi web")),
        ("VAULT_TOKEN", None),
        ("ACME_LICENSE", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("NOMAD_ALLOC_ID", Some(ALLOC_ID)),
        ("NODE", Some("node-1/worker-a/FT2000")),
        ("NODE2", Some("global/db/default")),
        ("ATTR", Some("linux-r9")),
        ("KEEP", Some("${attr.nope} ${NOMAD_NOPE} ${env[\"NOPE\"]}")),
        ("NOMAD_TASK_NAME", Some("overridden")),
        // A user variable sees the host's PATH, not the user's own PATH.
        ("OTHER", Some("/usr/bin")),
    ];
    for (k, v) in cases {
        assert_eq!(e.get(*k).map(String::as_str), *v, "{k}");
    }
}

#[test]
fn errors_name_the_missing_piece() {
    let n = node();
    let mut a = alloc(job(&[]));
    let err = TaskEnvBuilder::new(&n, &a, "nope", "global").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("task \"nope\" not found in group \"frontend\" of allocation {ALLOC_ID}")
    );
    a.job = None;
    assert!(
        TaskEnvBuilder::new(&n, &a, "server", "global")
            .unwrap_err()
            .to_string()
            .contains("has no job")
    );
}

#[test]
fn config_and_list() {
    let a = alloc(job(&[]));
    let t = build(&a, &[], FsIsolation::None);
    let cfg = serde_json::json!({"command": "${NOMAD_TASK_DIR}/run", "args": ["${NOMAD_PORT_http}", "${attr.kernel.name}"]});
    assert_eq!(
        t.interpolate_json(&cfg),
        serde_json::json!({"command": format!("/data/alloc/{ALLOC_ID}/server/local/run"), "args": ["23456", "linux"]})
    );
    assert!(t.list().contains(&"NOMAD_TASK_NAME=server".to_string()));
    assert_eq!(core_set(&[5, 1, 2, 3, 9, 10]), "1-3,5,9-10");
    assert_eq!(core_set(&[]), "");
}

/// The seed job, through the real parser: the env block's first line is tab-indented,
/// and port `mysql` is static 3307 mapped to 3306.
#[test]
fn seed_job_bvc() {
    let text = include_str!("../../../../tests/fixtures/seed/job-bvc.hcl");
    let job = drover_jobspec::parse_hcl("job-bvc.hcl", text, &Default::default())
        .expect("job-bvc parses");
    let mut a = Allocation {
        id: ALLOC_ID.into(),
        namespace: "default".into(),
        name: "bvc.bvc25[0]".into(),
        task_group: "bvc25".into(),
        job: Some(Box::new(job)),
        ..Default::default()
    };
    a.allocated_resources = Some(AllocatedResources {
        tasks: BTreeMap::new(),
        shared: AllocatedSharedResources {
            ports: vec![AllocatedPortMapping {
                label: "mysql".into(),
                value: 3307,
                to: 3306,
                host_ip: "10.1.41.7".into(),
            }],
            ..Default::default()
        },
        ..Default::default()
    });
    let n = node();
    let e = TaskEnvBuilder::new(&n, &a, "mysql", "global")
        .unwrap()
        .build()
        .env;
    for (k, v) in [
        ("MYSQL_ROOT_PASSWORD", "123456"),
        ("MYSQL_USER", "sumadb"),
        ("MYSQL_PASSWORD", "Sumavision@300079"),
        ("NOMAD_PORT_mysql", "3306"),
        ("NOMAD_ALLOC_PORT_mysql", "3306"),
        ("NOMAD_HOST_PORT_mysql", "3307"),
        ("NOMAD_ADDR_mysql", "10.1.41.7:3307"),
        ("NOMAD_JOB_ID", "bvc"),
        ("NOMAD_ALLOC_INDEX", "0"),
        ("NOMAD_CPU_LIMIT", "1500"),
        ("NOMAD_MEMORY_LIMIT", "1024"),
    ] {
        assert_eq!(e.get(k).map(String::as_str), Some(v), "{k}");
    }
}
