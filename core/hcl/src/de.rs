//! serde helpers for HCL's value model.
//!
//! * [`one_or_many`]: a block written once decodes to an object, several times to an array;
//!   both become a `Vec`.
//! * [`labeled`]: `host_volume "a" {…} host_volume "b" {…}` decodes to
//!   `{"a": {…}, "b": {…}}`, but hcl-rs folds a repeated label into an array instead of
//!   failing; this helper rejects the repeat at `…host_volume.a[1]`, so the error points at
//!   the second block.
//! * [`GoDuration`], [`ByteSize`] and the `duration`/`opt_duration` modules: typed values
//!   whose errors say what was expected.
//!
//! All of them pass serde's access objects through, so `serde_path_to_error` keeps paths.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Serialize, Serializer};

use crate::duration::{format_duration, parse_duration};
use crate::size::parse_size;

/// `deserialize_with` for a repeatable block: object → one element, array → many,
/// null → none. Scalars are accepted as one element too (`one_or_many` strings).
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(OneOrMany(PhantomData))
}

struct OneOrMany<T>(PhantomData<T>);

macro_rules! forward_scalar {
    ($($fn:ident: $ty:ty),*) => {$(
        fn $fn<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(|t| vec![t])
        }
    )*};
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a block or a list of blocks")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| vec![t])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
        Vec::<T>::deserialize(SeqAccessDeserializer::new(seq))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    forward_scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64,
        visit_string: String);

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
        T::deserialize(v.to_string().into_deserializer()).map(|t| vec![t])
    }
}

/// `deserialize_with` for a block with one label: `{"name": {…}}` (or the HCL JSON form
/// `[{"name": {…}}, …]`) → `[(name, T)]` in input order, rejecting a name given twice.
pub fn labeled<'de, D, T>(d: D) -> Result<Vec<(String, T)>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut out = Vec::new();
    d.deserialize_any(LabeledVisitor {
        out: &mut out,
        _t: PhantomData,
    })?;
    Ok(out)
}

struct LabeledVisitor<'o, T> {
    out: &'o mut Vec<(String, T)>,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LabeledVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("labeled blocks")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let dup = self.out.iter().any(|(n, _)| *n == name);
            let value = map.next_value_seed(Unique::<T>(dup, PhantomData))?;
            self.out.push((name, value));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(LabeledSeed {
                out: &mut *self.out,
                _t: PhantomData,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

struct LabeledSeed<'o, T> {
    out: &'o mut Vec<(String, T)>,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for LabeledSeed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(LabeledVisitor {
            out: self.out,
            _t: PhantomData,
        })
    }
}

/// The message for a block label given twice.
pub const DUPLICATE_LABEL: &str = "declared more than once; each name must be unique";

/// One labeled block's body; an array means the label was repeated: fail on the second.
struct Unique<T>(bool, PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Unique<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Unique<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a block")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        if self.0 {
            return Err(de::Error::custom(DUPLICATE_LABEL));
        }
        T::deserialize(MapAccessDeserializer::new(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let first = seq
            .next_element::<T>()?
            .ok_or_else(|| de::Error::custom("expected a block, found an empty list"))?;
        if self.0 {
            return Err(de::Error::custom(DUPLICATE_LABEL));
        }
        match seq.next_element_seed(Reject)? {
            Some(()) | None => Ok(first),
        }
    }
}

/// A seed that fails as soon as it is used, so the error's path ends at its element.
struct Reject;

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _d: D) -> Result<(), D::Error> {
        Err(de::Error::custom(DUPLICATE_LABEL))
    }
}

/// A duration written Go's way (`"30s"`); serializes back the same way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub Duration);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor { nanos: false })
            .map(GoDuration)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

struct DurationVisitor {
    /// Accept integers as nanoseconds (Nomad's JSON API form).
    nanos: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos {
            f.write_str("a duration like \"30s\" or a number of nanoseconds")
        } else {
            f.write_str("a duration like \"30s\"")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        if self.nanos {
            Ok(Duration::from_nanos(v))
        } else {
            Err(E::invalid_type(de::Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) if self.nanos => Err(E::custom(format!(
                "invalid duration {v}: must not be negative"
            ))),
            Err(_) => Err(E::invalid_type(de::Unexpected::Signed(v), &self)),
        }
    }
}

/// `#[serde(with = "drover_hcl::de::duration")]` for a `Duration` written `"30s"`.
pub mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor { nanos: false })
    }

    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*v))
    }
}

/// `#[serde(with = "drover_hcl::de::duration_nanos")]`: integer nanoseconds (Nomad's API
/// JSON) or a Go duration string in; integer nanoseconds out.
pub mod duration_nanos {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor { nanos: true })
    }

    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(v.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// A byte size: a number of bytes or a string like `"10MB"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like \"10MB\" or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                parse_size(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("invalid size {v}: must not be negative")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
                if v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
                    Ok(v as u64)
                } else {
                    Err(E::custom(format!(
                        "invalid size {v}: expected a whole number of bytes"
                    )))
                }
            }
        }
        d.deserialize_any(V).map(ByteSize)
    }
}
