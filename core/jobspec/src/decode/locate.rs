//! Map a validation error's structured path (`job "a" > group "g" > task "t" >
//! resources.cpu`) back onto the evaluated tree, to the byte offset of the value (or the
//! nearest block that exists).

use drover_types::error::PathSegment;

use crate::hcl2::tree::{Block, Body};

/// Offset of the deepest part of `path` found under the job block.
pub(crate) fn offset(job: &Block, path: &[PathSegment]) -> usize {
    let mut body: &Body = &job.body;
    let mut at = job.at;
    let mut segs = path.iter().peekable();
    while let Some(seg) = segs.next() {
        match seg {
            PathSegment::Job(_) => {}
            PathSegment::Group(name) => {
                // `task "x"` directly under job makes a group "x": stay on the job body.
                if let Some(g) = labeled(body, "group", name) {
                    at = g.at;
                    body = &g.body;
                }
            }
            PathSegment::Task(name) => match labeled(body, "task", name) {
                Some(t) => {
                    at = t.at;
                    body = &t.body;
                }
                None => return at,
            },
            PathSegment::Field(f) => {
                if let Some(a) = body.attr(f) {
                    return a.value_at;
                }
                let next = segs.peek();
                let b = match next {
                    Some(PathSegment::Index(i)) => {
                        segs.next();
                        body.blocks(f).nth(*i)
                    }
                    Some(PathSegment::Key(k)) => {
                        segs.next();
                        labeled(body, f, k)
                    }
                    _ => body.blocks(f).next(),
                };
                match b {
                    Some(b) => {
                        at = b.at;
                        body = &b.body;
                    }
                    None => return at,
                }
            }
            PathSegment::Index(i) => match body.blocks.get(*i) {
                Some(b) => {
                    at = b.at;
                    body = &b.body;
                }
                None => return at,
            },
            PathSegment::Key(k) => {
                if let Some(a) = body.attr(k) {
                    return a.key_at;
                }
                match body.blocks.iter().find(|b| b.labels.first() == Some(k)) {
                    Some(b) => {
                        at = b.at;
                        body = &b.body;
                    }
                    None => return at,
                }
            }
        }
    }
    at
}

fn labeled<'b>(body: &'b Body, ident: &str, label: &str) -> Option<&'b Block> {
    body.blocks(ident)
        .find(|b| b.labels.first().map(String::as_str) == Some(label))
}
