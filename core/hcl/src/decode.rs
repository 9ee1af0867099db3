//! Decode a value into a typed struct and report every mistake, not only the first.
//!
//! serde stops at the first error. [`decode`] runs the deserializer (wrapped in
//! `serde_path_to_error`, so each error has a [`FieldPath`]), records the error, removes the
//! offending member from a working copy of the value and tries again, until it succeeds or
//! no progress is possible (at most [`MAX_ERRORS`] rounds). The happy path costs one
//! deserialization of the borrowed value and no copy.
//!
//! What gets removed after an error:
//! * an unknown key: that key;
//! * a wrong type or invalid value: the member holding it; when the bad value is itself a
//!   list element, the whole list (removing one element would shift the indices of later
//!   errors), so only the first bad element of a plain list is reported;
//! * a missing required key: its parent member (a required key that was itself removed
//!   earlier is not reported twice).
//!
//! Works with any `T: DeserializeOwned` that deserializes through ordinary maps and
//! sequences: `#[serde(deny_unknown_fields)]` structs, `Option`, `Vec`, maps, and the
//! helpers of [`crate::de`]. `#[serde(flatten)]` and untagged enums buffer their input and
//! lose paths (and `deny_unknown_fields`), so avoid them in decoded types.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Diagnostics;
use crate::message::humanize;
use crate::path::{FieldPath, PathSeg};
use crate::source::{Source, Target};

/// Give up after this many errors in one value.
pub const MAX_ERRORS: usize = 64;

/// One decoding or validation error, not yet located in a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: FieldPath,
    /// Point at the key (unknown keys, duplicates) or at the value (everything else).
    pub target: Target,
    pub message: String,
}

impl FieldError {
    /// An invalid value at `path`.
    pub fn new(path: FieldPath, message: impl Into<String>) -> FieldError {
        FieldError {
            path,
            target: Target::Value,
            message: message.into(),
        }
    }

    /// A problem with the key at `path` itself (unknown, duplicated, not allowed here).
    pub fn at_key(path: FieldPath, message: impl Into<String>) -> FieldError {
        FieldError {
            path,
            target: Target::Key,
            message: message.into(),
        }
    }
}

/// Deserialize `value` into `T`, collecting every error (see the module docs).
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, Vec<FieldError>> {
    let partial = decode_partial(value);
    match partial.value {
        Some(t) if partial.errors.is_empty() => Ok(t),
        _ => Err(partial.errors),
    }
}

/// What [`decode_partial`] salvaged from an invalid value.
#[derive(Debug)]
pub struct Partial<T> {
    /// `T` decoded from `cleaned` (or from the input when there were no errors); `None`
    /// when even the cleaned value does not decode (e.g. the root has the wrong type).
    pub value: Option<T>,
    /// The input with every offending member removed; `None` when nothing was removed.
    pub cleaned: Option<Value>,
    pub errors: Vec<FieldError>,
}

/// [`decode`], but also return what decodes once the bad members are dropped, so a
/// caller can go on to check the rest (semantic validation) and report those errors in
/// the same run.
pub fn decode_partial<T: DeserializeOwned>(value: &Value) -> Partial<T> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut removed: Vec<FieldPath> = Vec::new();
    let mut work: Option<Value> = None;
    for _ in 0..MAX_ERRORS {
        let current = work.as_ref().unwrap_or(value);
        let err = match serde_path_to_error::deserialize::<_, T>(current) {
            Ok(t) => {
                return Partial {
                    value: Some(t),
                    cleaned: work,
                    errors,
                };
            }
            Err(e) => e,
        };
        let path = FieldPath::from_serde(err.path());
        let raw = err.inner().to_string();
        let h = humanize(&raw);
        // serde reports an unknown field at the map holding it; put the key on the path.
        let path = match (&h.unknown_key, path.last_key()) {
            (Some(k), Some(last)) if last == k => path,
            (Some(k), _) => path.key(k.clone()),
            (None, _) => path,
        };
        let (report_path, remove_path) = match &h.missing_key {
            Some(k) => (path.key(k.clone()), path.clone()),
            None => (path.clone(), path.clone()),
        };
        let already = removed.iter().any(|r| report_path.starts_with(r));
        if !already {
            errors.push(FieldError {
                path: report_path,
                target: if h.unknown_key.is_some() {
                    Target::Key
                } else {
                    Target::Value
                },
                message: h.message,
            });
        }
        let w = work.get_or_insert_with(|| value.clone());
        match remove(w, &remove_path) {
            Some(p) => removed.push(p),
            None => break,
        }
    }
    Partial {
        value: None,
        cleaned: work,
        errors,
    }
}

/// [`decode`], with the errors located in `source`.
pub fn decode_in<T: DeserializeOwned>(source: &Source, value: &Value) -> Result<T, Diagnostics> {
    decode(value).map_err(|errs| source.field_errors(errs))
}

/// Remove the member at `path`, or, when it lies inside a list, the member holding the
/// list. Returns the path actually removed, `None` when nothing could be removed.
fn remove(root: &mut Value, path: &FieldPath) -> Option<FieldPath> {
    let segs = path.segs();
    // The deepest key step whose parent is an object: removing an object member never
    // shifts the paths of later errors, removing a list element would.
    let mut end = segs.len();
    while end > 0 {
        if let PathSeg::Key(k) = &segs[end - 1]
            && let Some(Value::Object(map)) = get_mut(root, &segs[..end - 1])
            && map.remove(k).is_some()
        {
            return Some(FieldPath(segs[..end].to_vec()));
        }
        end -= 1;
    }
    None
}

fn get_mut<'v>(mut v: &'v mut Value, segs: &[PathSeg]) -> Option<&'v mut Value> {
    for s in segs {
        v = match (v, s) {
            (Value::Object(m), PathSeg::Key(k)) => m.get_mut(k)?,
            (Value::Array(a), PathSeg::Index(i)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}
