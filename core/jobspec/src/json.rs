//! Job JSON in Nomad's API form (`{"Job": {…}}` or the bare job, PascalCase, durations in
//! nanoseconds): what `drover job inspect` prints and `POST /v1/jobs` takes. Field names
//! match ignoring case, as Nomad's API decodes them (`{"job": {"taskgroups": …}}`);
//! error positions point at the keys as written.

use drover_hcl::{Diagnostics, FieldPath, PathSeg, Source, Target};
use drover_types::Job;
use drover_types::error::PathSegment;
use serde_json::Value;

use crate::decode::schema::json_name;

/// Parse, canonicalize and validate a job in API JSON. Errors name the JSON path
/// (`Job.TaskGroups[0].Count`) with its line and column.
pub fn parse_json(file_name: &str, text: &str) -> Result<Job, Diagnostics> {
    let src = Source::new(file_name, text);
    let root = src.parse_json()?;
    let wrapper = match &root {
        Value::Object(o) if o.len() == 1 => {
            o.keys().find(|k| k.eq_ignore_ascii_case("Job")).cloned()
        }
        _ => None,
    };
    let (value, prefix) = match &wrapper {
        Some(key) => (
            root.get(key).cloned().unwrap_or_default(),
            FieldPath::root().key(key.clone()),
        ),
        None => (root.clone(), FieldPath::root()),
    };
    let de = drover_types::CaseInsensitive::new(value);
    let mut job: Job = match serde_path_to_error::deserialize(de) {
        Ok(j) => j,
        Err(e) => {
            let mut path = prefix.clone();
            path.0.extend(FieldPath::from_serde(e.path()).0);
            let path = as_written(&root, &path);
            let msg = e.into_inner().to_string();
            return Err(src.diagnostic(&path, Target::Value, msg).into());
        }
    };
    job.canonicalize();
    let groups: Vec<(String, Vec<String>)> = job
        .task_groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.tasks.iter().map(|t| t.name.clone()).collect(),
            )
        })
        .collect();
    let offset_of = |path: &[PathSegment]| {
        let fp = as_written(&root, &json_path(&prefix, &groups, path));
        src.locate(&fp, Target::Value).offset
    };
    crate::validate(&job, offset_of, &src)?;
    Ok(job)
}

/// A validation path (HCL vocabulary) as a path into the API JSON.
fn json_path(
    prefix: &FieldPath,
    groups: &[(String, Vec<String>)],
    path: &[PathSegment],
) -> FieldPath {
    let mut out = prefix.clone();
    let mut tasks: &[String] = &[];
    for seg in path {
        match seg {
            PathSegment::Job(_) => {}
            PathSegment::Group(name) => {
                let Some(i) = groups.iter().position(|(g, _)| g == name) else {
                    break;
                };
                out = out.key("TaskGroups").index(i);
                tasks = &groups[i].1;
            }
            PathSegment::Task(name) => {
                let Some(i) = tasks.iter().position(|t| t == name) else {
                    break;
                };
                out = out.key("Tasks").index(i);
            }
            PathSegment::Field(f) => match json_name(f) {
                Some(j) => out = out.key(j),
                None => break,
            },
            PathSegment::Index(i) => out = out.index(*i),
            PathSegment::Key(k) => out = out.key(k.clone()),
        }
    }
    out
}

/// `path` (struct field names, e.g. `TaskGroups`) with each key spelled as in `root`
/// (`taskgroups`): the exact key if present, else the first equal ignoring case.
fn as_written(root: &Value, path: &FieldPath) -> FieldPath {
    let mut out = FieldPath::root();
    let mut node = Some(root);
    for seg in &path.0 {
        match seg {
            PathSeg::Key(k) => {
                let found = node.and_then(Value::as_object).and_then(|o| {
                    o.get_key_value(k.as_str())
                        .or_else(|| o.iter().find(|(ok, _)| ok.eq_ignore_ascii_case(k)))
                });
                match found {
                    Some((written, v)) => {
                        out = out.key(written.clone());
                        node = Some(v);
                    }
                    None => {
                        out = out.key(k.clone());
                        node = None;
                    }
                }
            }
            PathSeg::Index(i) => {
                out = out.index(*i);
                node = node.and_then(|n| n.get(*i));
            }
        }
    }
    out
}
