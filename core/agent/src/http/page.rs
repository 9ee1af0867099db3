//! The list options every list endpoint shares (`http.go` `parse`, `paginator`):
//! `filter` (a go-bexpr expression over each item's JSON, see [`super::bexpr`]),
//! `per_page`, `next_token` and `reverse`. The filter runs first, then the page is cut,
//! as in Nomad; `X-Nomad-NextToken` carries the token of the first item of the next
//! page and is absent on the last one.
//!
//! Tokens are the list's sort key: the ID for allocations, evaluations and nodes, and
//! `<namespace>.<ID>` for jobs (namespaces cannot contain `.`, so the first `.` splits
//! it). `next_token=T` starts at the first item whose key is at or after `T` in the
//! walking order, so a token whose item has since gone still resumes in place.

use super::bexpr::Filter;
use super::error::{ApiError, ApiResult};
use super::query::Params;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::cmp::Ordering;

/// `X-Nomad-NextToken`.
pub const HEADER_NEXT_TOKEN: &str = "x-nomad-nexttoken";

/// How a list's items are ordered and named in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKey {
    /// By `ID`.
    Id,
    /// By `Namespace`, then `ID`; tokens are `<namespace>.<id>`.
    NamespaceId,
}

impl PageKey {
    fn of(self, item: &Value) -> Vec<String> {
        let field = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match self {
            PageKey::Id => vec![field("ID")],
            PageKey::NamespaceId => vec![field("Namespace"), field("ID")],
        }
    }

    fn parse_token(self, token: &str) -> Vec<String> {
        match self {
            PageKey::Id => vec![token.to_string()],
            PageKey::NamespaceId => {
                let (ns, id) = token.split_once('.').unwrap_or((token, ""));
                vec![ns.to_string(), id.to_string()]
            }
        }
    }

    fn token(key: &[String]) -> String {
        key.join(".")
    }
}

/// The parsed list options.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `filter`, when given and not empty.
    pub filter: Option<Filter>,
    /// `per_page`; 0 or absent = everything.
    pub per_page: usize,
    /// `next_token`; empty = from the start.
    pub next_token: String,
    /// `reverse=true`: walk the list backwards.
    pub reverse: bool,
}

impl ListOptions {
    /// Reads the options; bad values are a 400 naming the parameter.
    pub fn from_params(p: &Params) -> ApiResult<ListOptions> {
        let filter = match p.get("filter") {
            None | Some("") => None,
            Some(src) => Some(Filter::parse(src).map_err(|e| {
                ApiError::bad_request(format!("failed to read filter expression: {e}"))
            })?),
        };
        Ok(ListOptions {
            filter,
            per_page: p.int::<u32>("per_page")?.unwrap_or(0) as usize,
            next_token: p.get("next_token").unwrap_or("").to_string(),
            reverse: p.flag("reverse", false)?,
        })
    }

    /// Whether the options change nothing (the list is answered as it is).
    fn is_noop(&self) -> bool {
        self.filter.is_none() && self.per_page == 0 && self.next_token.is_empty() && !self.reverse
    }

    /// Filters, orders and cuts `items`; the next page's token, if there is one.
    pub fn apply<T: Serialize>(
        &self,
        items: Vec<T>,
        key: PageKey,
    ) -> ApiResult<(Page<T>, Option<String>)> {
        if self.is_noop() {
            return Ok((Page::Typed(items), None));
        }
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let v = serde_json::to_value(&item).map_err(|e| ApiError::internal(e.to_string()))?;
            if self.filter.as_ref().is_none_or(|f| f.matches(&v)) {
                keyed.push((key.of(&v), v));
            }
        }
        let walk = |a: &Vec<String>, b: &Vec<String>| -> Ordering {
            if self.reverse { b.cmp(a) } else { a.cmp(b) }
        };
        keyed.sort_by(|a, b| walk(&a.0, &b.0));
        let start = if self.next_token.is_empty() {
            0
        } else {
            let token = key.parse_token(&self.next_token);
            keyed.partition_point(|(k, _)| walk(k, &token) == Ordering::Less)
        };
        let mut rest = keyed.split_off(start.min(keyed.len()));
        let next = if self.per_page > 0 && rest.len() > self.per_page {
            let next = PageKey::token(&rest[self.per_page].0);
            rest.truncate(self.per_page);
            Some(next)
        } else {
            None
        };
        Ok((Page::Json(rest.into_iter().map(|(_, v)| v).collect()), next))
    }
}

/// One page of a list: the items as they were (no options) or as filtered JSON.
#[derive(Debug)]
pub enum Page<T> {
    /// The list untouched.
    Typed(Vec<T>),
    /// Filtered, ordered, cut.
    Json(Vec<Value>),
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Page::Typed(items) => items.serialize(s),
            Page::Json(items) => items.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(q: &str) -> ApiResult<ListOptions> {
        ListOptions::from_params(&Params::parse(Some(q)))
    }

    fn ids(page: &Page<Value>) -> Vec<String> {
        let Page::Json(items) = page else {
            panic!("expected a filtered page")
        };
        items
            .iter()
            .map(|v| format!("{}.{}", v["Namespace"].as_str().unwrap_or("-"), v["ID"]))
            .collect()
    }

    #[test]
    fn pages_by_key_in_both_directions() {
        let items: Vec<Value> = ["e", "a", "c", "b", "d"]
            .iter()
            .map(|id| json!({"ID": id, "N": id.as_bytes()[0]}))
            .collect();
        let (p, next) = opts("per_page=2")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!(ids(&p), ["-.\"a\"", "-.\"b\""]);
        assert_eq!(next.as_deref(), Some("c"));
        let (p, next) = opts("per_page=2&next_token=c")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!(ids(&p), ["-.\"c\"", "-.\"d\""]);
        assert_eq!(next.as_deref(), Some("e"));
        let (p, next) = opts("per_page=2&next_token=e")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!((ids(&p).len(), next), (1, None));
        // A token between items resumes at the next one.
        let (p, _) = opts("next_token=bb")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!(ids(&p).len(), 3);
        let (p, next) = opts("reverse=true&per_page=3")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!(ids(&p), ["-.\"e\"", "-.\"d\"", "-.\"c\""]);
        assert_eq!(next.as_deref(), Some("b"));
        let (p, next) = opts("reverse=true&next_token=b")
            .unwrap()
            .apply(items.clone(), PageKey::Id)
            .unwrap();
        assert_eq!(
            (ids(&p), next),
            (vec!["-.\"b\"".into(), "-.\"a\"".into()], None)
        );
        // The filter runs before the page is cut.
        let (p, next) = opts("filter=N+>+98&per_page=2")
            .unwrap()
            .apply(items, PageKey::Id)
            .unwrap();
        assert_eq!(ids(&p), ["-.\"c\"", "-.\"d\""]);
        assert_eq!(next.as_deref(), Some("e"));
    }

    #[test]
    fn job_tokens_are_namespace_dot_id() {
        let items = vec![
            json!({"Namespace": "prod", "ID": "a.b"}),
            json!({"Namespace": "default", "ID": "z"}),
            json!({"Namespace": "default", "ID": "a"}),
        ];
        let (p, next) = opts("per_page=2")
            .unwrap()
            .apply(items.clone(), PageKey::NamespaceId)
            .unwrap();
        assert_eq!(ids(&p), ["default.\"a\"", "default.\"z\""]);
        assert_eq!(next.as_deref(), Some("prod.a.b"));
        let (p, next) = opts("next_token=prod.a.b")
            .unwrap()
            .apply(items, PageKey::NamespaceId)
            .unwrap();
        assert_eq!((ids(&p), next), (vec!["prod.\"a.b\"".into()], None));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (q, needle) in [
            ("per_page=-1", "\"per_page\""),
            ("per_page=abc", "\"per_page\""),
            ("reverse=maybe", "\"reverse\""),
            (
                "filter=Status+%3D%3D",
                "failed to read filter expression: 1:10 (9)",
            ),
        ] {
            let e = opts(q).unwrap_err();
            assert_eq!(e.status, 400, "{q}");
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
        let (p, next) = opts("filter=&per_page=0")
            .unwrap()
            .apply(vec![json!({"ID": "x"})], PageKey::Id)
            .unwrap();
        assert!(matches!(p, Page::Typed(ref v) if v.len() == 1) && next.is_none());
    }
}
