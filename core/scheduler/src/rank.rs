//! Ranking (reference §5.4): each scorer appends a score in [−1, 1]; a node's final
//! score is their mean. Formulas follow Nomad's `rank.go` and `structs/funcs.go`.

use crate::Algorithm;
use crate::feasible::{RegexCache, check, resolve};
use drover_types::{Affinity, Node, Spread};
use std::collections::HashMap;

/// Nomad's `binPackingMaxFitScore`.
const MAX_FIT: f64 = 18.0;

/// `ScoreFitBinPack` / `ScoreFitSpread` over proposed utilisation, normalised to [0, 1].
pub fn fit_score(algo: Algorithm, util_cpu: f64, util_mem: f64) -> f64 {
    let total = 10f64.powf(1.0 - util_cpu) + 10f64.powf(1.0 - util_mem);
    let raw = match algo {
        Algorithm::Binpack => 20.0 - total,
        Algorithm::Spread => total - 2.0,
    };
    raw.clamp(0.0, MAX_FIT) / MAX_FIT
}

/// `JobAntiAffinityIterator`: `−(collisions+1)/count`, only when collisions > 0.
pub fn anti_affinity(collisions: u32, desired: i64) -> Option<f64> {
    (collisions > 0 && desired > 0).then(|| -f64::from(collisions + 1) / desired as f64)
}

/// `NodeAffinityIterator`: Σ matched weights / Σ |weights|, only when non-zero.
pub fn affinity(re: &mut RegexCache, affs: &[Affinity], node: &Node) -> Option<f64> {
    let mut sum_abs = 0.0;
    let mut total = 0.0;
    for a in affs {
        let w = a.weight.unwrap_or(50) as f64;
        sum_abs += w.abs();
        let op = if a.operand.is_empty() {
            "="
        } else {
            a.operand.as_str()
        };
        if check(
            re,
            op,
            resolve(&a.l_target, node),
            resolve(&a.r_target, node),
        ) {
            total += w;
        }
    }
    (total != 0.0 && sum_abs > 0.0).then(|| total / sum_abs)
}

/// One spread block with the placed counts of its attribute's values.
pub struct SpreadState {
    pub attribute: String,
    pub weight: f64,
    /// Value → desired count; `*` is the implicit remainder target. Empty = even.
    pub desired: HashMap<String, f64>,
    /// Value → allocations of the group already proposed there.
    pub used: HashMap<String, u64>,
}

impl SpreadState {
    /// Builds the desired counts for a group of `count`.
    pub fn new(s: &Spread, count: i64, used: HashMap<String, u64>) -> SpreadState {
        let total = count as f64;
        let mut desired = HashMap::new();
        let mut sum = 0.0;
        for t in &s.spread_target {
            let d = t.percent as f64 / 100.0 * total;
            sum += d;
            desired.insert(t.value.clone(), d);
        }
        if !desired.is_empty() && sum < total {
            desired.insert("*".to_owned(), total - sum);
        }
        SpreadState {
            attribute: s.attribute.clone(),
            weight: s.weight.unwrap_or(50) as f64,
            desired,
            used,
        }
    }

    /// Nomad's `evenSpreadScoreBoost`.
    fn even_boost(&self, value: Option<&str>) -> f64 {
        if self.used.is_empty() {
            return 0.0;
        }
        let Some(v) = value else { return -1.0 };
        let current = self.used.get(v).copied().unwrap_or(0);
        let min = self.used.values().copied().min().unwrap_or(0);
        let max = self.used.values().copied().max().unwrap_or(0);
        let delta_boost = if min == 0 {
            -1.0
        } else {
            (min as f64 - current as f64) / min as f64
        };
        if current != min {
            delta_boost
        } else if min == max {
            -1.0
        } else if min == 0 {
            1.0
        } else {
            (max - current) as f64 / min as f64
        }
    }
}

/// `SpreadIterator`: the summed boost over spread blocks, only when non-zero.
pub fn spread(states: &[SpreadState], node: &Node) -> Option<f64> {
    let sum_weights: f64 = states.iter().map(|s| s.weight).sum();
    let mut total = 0.0;
    for s in states {
        let value = resolve(&s.attribute, node);
        if s.desired.is_empty() {
            total += s.even_boost(value);
            continue;
        }
        let Some(v) = value else {
            total -= 1.0;
            continue;
        };
        let used = s.used.get(v).copied().unwrap_or(0) as f64 + 1.0;
        let Some(desired) = s.desired.get(v).or_else(|| s.desired.get("*")) else {
            total -= 1.0;
            continue;
        };
        if *desired <= 0.0 {
            total -= 1.0;
            continue;
        }
        total += (desired - used) / desired * (s.weight / sum_weights.max(1.0));
    }
    (total != 0.0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binpack_prefers_fuller_nodes() {
        let empty = fit_score(Algorithm::Binpack, 0.1, 0.1);
        let full = fit_score(Algorithm::Binpack, 0.9, 0.9);
        assert!(full > empty);
        assert_eq!(fit_score(Algorithm::Binpack, 1.0, 1.0), 1.0);
        assert_eq!(fit_score(Algorithm::Binpack, 0.0, 0.0), 0.0);
        assert!(fit_score(Algorithm::Spread, 0.1, 0.1) > fit_score(Algorithm::Spread, 0.9, 0.9));
        assert_eq!(anti_affinity(0, 3), None);
        assert_eq!(anti_affinity(1, 4), Some(-0.5));
    }
}
