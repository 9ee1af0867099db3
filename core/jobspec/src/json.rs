//! Job JSON in Nomad's API form (`{"Job": {…}}` or the bare job, PascalCase, durations in
//! nanoseconds): what `drover job inspect` prints and `POST /v1/jobs` takes.

use drover_hcl::{Diagnostics, FieldPath, Source, Target};
use drover_types::Job;
use drover_types::error::PathSegment;

use crate::decode::schema::json_name;

/// Parse, canonicalize and validate a job in API JSON. Errors name the JSON path
/// (`Job.TaskGroups[0].Count`) with its line and column.
pub fn parse_json(file_name: &str, text: &str) -> Result<Job, Diagnostics> {
    let src = Source::new(file_name, text);
    let value = src.parse_json()?;
    let (value, prefix) = match value {
        serde_json::Value::Object(mut o) if o.len() == 1 && o.contains_key("Job") => (
            o.remove("Job").unwrap_or_default(),
            FieldPath::root().key("Job"),
        ),
        other => (other, FieldPath::root()),
    };
    let mut job: Job = match serde_path_to_error::deserialize(value) {
        Ok(j) => j,
        Err(e) => {
            let mut path = prefix.clone();
            path.0.extend(FieldPath::from_serde(e.path()).0);
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
        let fp = json_path(&prefix, &groups, path);
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
