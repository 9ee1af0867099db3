//! Validation cases: each asserts the rendered path and message.

use crate::error::{PathSegment, ValidationError};
use crate::job::Job;
use serde_json::{Value, json};

/// The seed's job-bvc in API form.
fn bvc() -> Value {
    json!({"ID":"bvc","Datacenters":["FT2000"],"Type":"service","TaskGroups":[{
        "Name":"bvc25","Count":1,
        "Networks":[{"ReservedPorts":[{"Label":"mysql","Value":3307,"To":3306}]}],
        "Volumes":{"db":{"Name":"db","Type":"host","Source":"mysql"},
                   "hd":{"Name":"hd","Type":"host","Source":"storage"}},
        "Tasks":[{"Name":"mysql","Driver":"docker",
            "Resources":{"CPU":1500,"MemoryMB":1024},
            "Artifacts":[{"GetterSource":"http://10.1.41.225/mysql-bvc25.tar"}],
            "Config":{"load":"mysql-bvc25.tar","image":"mysql-bvc-25:1.0","ports":["mysql"]},
            "VolumeMounts":[{"Volume":"db","Destination":"/var/lib/mysql"},
                            {"Volume":"hd","Destination":"/home/docker"}]}]}]})
}

fn errors(v: Value) -> Vec<String> {
    let mut job: Job = serde_json::from_value(v).unwrap();
    job.canonicalize();
    match job.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// `v` with the value at `ptr` set (the last key is created if missing).
fn with(mut v: Value, ptr: &str, value: Value) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap_or_else(|| panic!("{ptr}"));
    match parent {
        Value::Object(m) => {
            m.insert(key.to_owned(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{ptr}"),
    }
    v
}

const TASK: &str = r#"job "bvc" > group "bvc25" > task "mysql""#;
const GROUP: &str = r#"job "bvc" > group "bvc25""#;

#[test]
fn seed_job_is_valid() {
    assert_eq!(errors(bvc()), Vec::<String>::new());
}

#[test]
fn structured_path_for_cpu() {
    let mut job: Job =
        serde_json::from_value(with(bvc(), "/TaskGroups/0/Tasks/0/Resources/CPU", json!(0)))
            .unwrap();
    job.canonicalize();
    let errs = job.validate().unwrap_err();
    assert_eq!(
        errs,
        vec![ValidationError::new(
            vec![
                PathSegment::Job("bvc".into()),
                PathSegment::Group("bvc25".into()),
                PathSegment::Task("mysql".into()),
                PathSegment::field("resources"),
                PathSegment::field("cpu"),
            ],
            "minimum CPU value is 1; got 0",
        )]
    );
}

#[test]
fn single_rule_cases() {
    let cases: Vec<(Value, String)> = vec![
        (with(bvc(), "/TaskGroups/0/Tasks/0/Resources/MemoryMB", json!(5)),
            format!("{TASK} > resources.memory: minimum MemoryMB value is 10; got 5")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Resources/MemoryMaxMB", json!(512)),
            format!("{TASK} > resources.memory_max: MemoryMaxMB value (512) should be larger than MemoryMB value (1024)")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Resources/Cores", json!(2)),
            format!("{TASK} > resources: Task can only ask for 'cpu' or 'cores' resource, not both.")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/VolumeMounts/1/Volume", json!("data")),
            format!("{TASK} > volume_mount[1].volume: volume_mount references undefined volume \"data\" (defined: db, hd)")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Config/ports", json!(["mysql","http"])),
            format!("{TASK} > config.ports[1]: port label \"http\" is not defined in the group's network (defined: mysql)")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Driver", json!("")),
            format!("{TASK} > driver: Missing task driver")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/KillTimeout", json!(-1)),
            format!("{TASK} > kill_timeout: KillTimeout must be a positive value")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Name", json!("alloc")),
            r#"job "bvc" > group "bvc25" > task "alloc": Task name cannot be "alloc" (reserved for the shared alloc directory)"#.into()),
        (with(bvc(), "/TaskGroups/0/Count", json!(-1)),
            format!("{GROUP} > count: Task group count can't be negative")),
        (with(bvc(), "/TaskGroups/0/EphemeralDisk", json!({"SizeMB": 100})),
            format!("{TASK} > logs: log storage (100 MB) must be less than requested disk capacity (100 MB)")),
        (with(bvc(), "/TaskGroups/0/Networks/0/ReservedPorts/0/Value", json!(70000)),
            format!("{GROUP} > network[0].port[\"mysql\"].static: Port \"mysql\" (70000) must be between 0 and 65535")),
        (with(bvc(), "/TaskGroups/0/Networks/0/ReservedPorts/0/To", json!(-2)),
            format!("{GROUP} > network[0].port[\"mysql\"].to: Port \"mysql\" cannot be mapped to negative value -2")),
        (with(bvc(), "/TaskGroups/0/Volumes/db/Type", json!("nfs")),
            format!("{GROUP} > volume[\"db\"].type: volume has unrecognized type \"nfs\" (expected host or csi)")),
        (with(bvc(), "/Type", json!("web")),
            r#"job "bvc" > type: Invalid job type: "web" (expected service, batch, system or sysbatch)"#.into()),
        (with(bvc(), "/Priority", json!(101)),
            r#"job "bvc" > priority: job priority must be between [1, 100]; got 101"#.into()),
        (with(bvc(), "/ID", json!("b v c")),
            r#"job "b v c" > id: Job ID contains a space"#.into()),
        (with(bvc(), "/Datacenters", json!([""])),
            r#"job "bvc" > datacenters[0]: Job datacenter must be non-empty string"#.into()),
        (with(bvc(), "/TaskGroups/0/RestartPolicy", json!({"Mode":"sometimes"})),
            format!("{GROUP} > restart.mode: Unsupported restart mode: \"sometimes\" (expected fail or delay)")),
        (with(bvc(), "/TaskGroups/0/ReschedulePolicy", json!({"DelayFunction":"linear"})),
            format!("{GROUP} > reschedule.delay_function: Invalid delay function \"linear\", must be one of constant, exponential, fibonacci")),
        (with(bvc(), "/TaskGroups/0/Update", json!({"HealthCheck":"manual","MinHealthyTime":600000000000_i64})),
            format!("{GROUP} > update.min_healthy_time: Minimum healthy time must be less than healthy deadline: 10m0s > 5m0s")),
        (with(bvc(), "/Constraints", json!([{"LTarget":"${attr.kernel.name}","Operand":"like","RTarget":"linux"}])),
            r#"job "bvc" > constraint[0].operator: Unknown constraint type "like""#.into()),
        (with(bvc(), "/Affinities", json!([{"LTarget":"${node.class}","RTarget":"a","Weight":150}])),
            r#"job "bvc" > affinity[0].weight: Affinity weight must be within the range [-100,100]; got 150"#.into()),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Artifacts/0/RelativeDest", json!("../../../etc")),
            format!("{TASK} > artifact[0].destination: destination \"../../../etc\" escapes the allocation directory")),
        (with(bvc(), "/TaskGroups/0/Tasks/0/Templates", json!([{"EmbeddedTmpl":"x"}])),
            format!("{TASK} > template[0].destination: Must specify a destination for the template")),
    ];
    for (job, want) in cases {
        let got = errors(job);
        assert_eq!(got, vec![want.clone()], "want only: {want}");
    }
}

#[test]
fn reports_all_errors() {
    let mut v = bvc();
    v = with(v, "/TaskGroups/0/Tasks/0/Resources/CPU", json!(0));
    v = with(v, "/TaskGroups/0/Tasks/0/Resources/MemoryMB", json!(1));
    v = with(
        v,
        "/TaskGroups/0/Tasks/0/VolumeMounts/0/Volume",
        json!("nope"),
    );
    v = with(v, "/TaskGroups/0/Count", json!(-3));
    v = with(v, "/Priority", json!(0));
    let got = errors(v);
    assert_eq!(got.len(), 4, "{got:#?}"); // priority 0 canonicalizes to 50
    assert!(
        got[0].starts_with(r#"job "bvc" > group "bvc25" > count:"#),
        "{got:#?}"
    );
    assert!(got.iter().any(|e| e.contains("resources.cpu")));
    assert!(got.iter().any(|e| e.contains("resources.memory:")));
    assert!(got.iter().any(|e| e.contains("volume_mount[0].volume")));
}

#[test]
fn duplicates_and_structure() {
    let mut v = bvc();
    let g = v["TaskGroups"][0].clone();
    v["TaskGroups"].as_array_mut().unwrap().push(g);
    let t = v["TaskGroups"][0]["Tasks"][0].clone();
    v["TaskGroups"][0]["Tasks"].as_array_mut().unwrap().push(t);
    v["TaskGroups"][0]["Networks"][0]["DynamicPorts"] = json!([{"Label":"mysql"}]);
    let got = errors(v);
    assert!(
        got.contains(&format!(
            "{GROUP}: Job task group 2 redefines 'bvc25' from group 1"
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&format!("{TASK}: Task 2 redefines 'mysql' from task 1")),
        "{got:#?}"
    );
    assert!(
        got.contains(&format!(
            "{GROUP} > network[0].port[\"mysql\"]: Port label mysql already in use"
        )),
        "{got:#?}"
    );

    let got = errors(json!({"ID":"e","TaskGroups":[]}));
    assert_eq!(got, [r#"job "e": Missing job task groups"#]);
    let got = errors(json!({"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"d"}]}]}));
    assert_eq!(
        got,
        [
            r#"job "" > id: Missing job ID"#,
            r#"job "" > name: Missing job name"#
        ]
    );
}

#[test]
fn job_type_rules() {
    let mut v = with(bvc(), "/Type", json!("system"));
    v["TaskGroups"][0]["Count"] = json!(2);
    v["Spreads"] = json!([{"Attribute":"${node.datacenter}"}]);
    let got = errors(v);
    assert!(
        got.contains(&r#"job "bvc" > spread: System jobs may not have a spread block"#.to_string()),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|e| e.ends_with("Count cannot exceed 1 with system scheduler")),
        "{got:#?}"
    );

    let mut v = with(bvc(), "/Type", json!("batch"));
    v["TaskGroups"][0]["Update"] = json!({"MaxParallel": 2});
    v["TaskGroups"][0]["Migrate"] = json!({"MaxParallel": 2});
    let got = errors(v);
    assert_eq!(
        got,
        [
            format!("{GROUP} > update: Job type \"batch\" does not allow update block"),
            format!("{GROUP} > migrate: Job type \"batch\" does not allow migrate block"),
        ]
    );

    let mut v = with(bvc(), "/Type", json!("sysbatch"));
    v["TaskGroups"][0]["ReschedulePolicy"] = json!({"Attempts": 1});
    assert_eq!(
        errors(v),
        [format!(
            "{GROUP} > reschedule: System jobs should not have a reschedule policy"
        )]
    );

    let mut v = bvc();
    v["Periodic"] = json!({"Specs":["@daily"]});
    assert_eq!(
        errors(v),
        [r#"job "bvc" > periodic: Periodic can only be used with "batch" or "sysbatch" scheduler"#]
    );
}

#[test]
fn lifecycle_needs_a_main_task() {
    let v = with(
        bvc(),
        "/TaskGroups/0/Tasks/0/Lifecycle",
        json!({"Hook":"prestart"}),
    );
    assert_eq!(
        errors(v),
        [format!(
            "{GROUP} > task: Task group must have at least one main task (a task without lifecycle)"
        )]
    );
    let v = with(
        bvc(),
        "/TaskGroups/0/Tasks/0/Lifecycle",
        json!({"Hook":"prestop"}),
    );
    assert_eq!(
        errors(v),
        [
            format!(
                "{TASK} > lifecycle.hook: invalid hook: \"prestop\" (expected prestart, poststart or poststop)"
            ),
            format!(
                "{GROUP} > task: Task group must have at least one main task (a task without lifecycle)"
            ),
        ]
    );
}
