//! The `Diff` of a job plan (Nomad's `Job.Diff` in `nomad/structs/diff.go`, and the
//! annotations of `scheduler/annotate.go`): what changes between the running job
//! and the submitted one, by job, group and task, in the API's field names.
//!
//! Nomad writes one diff function per struct. Drover diffs the API JSON of the two
//! jobs with a few rules that give the same shape for the fields users change:
//!
//! * a primitive value is a field (`Priority`, `KillTimeout`, `Driver`);
//! * `Meta` and `Env` maps are fields named `Meta[key]`;
//! * a list of primitives is a set, one object of fields named after it
//!   (`Datacenters`);
//! * a nested struct is an object named as Nomad names it (`RestartPolicy`,
//!   `Resources`, `Config`, whose own nested values flatten to `args[0]`, `auth[user]`);
//! * a list of structs is a set of objects (`Constraint`, `Network`, `Artifact`): an
//!   element present on one side only is added or deleted as a whole;
//! * task groups and tasks are matched by name.
//!
//! Only changed fields and objects are listed (Nomad's non-contextual diff); every
//! group and task is listed, unchanged ones with type `None`, so `job plan` can show
//! the scheduler's counts for each group.

use std::collections::BTreeSet;

use drover_types::api::{FieldDiff, JobDiff, ObjectDiff, TaskDiff, TaskGroupDiff};
use drover_types::plan::PlanAnnotations;
use serde_json::{Map, Value};

const ADDED: &str = "Added";
const DELETED: &str = "Deleted";
const EDITED: &str = "Edited";
const NONE: &str = "None";

/// Job keys that are bookkeeping, not configuration (or diffed apart).
const JOB_SKIP: &[&str] = &[
    "ID",
    "Status",
    "StatusDescription",
    "Version",
    "Stable",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "TaskGroups",
    "Update",
    "NomadTokenID",
    "VaultToken",
    "ConsulToken",
    "Dispatched",
];
const GROUP_SKIP: &[&str] = &["Name", "Tasks"];
const TASK_SKIP: &[&str] = &["Name"];
/// Maps whose entries are fields of their parent.
const FLAT_MAPS: &[&str] = &["Meta", "Env"];

/// Nomad's object name for an API key (lists are named by their element).
fn object_name(key: &str) -> &str {
    match key {
        "Constraints" => "Constraint",
        "Affinities" => "Affinity",
        "Spreads" => "Spread",
        "Networks" => "Network",
        "Services" => "Service",
        "Artifacts" => "Artifact",
        "Templates" => "Template",
        "VolumeMounts" => "VolumeMount",
        "Volumes" => "Volume",
        "ReservedPorts" => "Static Port",
        "DynamicPorts" => "Dynamic Port",
        "Devices" => "Device",
        "Checks" => "Check",
        other => other,
    }
}

fn is_primitive(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Missing, null and empty collections are all "not set".
fn unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

fn field(name: String, old: Option<&Value>, new: Option<&Value>) -> Option<FieldDiff> {
    let (o, n) = (text(old), text(new));
    let kind = match (unset(old), unset(new)) {
        (true, true) => return None,
        (true, false) => ADDED,
        (false, true) => DELETED,
        (false, false) if o == n => return None,
        (false, false) => EDITED,
    };
    Some(FieldDiff {
        kind: kind.into(),
        name,
        old: o,
        new: n,
        annotations: Vec::new(),
    })
}

/// Every primitive under `v`, flattened Nomad's way: `name[key]`, `name[0]`.
fn flatten(name: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&format!("{name}[{k}]"), x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{name}[{i}]"), x, out);
            }
        }
        other => out.push((name.to_owned(), other.clone())),
    }
}

/// A flattened map (driver `Config`): each primitive leaf is a field.
fn flat_fields(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> Vec<FieldDiff> {
    let leaves = |m: Option<&Map<String, Value>>| {
        let mut out = Vec::new();
        for (k, v) in m.into_iter().flatten() {
            flatten(k, v, &mut out);
        }
        out
    };
    let (o, n) = (leaves(old), leaves(new));
    let names: BTreeSet<&String> = o.iter().chain(&n).map(|(k, _)| k).collect();
    let get =
        |l: &'_ [(String, Value)], k: &str| l.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    names
        .into_iter()
        .filter_map(|k| field(k.clone(), get(&o, k).as_ref(), get(&n, k).as_ref()))
        .collect()
}

fn kind_of(fields: &[FieldDiff], objects: &[ObjectDiff]) -> &'static str {
    if fields.is_empty() && objects.is_empty() {
        NONE
    } else {
        EDITED
    }
}

/// The diff of two structs (either may be absent), named `name`.
fn object(name: &str, old: Option<&Value>, new: Option<&Value>) -> Option<ObjectDiff> {
    let (o, n) = (
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
    );
    let (fields, objects) = if name == "Config" {
        (flat_fields(o, n), Vec::new())
    } else {
        members(o, n, &[])
    };
    let kind = match (unset(old), unset(new)) {
        (true, true) => return None,
        (true, false) => ADDED,
        (false, true) => DELETED,
        (false, false) => kind_of(&fields, &objects),
    };
    (kind != NONE).then(|| ObjectDiff {
        kind: kind.into(),
        name: name.to_owned(),
        fields,
        objects,
    })
}

/// Added or deleted elements of a list of structs, compared whole.
fn object_set(name: &str, old: &[Value], new: &[Value], out: &mut Vec<ObjectDiff>) {
    for (side, here, there) in [(DELETED, old, new), (ADDED, new, old)] {
        for v in here.iter().filter(|v| !there.contains(v)) {
            let (o, n) = if side == DELETED {
                (Some(v), None)
            } else {
                (None, Some(v))
            };
            out.extend(object(name, o, n));
        }
    }
}

/// Every key of either map, in order, with its value on each side.
fn by_key<'a>(
    old: Option<&'a Map<String, Value>>,
    new: Option<&'a Map<String, Value>>,
) -> impl Iterator<Item = (&'a String, Option<&'a Value>, Option<&'a Value>)> {
    let keys: BTreeSet<&String> = old.into_iter().chain(new).flat_map(Map::keys).collect();
    keys.into_iter()
        .map(move |k| (k, old.and_then(|m| m.get(k)), new.and_then(|m| m.get(k))))
}

/// The fields and objects of two structs' members, `skip` left out.
fn members(
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
    skip: &[&str],
) -> (Vec<FieldDiff>, Vec<ObjectDiff>) {
    let mut fields = Vec::new();
    let mut objects = Vec::new();
    for (k, o, n) in by_key(old, new) {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let (o, n) = (o.filter(|v| !v.is_null()), n.filter(|v| !v.is_null()));
        let Some(sample) = n.or(o) else { continue };
        match sample {
            v if is_primitive(v) => fields.extend(field(k.clone(), o, n)),
            Value::Object(_) if FLAT_MAPS.contains(&k.as_str()) => {
                for (s, os, ns) in
                    by_key(o.and_then(Value::as_object), n.and_then(Value::as_object))
                {
                    fields.extend(field(format!("{k}[{s}]"), os, ns));
                }
            }
            Value::Object(_) if k == "Volumes" => {
                // A map of named structs (group volumes): matched by key.
                for (_, os, ns) in
                    by_key(o.and_then(Value::as_object), n.and_then(Value::as_object))
                {
                    objects.extend(object(object_name(k), os, ns));
                }
            }
            Value::Object(_) => objects.extend(object(object_name(k), o, n)),
            Value::Array(a) => {
                let empty = Vec::new();
                let oa = o.and_then(Value::as_array).unwrap_or(&empty);
                let na = n.and_then(Value::as_array).unwrap_or(&empty);
                if a.iter().chain(oa).all(is_primitive) {
                    // A set of strings (`Datacenters`): one object of fields.
                    let mut set = Vec::new();
                    for v in oa.iter().filter(|v| !na.contains(v)) {
                        set.extend(field(k.clone(), Some(v), None));
                    }
                    for v in na.iter().filter(|v| !oa.contains(v)) {
                        set.extend(field(k.clone(), None, Some(v)));
                    }
                    if !set.is_empty() {
                        let kind = match (oa.is_empty(), na.is_empty()) {
                            (true, _) => ADDED,
                            (_, true) => DELETED,
                            _ => EDITED,
                        };
                        objects.push(ObjectDiff {
                            kind: kind.into(),
                            name: k.clone(),
                            fields: set,
                            objects: Vec::new(),
                        });
                    }
                } else {
                    object_set(object_name(k), oa, na, &mut objects);
                }
            }
            _ => {}
        }
    }
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    (fields, objects)
}

/// The named elements (`Name`) of `key` in `v`.
fn named<'a>(v: Option<&'a Value>, key: &str) -> Vec<(&'a str, &'a Value)> {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| Some((x.get("Name")?.as_str()?, x)))
                .collect()
        })
        .unwrap_or_default()
}

/// The element called `name`.
fn find<'a>(list: &[(&str, &'a Value)], name: &str) -> Option<&'a Value> {
    list.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The names of both sides: in the order `new` lists them, then those only `old` has.
fn names<'a>(old: &[(&'a str, &Value)], new: &[(&'a str, &Value)]) -> Vec<&'a str> {
    let mut out: Vec<&str> = new.iter().map(|(n, _)| *n).collect();
    out.extend(
        old.iter()
            .map(|(n, _)| *n)
            .filter(|n| !new.iter().any(|(m, _)| m == n)),
    );
    out
}

fn side_kind(
    old: Option<&Value>,
    new: Option<&Value>,
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
) -> &'static str {
    match (old, new) {
        (None, Some(_)) => ADDED,
        (Some(_), None) => DELETED,
        _ => kind_of(fields, objects),
    }
}

fn task_diff(name: &str, old: Option<&Value>, new: Option<&Value>) -> TaskDiff {
    let (fields, objects) = members(
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
        TASK_SKIP,
    );
    let kind = side_kind(old, new, &fields, &objects);
    // Nomad's annotateTask: kill timeout, services, constraints and log settings
    // change in place; anything else replaces the allocation.
    let annotation = match kind {
        ADDED => Some("forces create"),
        DELETED => Some("forces destroy"),
        EDITED => {
            let destructive = fields.iter().any(|f| f.name != "KillTimeout")
                || objects
                    .iter()
                    .any(|o| !matches!(o.name.as_str(), "Service" | "Constraint" | "LogConfig"));
            Some(if destructive {
                "forces create/destroy update"
            } else {
                "forces in-place update"
            })
        }
        _ => None,
    };
    TaskDiff {
        kind: kind.into(),
        name: name.to_owned(),
        fields,
        objects,
        annotations: annotation.map(str::to_owned).into_iter().collect(),
    }
}

fn group_diff(name: &str, old: Option<&Value>, new: Option<&Value>) -> TaskGroupDiff {
    let (fields, objects) = members(
        old.and_then(Value::as_object),
        new.and_then(Value::as_object),
        GROUP_SKIP,
    );
    let (ot, nt) = (named(old, "Tasks"), named(new, "Tasks"));
    let tasks: Vec<TaskDiff> = names(&ot, &nt)
        .into_iter()
        .map(|t| task_diff(t, find(&ot, t), find(&nt, t)))
        .collect();
    let mut kind = side_kind(old, new, &fields, &objects);
    if kind == NONE && tasks.iter().any(|t| t.kind != NONE) {
        kind = EDITED;
    }
    TaskGroupDiff {
        kind: kind.into(),
        name: name.to_owned(),
        fields,
        objects,
        tasks,
        updates: std::collections::BTreeMap::new(),
    }
}

/// The diff from `old` (the running job's API JSON, if any) to `new`.
pub fn job_diff(old: Option<&Value>, new: &Value) -> JobDiff {
    let (fields, objects) = members(old.and_then(Value::as_object), new.as_object(), JOB_SKIP);
    let (og, ng) = (named(old, "TaskGroups"), named(Some(new), "TaskGroups"));
    let task_groups: Vec<TaskGroupDiff> = names(&og, &ng)
        .into_iter()
        .map(|g| group_diff(g, find(&og, g), find(&ng, g)))
        .collect();
    let mut kind = side_kind(old, Some(new), &fields, &objects);
    if kind == NONE && task_groups.iter().any(|g| g.kind != NONE) {
        kind = EDITED;
    }
    JobDiff {
        kind: kind.into(),
        id: text(new.get("ID")),
        fields,
        objects,
        task_groups,
    }
}

/// Each group's counts of what the plan does to it (Nomad's `annotateTaskGroup`).
pub fn add_plan_counts(diff: &mut JobDiff, plan: &PlanAnnotations) {
    for g in &mut diff.task_groups {
        let Some(u) = plan.desired_tg_updates.get(&g.name) else {
            continue;
        };
        for (k, n) in [
            ("ignore", u.ignore),
            ("create", u.place),
            ("migrate", u.migrate),
            ("destroy", u.stop),
            ("in-place update", u.in_place_update),
            ("create/destroy update", u.destructive_update),
            ("canary", u.canary),
        ] {
            if n > 0 {
                g.updates.insert(k.to_owned(), n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(count: u64, image: &str, dcs: &[&str]) -> Value {
        json!({
            "ID": "web", "Name": "web", "Type": "service", "Priority": 50,
            "Datacenters": dcs, "JobModifyIndex": 7, "Version": 1,
            "Meta": {"team": "a"},
            "TaskGroups": [{
                "Name": "g", "Count": count,
                "RestartPolicy": {"Attempts": 2, "Mode": "fail"},
                "Networks": [{"Mode": "host", "ReservedPorts": [{"Label": "db", "Value": 3307}]}],
                "Tasks": [{
                    "Name": "t", "Driver": "docker", "KillTimeout": 5,
                    "Config": {"image": image, "args": ["-v"]},
                    "Env": {"A": "1"},
                }],
            }],
        })
    }

    #[test]
    fn an_unchanged_job_is_none_at_every_level() {
        let j = job(1, "a:1", &["dc1"]);
        let d = job_diff(Some(&j), &j);
        assert_eq!(d.kind, "None");
        assert_eq!(d.id, "web");
        assert!(d.fields.is_empty() && d.objects.is_empty());
        assert_eq!(d.task_groups[0].kind, "None");
        assert_eq!(d.task_groups[0].tasks[0].kind, "None");
        assert!(d.task_groups[0].tasks[0].annotations.is_empty());
    }

    #[test]
    fn edits_are_named_as_nomad_names_them() {
        let old = job(1, "a:1", &["dc1"]);
        let mut new = job(3, "a:2", &["dc1", "dc2"]);
        new["Meta"]["team"] = json!("b");
        new["Version"] = json!(2);
        let d = job_diff(Some(&old), &new);
        assert_eq!(d.kind, "Edited");
        // Bookkeeping fields are not part of the diff.
        assert!(d.fields.iter().all(|f| f.name != "Version"), "{d:?}");
        let meta = d
            .fields
            .iter()
            .find(|f| f.name == "Meta[team]")
            .expect("meta");
        assert_eq!(
            (meta.kind.as_str(), meta.old.as_str(), meta.new.as_str()),
            ("Edited", "a", "b")
        );
        let dcs = d
            .objects
            .iter()
            .find(|o| o.name == "Datacenters")
            .expect("dcs");
        assert_eq!(dcs.kind, "Edited");
        assert_eq!(dcs.fields.len(), 1);
        assert_eq!(
            (dcs.fields[0].kind.as_str(), dcs.fields[0].new.as_str()),
            ("Added", "dc2")
        );
        let g = &d.task_groups[0];
        assert_eq!(g.kind, "Edited");
        let count = g.fields.iter().find(|f| f.name == "Count").expect("count");
        assert_eq!((count.old.as_str(), count.new.as_str()), ("1", "3"));
        let t = &g.tasks[0];
        assert_eq!(t.kind, "Edited");
        let cfg = t
            .objects
            .iter()
            .find(|o| o.name == "Config")
            .expect("config");
        assert_eq!(cfg.fields.len(), 1, "{cfg:?}");
        assert_eq!(cfg.fields[0].name, "image");
        assert_eq!(t.annotations, ["forces create/destroy update"]);
    }

    #[test]
    fn a_kill_timeout_change_is_in_place_and_lists_change_as_whole_objects() {
        let old = job(1, "a:1", &["dc1"]);
        let mut new = old.clone();
        new["TaskGroups"][0]["Tasks"][0]["KillTimeout"] = json!(10);
        new["TaskGroups"][0]["Networks"][0]["ReservedPorts"][0]["Value"] = json!(3308);
        let d = job_diff(Some(&old), &new);
        let g = &d.task_groups[0];
        assert_eq!(g.tasks[0].annotations, ["forces in-place update"]);
        // The network changed: the old one is deleted and the new one added.
        let kinds: Vec<&str> = g
            .objects
            .iter()
            .filter(|o| o.name == "Network")
            .map(|o| o.kind.as_str())
            .collect();
        assert_eq!(kinds, ["Deleted", "Added"], "{g:?}");
    }

    #[test]
    fn a_new_job_is_added_with_its_fields_and_groups_carry_the_plan_counts() {
        let new = job(2, "a:1", &["dc1"]);
        let mut plan = PlanAnnotations::default();
        plan.desired_tg_updates.insert(
            "g".into(),
            drover_types::plan::DesiredUpdates {
                place: 2,
                ..Default::default()
            },
        );
        let mut d = job_diff(None, &new);
        add_plan_counts(&mut d, &plan);
        assert_eq!(d.kind, "Added");
        assert!(d.fields.iter().all(|f| f.kind == "Added"));
        assert!(
            d.fields
                .iter()
                .any(|f| f.name == "Priority" && f.new == "50")
        );
        let g = &d.task_groups[0];
        assert_eq!(g.kind, "Added");
        assert_eq!(g.updates.get("create"), Some(&2));
        assert_eq!(g.tasks[0].kind, "Added");
        assert_eq!(g.tasks[0].annotations, ["forces create"]);
    }

    #[test]
    fn removed_groups_and_tasks_are_deleted() {
        let old = job(1, "a:1", &["dc1"]);
        let mut new = old.clone();
        new["TaskGroups"][0]["Name"] = json!("h");
        let d = job_diff(Some(&old), &new);
        let kinds: Vec<(&str, &str)> = d
            .task_groups
            .iter()
            .map(|g| (g.name.as_str(), g.kind.as_str()))
            .collect();
        assert_eq!(kinds, [("h", "Added"), ("g", "Deleted")]);
        assert_eq!(d.task_groups[1].tasks[0].annotations, ["forces destroy"]);
    }
}
