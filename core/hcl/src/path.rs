//! Field paths in the decoded value model.
//!
//! HCL decodes to the HCL JSON model: a block `job "bvc" { group "g" { … } }` becomes
//! `{"job": {"bvc": {"group": {"g": {…}}}}}`, a block given several times without labels
//! becomes an array. A [`FieldPath`] addresses a value in that model with keys and indices,
//! exactly as `serde_path_to_error` reports it; [`crate::Source::locate`] maps it back onto
//! blocks, labels and attributes in the source.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// An object key: an attribute name, a block type, or a block label.
    Key(String),
    /// An array index: the n-th element of a list, or the n-th of repeated blocks.
    Index(usize),
}

/// A path to a value, e.g. `job.bvc.group.bvc25.task.mysql.resources.cpu` or
/// `job.bvc.group.g.task.t.volume_mount[1].destination`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<PathSeg>);

impl FieldPath {
    /// The empty path: the whole file.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// Parse a dotted path: `a.b[2].c`. Keys containing `.` or `[` cannot be written this
    /// way; build those with [`FieldPath::key`].
    pub fn parse(s: &str) -> FieldPath {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                if i > 0 {
                    segs.push(PathSeg::Key(rest[..i].to_string()));
                }
                rest = &rest[i..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let end = stripped.find(']').unwrap_or(stripped.len());
                    match stripped[..end].parse::<usize>() {
                        Ok(n) => segs.push(PathSeg::Index(n)),
                        Err(_) => segs.push(PathSeg::Key(stripped[..end].to_string())),
                    }
                    rest = stripped.get(end + 1..).unwrap_or("");
                }
            } else {
                segs.push(PathSeg::Key(rest.to_string()));
            }
        }
        FieldPath(segs)
    }

    /// This path with `key` appended.
    pub fn key(&self, key: impl Into<String>) -> FieldPath {
        let mut p = self.clone();
        p.0.push(PathSeg::Key(key.into()));
        p
    }

    /// This path with `index` appended.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(PathSeg::Index(index));
        p
    }

    /// The path without its last step (the root stays the root).
    pub fn parent(&self) -> FieldPath {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    /// The last key of the path, if the last step is a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(PathSeg::Key(k)) => Some(k),
            _ => None,
        }
    }

    pub fn segs(&self) -> &[PathSeg] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// Convert the path `serde_path_to_error` reports.
    pub fn from_serde(path: &serde_path_to_error::Path) -> FieldPath {
        use serde_path_to_error::Segment;
        FieldPath(
            path.iter()
                .filter_map(|s| match s {
                    Segment::Seq { index } => Some(PathSeg::Index(*index)),
                    Segment::Map { key } => Some(PathSeg::Key(key.clone())),
                    Segment::Enum { variant } => Some(PathSeg::Key(variant.clone())),
                    Segment::Unknown => None,
                })
                .collect(),
        )
    }
}

impl From<Vec<PathSeg>> for FieldPath {
    fn from(v: Vec<PathSeg>) -> FieldPath {
        FieldPath(v)
    }
}

impl fmt::Display for FieldPath {
    /// The generic rendering `a.b[1].c`; [`crate::Source::locate`] renders paths in the
    /// user's block syntax instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(k) if i == 0 => f.write_str(k)?,
                PathSeg::Key(k) => write!(f, ".{k}")?,
                PathSeg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Renders a path the way the user wrote it: labeled blocks as `ident "label"` joined by
/// ` > `, everything else joined by `.`, indices as `[n]`.
#[derive(Default)]
pub(crate) struct PathRenderer {
    out: String,
    last_was_block: bool,
}

impl PathRenderer {
    pub(crate) fn labeled_block(&mut self, ident: &str, labels: &[&str]) {
        if !self.out.is_empty() {
            self.out.push_str(" > ");
        }
        self.out.push_str(ident);
        for l in labels {
            self.out.push_str(&format!(" {l:?}"));
        }
        self.last_was_block = true;
    }

    pub(crate) fn key(&mut self, key: &str) {
        if self.last_was_block {
            self.out.push_str(" > ");
        } else if !self.out.is_empty() {
            self.out.push('.');
        }
        self.out.push_str(key);
        self.last_was_block = false;
    }

    pub(crate) fn index(&mut self, n: usize) {
        self.out.push_str(&format!("[{n}]"));
        self.last_was_block = false;
    }

    pub(crate) fn seg(&mut self, seg: &PathSeg) {
        match seg {
            PathSeg::Key(k) => self.key(k),
            PathSeg::Index(n) => self.index(n.to_owned()),
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}
