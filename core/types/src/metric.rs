//! `AllocMetric` (API name `AllocationMetric`): why a placement went where it did, or
//! why it failed (reference §5.5). The CLI renders failures from these counters.

use crate::duration::Duration;
use crate::resources::Resources;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Placement metrics for one task group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocMetric {
    /// Nodes considered.
    pub nodes_evaluated: i64,
    /// Nodes removed by filters.
    pub nodes_filtered: i64,
    /// Nodes in the job's pool.
    pub nodes_in_pool: i64,
    /// The job's pool.
    pub node_pool: String,
    /// Ready nodes per datacenter.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub nodes_available: BTreeMap<String, i64>,
    /// Filtered nodes per class.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub class_filtered: BTreeMap<String, i64>,
    /// Filtered nodes per constraint (or reason such as `missing drivers`).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub constraint_filtered: BTreeMap<String, i64>,
    /// Nodes without room.
    pub nodes_exhausted: i64,
    /// Exhausted nodes per class.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub class_exhausted: BTreeMap<String, i64>,
    /// Exhausted nodes per dimension (`cpu`, `memory`, `disk`, `network: port collision`, …).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub dimension_exhausted: BTreeMap<String, i64>,
    /// Quotas hit.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub quota_exhausted: Vec<String>,
    /// Per task, the resources that did not fit.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub resources_exhausted: BTreeMap<String, Resources>,
    /// Deprecated flat scores.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub scores: BTreeMap<String, f64>,
    /// Top node scores (≤5).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub score_meta_data: Vec<NodeScoreMeta>,
    /// Time spent placing.
    pub allocation_time: Duration,
    /// Identical failures folded into this one.
    pub coalesced_failures: i64,
}

/// `NodeScoreMeta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeScoreMeta {
    /// Node ID.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Per scorer (`binpack`, `job-anti-affinity`, …).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub scores: BTreeMap<String, f64>,
    /// The normalized (mean) score.
    pub norm_score: f64,
}

/// Node scores retained in `ScoreMetaData`.
pub const MAX_RETAINED_NODE_SCORES: usize = 5;

impl AllocMetric {
    /// Nomad's `FilterNode`: one node filtered for `reason` (a constraint string or
    /// a reason such as `missing drivers`).
    pub fn filter_node(&mut self, class: &str, reason: &str) {
        self.nodes_filtered += 1;
        if !class.is_empty() {
            *self.class_filtered.entry(class.to_owned()).or_default() += 1;
        }
        if !reason.is_empty() {
            *self
                .constraint_filtered
                .entry(reason.to_owned())
                .or_default() += 1;
        }
    }
    /// Nomad's `ExhaustedNode`: one node without room in `dimension`.
    pub fn exhausted_node(&mut self, class: &str, dimension: &str) {
        self.nodes_exhausted += 1;
        if !class.is_empty() {
            *self.class_exhausted.entry(class.to_owned()).or_default() += 1;
        }
        if !dimension.is_empty() {
            *self
                .dimension_exhausted
                .entry(dimension.to_owned())
                .or_default() += 1;
        }
    }
    /// Keeps the top [`MAX_RETAINED_NODE_SCORES`] scores, best first.
    pub fn retain_score(&mut self, meta: NodeScoreMeta) {
        self.score_meta_data.push(meta);
        self.score_meta_data
            .sort_by(|a, b| b.norm_score.total_cmp(&a.norm_score));
        self.score_meta_data.truncate(MAX_RETAINED_NODE_SCORES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_names() {
        let mut m = AllocMetric::default();
        m.filter_node("c1", "${attr.kernel.name} = windows");
        m.filter_node("c1", "missing drivers");
        m.exhausted_node("", "memory");
        assert_eq!(m.nodes_filtered, 2);
        assert_eq!(m.class_filtered["c1"], 2);
        assert_eq!(m.dimension_exhausted["memory"], 1);
        for i in 0..7 {
            m.retain_score(NodeScoreMeta {
                node_id: i.to_string(),
                norm_score: f64::from(i),
                ..Default::default()
            });
        }
        assert_eq!(m.score_meta_data.len(), 5);
        assert_eq!(m.score_meta_data[0].node_id, "6");
        let v = serde_json::to_value(&m).unwrap();
        for k in [
            "NodesEvaluated",
            "ConstraintFiltered",
            "DimensionExhausted",
            "ScoreMetaData",
            "CoalescedFailures",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["ScoreMetaData"][0]["NodeID"], "6");
    }
}
