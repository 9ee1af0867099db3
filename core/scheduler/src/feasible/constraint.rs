//! Constraint and affinity operators over resolved targets (Nomad's
//! `checkConstraint`, `resolveTarget`, `checkOrder`, version and set checks).

use drover_types::Node;
use regex::Regex;
use std::collections::HashMap;

/// Resolves `${attr.x}`, `${meta.x}`, `${node.*}` or a literal against a node.
pub fn resolve<'n>(target: &'n str, node: &'n Node) -> Option<&'n str> {
    let Some(inner) = target.strip_prefix("${").and_then(|t| t.strip_suffix('}')) else {
        return Some(target);
    };
    match inner {
        "node.unique.id" => Some(&node.id),
        "node.datacenter" => Some(&node.datacenter),
        "node.unique.name" => Some(&node.name),
        "node.class" => Some(&node.node_class),
        "node.pool" => Some(&node.node_pool),
        _ => {
            if let Some(k) = inner.strip_prefix("attr.") {
                node.attributes.get(k).map(String::as_str)
            } else if let Some(k) = inner.strip_prefix("meta.") {
                node.meta.get(k).map(String::as_str)
            } else {
                None
            }
        }
    }
}

/// Whether a target depends on node-unique data (escapes the computed class).
pub fn escapes_class(target: &str) -> bool {
    target.contains("${node.unique.")
        || target.contains("${attr.unique.")
        || target.contains("${meta.unique.")
}

/// Compiled regexes, shared across the nodes of one evaluation.
#[derive(Default)]
pub struct RegexCache(HashMap<String, Option<Regex>>);

impl RegexCache {
    fn is_match(&mut self, pattern: &str, value: &str) -> bool {
        self.0
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(value))
    }
}

/// Nomad's `checkConstraint` (also used for affinities).
pub fn check(re: &mut RegexCache, operand: &str, l: Option<&str>, r: Option<&str>) -> bool {
    match operand {
        "distinct_hosts" | "distinct_property" => true,
        "=" | "==" | "is" | "" => l.is_some() && l == r,
        "!=" | "not" => l != r,
        "<" | "<=" | ">" | ">=" => match (l, r) {
            (Some(l), Some(r)) => check_order(operand, l, r),
            _ => false,
        },
        "is_set" => l.is_some(),
        "is_not_set" => l.is_none(),
        "version" | "semver" => match (l, r) {
            (Some(l), Some(r)) => version_matches(l, r, operand == "semver"),
            _ => false,
        },
        "regexp" => match (l, r) {
            (Some(l), Some(r)) => re.is_match(r, l),
            _ => false,
        },
        "set_contains" | "set_contains_all" => match (l, r) {
            (Some(l), Some(r)) => {
                let have: Vec<&str> = l.split(',').map(str::trim).collect();
                r.split(',').map(str::trim).all(|x| have.contains(&x))
            }
            _ => false,
        },
        "set_contains_any" => match (l, r) {
            (Some(l), Some(r)) => {
                let have: Vec<&str> = l.split(',').map(str::trim).collect();
                r.split(',').map(str::trim).any(|x| have.contains(&x))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Integer, then float, then lexical comparison.
fn check_order(op: &str, l: &str, r: &str) -> bool {
    let ord = if let (Ok(a), Ok(b)) = (l.parse::<i64>(), r.parse::<i64>()) {
        a.cmp(&b)
    } else if let (Ok(a), Ok(b)) = (l.parse::<f64>(), r.parse::<f64>()) {
        match a.partial_cmp(&b) {
            Some(o) => o,
            None => return false,
        }
    } else {
        l.cmp(r)
    };
    match op {
        "<" => ord.is_lt(),
        "<=" => ord.is_le(),
        ">" => ord.is_gt(),
        _ => ord.is_ge(),
    }
}

/// A parsed version: numeric segments plus an optional pre-release.
#[derive(Debug, PartialEq, Eq)]
struct Version {
    segs: Vec<u64>,
    pre: String,
}

fn parse_version(s: &str, strict: bool) -> Option<Version> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let s = s.split('+').next()?;
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p.to_owned()),
        None => (s, String::new()),
    };
    let segs: Vec<u64> = core
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if segs.is_empty() || (strict && segs.len() != 3) {
        return None;
    }
    Some(Version { segs, pre })
}

fn cmp_version(a: &Version, b: &Version) -> std::cmp::Ordering {
    let n = a.segs.len().max(b.segs.len());
    for i in 0..n {
        let (x, y) = (
            a.segs.get(i).copied().unwrap_or(0),
            b.segs.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.pre.cmp(&b.pre),
    }
}

/// go-version style constraints: `">= 1.2, < 2.0"`, `"~> 1.2.3"`, `"= 1.0"`.
fn version_matches(value: &str, constraint: &str, strict: bool) -> bool {
    let Some(v) = parse_version(value, strict) else {
        return false;
    };
    constraint.split(',').all(|c| {
        let c = c.trim();
        let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", c));
        let Some(want) = parse_version(rest, strict) else {
            return false;
        };
        let ord = cmp_version(&v, &want);
        match op {
            "=" => ord.is_eq(),
            "!=" => !ord.is_eq(),
            ">" => ord.is_gt(),
            "<" => ord.is_lt(),
            ">=" => ord.is_ge(),
            "<=" => ord.is_le(),
            _ => {
                // Pessimistic: >= want, and the leading segments (all but the last
                // specified one) equal.
                let keep = want.segs.len().saturating_sub(1).max(1);
                ord.is_ge()
                    && (0..keep).all(|i| v.segs.get(i).copied().unwrap_or(0) == want.segs[i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators() {
        let mut re = RegexCache::default();
        assert!(check(&mut re, "=", Some("linux"), Some("linux")));
        assert!(!check(&mut re, "=", None, Some("linux")));
        assert!(check(&mut re, "!=", None, Some("linux")));
        assert!(check(&mut re, ">", Some("10"), Some("9")));
        assert!(check(&mut re, "<", Some("1.5"), Some("2")));
        assert!(check(&mut re, "<", Some("abc"), Some("abd")));
        assert!(check(&mut re, "regexp", Some("linux-5"), Some("^linux")));
        assert!(!check(&mut re, "regexp", Some("x"), Some("(")));
        assert!(check(&mut re, "set_contains", Some("a, b,c"), Some("c,a")));
        assert!(!check(
            &mut re,
            "set_contains_all",
            Some("a,b"),
            Some("a,d")
        ));
        assert!(check(&mut re, "set_contains_any", Some("a,b"), Some("z,b")));
        assert!(check(&mut re, "is_set", Some(""), None));
        assert!(check(&mut re, "is_not_set", None, None));
        assert!(check(
            &mut re,
            "version",
            Some("1.2.3"),
            Some(">= 1.2, < 2")
        ));
        assert!(!check(
            &mut re,
            "version",
            Some("2.0.0"),
            Some(">= 1.2, < 2")
        ));
        assert!(check(&mut re, "version", Some("1.2.9"), Some("~> 1.2.3")));
        assert!(!check(&mut re, "version", Some("1.3.0"), Some("~> 1.2.3")));
        assert!(check(
            &mut re,
            "semver",
            Some("1.0.0"),
            Some("> 1.0.0-beta")
        ));
        assert!(!check(&mut re, "semver", Some("1.0"), Some(">= 0.1.0")));
        assert!(!check(&mut re, "bogus", Some("a"), Some("a")));
    }
}
