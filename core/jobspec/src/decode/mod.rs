//! Evaluated HCL job → Nomad API JSON → `drover_types::Job`.
//!
//! Most blocks are tables ([`schema`]) run by one engine ([`engine`]); this file holds
//! the blocks with their own shape: labels that become names or map keys, ports split
//! into reserved and dynamic, constraint sugar, periodic `cron`, `task` directly under
//! `job`, and `vault` inherited from job and group by tasks without one.

pub(crate) mod engine;
pub(crate) mod locate;
pub(crate) mod schema;

use serde_json::{Map, Value as Json};

use crate::hcl2::tree::{Block, Body, Path};
use engine::{Ctx, K, body_json, push_list};
use schema::*;

/// Decode the `job` block into the API JSON object of a Job.
pub(crate) fn job(cx: &mut Ctx, b: &Block) -> Map<String, Json> {
    let path = Path::root().block("job", &b.labels);
    let label = b.labels.first().cloned().unwrap_or_default();
    let mut m = cx.body(&b.body, JOB, &path);
    m.entry("ID").or_insert_with(|| Json::String(label.clone()));
    m.entry("Name")
        .or_insert_with(|| Json::String(label.clone()));
    rules(cx, &b.body, &path, &mut m, true);
    for p in b.body.blocks("periodic") {
        let pp = path.key("periodic");
        if m.contains_key("Periodic") {
            cx.error(p.at, &pp, "duplicate periodic block: give it once");
            continue;
        }
        cx.no_labels(p, &pp);
        let mut pm = cx.body(&p.body, PERIODIC, &pp);
        if pm.contains_key("Spec") || pm.contains_key("Specs") {
            pm.insert("SpecType".into(), Json::String("cron".into()));
        }
        m.insert("Periodic".into(), Json::Object(pm));
    }
    let vault = single_any(cx, &b.body, "vault", &path);
    let mut groups = Vec::new();
    for (l, g, p) in cx.labeled(&b.body, "group", &path) {
        groups.push(group(cx, l, g, &p, vault.as_ref()));
    }
    // `task "x" {}` directly under job: a group of the same name holding that task.
    for (l, t, p) in cx.labeled(&b.body, "task", &path) {
        let mut tm = task(cx, l, t, &p);
        inherit_vault(&mut tm, vault.as_ref());
        let mut gm = Map::new();
        gm.insert("Name".into(), Json::String(l.to_string()));
        gm.insert("Tasks".into(), Json::Array(vec![Json::Object(tm)]));
        groups.push(Json::Object(gm));
    }
    m.insert("TaskGroups".into(), Json::Array(groups));
    m
}

fn group(cx: &mut Ctx, label: &str, b: &Block, path: &Path, vault: Option<&Json>) -> Json {
    let mut m = cx.body(&b.body, GROUP, path);
    m.insert("Name".into(), Json::String(label.to_string()));
    rules(cx, &b.body, path, &mut m, true);
    let nets: Vec<Json> = b
        .body
        .blocks("network")
        .enumerate()
        .map(|(i, n)| network(cx, n, &path.key("network").index(i)))
        .collect();
    if !nets.is_empty() {
        m.insert("Networks".into(), Json::Array(nets));
    }
    let mut volumes = Map::new();
    for (l, v, p) in cx.labeled(&b.body, "volume", path) {
        let mut vm = cx.body(&v.body, VOLUME, &p);
        vm.insert("Name".into(), Json::String(l.to_string()));
        volumes.insert(l.to_string(), Json::Object(vm));
    }
    if !volumes.is_empty() {
        m.insert("Volumes".into(), Json::Object(volumes));
    }
    services(cx, &b.body, path, &mut m);
    let vault = single_any(cx, &b.body, "vault", path).or_else(|| vault.cloned());
    let mut tasks = Vec::new();
    for (l, t, p) in cx.labeled(&b.body, "task", path) {
        let mut tm = task(cx, l, t, &p);
        inherit_vault(&mut tm, vault.as_ref());
        tasks.push(Json::Object(tm));
    }
    m.insert("Tasks".into(), Json::Array(tasks));
    Json::Object(m)
}

fn task(cx: &mut Ctx, label: &str, b: &Block, path: &Path) -> Map<String, Json> {
    let mut m = cx.body(&b.body, TASK, path);
    m.insert("Name".into(), Json::String(label.to_string()));
    rules(cx, &b.body, path, &mut m, false);
    services(cx, &b.body, path, &mut m);
    let mut seen = false;
    for r in b.body.blocks("resources") {
        let p = path.key("resources");
        if seen {
            cx.error(r.at, &p, "duplicate resources block: give it once");
            continue;
        }
        seen = true;
        cx.no_labels(r, &p);
        let mut rm = cx.body(&r.body, RESOURCES, &p);
        let mut devices = Vec::new();
        for (l, d, dp) in cx.labeled(&r.body, "device", &p) {
            let mut dm = cx.body(&d.body, DEVICE, &dp);
            dm.insert("Name".into(), Json::String(l.to_string()));
            rules(cx, &d.body, &dp, &mut dm, true);
            devices.push(Json::Object(dm));
        }
        if !devices.is_empty() {
            rm.insert("Devices".into(), Json::Array(devices));
        }
        let nets: Vec<Json> = r
            .body
            .blocks("network")
            .enumerate()
            .map(|(i, n)| network(cx, n, &p.key("network").index(i)))
            .collect();
        if !nets.is_empty() {
            rm.insert("Networks".into(), Json::Array(nets));
        }
        m.insert("Resources".into(), Json::Object(rm));
    }
    for id in b.body.blocks("identity") {
        let v = body_json(&id.body);
        match id.labels.first().map(String::as_str) {
            None | Some("default") => {
                m.insert("Identity".into(), v);
            }
            Some(name) => {
                let mut v = v;
                if let Json::Object(o) = &mut v {
                    o.insert("Name".into(), Json::String(name.to_string()));
                }
                push_list(&mut m, "Identities", v);
            }
        }
    }
    for s in b.body.blocks("scaling") {
        let mut v = body_json(&s.body);
        if let (Json::Object(o), Some(l)) = (&mut v, s.labels.first()) {
            o.insert("Type".into(), Json::String(format!("vertical_{l}")));
        }
        push_list(&mut m, "ScalingPolicies", v);
    }
    m
}

fn network(cx: &mut Ctx, n: &Block, path: &Path) -> Json {
    cx.no_labels(n, path);
    let mut m = cx.body(&n.body, NETWORK, path);
    for (l, p, pp) in cx.labeled(&n.body, "port", path) {
        let mut pm = cx.body(&p.body, PORT, &pp);
        pm.insert("Label".into(), Json::String(l.to_string()));
        let key = if pm.contains_key("Value") {
            "ReservedPorts"
        } else {
            "DynamicPorts"
        };
        push_list(&mut m, key, Json::Object(pm));
    }
    Json::Object(m)
}

/// constraint / affinity (and spread when `spreads`) blocks of a body.
fn rules(cx: &mut Ctx, body: &Body, path: &Path, m: &mut Map<String, Json>, spreads: bool) {
    for (i, c) in body.blocks("constraint").enumerate() {
        let v = constraint(cx, c, &path.key("constraint").index(i), false);
        push_list(m, "Constraints", v);
    }
    for (i, c) in body.blocks("affinity").enumerate() {
        let v = constraint(cx, c, &path.key("affinity").index(i), true);
        push_list(m, "Affinities", v);
    }
    if spreads {
        for (i, s) in body.blocks("spread").enumerate() {
            let spread = path.key("spread");
            let p = spread.index(i);
            cx.no_labels(s, &p);
            let mut sm = cx.body(&s.body, SPREAD, &p);
            let mut targets = Vec::new();
            for (l, t, tp) in cx.labeled(&s.body, "target", &p) {
                let mut tm = cx.body(&t.body, SPREAD_TARGET, &tp);
                tm.insert("Value".into(), Json::String(l.to_string()));
                targets.push(Json::Object(tm));
            }
            sm.insert("SpreadTarget".into(), Json::Array(targets));
            push_list(m, "Spreads", Json::Object(sm));
        }
    }
}

/// Nomad's constraint sugar: `version = ">= 1"` is operator "version" with that value,
/// `distinct_hosts = true`, `distinct_property = "${meta.rack}"`.
fn constraint(cx: &mut Ctx, c: &Block, path: &Path, affinity: bool) -> Json {
    cx.no_labels(c, path);
    let mut m = cx.body(&c.body, CONSTRAINT, path);
    if !affinity && let Some(w) = c.body.attr("weight") {
        cx.error(
            w.key_at,
            &path.key("weight"),
            "weight applies to affinity, not constraint",
        );
        m.remove("Weight");
    }
    for op in [
        "version",
        "semver",
        "regexp",
        "set_contains",
        "set_contains_any",
        "set_contains_all",
    ] {
        if let Some(a) = c.body.attr(op)
            && let Some(v) = cx.attr_value(a, K::Str, &path.key(op))
        {
            m.insert("Operand".into(), Json::String(op.into()));
            m.insert("RTarget".into(), v);
        }
    }
    if let Some(a) = c.body.attr("distinct_hosts")
        && let Some(Json::Bool(b)) = cx.attr_value(a, K::Bool, &path.key("distinct_hosts"))
        && b
    {
        m.insert("Operand".into(), Json::String("distinct_hosts".into()));
        m.insert("RTarget".into(), Json::String("true".into()));
    }
    if let Some(a) = c.body.attr("distinct_property")
        && let Some(v) = cx.attr_value(a, K::Str, &path.key("distinct_property"))
    {
        m.insert("Operand".into(), Json::String("distinct_property".into()));
        m.insert("LTarget".into(), v);
    }
    m.entry("Operand")
        .or_insert_with(|| Json::String("=".into()));
    Json::Object(m)
}

fn services(cx: &mut Ctx, body: &Body, path: &Path, m: &mut Map<String, Json>) {
    for (i, s) in body.blocks("service").enumerate() {
        let service = path.key("service");
        let p = service.index(i);
        cx.no_labels(s, &p);
        let mut sm = cx.body(&s.body, SERVICE, &p);
        for (j, c) in s.body.blocks("check").enumerate() {
            let check = p.key("check");
            let cp = check.index(j);
            cx.no_labels(c, &cp);
            let cm = cx.body(&c.body, CHECK, &cp);
            push_list(&mut sm, "Checks", Json::Object(cm));
        }
        push_list(m, "Services", Json::Object(sm));
    }
}

fn single_any(cx: &mut Ctx, body: &Body, ident: &str, path: &Path) -> Option<Json> {
    let mut out = None;
    for b in body.blocks(ident) {
        if out.is_some() {
            cx.error(
                b.at,
                &path.key(ident),
                format!("duplicate {ident} block: give it once"),
            );
            continue;
        }
        out = Some(body_json(&b.body));
    }
    out
}

fn inherit_vault(task: &mut Map<String, Json>, vault: Option<&Json>) {
    if let Some(v) = vault {
        task.entry("Vault").or_insert_with(|| v.clone());
    }
}
