//! Each default of reference §2.4, checked by JSON pointer into the canonical job.

use crate::job::Job;
use serde_json::{Value, json};

fn canonical(job: Value) -> Value {
    let mut job: Job = serde_json::from_value(job).unwrap();
    job.canonicalize();
    let once = serde_json::to_value(&job).unwrap();
    job.canonicalize();
    assert_eq!(
        once,
        serde_json::to_value(&job).unwrap(),
        "canonicalize is idempotent"
    );
    once
}

fn job_of_type(t: &str) -> Value {
    json!({"ID":"j","Type":t,"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec",
        "Artifacts":[{"GetterSource":"http://h/a.tar"}],
        "Templates":[{"DestPath":"local/x","EmbeddedTmpl":"x"}],
        "VolumeMounts":[{"Volume":"v","Destination":"/v"}]}],
        "Networks":[{"DynamicPorts":[{"Label":"http"}]}]}]})
}

/// (JSON pointer, expected value, source line in reference §2.4)
type Row = (&'static str, fn() -> Value, &'static str);

const S: i64 = 1_000_000_000;
const H: i64 = 3600 * S;

/// (pointer, expected, source line of reference §2.4)
const COMMON: &[Row] = &[
    (
        "/Type",
        || json!("service"),
        "job type \"service\" — api/jobs.go Job.Canonicalize",
    ),
    (
        "/Priority",
        || json!(50),
        "priority 50 — api/jobs.go Job.Canonicalize",
    ),
    (
        "/Region",
        || json!("global"),
        "region \"global\" — job_endpoint.go regionForJob",
    ),
    ("/Namespace", || json!("default"), "namespace \"default\""),
    (
        "/Name",
        || json!("j"),
        "name defaults to the ID — jobspec2 / Job.Canonicalize",
    ),
    (
        "/Datacenters",
        || json!(["*"]),
        "datacenters [\"*\"] — structs.go:4686",
    ),
    (
        "/NodePool",
        || json!("default"),
        "node_pool \"\" ⇒ server fills \"default\"",
    ),
    ("/AllAtOnce", || json!(false), "all_at_once false"),
    ("/Stop", || json!(false), "stop false"),
    (
        "/TaskGroups/0/Count",
        || json!(1),
        "group count 1 — TaskGroup.Canonicalize",
    ),
    (
        "/TaskGroups/0/EphemeralDisk/SizeMB",
        || json!(300),
        "ephemeral_disk 300 MB — DefaultEphemeralDisk",
    ),
    (
        "/TaskGroups/0/EphemeralDisk/Sticky",
        || json!(false),
        "ephemeral_disk sticky false",
    ),
    (
        "/TaskGroups/0/EphemeralDisk/Migrate",
        || json!(false),
        "ephemeral_disk migrate false",
    ),
    (
        "/TaskGroups/0/Networks/0/Mode",
        || json!("host"),
        "network mode \"host\"",
    ),
    (
        "/TaskGroups/0/Networks/0/DynamicPorts/0/HostNetwork",
        || json!("default"),
        "port host_network \"default\"",
    ),
    (
        "/TaskGroups/0/Tasks/0/Resources/CPU",
        || json!(100),
        "cpu 100 MHz — DefaultResources",
    ),
    (
        "/TaskGroups/0/Tasks/0/Resources/MemoryMB",
        || json!(300),
        "memory 300 MB — DefaultResources",
    ),
    (
        "/TaskGroups/0/Tasks/0/Resources/Cores",
        || json!(0),
        "cores 0 — DefaultResources",
    ),
    (
        "/TaskGroups/0/Tasks/0/KillTimeout",
        || json!(5 * S),
        "kill_timeout 5s",
    ),
    (
        "/TaskGroups/0/Tasks/0/LogConfig/MaxFiles",
        || json!(10),
        "logs max_files 10 — DefaultLogConfig",
    ),
    (
        "/TaskGroups/0/Tasks/0/LogConfig/MaxFileSizeMB",
        || json!(10),
        "logs max_file_size 10 — DefaultLogConfig",
    ),
    (
        "/TaskGroups/0/Tasks/0/LogConfig/Disabled",
        || json!(false),
        "logs disabled false",
    ),
    (
        "/TaskGroups/0/Tasks/0/Artifacts/0/GetterMode",
        || json!("any"),
        "artifact.mode \"any\" — TaskArtifact.Canonicalize",
    ),
    (
        "/TaskGroups/0/Tasks/0/Artifacts/0/RelativeDest",
        || json!("local/"),
        "artifact.destination \"local/\"",
    ),
    (
        "/TaskGroups/0/Tasks/0/Templates/0/ChangeMode",
        || json!("restart"),
        "template change_mode \"restart\"",
    ),
    (
        "/TaskGroups/0/Tasks/0/Templates/0/Splay",
        || json!(5 * S),
        "template splay 5s",
    ),
    (
        "/TaskGroups/0/Tasks/0/Templates/0/Perms",
        || json!("0644"),
        "template perms \"0644\"",
    ),
    (
        "/TaskGroups/0/Tasks/0/Templates/0/LeftDelim",
        || json!("{{"),
        "template delimiters {{ }}",
    ),
    (
        "/TaskGroups/0/Tasks/0/Templates/0/Envvars",
        || json!(false),
        "template env false",
    ),
    (
        "/TaskGroups/0/Tasks/0/VolumeMounts/0/ReadOnly",
        || json!(false),
        "volume_mount read_only false",
    ),
    (
        "/TaskGroups/0/Tasks/0/VolumeMounts/0/PropagationMode",
        || json!("private"),
        "volume_mount propagation_mode \"private\"",
    ),
];

const SERVICE: &[Row] = &[
    (
        "/TaskGroups/0/RestartPolicy/Attempts",
        || json!(2),
        "restart (service) attempts 2 — defaultServiceJobRestartPolicy",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Interval",
        || json!(1800 * S),
        "restart (service) interval 30m",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Delay",
        || json!(15 * S),
        "restart (service) delay 15s",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Mode",
        || json!("fail"),
        "restart (service) mode \"fail\"",
    ),
    (
        "/TaskGroups/0/RestartPolicy/RenderTemplates",
        || json!(false),
        "restart render_templates false",
    ),
    (
        "/TaskGroups/0/Tasks/0/RestartPolicy/Attempts",
        || json!(2),
        "task restart = group restart — Task.Canonicalize",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Delay",
        || json!(30 * S),
        "reschedule (service) delay 30s — NewDefaultReschedulePolicy",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/DelayFunction",
        || json!("exponential"),
        "reschedule (service) delay_function \"exponential\"",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/MaxDelay",
        || json!(H),
        "reschedule (service) max_delay 1h",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Unlimited",
        || json!(true),
        "reschedule (service) unlimited true",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Attempts",
        || json!(0),
        "reschedule (service) attempts 0",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Interval",
        || json!(0),
        "reschedule (service) interval 0",
    ),
    (
        "/Update/Stagger",
        || json!(30 * S),
        "update stagger 30s — DefaultUpdateStrategy",
    ),
    ("/Update/MaxParallel", || json!(1), "update max_parallel 1"),
    (
        "/TaskGroups/0/Update/HealthCheck",
        || json!("checks"),
        "update health_check \"checks\"",
    ),
    (
        "/TaskGroups/0/Update/MinHealthyTime",
        || json!(10 * S),
        "update min_healthy_time 10s",
    ),
    (
        "/TaskGroups/0/Update/HealthyDeadline",
        || json!(300 * S),
        "update healthy_deadline 5m",
    ),
    (
        "/TaskGroups/0/Update/ProgressDeadline",
        || json!(600 * S),
        "update progress_deadline 10m",
    ),
    (
        "/TaskGroups/0/Update/AutoRevert",
        || json!(false),
        "update auto_revert false",
    ),
    (
        "/TaskGroups/0/Update/Canary",
        || json!(0),
        "update canary 0",
    ),
    (
        "/TaskGroups/0/Update/AutoPromote",
        || json!(false),
        "update auto_promote false",
    ),
    (
        "/TaskGroups/0/Migrate/MaxParallel",
        || json!(1),
        "migrate max_parallel 1 — DefaultMigrateStrategy",
    ),
    (
        "/TaskGroups/0/Migrate/HealthCheck",
        || json!("checks"),
        "migrate health_check \"checks\"",
    ),
    (
        "/TaskGroups/0/Migrate/MinHealthyTime",
        || json!(10 * S),
        "migrate min_healthy_time 10s",
    ),
    (
        "/TaskGroups/0/Migrate/HealthyDeadline",
        || json!(300 * S),
        "migrate healthy_deadline 5m",
    ),
];

const BATCH: &[Row] = &[
    (
        "/TaskGroups/0/RestartPolicy/Attempts",
        || json!(3),
        "restart (batch) attempts 3 — defaultBatchJobRestartPolicy",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Interval",
        || json!(24 * H),
        "restart (batch) interval 24h",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Delay",
        || json!(15 * S),
        "restart (batch) delay 15s",
    ),
    (
        "/TaskGroups/0/RestartPolicy/Mode",
        || json!("fail"),
        "restart (batch) mode \"fail\"",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Attempts",
        || json!(1),
        "reschedule (batch) attempts 1",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Interval",
        || json!(24 * H),
        "reschedule (batch) interval 24h",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Delay",
        || json!(5 * S),
        "reschedule (batch) delay 5s",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/DelayFunction",
        || json!("constant"),
        "reschedule (batch) delay_function \"constant\"",
    ),
    (
        "/TaskGroups/0/ReschedulePolicy/Unlimited",
        || json!(false),
        "reschedule (batch) unlimited false",
    ),
    (
        "/Update",
        || Value::Null,
        "update: only for service & system",
    ),
    (
        "/TaskGroups/0/Update",
        || Value::Null,
        "update: only for service & system",
    ),
    (
        "/TaskGroups/0/Migrate",
        || Value::Null,
        "migrate (service only)",
    ),
];

fn check(table: &[Row], doc: &Value, kind: &str) {
    for (ptr, want, source) in table {
        let got = doc
            .pointer(ptr)
            .unwrap_or_else(|| panic!("{kind}: {ptr} missing ({source})"));
        assert_eq!(got, &want(), "{kind}: {ptr} — {source}");
    }
}

#[test]
fn service_defaults() {
    let mut job = job_of_type("service");
    job.as_object_mut().unwrap().remove("Type");
    let doc = canonical(job);
    check(COMMON, &doc, "service");
    check(SERVICE, &doc, "service");
}

#[test]
fn batch_and_sysbatch_defaults() {
    let doc = canonical(job_of_type("batch"));
    check(BATCH, &doc, "batch");
    let doc = canonical(job_of_type("sysbatch"));
    assert_eq!(
        doc.pointer("/TaskGroups/0/RestartPolicy/Attempts"),
        Some(&json!(3)),
        "sysbatch restart: batch defaults"
    );
    assert_eq!(
        doc.pointer("/TaskGroups/0/ReschedulePolicy"),
        Some(&Value::Null),
        "reschedule (system/sysbatch): none"
    );
}

#[test]
fn system_defaults() {
    let doc = canonical(job_of_type("system"));
    assert_eq!(
        doc.pointer("/TaskGroups/0/RestartPolicy/Attempts"),
        Some(&json!(2)),
        "restart (service, system)"
    );
    assert_eq!(
        doc.pointer("/TaskGroups/0/ReschedulePolicy"),
        Some(&Value::Null),
        "reschedule (system): none"
    );
    assert_eq!(
        doc.pointer("/TaskGroups/0/Update/MaxParallel"),
        Some(&json!(1)),
        "update for system"
    );
    assert_eq!(
        doc.pointer("/TaskGroups/0/Migrate"),
        Some(&Value::Null),
        "migrate (service only)"
    );
}

#[test]
fn user_values_win_and_merge_down() {
    let doc = canonical(json!({"ID":"j","Priority":70,"Datacenters":["dc*"],
        "Update":{"MaxParallel":3},"Reschedule":{"Attempts":5,"Unlimited":false},
        "Migrate":{"MaxParallel":2},
        "TaskGroups":[{"Name":"g","Count":0,"RestartPolicy":{"Attempts":7,"Mode":"delay"},
            "Update":{"Canary":1},
            "Tasks":[{"Name":"t","RestartPolicy":{"Delay":1000000000},"KillTimeout":30000000000_i64,
                "Resources":{"Cores":2,"MemoryMB":64},"LogConfig":{"MaxFiles":2},
                "Lifecycle":{"Hook":""},
                "Artifacts":[{"GetterSource":"https://h/p/app.bin","GetterMode":"file"}]}]}]}));
    let at = |p: &str| doc.pointer(p).cloned().unwrap_or_else(|| panic!("{p}"));
    assert_eq!(at("/Priority"), json!(70));
    assert_eq!(at("/Datacenters"), json!(["dc*"]));
    assert_eq!(at("/TaskGroups/0/Count"), json!(0), "explicit 0 kept");
    assert_eq!(
        at("/TaskGroups/0/Update/MaxParallel"),
        json!(3),
        "job update merged"
    );
    assert_eq!(
        at("/TaskGroups/0/Update/Canary"),
        json!(1),
        "group update wins"
    );
    assert_eq!(at("/TaskGroups/0/ReschedulePolicy/Attempts"), json!(5));
    assert_eq!(at("/TaskGroups/0/ReschedulePolicy/Unlimited"), json!(false));
    assert_eq!(
        at("/TaskGroups/0/ReschedulePolicy/DelayFunction"),
        json!("exponential")
    );
    assert_eq!(at("/TaskGroups/0/Migrate/MaxParallel"), json!(2));
    assert_eq!(at("/TaskGroups/0/Migrate/HealthCheck"), json!("checks"));
    assert_eq!(at("/TaskGroups/0/RestartPolicy/Attempts"), json!(7));
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/RestartPolicy/Attempts"),
        json!(7),
        "inherits group"
    );
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/RestartPolicy/Mode"),
        json!("delay")
    );
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/RestartPolicy/Delay"),
        json!(S),
        "task override"
    );
    assert_eq!(at("/TaskGroups/0/Tasks/0/KillTimeout"), json!(30 * S));
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/Resources/CPU"),
        json!(0),
        "cpu 0 when cores set"
    );
    assert_eq!(at("/TaskGroups/0/Tasks/0/LogConfig/MaxFiles"), json!(2));
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/LogConfig/MaxFileSizeMB"),
        json!(10)
    );
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/Lifecycle"),
        Value::Null,
        "empty lifecycle dropped"
    );
    assert_eq!(
        at("/TaskGroups/0/Tasks/0/Artifacts/0/RelativeDest"),
        json!("local/app.bin")
    );
}

#[test]
fn periodic_parameterized_scaling() {
    let doc = canonical(
        json!({"ID":"p","Type":"batch","Periodic":{"Specs":["@daily"]},
        "ParameterizedJob":{},
        "TaskGroups":[{"Name":"g","Scaling":{"Min":3,"Max":10},"Tasks":[{"Name":"t"}]}]}),
    );
    assert_eq!(
        doc["Periodic"]["Enabled"],
        json!(true),
        "periodic enabled true"
    );
    assert_eq!(
        doc["Periodic"]["SpecType"],
        json!("cron"),
        "crons ⇒ SpecType cron"
    );
    assert_eq!(
        doc["Periodic"]["TimeZone"],
        json!("UTC"),
        "periodic time_zone UTC"
    );
    assert_eq!(doc["Periodic"]["ProhibitOverlap"], json!(false));
    assert_eq!(
        doc["ParameterizedJob"]["Payload"],
        json!("optional"),
        "structs.go:6063"
    );
    assert_eq!(
        doc["TaskGroups"][0]["Count"],
        json!(3),
        "count = scaling.min"
    );
}
