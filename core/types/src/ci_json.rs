//! Case-insensitive JSON decoding, as Nomad's API does it (Go's `encoding/json` matches
//! object keys to struct fields ignoring case): `{"job": {"id": "x", "taskgroups": […]}}`
//! decodes like `{"Job": {"ID": "x", "TaskGroups": […]}}`.
//!
//! [`CaseInsensitive`] is a `Deserializer` over a `serde_json::Value`. When a type asks
//! for a struct (`deserialize_struct(name, fields, …)`), each key is given as the field of
//! `fields` it equals (exact match first, then ignoring ASCII case); keys matching no
//! field pass unchanged (ignored, as before). When keys of different cases name one
//! field, the exact one wins (else the last in key order). Map keys (env names, meta keys, driver config) are
//! never changed: only struct field names are.
//!
//! Structs with a `#[serde(flatten)]` field ask for a map, not a struct, so their field
//! names are unknown to the deserializer; for those of this crate ([`Service`],
//! [`ServiceCheck`]) the field names are known here and matched the same way. Everything
//! else (errors included) is `serde_json::Value`'s own behaviour, and
//! `serde_path_to_error` works over it; its paths name the struct fields (`TaskGroups`),
//! not the keys as written.
//!
//! [`Service`]: crate::Service
//! [`ServiceCheck`]: crate::ServiceCheck

use std::sync::LazyLock;

use serde::Deserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Error, Value};

/// Decode `T` from a JSON value, matching struct field names case-insensitively.
pub fn from_value_ci<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(CaseInsensitive::new(value))
}

/// Decode `T` from JSON bytes, matching struct field names case-insensitively.
pub fn from_slice_ci<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_value_ci(serde_json::from_slice(bytes)?)
}

/// Decode `T` from JSON text, matching struct field names case-insensitively.
pub fn from_str_ci<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_value_ci(serde_json::from_str(text)?)
}

/// A `Deserializer` over a JSON value that matches struct field names ignoring case.
/// Wrap it in `serde_path_to_error::deserialize` for error paths.
#[derive(Debug, Clone)]
pub struct CaseInsensitive {
    value: Value,
}

impl CaseInsensitive {
    /// Deserialize from `value`.
    pub fn new(value: Value) -> Self {
        CaseInsensitive { value }
    }
}

/// The field names of this crate's structs that hold a `#[serde(flatten)]` field.
static FLATTENED_FIELDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut names = Vec::new();
    for v in [
        serde_json::to_value(crate::Service::default()),
        serde_json::to_value(crate::ServiceCheck::default()),
    ]
    .into_iter()
    .flatten()
    {
        if let Value::Object(o) = v {
            names.extend(o.into_iter().map(|(k, _)| k));
        }
    }
    names.sort();
    names.dedup();
    names
});

/// The name among `names` that `key` stands for: itself if present, else the first
/// equal ignoring ASCII case.
fn field_for<'a, S: AsRef<str>>(key: &'a str, names: &'a [S]) -> &'a str {
    if names.iter().any(|n| n.as_ref() == key) {
        return key;
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .find(|n| n.eq_ignore_ascii_case(key))
        .unwrap_or(key)
}

fn visit_array<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = Seq {
        iter: items.into_iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    if seq.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    object: serde_json::Map<String, Value>,
    fields: Option<&'static [&'static str]>,
    visitor: V,
) -> Result<V::Value, Error> {
    let entries: Vec<(String, Value)> = match fields {
        None => object.into_iter().collect(),
        Some(fields) => {
            // (field, exact) per key.
            let mapped: Vec<(String, bool, Value)> = object
                .into_iter()
                .map(|(k, v)| {
                    let f = field_for(&k, fields).to_string();
                    let exact = f == k;
                    (f, exact, v)
                })
                .collect();
            // Several keys naming one field (serde would call it a duplicate): the exact
            // one wins, else the last in key order.
            let mut keep = vec![true; mapped.len()];
            for i in 0..mapped.len() {
                let (f, exact, _) = &mapped[i];
                let beaten = mapped.iter().enumerate().any(|(j, (g, other_exact, _))| {
                    j != i
                        && g == f
                        && (*other_exact && !exact || (*other_exact == *exact && j > i))
                });
                if beaten {
                    keep[i] = false;
                }
            }
            let mapped = mapped.into_iter().map(|(f, _, v)| (f, v));
            mapped
                .into_iter()
                .zip(keep)
                .filter_map(|(e, k)| k.then_some(e))
                .collect()
        }
    };
    let mut map = Map {
        iter: entries.into_iter(),
        value: None,
        struct_keys: fields.is_some(),
    };
    visitor.visit_map(&mut map)
}

/// Leaf values go to `serde_json::Value`'s own deserializer; objects and arrays stay here.
macro_rules! leaf_or_any {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.value {
                    Value::Object(_) | Value::Array(_) => self.deserialize_any(visitor),
                    other => other.$method(visitor),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for CaseInsensitive {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, None, visitor),
            Value::Array(a) => visit_array(a, visitor),
            other => other.deserialize_any(visitor),
        }
    }

    leaf_or_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(a) => visit_array(a, visitor),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, None, visitor),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, Some(fields), visitor),
            Value::Array(a) => visit_array(a, visitor),
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => {
                let mut iter = o.into_iter();
                match (iter.next(), iter.next()) {
                    (Some((variant, value)), None) => visitor.visit_enum(Enum { variant, value }),
                    _ => Err(de::Error::invalid_value(
                        de::Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            other => other.deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct Seq {
    iter: std::vec::IntoIter<Value>,
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(v) => seed.deserialize(CaseInsensitive::new(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Map {
    iter: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
    /// Keys already are the struct's field names.
    struct_keys: bool,
}

impl<'de> MapAccess<'de> for Map {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Key {
                    key: k,
                    flattened: !self.struct_keys,
                })
                .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(CaseInsensitive::new(v)),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key. Asked for as an identifier inside a map, it is a field of a struct
/// with a flattened field (see [`FLATTENED_FIELDS`]); otherwise it is given as written.
struct Key {
    key: String,
    flattened: bool,
}

macro_rules! key_number {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.key.parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => visitor.visit_string(self.key),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Key {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.key)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.flattened {
            let name = field_for(&self.key, &FLATTENED_FIELDS).to_string();
            visitor.visit_string(name)
        } else {
            visitor.visit_string(self.key)
        }
    }

    key_number! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
        deserialize_bool => bool, visit_bool;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.key.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct ignored_any
    }
}

/// `{"Variant": value}` for an enum.
struct Enum {
    variant: String,
    value: Value,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = CaseInsensitive;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, CaseInsensitive), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, CaseInsensitive::new(self.value)))
    }
}

impl<'de> VariantAccess<'de> for CaseInsensitive {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, Some(fields), visitor),
            other => other.deserialize_struct("", fields, visitor),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::{Job, Service};

    fn pascal_job() -> Value {
        json!({
            "ID": "web",
            "Name": "web",
            "Type": "service",
            "Datacenters": ["dc1"],
            "Meta": {"Owner": "ops", "owner": "dev"},
            "TaskGroups": [{
                "Name": "g",
                "Count": 2,
                "Tasks": [{
                    "Name": "t",
                    "Driver": "raw_exec",
                    "Config": {"Command": "/bin/sleep", "args": ["1"]},
                    "Env": {"PATH": "/bin", "Path": "x", "home": "/root"},
                    "KillTimeout": "5s",
                    "Services": [{
                        "Name": "svc",
                        "PortLabel": "http",
                        "Meta": {"Version": "1"},
                        "Connect": {"Native": true},
                        "Checks": [{"Type": "http", "Path": "/h", "Interval": 10_000_000_000i64}]
                    }]
                }]
            }]
        })
    }

    /// Every struct field key lowercased; map contents (Meta, Env, Config) left alone.
    fn lowercase_fields(v: &Value, map_keys: bool) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        // Map contents, and `Connect`: kept verbatim in `Service::extra`.
                        let free = matches!(k.as_str(), "Meta" | "Env" | "Config" | "Connect");
                        let key = if map_keys || k == "Connect" {
                            k.clone()
                        } else {
                            k.to_lowercase()
                        };
                        (key, lowercase_fields(v, free))
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| lowercase_fields(x, false)).collect()),
            other => other.clone(),
        }
    }

    #[test]
    fn lowercase_job_equals_pascal_case() {
        let want: Job = serde_json::from_value(pascal_job()).expect("pascal");
        assert_eq!(want.task_groups[0].tasks[0].services[0].port_label, "http");
        let lower = lowercase_fields(&pascal_job(), false);
        assert!(lower.get("taskgroups").is_some());
        let got: Job = from_value_ci(lower).expect("lowercase");
        assert_eq!(got, want);
        // Case-sensitive decoding ignores the lowercase keys entirely.
        let plain: Job =
            serde_json::from_value(lowercase_fields(&pascal_job(), false)).expect("plain");
        assert!(plain.task_groups.is_empty());
    }

    #[test]
    fn map_keys_are_kept() {
        let job: Job = from_value_ci(pascal_job()).expect("job");
        let meta: Vec<&str> = job.meta.keys().map(String::as_str).collect();
        assert_eq!(meta, ["Owner", "owner"]);
        let task = &job.task_groups[0].tasks[0];
        assert_eq!(task.env.len(), 3);
        assert_eq!(task.env["Path"], "x");
        assert!(task.config.contains_key("Command") && task.config.contains_key("args"));
        let svc = &task.services[0];
        assert_eq!(svc.meta["Version"], "1");
        assert_eq!(svc.extra["Connect"], json!({"Native": true}));
    }

    #[test]
    fn flattened_structs_match_their_fields() {
        let s: Service = from_value_ci(json!({
            "name": "svc", "portlabel": "http", "TAGS": ["a"],
            "checks": [{"type": "tcp", "INTERVAL": "5s"}],
            "connect": {"native": true}
        }))
        .expect("service");
        assert_eq!((s.name.as_str(), s.port_label.as_str()), ("svc", "http"));
        assert_eq!(s.tags, ["a"]);
        assert_eq!(s.checks[0].kind, "tcp");
        assert_eq!(s.checks[0].interval, crate::Duration(5_000_000_000));
        // Unknown keys stay in `extra` as written.
        assert_eq!(s.extra["connect"], json!({"native": true}));
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct S {
        #[serde(rename = "ID")]
        id: String,
        id_x: String,
        name: String,
        nested: Option<Box<S>>,
        list: Vec<u32>,
        map: BTreeMap<String, u32>,
        by_num: BTreeMap<u32, String>,
        kind: Option<E>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum E {
        Unit,
        Wrap(u32),
        Pair { left: u32 },
    }

    #[test]
    fn exact_match_first_and_last_duplicate_wins() {
        let s: S = from_value_ci(json!({"id": "a", "IdX": "b", "ID": "c"})).expect("s");
        assert_eq!((s.id.as_str(), s.id_x.as_str()), ("c", "b"));
        let s: S =
            from_value_ci(json!({"idx": "x", "name": "1", "NAME": "2", "Name": "3"})).expect("s");
        assert_eq!((s.id_x.as_str(), s.name.as_str()), ("x", "3"));
        let s: S = from_value_ci(json!({"nAME": "1", "name": "2"})).expect("s");
        assert_eq!(s.name, "2");
    }

    #[test]
    fn nesting_maps_enums_and_unknown_fields() {
        let s: S = from_value_ci(json!({
            "nested": {"name": "inner", "List": [1, 2]},
            "MAP": {"kEy": 1},
            "bynum": {"7": "seven"},
            "unknown": {"x": 1},
            "kind": {"Pair": {"LEFT": 3}}
        }))
        .expect("s");
        let nested = s.nested.expect("nested");
        assert_eq!(
            (nested.name.as_str(), nested.list.as_slice()),
            ("inner", &[1, 2][..])
        );
        assert_eq!(s.map["kEy"], 1);
        assert_eq!(s.by_num[&7], "seven");
        // Struct variant fields are matched too; unit and newtype variants as serde_json does.
        assert!(matches!(s.kind, Some(E::Pair { left: 3 })));
        let s: S = from_value_ci(json!({"Kind": "Unit"})).expect("unit");
        assert_eq!(s.kind, Some(E::Unit));
        let s: S = from_value_ci(json!({"Kind": {"Wrap": 4}})).expect("newtype");
        assert_eq!(s.kind, Some(E::Wrap(4)));
    }

    #[test]
    fn errors_match_serde_json() {
        let text = r#"{"list": [1, "x"]}"#;
        let ci = from_str_ci::<S>(text).expect_err("bad element");
        assert_eq!(ci.to_string(), "invalid type: string \"x\", expected u32");
        let e = from_slice_ci::<S>(b"{").expect_err("syntax");
        assert!(e.is_eof());
    }
}
