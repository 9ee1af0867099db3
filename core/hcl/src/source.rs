//! A source file: its name and text, parsing to HCL or JSON, and turning byte offsets and
//! field paths into located [`Diagnostic`]s.
//!
//! The happy path parses once with `hcl::parse`. Only when something must be reported is
//! the text parsed again with `hcl-edit` (whose tree keeps byte spans) to find where a
//! path is; that tree is cached for further errors in the same file.

use std::ops::Range;
use std::sync::OnceLock;

use hcl::edit::structure::Body as EditBody;

use crate::decode::FieldError;
use crate::diag::{Diagnostic, Diagnostics};
use crate::locate;
use crate::path::FieldPath;

/// The syntax a [`Source`] is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Hcl,
    Json,
}

/// Which part of a found attribute or block a diagnostic points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    /// The attribute name or block type: for unknown keys and duplicates.
    Key,
    /// The attribute's value (or the block itself): for wrong types and invalid values.
    #[default]
    Value,
}

/// Where a path was found in a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Byte offset of the target in the text.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    /// The path in the user's syntax, e.g. `client > host_volume "mysql" > path`.
    pub path: String,
    /// False when only an ancestor of the path was found (the position is the ancestor's).
    pub exact: bool,
}

/// One input file.
pub struct Source {
    name: String,
    text: String,
    format: Format,
    line_starts: OnceLock<Vec<usize>>,
    tree: OnceLock<Option<EditBody>>,
}

impl Source {
    /// A source whose format follows the file name: `.json` is JSON, anything else HCL.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let name = name.into();
        let format = if name.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Hcl
        };
        Source::with_format(name, text, format)
    }

    pub fn with_format(name: impl Into<String>, text: impl Into<String>, format: Format) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
            format,
            line_starts: OnceLock::new(),
            tree: OnceLock::new(),
        }
    }

    /// Read a file; the diagnostic names the file when it cannot be read.
    pub fn read(path: &std::path::Path) -> Result<Source, Diagnostic> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Source::new(name, text)),
            Err(e) => Err(Diagnostic::file_level(
                name,
                format!("cannot read file: {e}"),
            )),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Parse as HCL; a syntax error becomes a diagnostic at its own line and column.
    pub fn parse_hcl(&self) -> Result<hcl::Body, Diagnostic> {
        match hcl::parse(&self.text) {
            Ok(body) => Ok(body),
            Err(hcl::Error::Parse(e)) => Err(self.at_offset(
                e.location().offset(),
                "",
                format!("syntax error: {}", e.message()),
            )),
            Err(e) => Err(self.at_offset(0, "", format!("syntax error: {e}"))),
        }
    }

    /// Parse as JSON; a syntax error becomes a diagnostic at its own line and column.
    pub fn parse_json(&self) -> Result<serde_json::Value, Diagnostic> {
        serde_json::from_str(&self.text).map_err(|e| {
            let line = e.line().max(1);
            let offset =
                self.line_start(line) + byte_len_of_columns(self.line_text(line), e.column());
            self.at_offset(
                offset,
                "",
                format!("syntax error: {}", strip_serde_position(&e)),
            )
        })
    }

    /// Parse either format into the HCL JSON value model (blocks as nested objects, repeated
    /// blocks as arrays), the input of [`crate::decode()`].
    pub fn to_value(&self) -> Result<serde_json::Value, Diagnostic> {
        match self.format {
            Format::Json => self.parse_json(),
            Format::Hcl => {
                let body = self.parse_hcl()?;
                crate::body_to_json(body).map_err(|e| self.at_offset(0, "", e))
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past the end or
    /// inside a character are clamped.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts();
        let offset = offset.min(self.text.len());
        let line_idx = match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = starts.get(line_idx).copied().unwrap_or(0);
        let mut end = offset;
        while end > start && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text.get(start..end).map_or(0, |s| s.chars().count()) + 1;
        (line_idx + 1, column)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let starts = self.line_starts();
        let start = *starts.get(line.checked_sub(1)?)?;
        let end = starts.get(line).copied().unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .map(|l| l.trim_end_matches(['\n', '\r']))
    }

    /// A diagnostic at a byte offset, with `path` already rendered (may be empty).
    pub fn at_offset(&self, offset: usize, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(offset);
        Diagnostic {
            file: self.name.clone(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
            source_line: self.line_text(line).map(str::to_string),
        }
    }

    /// Find a path (see [`FieldPath`]) in the source. A path that cannot be found
    /// resolves to its nearest found ancestor (`exact == false`); the rendered path still
    /// names the whole path.
    pub fn locate(&self, path: &FieldPath, target: Target) -> Located {
        let found = match self.format {
            Format::Hcl => match self.tree() {
                Some(body) => locate::in_hcl(body, path.segs()),
                None => locate::Found::nothing(path.segs()),
            },
            Format::Json => locate::in_json(&self.text, path.segs()),
        };
        let span: Option<Range<usize>> = match target {
            Target::Key => found.key_span.or(found.value_span),
            Target::Value => found.value_span.or(found.key_span),
        };
        let offset = span.map_or(0, |s| s.start);
        let (line, column) = self.position(offset);
        Located {
            offset,
            line,
            column,
            path: found.rendered,
            exact: found.exact,
        }
    }

    /// A diagnostic for the value at `path`.
    pub fn diagnostic(
        &self,
        path: &FieldPath,
        target: Target,
        message: impl Into<String>,
    ) -> Diagnostic {
        let at = self.locate(path, target);
        self.at_offset(at.offset, &at.path, message)
    }

    /// Locate every field error in this source, sorted by position.
    pub fn field_errors(&self, errors: impl IntoIterator<Item = FieldError>) -> Diagnostics {
        let mut out = Diagnostics::new();
        for e in errors {
            out.push(self.diagnostic(&e.path, e.target, e.message));
        }
        out.sort();
        out
    }

    fn tree(&self) -> Option<&EditBody> {
        self.tree
            .get_or_init(|| hcl::edit::parser::parse_body(&self.text).ok())
            .as_ref()
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    fn line_start(&self, line: usize) -> usize {
        self.line_starts()
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
    }
}

/// serde_json columns count bytes from 1; tolerate 0 and lines shorter than the column.
fn byte_len_of_columns(line: Option<&str>, column: usize) -> usize {
    line.map_or(0, |l| column.saturating_sub(1).min(l.len()))
}

/// serde_json appends " at line X column Y"; the diagnostic has its own position.
fn strip_serde_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}
