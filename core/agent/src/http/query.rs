//! Query parameters (`http.go` `parse`): namespace, prefix, `index`/`wait` for blocking
//! queries, `pretty`, and the typed flags endpoints read (`purge=true`, `all=true` …).
//!
//! Parsed by hand from the raw query so repeated keys (`topic=Job&topic=Node`) keep
//! their order, and so every bad value gets Nomad's exact 400 text.

use super::error::{ApiError, ApiResult};
use drover_types::job::DEFAULT_NAMESPACE;
use percent_encoding::percent_decode_str;
use std::time::Duration;

/// Nomad's `DefaultBlockingRPCQueryTime` and `MaxBlockingRPCQueryTime`.
pub const MAX_BLOCKING_WAIT: Duration = Duration::from_secs(300);
/// Nomad's `JitterFraction`: up to wait/16 is added to a blocking wait.
pub const JITTER_FRACTION: u32 = 16;

/// The decoded `key=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

impl Params {
    /// Parses `a=1&b&c=x%20y`.
    pub fn parse(raw: Option<&str>) -> Params {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        Params(pairs)
    }
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Whether `key` is present (with any value).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// A boolean flag: absent = `default`; bare or `true`/`1` = true; `false`/`0` = false;
    /// anything else is a 400 naming the parameter.
    pub fn flag(&self, key: &str, default: bool) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(default),
            Some("") => Ok(true),
            Some(v) => drover_types::parse_bool(v).ok_or_else(|| {
                ApiError::bad_request(format!("Failed to parse value of {key:?} ({v:?}) as bool"))
            }),
        }
    }
    /// An optional integer; bad values are a 400 naming the parameter.
    pub fn int<T: std::str::FromStr>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "Failed to parse value of {key:?} ({v:?}) as integer"
                ))
            }),
        }
    }
    /// `namespace`, `default` when absent or empty.
    pub fn namespace(&self) -> String {
        match self.get("namespace") {
            Some(ns) if !ns.is_empty() => ns.to_string(),
            _ => DEFAULT_NAMESPACE.to_string(),
        }
    }
    /// `prefix`, empty when absent.
    pub fn prefix(&self) -> &str {
        self.get("prefix").unwrap_or("")
    }
    /// `?pretty` (any value but `0`).
    pub fn pretty(&self) -> bool {
        self.get("pretty").is_some_and(|v| v != "0")
    }
    /// The blocking-query options.
    pub fn blocking(&self) -> ApiResult<Blocking> {
        let wait = match self.get("wait") {
            None | Some("") => Duration::ZERO,
            Some(w) => drover_hcl::parse_duration(w)
                .map_err(|_| ApiError::bad_request("Invalid wait time"))?,
        };
        let index = match self.get("index") {
            None | Some("") => 0,
            Some(i) => i
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("Invalid index"))?,
        };
        Ok(Blocking { index, wait })
    }
}

/// `?index=N&wait=D`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blocking {
    /// Block until the result's index exceeds this (0 = do not block).
    pub index: u64,
    /// Requested wait; 0 = the default.
    pub wait: Duration,
}

impl Blocking {
    /// Nomad's `blockingRPC` timeout: the wait (default and max 300 s) plus a random
    /// jitter of up to wait/16.
    pub fn timeout(&self) -> Duration {
        let base = if self.wait.is_zero() || self.wait > MAX_BLOCKING_WAIT {
            MAX_BLOCKING_WAIT
        } else {
            self.wait
        };
        let max_jitter = (base / JITTER_FRACTION).as_millis() as u64;
        let jitter = if max_jitter == 0 {
            0
        } else {
            rand::random_range(0..=max_jitter)
        };
        base + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_nomad() {
        let p = Params::parse(Some(
            "prefix=we%2Fb&topic=Job:*&topic=Node&pretty&stale=false&a+b=c+d",
        ));
        assert_eq!(p.prefix(), "we/b");
        assert_eq!(p.all("topic").collect::<Vec<_>>(), ["Job:*", "Node"]);
        assert!(p.pretty());
        assert!(!p.flag("stale", true).unwrap());
        assert!(p.flag("missing", true).unwrap());
        assert_eq!(p.get("a b"), Some("c d"));
        assert_eq!(p.namespace(), "default");
        assert!(p.flag("prefix", false).is_err());

        let bad = Params::parse(Some("wait=10")).blocking().unwrap_err();
        assert_eq!(
            (bad.status.as_u16(), bad.message.as_str()),
            (400, "Invalid wait time")
        );
        let bad = Params::parse(Some("index=-1")).blocking().unwrap_err();
        assert_eq!(bad.message, "Invalid index");
        let b = Params::parse(Some("index=7&wait=100ms"))
            .blocking()
            .unwrap();
        assert_eq!(b.index, 7);
        let t = b.timeout();
        assert!(
            t >= Duration::from_millis(100) && t <= Duration::from_millis(106),
            "{t:?}"
        );
        let t = Blocking {
            index: 1,
            wait: Duration::from_secs(9999),
        }
        .timeout();
        assert!(t >= MAX_BLOCKING_WAIT && t <= MAX_BLOCKING_WAIT + MAX_BLOCKING_WAIT / 16);
    }
}
