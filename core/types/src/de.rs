//! Serde helpers for Nomad's JSON quirks: Go encodes nil slices and maps as `null`,
//! so every collection field must accept `null` as "empty".

use serde::{Deserialize, Deserializer};

/// Deserializes `null` (or an absent field, with `#[serde(default)]`) as `T::default()`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Default)]
    struct S {
        #[serde(default, deserialize_with = "super::null_default")]
        v: Vec<String>,
        #[serde(default, deserialize_with = "super::null_default")]
        m: BTreeMap<String, String>,
    }

    #[test]
    fn null_absent_and_values() {
        let s: S = serde_json::from_str(r#"{"v":null,"m":null}"#).unwrap();
        assert!(s.v.is_empty() && s.m.is_empty());
        let s: S = serde_json::from_str(r#"{}"#).unwrap();
        assert!(s.v.is_empty());
        let s: S = serde_json::from_str(r#"{"v":["a"],"m":{"k":"x"}}"#).unwrap();
        assert_eq!(s.v, ["a"]);
        assert_eq!(s.m["k"], "x");
    }
}
