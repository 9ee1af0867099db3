//! HCL helpers shared by the job file parser (`drover-jobspec`) and the agent configuration
//! parser (`drover-agent`), so both report mistakes the same way:
//!
//! ```text
//! job-bvc.hcl:24:11: job "bvc" > group "bvc25" > task "mysql" > resources.cpu: expected a number, found a string
//!     cpu = "500"
//!           ^
//! ```
//!
//! * [`Diagnostic`] / [`Diagnostics`]: located errors, rendered as above.
//! * [`Source`]: one file; parses HCL (hcl-rs) or JSON, turns byte offsets and
//!   [`FieldPath`]s into line/column (re-parsing with hcl-edit, which keeps spans, only
//!   when there is something to report).
//! * [`decode()`]: deserialize into a `#[serde(deny_unknown_fields)]` type and collect
//!   *every* error with its path, not just the first.
//! * [`de`]: serde helpers for HCL's value model (one-or-many blocks, unique labels,
//!   durations, sizes); [`parse_duration`], [`parse_size`].
//!
//! Typical use:
//!
//! ```
//! use drover_hcl::{decode_in, Source};
//!
//! #[derive(serde::Deserialize, Debug)]
//! #[serde(deny_unknown_fields)]
//! struct Limits { cpu: Option<u64>, memory: Option<u64> }
//!
//! let src = Source::new("a.hcl", "cpu = \"lots\"\nmemroy = 5\n");
//! let value = src.to_value().unwrap();
//! let errs = decode_in::<Limits>(&src, &value).unwrap_err();
//! assert_eq!(errs.len(), 2);
//! assert_eq!(errs.0[0].headline(), "a.hcl:1:7: cpu: expected a number, found a string");
//! assert!(errs.0[1].message.contains("did you mean \"memory\"?"));
//! ```

pub mod de;
mod decode;
mod diag;
mod duration;
mod locate;
mod message;
mod path;
mod size;
mod source;

pub use decode::{FieldError, MAX_ERRORS, Partial, decode, decode_in, decode_partial};
pub use diag::{Diagnostic, Diagnostics};
pub use duration::{DurationError, format_duration, parse_duration};
pub use message::unknown_key_message;
pub use path::{FieldPath, PathSeg};
pub use size::{SizeError, parse_size};
pub use source::{Format, Located, Source, Target};

/// Convert a parsed HCL body to the HCL JSON value model (blocks become nested objects
/// keyed by type then labels; a block type given several times becomes an array).
/// Expressions that are not literal values (templates, references) become their HCL text.
pub fn body_to_json(body: hcl::Body) -> Result<serde_json::Value, String> {
    hcl::from_body(body).map_err(|e| format!("cannot convert HCL to a value: {e}"))
}
