//! The `job plan` diff (Nomad's `formatJobDiff` and helpers, colours left out):
//! `+` added, `-` deleted, `+/-` edited, markers and field values aligned per level.

use super::metrics::quote;
use drover_types::api::{FieldDiff, JobDiff, ObjectDiff, TaskDiff, TaskGroupDiff};

/// The marker of a diff type and its width.
fn marker(kind: &str) -> (&'static str, usize) {
    match kind {
        "Added" => ("+ ", 2),
        "Deleted" => ("- ", 2),
        "Edited" => ("+/- ", 4),
        _ => ("", 0),
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The whole job diff; added/deleted groups and tasks are expanded with `verbose`.
pub fn format_job_diff(job: &JobDiff, verbose: bool) -> String {
    let (m, _) = marker(&job.kind);
    let mut out = format!("{m}Job: {}\n", quote(&job.id));
    let (longest_field, mut longest_marker) = longest_prefixes(&job.fields, &job.objects);
    for tg in &job.task_groups {
        longest_marker = longest_marker.max(marker(&tg.kind).1);
    }
    if job.kind == "Edited" || verbose {
        let fo = aligned(&job.fields, &job.objects, 0, longest_field, longest_marker);
        if !fo.is_empty() {
            out.push_str(&fo);
            out.push('\n');
        }
    }
    for tg in &job.task_groups {
        let k_prefix = longest_marker - marker(&tg.kind).1;
        out.push_str(&format_task_group_diff(tg, k_prefix, verbose));
        out.push('\n');
    }
    out
}

fn format_task_group_diff(tg: &TaskGroupDiff, tg_prefix: usize, verbose: bool) -> String {
    let (m, _) = marker(&tg.kind);
    let mut out = format!("{m}{}Task Group: {}", spaces(tg_prefix), quote(&tg.name));
    if tg.updates.is_empty() {
        out.push('\n');
    } else {
        let updates: Vec<String> = tg.updates.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push_str(&format!(" ({})\n", updates.join(", ")));
    }
    let (longest_field, mut longest_marker) = longest_prefixes(&tg.fields, &tg.objects);
    for t in &tg.tasks {
        longest_marker = longest_marker.max(marker(&t.kind).1);
    }
    let sub = tg_prefix + 2;
    if tg.kind == "Edited" || verbose {
        let fo = aligned(&tg.fields, &tg.objects, sub, longest_field, longest_marker);
        if !fo.is_empty() {
            out.push_str(&fo);
            out.push('\n');
        }
    }
    for t in &tg.tasks {
        let prefix = longest_marker - marker(&t.kind).1;
        out.push_str(&format_task_diff(t, sub, prefix, verbose));
        out.push('\n');
    }
    out
}

fn format_task_diff(task: &TaskDiff, start: usize, task_prefix: usize, verbose: bool) -> String {
    let (m, _) = marker(&task.kind);
    let mut out = format!(
        "{}{m}{}Task: {}",
        spaces(start),
        spaces(task_prefix),
        quote(&task.name)
    );
    if !task.annotations.is_empty() {
        out.push_str(&format!(" ({})", task.annotations.join(", ")));
    }
    let collapsed = matches!(task.kind.as_str(), "Added" | "Deleted") && !verbose;
    if task.kind == "None" || collapsed {
        return out;
    }
    out.push('\n');
    let (longest_field, longest_marker) = longest_prefixes(&task.fields, &task.objects);
    out.push_str(&aligned(
        &task.fields,
        &task.objects,
        start + 2,
        longest_field,
        longest_marker,
    ));
    out
}

fn format_object_diff(obj: &ObjectDiff, start: usize, key_prefix: usize) -> String {
    let (m, m_len) = marker(&obj.kind);
    let mut out = format!(
        "{}{m}{}{} {{\n",
        spaces(start),
        spaces(key_prefix),
        obj.name
    );
    let (longest_field, longest_marker) = longest_prefixes(&obj.fields, &obj.objects);
    out.push_str(&aligned(
        &obj.fields,
        &obj.objects,
        start + key_prefix + 2,
        longest_field,
        longest_marker,
    ));
    format!("{out}\n{}}}", spaces(start + m_len + key_prefix))
}

fn format_field_diff(
    f: &FieldDiff,
    start: usize,
    key_prefix: usize,
    value_prefix: usize,
) -> String {
    let (m, _) = marker(&f.kind);
    let mut out = format!(
        "{}{m}{}{}: {}",
        spaces(start),
        spaces(key_prefix),
        f.name,
        spaces(value_prefix)
    );
    match f.kind.as_str() {
        "Deleted" => out.push_str(&quote(&f.old)),
        "Edited" => out.push_str(&format!("{} => {}", quote(&f.old), quote(&f.new))),
        _ => out.push_str(&quote(&f.new)),
    }
    if !f.annotations.is_empty() {
        out.push_str(&format!(" ({})", f.annotations.join(", ")));
    }
    out
}

/// Fields then objects, one per line, without a trailing newline.
fn aligned(
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
    start: usize,
    longest_field: usize,
    longest_marker: usize,
) -> String {
    let mut lines = Vec::new();
    for f in fields {
        let k = longest_marker - marker(&f.kind).1;
        let v = longest_field - f.name.len();
        lines.push(format_field_diff(f, start, k, v));
    }
    for o in objects {
        let k = longest_marker - marker(&o.kind).1;
        lines.push(format_object_diff(o, start, k));
    }
    lines.join("\n")
}

fn longest_prefixes(fields: &[FieldDiff], objects: &[ObjectDiff]) -> (usize, usize) {
    let field = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mark = fields
        .iter()
        .map(|f| marker(&f.kind).1)
        .chain(objects.iter().map(|o| marker(&o.kind).1))
        .max()
        .unwrap_or(0);
    (field, mark)
}
