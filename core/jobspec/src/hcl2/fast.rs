//! A direct reader for the plain HCL most job files are written in: one `job` block of
//! blocks and attributes whose values are literals (strings, whole numbers, bools, null,
//! lists and `{ name = … }` maps of those), plus quoted strings that interpolate only
//! run-time references (`"${attr.kernel.name}"`, `"${NOMAD_ALLOC_ID}/x"`).
//!
//! Such a file needs no evaluation: its [`Block`] is what the full pipeline (hcl-edit's
//! parser, then [`super::eval`]) builds from it, at about a tenth of the cost (the
//! parser's whitespace, comment and span bookkeeping was most of a parse).
//!
//! [`job`] answers `None` as soon as the text leaves that subset or is not valid HCL
//! (anything else at the top level, variables, `dynamic`, expressions, heredocs,
//! `/* */` comments, escapes other than `\n \r \t \\ \"`, duplicate keys, …); the caller
//! then takes the full path, which also reports every error. So this reader never
//! decides an error, and what it accepts it must read exactly as the full path does:
//! the differential tests below hold it to that over the fixtures and mutations of them.

use hcl::{Number, Value};

use super::tree::{Attr, Block, Body};

/// The file's job block when the whole file is in the plain subset.
pub(crate) fn job(text: &str) -> Option<Block> {
    let mut r = Reader {
        t: text,
        b: text.as_bytes(),
        i: 0,
    };
    r.ws()?;
    let at = r.i;
    if r.ident()? != "job" {
        return None;
    }
    let (labels, body) = r.block_rest()?;
    if labels.len() != 1 {
        return None;
    }
    r.end_of_structure()?;
    r.ws()?;
    if r.i != r.b.len() {
        return None;
    }
    Some(Block {
        ident: "job".to_string(),
        labels,
        at,
        body,
    })
}

/// Where a value stands: only an attribute's own value may be a template (inside a
/// list or map a template takes the evaluator's general path, not reproduced here).
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Attr,
    Nested,
}

struct Reader<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    /// Spaces, tabs, newlines and `#`/`//` comments.
    fn ws(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.i += 1,
                Some(b'\r') if self.peek_at(1) == Some(b'\n') => self.i += 2,
                Some(b'#') => self.line_comment()?,
                Some(b'/') if self.peek_at(1) == Some(b'/') => self.line_comment()?,
                Some(b'\r' | b'/') => return None,
                _ => return Some(()),
            }
        }
    }

    /// Spaces and tabs.
    fn sp(&mut self) -> Option<()> {
        while let Some(b' ' | b'\t') = self.peek() {
            self.i += 1;
        }
        if self.peek() == Some(b'/') && self.peek_at(1) == Some(b'*') {
            return None;
        }
        Some(())
    }

    /// A comment up to (not including) its line ending.
    fn line_comment(&mut self) -> Option<()> {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => break,
                b'\r' if self.peek_at(1) == Some(b'\n') => break,
                b'\r' => return None,
                _ => self.i += 1,
            }
        }
        Some(())
    }

    fn line_ending(&mut self) -> Option<()> {
        match self.peek()? {
            b'\n' => self.i += 1,
            b'\r' if self.peek_at(1) == Some(b'\n') => self.i += 2,
            _ => return None,
        }
        Some(())
    }

    /// After an attribute or block: spaces, an optional comment, then a line ending or
    /// the end of the file.
    fn end_of_structure(&mut self) -> Option<()> {
        self.sp()?;
        match self.peek() {
            None => Some(()),
            Some(b'#') => {
                self.line_comment()?;
                self.line_ending_or_eof()
            }
            Some(b'/') if self.peek_at(1) == Some(b'/') => {
                self.line_comment()?;
                self.line_ending_or_eof()
            }
            Some(_) => self.line_ending(),
        }
    }

    fn line_ending_or_eof(&mut self) -> Option<()> {
        if self.peek().is_none() {
            return Some(());
        }
        self.line_ending()
    }

    /// An ASCII identifier; None before anything else, including a non-ASCII letter
    /// that would continue it.
    fn ident(&mut self) -> Option<&'a str> {
        let start = self.i;
        match self.peek()? {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.i += 1,
            _ => return None,
        }
        while let Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-') = self.peek() {
            self.i += 1;
        }
        if self.peek().is_some_and(|c| c >= 0x80) {
            return None;
        }
        Some(&self.t[start..self.i])
    }

    fn at_ident_start(&self) -> bool {
        matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
    }

    /// A block after its type: labels, then the body.
    fn block_rest(&mut self) -> Option<(Vec<String>, Body)> {
        let mut labels = Vec::new();
        loop {
            self.sp()?;
            match self.peek()? {
                b'{' => break,
                b'"' => labels.push(self.string(None)?),
                _ => labels.push(self.ident()?.to_string()),
            }
        }
        Some((labels, self.block_body()?))
    }

    /// `{ … }`: multi-line, empty on one line, or one attribute on one line.
    fn block_body(&mut self) -> Option<Body> {
        self.i += 1; // `{`
        self.sp()?;
        let mut body = Body::default();
        match self.peek()? {
            b'}' => {
                self.i += 1;
                return Some(body);
            }
            b'#' => self.line_comment()?,
            b'/' if self.peek_at(1) == Some(b'/') => self.line_comment()?,
            _ if self.at_ident_start() => {
                self.structure(&mut body, true)?;
                self.sp()?;
                return (self.peek()? == b'}').then(|| {
                    self.i += 1;
                    body
                });
            }
            _ => {}
        }
        self.line_ending()?;
        loop {
            self.ws()?;
            if self.peek()? == b'}' {
                self.i += 1;
                return Some(body);
            }
            self.structure(&mut body, false)?;
            self.end_of_structure()?;
        }
    }

    /// One attribute or block, added to `body`. `one_line`: the only content of a
    /// one-line block, which can only be an attribute.
    fn structure(&mut self, body: &mut Body, one_line: bool) -> Option<()> {
        let key_at = self.i;
        let ident = self.ident()?;
        self.sp()?;
        if self.peek()? == b'=' {
            if self.peek_at(1) == Some(b'=') || body.attrs.iter().any(|a| a.key == ident) {
                return None;
            }
            self.i += 1;
            self.sp()?;
            let value_at = self.i;
            let value = self.value(Ctx::Attr)?;
            body.attrs.push(Attr {
                key: ident.to_string(),
                key_at,
                value,
                value_at,
            });
            return Some(());
        }
        if one_line || ident == "dynamic" {
            return None;
        }
        let (labels, inner) = self.block_rest()?;
        body.blocks.push(Block {
            ident: ident.to_string(),
            labels,
            at: key_at,
            body: inner,
        });
        Some(())
    }

    fn value(&mut self, ctx: Ctx) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string(Some(ctx)).map(Value::String),
            b'[' => self.list(),
            b'{' => self.map(),
            b'0'..=b'9' => self.number().map(Value::Number),
            b'-' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                self.i += 1;
                self.number().map(|n| Value::Number(-n))
            }
            _ => match self.ident()? {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                "null" => Some(Value::Null),
                _ => None,
            },
        }
    }

    /// A whole number that fits in a u64 (the parser reads bigger ones as floats).
    fn number(&mut self) -> Option<Number> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.t[start..self.i].parse::<u64>().ok().map(Number::from)
    }

    /// `[a, b, …]`, over lines, with an optional trailing comma.
    fn list(&mut self) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws()?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Value::Array(items));
        }
        loop {
            items.push(self.value(Ctx::Nested)?);
            self.ws()?;
            match self.peek()? {
                b']' => {
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                b',' => {
                    self.i += 1;
                    self.ws()?;
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Some(Value::Array(items));
                    }
                }
                _ => return None,
            }
        }
    }

    /// `{ name = value, … }`: items end with a comma, a line ending (after an optional
    /// comment) or the closing brace.
    fn map(&mut self) -> Option<Value> {
        self.i += 1;
        let mut out = hcl::Map::new();
        loop {
            self.ws()?;
            if self.peek()? == b'}' {
                self.i += 1;
                return Some(Value::Object(out));
            }
            let key = self.ident()?;
            // `for` opens a for expression; the keywords are values, not names.
            if matches!(key, "for" | "true" | "false" | "null") || out.contains_key(key) {
                return None;
            }
            self.sp()?;
            if self.peek()? != b'=' || self.peek_at(1) == Some(b'=') {
                return None;
            }
            self.i += 1;
            self.sp()?;
            let value = self.value(Ctx::Nested)?;
            out.insert(key.to_string(), value);
            self.sp()?;
            match self.peek()? {
                b'}' => {
                    self.i += 1;
                    return Some(Value::Object(out));
                }
                b',' => self.i += 1,
                b'#' => {
                    self.line_comment()?;
                    self.line_ending()?;
                }
                b'/' if self.peek_at(1) == Some(b'/') => {
                    self.line_comment()?;
                    self.line_ending()?;
                }
                _ => self.line_ending()?,
            }
        }
    }

    /// A quoted string, unescaped. `ctx`: where a value stands (None for a block
    /// label, which is never a template).
    fn string(&mut self, ctx: Option<Ctx>) -> Option<String> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        let mut template = false;
        loop {
            let run = self.i;
            while let Some(c) = self.peek() {
                if matches!(c, b'"' | b'\\' | b'$' | b'%' | b'\n' | b'\r') {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.t[run..self.i]);
            match (self.peek()?, self.peek_at(1)) {
                (b'"', _) => {
                    self.i += 1;
                    break;
                }
                (b'\\', Some(c)) => {
                    out.push(match c {
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'\\' => '\\',
                        b'"' => '"',
                        _ => return None,
                    });
                    self.i += 2;
                }
                (b'$', Some(b'{')) if ctx == Some(Ctx::Attr) => {
                    self.i += 2;
                    self.reference(&mut out)?;
                    template = true;
                }
                // Escaped or other template markers, raw line breaks.
                (b'$' | b'%', Some(b'{' | b'$' | b'%')) | (b'\n' | b'\r' | b'\\', _) => {
                    return None;
                }
                (c, _) => {
                    out.push(char::from(c));
                    self.i += 1;
                }
            }
        }
        // The evaluator takes another path for text that may call `try`, `can` or
        // `convert` (see `Evaluator::expr`).
        if template {
            let text = &self.t[open..self.i];
            if text.contains("try") || text.contains("can") || text.contains("convert") {
                return None;
            }
        }
        Some(out)
    }

    /// After `${`: a run-time reference `name(.name)*}`, kept as its literal text (what
    /// `refs` makes of a name the job does not define).
    fn reference(&mut self, out: &mut String) -> Option<()> {
        let root = self.ident()?;
        if matches!(root, "var" | "local" | "true" | "false" | "null" | "for") {
            return None;
        }
        out.push_str("${");
        out.push_str(root);
        loop {
            match self.peek()? {
                b'.' => {
                    self.i += 1;
                    let name = self.ident()?;
                    out.push('.');
                    out.push_str(name);
                }
                b'}' => {
                    self.i += 1;
                    out.push('}');
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Differential tests: whatever [`job`] accepts, the full path must read to the same
    //! block (values, labels and every offset) without a single error.

    use std::path::Path;
    use std::time::{Duration, Instant};

    use drover_hcl::Source;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::VarInputs;

    /// Checks one text; returns whether the fast path accepted it.
    fn same_as_full(text: &str) -> bool {
        let Some(fast) = job(text) else {
            return false;
        };
        let src = Source::new("t.hcl", text);
        match super::super::evaluate_full(&src, &VarInputs::default(), true) {
            Ok((full, diags)) => {
                assert!(
                    diags.is_empty(),
                    "fast path accepted a file with errors:\n{text}\n{diags}"
                );
                assert_eq!(fast, full, "fast and full paths differ on:\n{text}");
            }
            Err(d) => panic!("fast path accepted a file the full path rejects:\n{text}\n{d}"),
        }
        true
    }

    fn corpus() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = ["full.hcl", "batch.hcl", "dispatch.hcl", "hcl2.hcl"]
            .iter()
            .map(|n| root.join("tests/fixtures").join(n))
            .collect();
        files.push(root.join("tests/fixtures/funcs/fn.nomad.hcl"));
        for n in ["job-bvc.hcl", "job-tetris.hcl"] {
            files.push(root.join("../../tests/fixtures/seed").join(n));
        }
        let mut out: Vec<String> = files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}")))
            .collect();
        out.extend(CASES.iter().map(|s| s.to_string()));
        out
    }

    /// Corners of the subset, each accepted by the fast path.
    const CASES: &[&str] = &[
        "job \"a\" {}",
        "job \"a\" { }\n",
        "job a {\n}\n",
        "# lead\n// lead\n\njob \"a\" { # c\n  x = 1 // c\n  y = -2 # c\n}\n# tail",
        "job \"a\" {\r\n  x = \"a\\\"b\\\\c\\n\\t\\r\"\r\n  port \"http\" {}\r\n}\r\n",
        "job \"a\" {\n  port \"http\" { static = 8080 }\n  b { x = [1, -2] }\n}",
        "job \"a\" {\n  x = [\n    \"a\", # c\n    // c\n    [true, false, null],\n    {},\n    [],\n  ]\n}\n",
        "job \"a\" {\n  m = {\n    a = 1, b = \"x\"\n    c = [1,2] # c\n    d = { e = {} } // c\n  }\n  n = { a = 1 }\n}\n",
        "job \"a\" {\n  x = \"${attr.kernel.name}\"\n  y = \"pre-${NOMAD_ALLOC_ID}/${node.unique.name}-post\"\n  z = \"$ % 100% $x {}\"\n}\n",
        "job \"a\" {\n  a = 18446744073709551615\n  b = 007\n  c = -0\n  d = \"é ü ✓\"\n  x-y_z = \"\"\n}\n",
        "job \"a\" {\n  group \"g\" {\n    task \"t\" {\n      config {\n        args = [\"-g\", \"daemon off;\"]\n      }\n    }\n  }\n}",
        "job \"a\" {\n}\n\n\n",
        "job \"\\\"q\\\"\" {\n}\n",
        "job \"a\" {\n  dynamic = 1\n  for = 2\n  x = \"a\"\n}\n",
    ];

    #[test]
    fn the_corpus_reads_as_the_full_path_reads_it() {
        let corpus = corpus();
        for text in &corpus {
            same_as_full(text);
        }
        assert!(same_as_full(&corpus[0]), "full.hcl must take the fast path");
        for case in CASES {
            assert!(same_as_full(case), "not accepted:\n{case}");
        }
    }

    #[test]
    fn outside_the_subset_is_left_to_the_full_path() {
        for text in [
            "",
            "job \"a\" {}\njob \"b\" {}\n",
            "job \"a\" \"b\" {}\n",
            "variable \"v\" {}\njob \"a\" {}\n",
            "job \"a\" {\n  x = var.x\n}\n",
            "job \"a\" {\n  x = \"${var.x}\"\n}\n",
            "job \"a\" {\n  x = \"${local.x}\"\n}\n",
            "job \"a\" {\n  x = \"${attr.cpu.scan}\"\n}\n",
            "job \"a\" {\n  x = [\"${attr.x}\"]\n}\n",
            "job \"a\" {\n  x = \"${ attr.x }\"\n}\n",
            "job \"a\" {\n  x = \"$${attr.x}\"\n}\n",
            "job \"a\" {\n  x = \"%{if true}y%{endif}\"\n}\n",
            "job \"a\" {\n  x = \"\\u0041\"\n}\n",
            "job \"a\" {\n  x = 1.5\n}\n",
            "job \"a\" {\n  x = 1e3\n}\n",
            "job \"a\" {\n  x = 1 + 2\n}\n",
            "job \"a\" {\n  x = 1\n  x = 2\n}\n",
            "job \"a\" {\n  x = { a = 1, a = 2 }\n}\n",
            "job \"a\" {\n  x = { \"a\" = 1 }\n}\n",
            "job \"a\" {\n  x = { a: 1 }\n}\n",
            "job \"a\" {\n  x = <<EOT\nhi\nEOT\n}\n",
            "job \"a\" {\n  /* c */ x = 1\n}\n",
            "job \"a\" {\n  dynamic \"d\" {\n  }\n}\n",
            "job \"a\" {\n  x = 1 }\n",
            "job \"a\" { x {} }\n",
            "job \"a\" {\n  x = 1\n",
            "job \"a\" {\n  x = \"a\nb\"\n}\n",
            "job \"a\" {\n  x = 18446744073709551616\n}\n",
            "job \"a\" {\n  ünï = 1\n}\n",
            "job \"a\" {\n  x = - 1\n}\n",
            "job \"a\" {\n  x = [for v in [1]: v]\n}\n",
        ] {
            assert!(job(text).is_none(), "accepted:\n{text}");
        }
    }

    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "\"",
        "${",
        "$${",
        "%{",
        "=",
        "==",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\t",
        ",",
        ":",
        "-",
        "-1",
        "0",
        "1.5",
        "1e3",
        "99999999999999999999",
        "true",
        "null",
        "#",
        "//",
        "/*",
        "*/",
        "\\",
        "\\n",
        "\\u0041",
        "é",
        "x",
        "a.b",
        "${a.b}",
        "${var.x}",
        "try",
        "job \"j\" {\n",
        "b {}\n",
        "k = 1\n",
        "port \"p\" {}",
        "dynamic \"d\" {",
        "for ",
        ".",
    ];

    fn mutate(rng: &mut StdRng, text: &str) -> String {
        let mut s: Vec<char> = text.chars().collect();
        for _ in 0..rng.random_range(1..3) {
            if s.is_empty() {
                break;
            }
            let a = rng.random_range(0..s.len());
            match rng.random_range(0..3) {
                0 => {
                    let b = (a + rng.random_range(1..6)).min(s.len());
                    s.drain(a..b);
                }
                1 => {
                    let t = TOKENS[rng.random_range(0..TOKENS.len())];
                    s.splice(a..a, t.chars());
                }
                _ => {
                    let b = (a + rng.random_range(1..40)).min(s.len());
                    let chunk: Vec<char> = s[a..b].to_vec();
                    let at = rng.random_range(0..s.len());
                    s.splice(at..at, chunk);
                }
            }
        }
        s.into_iter().collect()
    }

    #[test]
    fn mutations_read_as_the_full_path_reads_them() {
        let corpus = corpus();
        let mut rng = StdRng::seed_from_u64(0xfa57_0b0d);
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut cases, mut accepted) = (0, 0);
        while cases < 20_000 && Instant::now() < deadline {
            let text = mutate(&mut rng, &corpus[cases % corpus.len()]);
            accepted += usize::from(same_as_full(&text));
            cases += 1;
        }
        eprintln!("{accepted} of {cases} mutations took the fast path");
        assert!(cases >= 1000, "only {cases} cases ran in the time budget");
        assert!(
            accepted >= cases / 10,
            "the fast path accepted only {accepted} of {cases} mutations"
        );
    }
}
