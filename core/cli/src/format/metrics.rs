//! Why placements failed, from an `AllocMetric` (Nomad's `formatAllocMetrics`,
//! reference §5.5). Nomad walks Go maps in random order; we walk them sorted, so the
//! same metric always renders the same text.

use std::collections::BTreeMap;

use drover_types::AllocMetric;

/// Go's `%q` for the strings we quote (names, constraints).
pub fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// One `* …` line per reason, each starting with `prefix`; no trailing newline.
pub fn format_alloc_metrics(m: &AllocMetric, prefix: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    if m.nodes_evaluated == 0 {
        lines.push("No nodes were eligible for evaluation".into());
    }
    for (dc, n) in &m.nodes_available {
        if *n == 0 {
            lines.push(format!(
                "No nodes are available in datacenter {}",
                quote(dc)
            ));
        }
    }
    for (class, n) in &m.class_filtered {
        lines.push(format!(
            "Class {}: {n} nodes excluded by filter",
            quote(class)
        ));
    }
    for (cs, n) in &m.constraint_filtered {
        lines.push(format!(
            "Constraint {}: {n} nodes excluded by filter",
            quote(cs)
        ));
    }
    if m.nodes_exhausted > 0 {
        lines.push(format!(
            "Resources exhausted on {} nodes",
            m.nodes_exhausted
        ));
    }
    for (class, n) in &m.class_exhausted {
        lines.push(format!("Class {} exhausted on {n} nodes", quote(class)));
    }
    for (dim, n) in &m.dimension_exhausted {
        lines.push(format!("Dimension {} exhausted on {n} nodes", quote(dim)));
    }
    for q in &m.quota_exhausted {
        lines.push(format!("Quota limit hit {}", quote(q)));
    }
    lines
        .iter()
        .map(|l| format!("{prefix}* {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Task Group "web" (failed to place 3 allocations):`.
pub fn failed_group_header(group: &str, m: &AllocMetric) -> String {
    let n = m.coalesced_failures + 1;
    let noun = if m.coalesced_failures > 0 {
        "allocations"
    } else {
        "allocation"
    };
    format!("Task Group {} (failed to place {n} {noun}):", quote(group))
}

/// The per-group failure blocks of `eval status` ("Failed Placements") and the
/// monitor: header, then the reasons indented by two, then a blank line.
pub fn failed_placements(failed: &BTreeMap<String, AllocMetric>) -> Vec<String> {
    let mut out = Vec::new();
    for (tg, m) in failed {
        out.push(failed_group_header(tg, m));
        out.push(format_alloc_metrics(m, "  "));
        out.push(String::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A metric as the API sends it (`AllocationMetric` JSON).
    fn fixture() -> AllocMetric {
        serde_json::from_str(
            r#"{
              "NodesEvaluated": 4, "NodesFiltered": 3, "NodesInPool": 4, "NodePool": "default",
              "NodesAvailable": {"dc1": 4, "dc2": 0},
              "ClassFiltered": {"linux-64": 2},
              "ConstraintFiltered": {"${attr.kernel.name} = windows": 2, "missing drivers": 1},
              "NodesExhausted": 1,
              "ClassExhausted": {"linux-64": 1},
              "DimensionExhausted": {"memory": 1},
              "QuotaExhausted": null,
              "ResourcesExhausted": null,
              "Scores": null, "ScoreMetaData": null,
              "AllocationTime": 12345, "CoalescedFailures": 2
            }"#,
        )
        .expect("fixture parses")
    }

    #[test]
    fn renders_nomads_exact_strings() {
        let m = fixture();
        assert_eq!(
            format_alloc_metrics(&m, "  "),
            [
                r#"  * No nodes are available in datacenter "dc2""#,
                r#"  * Class "linux-64": 2 nodes excluded by filter"#,
                r#"  * Constraint "${attr.kernel.name} = windows": 2 nodes excluded by filter"#,
                r#"  * Constraint "missing drivers": 1 nodes excluded by filter"#,
                "  * Resources exhausted on 1 nodes",
                r#"  * Class "linux-64" exhausted on 1 nodes"#,
                r#"  * Dimension "memory" exhausted on 1 nodes"#,
            ]
            .join("\n")
        );
        assert_eq!(
            failed_group_header("web", &m),
            r#"Task Group "web" (failed to place 3 allocations):"#
        );
    }

    #[test]
    fn no_eligible_nodes_and_quota() {
        let m = AllocMetric {
            quota_exhausted: vec!["cpu exhausted (500 needed > 100 limit)".into()],
            ..AllocMetric::default()
        };
        assert_eq!(
            format_alloc_metrics(&m, ""),
            "* No nodes were eligible for evaluation\n\
             * Quota limit hit \"cpu exhausted (500 needed > 100 limit)\""
        );
        assert_eq!(
            failed_group_header("g", &m),
            "Task Group \"g\" (failed to place 1 allocation):"
        );
    }
}
