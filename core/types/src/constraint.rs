//! Placement rules: `constraint` (hard filter), `affinity` (weighted preference) and
//! `spread` (distribution over an attribute's values), at job, group or task level.
//!
//! Targets stay literal strings such as `${attr.kernel.name}`: the scheduler resolves
//! them against each node (reference §2.3, `resolveTarget`).

use serde::{Deserialize, Serialize};

/// `constraint { attribute, operator, value }` → `{LTarget, Operand, RTarget}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Constraint {
    /// Left-hand target, e.g. `${attr.kernel.name}`.
    #[serde(rename = "LTarget")]
    pub l_target: String,
    /// Right-hand target or literal, e.g. `linux`.
    #[serde(rename = "RTarget")]
    pub r_target: String,
    /// The operator; `""` canonicalizes to `=`.
    pub operand: String,
}

/// `affinity { attribute, operator, value, weight }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Affinity {
    /// Left-hand target.
    #[serde(rename = "LTarget")]
    pub l_target: String,
    /// Right-hand target or literal.
    #[serde(rename = "RTarget")]
    pub r_target: String,
    /// The operator; `""` canonicalizes to `=`.
    pub operand: String,
    /// −100..=100, non-zero; defaults to 50. Kept wide so validation can name a bad value.
    pub weight: Option<i64>,
}

/// `spread { attribute, weight, target "v" { percent } }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Spread {
    /// The node attribute to spread over, e.g. `${node.datacenter}`.
    pub attribute: String,
    /// 0..=100; defaults to 50.
    pub weight: Option<i64>,
    /// Desired percentages per value; empty means "even".
    #[serde(deserialize_with = "crate::de::null_default")]
    pub spread_target: Vec<SpreadTarget>,
}

/// `target "value" { percent }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SpreadTarget {
    /// The attribute value.
    pub value: String,
    /// 0..=100; the sum over a spread's targets must not exceed 100.
    pub percent: i64,
}

/// Operators the scheduler evaluates (reference §2.3 `checkConstraint`), plus the
/// iterator-handled `distinct_hosts` and `distinct_property`.
pub const CONSTRAINT_OPERATORS: &[&str] = &[
    "=",
    "==",
    "is",
    "!=",
    "not",
    "<",
    "<=",
    ">",
    ">=",
    "is_set",
    "is_not_set",
    "version",
    "semver",
    "regexp",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "distinct_hosts",
    "distinct_property",
];

impl Constraint {
    /// A constraint `l operand r`.
    pub fn new(l: impl Into<String>, operand: impl Into<String>, r: impl Into<String>) -> Self {
        Constraint {
            l_target: l.into(),
            r_target: r.into(),
            operand: operand.into(),
        }
    }
}

/// Renders as Nomad's CLI does: `${attr.kernel.name} = linux`.
impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.l_target, self.operand, self.r_target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names() {
        let c = Constraint::new("${attr.kernel.name}", "=", "linux");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"LTarget":"${attr.kernel.name}","RTarget":"linux","Operand":"="})
        );
        assert_eq!(c.to_string(), "${attr.kernel.name} = linux");
        let s: Spread = serde_json::from_str(
            r#"{"Attribute":"${node.datacenter}","Weight":100,"SpreadTarget":[{"Value":"dc1","Percent":70}]}"#,
        )
        .unwrap();
        assert_eq!(s.spread_target[0].percent, 70);
        let s: Spread = serde_json::from_str(r#"{"SpreadTarget":null}"#).unwrap();
        assert!(s.spread_target.is_empty() && s.weight.is_none());
    }
}
