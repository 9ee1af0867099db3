//! `GET /v1/metrics`: go-metrics' summary JSON, or Prometheus text exposition with
//! `format=prometheus` (rendered here from the same summary).

use super::error::{ApiError, ApiResult};
use super::respond::{Ctx, text};
use axum::http::StatusCode;
use drover_types::api::MetricsSummary;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `GET /v1/metrics[?format=prometheus]`.
pub async fn metrics(ctx: Ctx) -> ApiResult {
    let summary = ctx.backend().metrics().await?;
    match ctx.params.get("format") {
        None | Some("") | Some("json") => ctx.json(&summary),
        Some("prometheus") => Ok(text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus(&summary),
        )),
        Some(f) => Err(ApiError::bad_request(format!(
            "invalid metrics format {f:?}: expected json or prometheus"
        ))),
    }
}

/// A Prometheus metric name: `nomad.runtime.alloc_bytes` → `nomad_runtime_alloc_bytes`.
fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

fn labels(l: &BTreeMap<String, String>) -> String {
    if l.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = l
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{}=\"{v}\"", metric_name(k))
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// The text exposition format (version 0.0.4).
pub fn prometheus(s: &MetricsSummary) -> String {
    let mut out = String::new();
    let mut typed = std::collections::BTreeSet::new();
    let mut head = |out: &mut String, name: &str, kind: &str| {
        if typed.insert(name.to_string()) {
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
    };
    for g in &s.gauges {
        let n = metric_name(&g.name);
        head(&mut out, &n, "gauge");
        let _ = writeln!(out, "{n}{} {}", labels(&g.labels), g.value);
    }
    for c in &s.counters {
        let n = metric_name(&c.name);
        head(&mut out, &n, "counter");
        let _ = writeln!(out, "{n}{} {}", labels(&c.labels), c.sum);
    }
    for m in &s.samples {
        let n = metric_name(&m.name);
        head(&mut out, &n, "summary");
        let l = labels(&m.labels);
        let _ = writeln!(out, "{n}_sum{l} {}", m.sum);
        let _ = writeln!(out, "{n}_count{l} {}", m.count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use drover_types::api::{GaugeValue, SampledValue};

    #[test]
    fn renders_text_format() {
        let s = MetricsSummary {
            gauges: vec![GaugeValue {
                name: "nomad.state.jobs".into(),
                value: 3.0,
                labels: [("ns".to_string(), "a\"b".to_string())].into(),
            }],
            samples: vec![SampledValue {
                name: "nomad.http.GET".into(),
                count: 2,
                sum: 1.5,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            prometheus(&s),
            "# TYPE nomad_state_jobs gauge\nnomad_state_jobs{ns=\"a\\\"b\"} 3\n\
             # TYPE nomad_http_GET summary\nnomad_http_GET_sum 1.5\nnomad_http_GET_count 2\n"
        );
    }
}
