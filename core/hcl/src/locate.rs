//! Map a [`PathSeg`] path onto source spans: through an `hcl-edit` tree for HCL, with a
//! small tolerant scanner for JSON.
//!
//! In the HCL value model a block's labels are nested keys (`job.bvc.group.g`) and repeated
//! blocks are array elements (`volume_mount[1]`), so the walk consumes a block type, then
//! one key per label, then optionally an index among blocks with the same type and labels.
//! Inside attribute values it follows object keys and array indices.

use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Block, Body, Structure};

use crate::path::{PathRenderer, PathSeg};

/// The result of a walk: the deepest node reached and how the path reads.
pub(crate) struct Found {
    pub key_span: Option<Range<usize>>,
    pub value_span: Option<Range<usize>>,
    pub rendered: String,
    pub exact: bool,
}

impl Found {
    pub(crate) fn nothing(segs: &[PathSeg]) -> Found {
        let mut r = PathRenderer::default();
        segs.iter().for_each(|s| r.seg(s));
        Found {
            key_span: None,
            value_span: None,
            rendered: r.finish(),
            exact: segs.is_empty(),
        }
    }
}

enum Node<'a> {
    Body(&'a Body),
    Expr(&'a Expression),
    /// Blocks of one type, `depth` labels already matched.
    Blocks {
        ident: &'a str,
        blocks: Vec<&'a Block>,
        depth: usize,
        rendered: bool,
    },
}

pub(crate) fn in_hcl(body: &Body, segs: &[PathSeg]) -> Found {
    let mut r = PathRenderer::default();
    let mut node = Node::Body(body);
    let mut key_span = None;
    let mut value_span = None;
    let mut consumed = 0;
    let mut exact = true;
    while consumed < segs.len() {
        let seg = &segs[consumed];
        let next = match (&mut node, seg) {
            (Node::Body(b), PathSeg::Key(k)) => step_body(b, k, &mut r),
            (Node::Expr(e), _) => step_expr(e, seg, &mut r),
            (
                Node::Blocks {
                    ident,
                    blocks,
                    depth,
                    rendered,
                },
                _,
            ) => step_blocks(ident, blocks, depth, rendered, seg, &mut r),
            (Node::Body(_), PathSeg::Index(_)) => None,
        };
        match next {
            Some(Step::Into(n, k, v)) => {
                node = n;
                key_span = k.or(key_span);
                value_span = v.or(value_span.clone());
            }
            Some(Step::Stay) => {}
            Some(Step::Missing) => {
                consumed += 1;
                exact = false;
                break;
            }
            None => break,
        }
        consumed += 1;
    }
    if let Node::Blocks {
        ident,
        blocks,
        depth,
        rendered: false,
    } = &node
    {
        render_blocks(ident, blocks, *depth, &mut r);
    }
    for s in &segs[consumed..] {
        r.seg(s);
    }
    Found {
        key_span,
        value_span,
        rendered: r.finish(),
        exact: exact && consumed == segs.len(),
    }
}

enum Step<'a> {
    Into(Node<'a>, Option<Range<usize>>, Option<Range<usize>>),
    /// The segment was consumed without moving (a label narrowing the blocks).
    Stay,
    /// Not found, but rendered (a label no block has): stop here.
    Missing,
}

fn step_body<'a>(b: &'a Body, k: &str, r: &mut PathRenderer) -> Option<Step<'a>> {
    if let Some(attr) = b.get_attribute(k) {
        r.key(k);
        return Some(Step::Into(
            Node::Expr(&attr.value),
            attr.key.span(),
            attr.value.span(),
        ));
    }
    let blocks: Vec<&Block> = b
        .iter()
        .filter_map(|s| match s {
            Structure::Block(bl) if bl.ident.as_str() == k => Some(bl),
            _ => None,
        })
        .collect();
    let first = blocks.first()?;
    let span = first.ident.span();
    let ident = first.ident.as_str();
    Some(Step::Into(
        Node::Blocks {
            ident,
            blocks,
            depth: 0,
            rendered: false,
        },
        span.clone(),
        span,
    ))
}

fn step_blocks<'a>(
    ident: &str,
    blocks: &mut Vec<&'a Block>,
    depth: &mut usize,
    rendered: &mut bool,
    seg: &PathSeg,
    r: &mut PathRenderer,
) -> Option<Step<'a>> {
    let labels_left = blocks.first().is_some_and(|b| b.labels.len() > *depth);
    match seg {
        PathSeg::Key(k) if labels_left => {
            let before = blocks.first().copied();
            blocks.retain(|b| b.labels.get(*depth).is_some_and(|l| l.as_str() == k));
            if blocks.is_empty() {
                if let Some(b) = before {
                    let mut labels: Vec<&str> =
                        b.labels.iter().take(*depth).map(|l| l.as_str()).collect();
                    labels.push(k);
                    r.labeled_block(ident, &labels);
                    *rendered = true;
                }
                return Some(Step::Missing);
            }
            *depth += 1;
            Some(Step::Stay)
        }
        PathSeg::Index(n) => {
            let block = *blocks.get(*n)?;
            if !*rendered {
                render_blocks(ident, blocks, *depth, r);
                *rendered = true;
            }
            r.index(*n);
            let span = block.ident.span();
            Some(Step::Into(
                Node::Blocks {
                    ident: block.ident.as_str(),
                    blocks: vec![block],
                    depth: block.labels.len(),
                    rendered: true,
                },
                span.clone(),
                span,
            ))
        }
        PathSeg::Key(k) => {
            let block = *blocks.first()?;
            if !*rendered {
                render_blocks(ident, blocks, *depth, r);
                *rendered = true;
            }
            // None keeps the block as the nearest ancestor.
            step_body(&block.body, k, r)
        }
    }
}

fn render_blocks(ident: &str, blocks: &[&Block], depth: usize, r: &mut PathRenderer) {
    match blocks.first() {
        Some(b) if depth > 0 => {
            let labels: Vec<&str> = b.labels.iter().take(depth).map(|l| l.as_str()).collect();
            r.labeled_block(ident, &labels);
        }
        _ => r.key(ident),
    }
}

fn step_expr<'a>(e: &'a Expression, seg: &PathSeg, r: &mut PathRenderer) -> Option<Step<'a>> {
    match (e, seg) {
        (Expression::Object(obj), PathSeg::Key(k)) => {
            let (key, value) = obj.iter().find(|(key, _)| object_key_is(key, k))?;
            r.key(k);
            Some(Step::Into(
                Node::Expr(value.expr()),
                key.span(),
                value.expr().span(),
            ))
        }
        (Expression::Array(arr), PathSeg::Index(n)) => {
            let el = arr.get(*n)?;
            r.index(*n);
            Some(Step::Into(Node::Expr(el), el.span(), el.span()))
        }
        (Expression::Parenthesis(p), _) => step_expr(p.inner(), seg, r),
        _ => None,
    }
}

fn object_key_is(key: &ObjectKey, k: &str) -> bool {
    match key {
        ObjectKey::Ident(id) => id.as_str() == k,
        ObjectKey::Expression(Expression::String(s)) => s.as_str() == k,
        ObjectKey::Expression(Expression::Variable(v)) => v.as_str() == k,
        ObjectKey::Expression(_) => false,
    }
}

/// Locate a path in JSON text without building a tree: scan, descending only into the
/// members the path names. Malformed text simply stops the walk.
pub(crate) fn in_json(text: &str, segs: &[PathSeg]) -> Found {
    let mut sc = Scanner {
        s: text.as_bytes(),
        i: 0,
    };
    sc.ws();
    let mut key_span = None;
    let mut value_span = Some(sc.i..sc.i);
    let mut consumed = 0;
    'walk: while consumed < segs.len() {
        sc.ws();
        match (sc.peek(), &segs[consumed]) {
            (Some(b'{'), PathSeg::Key(want)) => {
                sc.i += 1;
                loop {
                    sc.ws();
                    let kstart = sc.i;
                    let Some(key) = sc.string() else { break 'walk };
                    sc.ws();
                    if sc.peek() != Some(b':') {
                        break 'walk;
                    }
                    sc.i += 1;
                    sc.ws();
                    if &key == want {
                        key_span = Some(kstart..sc.i);
                        value_span = Some(sc.i..sc.i);
                        break;
                    }
                    if !sc.skip_value() {
                        break 'walk;
                    }
                    sc.ws();
                    if sc.peek() != Some(b',') {
                        break 'walk;
                    }
                    sc.i += 1;
                }
            }
            (Some(b'['), PathSeg::Index(n)) => {
                sc.i += 1;
                for _ in 0..*n {
                    sc.ws();
                    if !sc.skip_value() {
                        break 'walk;
                    }
                    sc.ws();
                    if sc.peek() != Some(b',') {
                        break 'walk;
                    }
                    sc.i += 1;
                }
                sc.ws();
                value_span = Some(sc.i..sc.i);
            }
            _ => break,
        }
        consumed += 1;
    }
    let mut r = PathRenderer::default();
    segs.iter().for_each(|s| r.seg(s));
    Found {
        key_span,
        value_span,
        rendered: r.finish(),
        exact: consumed == segs.len(),
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A JSON string at the cursor, unescaped well enough to compare keys.
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => {
                    let raw = self.s.get(start..self.i)?;
                    return serde_json::from_slice(raw).ok();
                }
                _ => {}
            }
        }
        None
    }

    fn skip_value(&mut self) -> bool {
        match self.peek() {
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            if self.string().is_none() {
                                return false;
                            }
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return true;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                false
            }
            Some(_) => {
                while matches!(self.peek(), Some(c) if !b",}] \t\r\n".contains(&c)) {
                    self.i += 1;
                }
                true
            }
            None => false,
        }
    }
}
