//! The evaluated job body: every expression is a value, every `dynamic` block is
//! expanded, and each attribute and block remembers where it was written so that
//! decoding and validation errors point at the user's text.

use hcl::Value;

/// A body after evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

/// `key = value`.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub key: String,
    pub key_at: usize,
    pub value: Value,
    pub value_at: usize,
}

/// `ident "label"… { body }`.
#[derive(Debug, Clone)]
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

/// Render a path step by step the way the user wrote it:
/// `job "bvc" > group "bvc25" > task "mysql" > resources.cpu`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path {
    out: String,
    after_block: bool,
}

impl Path {
    pub(crate) fn block(&self, ident: &str, labels: &[String]) -> Path {
        if labels.is_empty() {
            return self.key(ident);
        }
        let mut p = self.clone();
        if !p.out.is_empty() {
            p.out.push_str(" > ");
        }
        p.out.push_str(ident);
        for l in labels {
            p.out.push_str(&format!(" {l:?}"));
        }
        p.after_block = true;
        p
    }

    pub(crate) fn key(&self, key: &str) -> Path {
        let mut p = self.clone();
        if p.after_block {
            p.out.push_str(" > ");
        } else if !p.out.is_empty() {
            p.out.push('.');
        }
        p.out.push_str(key);
        p.after_block = false;
        p
    }

    pub(crate) fn index(&self, n: usize) -> Path {
        let mut p = self.clone();
        p.out.push_str(&format!("[{n}]"));
        p.after_block = false;
        p
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.out
    }
}
