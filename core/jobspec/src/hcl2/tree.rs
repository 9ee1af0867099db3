//! The evaluated job body: every expression is a value, every `dynamic` block is
//! expanded, and each attribute and block remembers where it was written so that
//! decoding and validation errors point at the user's text.

use hcl::Value;

/// A body after evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

/// `key = value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attr {
    pub key: String,
    pub key_at: usize,
    pub value: Value,
    pub value_at: usize,
}

/// `ident "label"… { body }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    pub ident: String,
    pub labels: Vec<String>,
    pub at: usize,
    pub body: Body,
}

impl Body {
    pub(crate) fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.key == key)
    }

    pub(crate) fn blocks<'a, 'i>(
        &'a self,
        ident: &'i str,
    ) -> impl Iterator<Item = &'a Block> + use<'a, 'i> {
        self.blocks.iter().filter(move |b| b.ident == ident)
    }
}

/// Where a diagnostic points, as the user wrote it:
/// `job "bvc" > group "bvc25" > task "mysql" > resources.cpu`.
///
/// A chain of borrowed steps: extending a path costs nothing, and the text is only
/// built ([`Path::render`]) when an error is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
}

#[derive(Debug, Clone, Copy, Default)]
enum Step<'a> {
    #[default]
    Root,
    /// A block with its labels (without labels it reads like a key).
    Block(&'a str, &'a [String]),
    Key(&'a str),
    Index(usize),
}

/// The empty path (the file's top level).
static ROOT: Path<'static> = Path {
    parent: None,
    step: Step::Root,
};

impl<'a> Path<'a> {
    /// The empty path: the file's top level.
    pub(crate) fn root() -> &'static Path<'static> {
        &ROOT
    }

    pub(crate) fn block<'b>(&'b self, ident: &'b str, labels: &'b [String]) -> Path<'b> {
        self.then(Step::Block(ident, labels))
    }

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        self.then(Step::Key(key))
    }

    pub(crate) fn index(&self, n: usize) -> Path<'_> {
        self.then(Step::Index(n))
    }

    fn then<'b>(&'b self, step: Step<'b>) -> Path<'b> {
        let parent = match self.step {
            Step::Root => None,
            _ => Some(self),
        };
        Path { parent, step }
    }

    /// The path as text.
    pub(crate) fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(p) = at {
            steps.push(p.step);
            at = p.parent;
        }
        let mut out = String::new();
        let mut after_block = false;
        for step in steps.into_iter().rev() {
            match step {
                Step::Root => {}
                Step::Block(ident, labels) if !labels.is_empty() => {
                    if !out.is_empty() {
                        out.push_str(" > ");
                    }
                    out.push_str(ident);
                    for l in labels {
                        out.push_str(&format!(" {l:?}"));
                    }
                    after_block = true;
                }
                Step::Block(key, _) | Step::Key(key) => {
                    if after_block {
                        out.push_str(" > ");
                    } else if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                    after_block = false;
                }
                Step::Index(n) => {
                    out.push_str(&format!("[{n}]"));
                    after_block = false;
                }
            }
        }
        out
    }
}
