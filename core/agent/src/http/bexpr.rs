//! `?filter=`: go-bexpr boolean expressions (Nomad's list filters), parsed once and
//! evaluated on each list item's JSON, so every list endpoint filters the fields it
//! answers with, by the names it answers with.
//!
//! Grammar (go-bexpr's, a PEG; `_` is required whitespace):
//!
//! ```text
//! Or    <- And (_ "or" _ And)*            And <- Not (_ "and" _ Not)*
//! Not   <- "not" _ Not / "(" _? Or _? ")" / Match
//! Match <- Selector _? ("==" / "!=") _? Value
//!        / Selector _? ("<=" / ">=" / "<" / ">") _? Number
//!        / Selector _ ("contains" / "not" _ "contains" / "matches" / "not" _ "matches") _ Value
//!        / Selector _ "is" _ ("empty" / "not" _ "empty")
//!        / Value _ ("in" / "not" _ "in") _ Selector
//! Selector <- Ident ("." (Ident / [0-9]+) / "[" _? String _? "]")*
//! Value    <- Selector (as its text) / Number / String ("…" with escapes, or `…`)
//! ```
//!
//! Beyond go-bexpr: the numeric comparisons `<`, `<=`, `>`, `>=`, and `-` inside
//! identifiers (task group names such as `JobSummary.Summary.web-api.Running`).
//!
//! Values are text, read as the type of the field they meet (Go's `ParseBool` for
//! booleans, numbers for numbers), as go-bexpr coerces them. A selector that finds
//! nothing (missing key, `null`) fails every positive test (`==`, `contains`, `in`,
//! `matches`, orderings) and passes its negation and `is empty`; it is never an error.
//!
//! Parse errors name the farthest position the parser reached and what it expected
//! there, in go-bexpr's (pigeon's) shape: `1:8 (7): no match found, expected: …`.

use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// Deepest nesting of parentheses and `not` accepted (keeps parsing and evaluation
/// recursion bounded on any input).
pub const MAX_DEPTH: usize = 64;

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
}

/// A malformed expression, with the position it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 0-based byte offset.
    pub offset: usize,
    /// What went wrong there.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} ({}): {}",
            self.line, self.column, self.offset, self.message
        )
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Match {
        selector: Vec<String>,
        op: Op,
        negate: bool,
    },
}

#[derive(Debug, Clone)]
enum Op {
    Equal(String),
    Contains(String),
    Matches(Regex),
    Empty,
    Order(Order, f64),
}

#[derive(Debug, Clone, Copy)]
enum Order {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl Filter {
    /// Parses `src`.
    pub fn parse(src: &str) -> Result<Filter, ParseError> {
        Parser::new(src).input().map(|expr| Filter { expr })
    }

    /// Whether `doc` passes the filter.
    pub fn matches(&self, doc: &Value) -> bool {
        eval(&self.expr, doc)
    }
}

fn eval(e: &Expr, doc: &Value) -> bool {
    match e {
        Expr::And(items) => items.iter().all(|e| eval(e, doc)),
        Expr::Or(items) => items.iter().any(|e| eval(e, doc)),
        Expr::Not(e) => !eval(e, doc),
        Expr::Match {
            selector,
            op,
            negate,
        } => {
            let found = lookup(doc, selector).filter(|v| !v.is_null());
            let positive = match (op, found) {
                (Op::Empty, v) => v.is_none_or(is_empty),
                (_, None) => false,
                (Op::Equal(lit), Some(v)) => equal(v, lit),
                (Op::Contains(lit), Some(v)) => contains(v, lit),
                (Op::Matches(re), Some(v)) => v.as_str().is_some_and(|s| re.is_match(s)),
                (Op::Order(o, n), Some(v)) => v.as_f64().is_some_and(|x| match o {
                    Order::Less => x < *n,
                    Order::LessEqual => x <= *n,
                    Order::Greater => x > *n,
                    Order::GreaterEqual => x >= *n,
                }),
            };
            positive != *negate
        }
    }
}

/// Walks object keys, and array indices given as numbers.
fn lookup<'a>(doc: &'a Value, selector: &[String]) -> Option<&'a Value> {
    selector.iter().try_fold(doc, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

/// `lit` read as the type of `v`.
fn equal(v: &Value, lit: &str) -> bool {
    match v {
        Value::String(s) => s == lit,
        Value::Bool(b) => drover_types::parse_bool(lit) == Some(*b),
        Value::Number(n) => {
            if let (Some(a), Ok(b)) = (n.as_i64(), lit.parse::<i64>()) {
                a == b
            } else if let (Some(a), Ok(b)) = (n.as_u64(), lit.parse::<u64>()) {
                a == b
            } else {
                matches!((n.as_f64(), lit.parse::<f64>()), (Some(a), Ok(b)) if a == b)
            }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

/// Substring of a string, element of a list, key of a map.
fn contains(v: &Value, lit: &str) -> bool {
    match v {
        Value::String(s) => s.contains(lit),
        Value::Array(items) => items.iter().any(|e| equal(e, lit)),
        Value::Object(m) => m.contains_key(lit),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A backtracking recursive-descent parser that remembers the farthest position any
/// alternative failed at, and what each wanted there (a PEG parser's error report).
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    far: usize,
    expected: BTreeSet<&'static str>,
    depth: usize,
    /// An error that no alternative can recover from (bad regex, too deep).
    fatal: Option<(usize, String)>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            far: 0,
            expected: BTreeSet::new(),
            depth: 0,
            fatal: None,
        }
    }

    fn input(mut self) -> Result<Expr, ParseError> {
        self.ws0();
        let expr = self.or_expr();
        if let Some((at, msg)) = self.fatal.take() {
            return Err(self.error_at(at, msg));
        }
        if let Some(e) = expr {
            self.ws0();
            if self.pos == self.src.len() {
                return Ok(e);
            }
            self.fail("end of input");
        }
        let expected: Vec<&str> = self.expected.iter().copied().collect();
        let list = match expected.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "a filter expression".to_string(),
        };
        Err(self.error_at(self.far, format!("no match found, expected: {list}")))
    }

    fn error_at(&self, offset: usize, message: String) -> ParseError {
        let before = &self.src[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ParseError {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
            message,
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Records that `what` was wanted at the current position.
    fn fail(&mut self, what: &'static str) {
        if self.pos > self.far {
            self.far = self.pos;
            self.expected.clear();
        }
        if self.pos == self.far {
            self.expected.insert(what);
        }
    }

    fn lit(&mut self, s: &'static str, shown: &'static str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            self.fail(shown);
            false
        }
    }

    fn ws0(&mut self) {
        let n = self.rest().len()
            - self
                .rest()
                .trim_start_matches([' ', '\t', '\r', '\n'])
                .len();
        self.pos += n;
    }

    fn ws1(&mut self) -> bool {
        let start = self.pos;
        self.ws0();
        if self.pos == start {
            self.fail("whitespace");
            return false;
        }
        true
    }

    /// Counts one level of nesting; false (and a fatal error) beyond [`MAX_DEPTH`].
    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.fatal.get_or_insert((
                self.pos,
                format!("expression nested more than {MAX_DEPTH} levels deep"),
            ));
            return false;
        }
        true
    }

    /// `first (_ kw _ first)*`, flattened.
    fn chain(
        &mut self,
        kw: &'static str,
        shown: &'static str,
        next: fn(&mut Self) -> Option<Expr>,
        join: fn(Vec<Expr>) -> Expr,
    ) -> Option<Expr> {
        let mut items = vec![next(self)?];
        loop {
            let save = self.pos;
            if self.ws1()
                && self.lit(kw, shown)
                && self.ws1()
                && let Some(e) = next(self)
            {
                items.push(e);
                continue;
            }
            if self.fatal.is_some() {
                return None;
            }
            self.pos = save;
            break;
        }
        Some(if items.len() == 1 {
            items.pop()?
        } else {
            join(items)
        })
    }

    fn or_expr(&mut self) -> Option<Expr> {
        self.chain("or", "\"or\"", Self::and_expr, Expr::Or)
    }

    fn and_expr(&mut self) -> Option<Expr> {
        self.chain("and", "\"and\"", Self::not_expr, Expr::And)
    }

    fn not_expr(&mut self) -> Option<Expr> {
        let start = self.pos;
        if self.lit("not", "\"not\"") && self.ws1() {
            if !self.enter() {
                return None;
            }
            let inner = self.not_expr();
            self.depth -= 1;
            if let Some(e) = inner {
                return Some(Expr::Not(Box::new(e)));
            }
        }
        if self.fatal.is_some() {
            return None;
        }
        self.pos = start;
        if self.lit("(", "\"(\"") {
            if !self.enter() {
                return None;
            }
            self.ws0();
            let inner = self.or_expr();
            self.depth -= 1;
            if let Some(e) = inner {
                self.ws0();
                if self.lit(")", "\")\"") {
                    return Some(e);
                }
            }
        }
        if self.fatal.is_some() {
            return None;
        }
        self.pos = start;
        self.match_expr()
    }

    fn match_expr(&mut self) -> Option<Expr> {
        let start = self.pos;
        if let Some(selector) = self.selector() {
            let after = self.pos;
            if let Some((op, negate)) = self.selector_op() {
                return Some(Expr::Match {
                    selector,
                    op,
                    negate,
                });
            }
            if self.fatal.is_some() {
                return None;
            }
            self.pos = after;
        }
        self.pos = start;
        if let Some(value) = self.value() {
            let after = self.pos;
            for negate in [false, true] {
                self.pos = after;
                let op_ok = self.ws1()
                    && (!negate || (self.lit("not", "\"not\"") && self.ws1()))
                    && self.lit("in", "\"in\"")
                    && self.ws1();
                if op_ok && let Some(selector) = self.selector() {
                    return Some(Expr::Match {
                        selector,
                        op: Op::Contains(value),
                        negate,
                    });
                }
            }
        }
        self.pos = start;
        None
    }

    /// What follows a selector: an operator and its value, or `is [not] empty`.
    fn selector_op(&mut self) -> Option<(Op, bool)> {
        let after = self.pos;
        for (tok, shown, negate) in [("==", "\"==\"", false), ("!=", "\"!=\"", true)] {
            self.pos = after;
            self.ws0();
            if self.lit(tok, shown) {
                self.ws0();
                if let Some(v) = self.value() {
                    return Some((Op::Equal(v), negate));
                }
            }
        }
        let orders = [
            ("<=", "\"<=\"", Order::LessEqual),
            (">=", "\">=\"", Order::GreaterEqual),
            ("<", "\"<\"", Order::Less),
            (">", "\">\"", Order::Greater),
        ];
        for (tok, shown, order) in orders {
            self.pos = after;
            self.ws0();
            if self.lit(tok, shown) {
                self.ws0();
                if let Some(n) = self.number() {
                    // The grammar only accepts number literals, which always parse.
                    let n = n.parse::<f64>().unwrap_or(f64::NAN);
                    return Some((Op::Order(order, n), false));
                }
            }
        }
        let words: [(&str, &str, bool); 4] = [
            ("contains", "\"contains\"", false),
            ("contains", "\"contains\"", true),
            ("matches", "\"matches\"", false),
            ("matches", "\"matches\"", true),
        ];
        for (word, shown, negate) in words {
            self.pos = after;
            let op_ok = self.ws1()
                && (!negate || (self.lit("not", "\"not\"") && self.ws1()))
                && self.lit(word, shown)
                && self.ws1();
            if !op_ok {
                continue;
            }
            let value_at = self.pos;
            let Some(v) = self.value() else { continue };
            if word == "contains" {
                return Some((Op::Contains(v), negate));
            }
            return match Regex::new(&v) {
                Ok(re) => Some((Op::Matches(re), negate)),
                Err(e) => {
                    // regex's syntax errors draw the pattern over several lines; the
                    // last one says what is wrong.
                    let e = e.to_string();
                    let why = e.lines().last().unwrap_or("").trim_start_matches("error: ");
                    self.fatal = Some((value_at, format!("invalid regular expression: {why}")));
                    None
                }
            };
        }
        for negate in [false, true] {
            self.pos = after;
            if self.ws1()
                && self.lit("is", "\"is\"")
                && self.ws1()
                && (!negate || (self.lit("not", "\"not\"") && self.ws1()))
                && self.lit("empty", "\"empty\"")
            {
                return Some((Op::Empty, negate));
            }
        }
        None
    }

    fn ident(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        if !rest.bytes().next().is_some_and(is_ident_start) {
            self.fail("identifier");
            return None;
        }
        let len = rest.bytes().take_while(|c| is_ident_char(*c)).count();
        self.pos += len;
        Some(&rest[..len])
    }

    fn selector(&mut self) -> Option<Vec<String>> {
        let mut segs = vec![self.ident()?.to_string()];
        loop {
            let save = self.pos;
            if self.peek() == Some(b'.') {
                self.pos += 1;
                let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    segs.push(self.rest()[..digits].to_string());
                    self.pos += digits;
                    continue;
                }
                if let Some(id) = self.ident() {
                    segs.push(id.to_string());
                    continue;
                }
            } else if self.peek() == Some(b'[') {
                self.pos += 1;
                self.ws0();
                if let Some(key) = self.string() {
                    self.ws0();
                    if self.lit("]", "\"]\"") {
                        segs.push(key);
                        continue;
                    }
                }
            }
            self.pos = save;
            return Some(segs);
        }
    }

    fn value(&mut self) -> Option<String> {
        let start = self.pos;
        if let Some(sel) = self.selector() {
            return Some(sel.join("."));
        }
        self.pos = start;
        if let Some(n) = self.number() {
            return Some(n.to_string());
        }
        self.pos = start;
        self.string()
    }

    /// `-? (0 / [1-9][0-9]*) (. [0-9]+)?`
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let b = self.src.as_bytes();
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(c) if c.is_ascii_digit() => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => {
                self.pos = i;
                self.fail("number");
                self.pos = start;
                return None;
            }
        }
        if b.get(i) == Some(&b'.') {
            if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                self.pos = i + 1;
                self.fail("digit");
                self.pos = start;
                return None;
            }
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.pos = i;
        Some(&self.src[start..i])
    }

    /// `"…"` (with `\" \\ \n \r \t \/ \uXXXX`) or `` `…` `` (raw).
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        match self.peek() {
            Some(b'`') => {
                let body = &self.rest()[1..];
                match body.find('`') {
                    Some(end) => {
                        self.pos += end + 2;
                        Some(body[..end].to_string())
                    }
                    None => {
                        self.pos = self.src.len();
                        self.fail("\"`\"");
                        self.pos = start;
                        None
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    let Some(c) = self.rest().chars().next() else {
                        self.fail("\"\\\"\"");
                        break;
                    };
                    match c {
                        '"' => {
                            self.pos += 1;
                            return Some(out);
                        }
                        '\n' => {
                            self.fail("\"\\\"\"");
                            break;
                        }
                        '\\' => {
                            self.pos += 1;
                            match self.escape() {
                                Some(e) => out.push(e),
                                None => break,
                            }
                        }
                        c => {
                            out.push(c);
                            self.pos += c.len_utf8();
                        }
                    }
                }
                self.pos = start;
                None
            }
            _ => {
                self.fail("string");
                None
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hex = self
                    .rest()
                    .get(1..5)
                    .filter(|h| h.len() == 4 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                let c = hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32);
                let Some(c) = c else {
                    self.fail("four hex digits");
                    return None;
                };
                self.pos += 5;
                return Some(c);
            }
            _ => {
                self.fail("escape sequence");
                return None;
            }
        };
        self.pos += 1;
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "ID": "web",
            "Namespace": "default",
            "Status": "running",
            "Type": "service",
            "Priority": 50,
            "Stop": false,
            "Periodic": true,
            "Datacenters": ["dc1", "dc2"],
            "Meta": {"team": "core", "owner-email": "ops@example.com"},
            "EmptyMeta": {},
            "NoList": [],
            "Nothing": null,
            "Name": "",
            "Ratio": 0.75,
            "Big": 18446744073709551615u64,
            "Neg": -3,
            "JobSummary": {"Summary": {"web": {"Running": 2, "Failed": 0},
                                        "web-api": {"Running": 1}}},
            "TaskGroups": [{"Name": "a"}, {"Name": "b"}],
        })
    }

    #[test]
    fn table() {
        let d = doc();
        let cases: &[(&str, bool)] = &[
            (r#"Status == "running""#, true),
            (r#"Status=="running""#, true),
            ("Status == running", true),
            ("Status == `running`", true),
            (r#"Status != "running""#, false),
            (r#"Status == "dead""#, false),
            (r#"Meta.team == "core""#, true),
            (r#"Meta["owner-email"] == "ops@example.com""#, true),
            (r#"Meta[ "team" ] == core"#, true),
            (r#"Meta.missing == "x""#, false),
            (r#"Meta.missing != "x""#, true),
            (r#"Missing.deeper.still == "x""#, false),
            ("Meta.missing is empty", true),
            ("Nothing is empty", true),
            ("Nothing == null", false),
            ("Priority == 50", true),
            ("Priority == 50.0", true),
            ("Priority != 50", false),
            ("Priority > 49", true),
            ("Priority >= 50", true),
            ("Priority < 50", false),
            ("Priority <= 50", true),
            ("Priority<51", true),
            ("Neg < -2", true),
            ("Ratio > 0.5", true),
            ("Status > 1", false),
            ("Meta.missing < 1", false),
            ("Big == 18446744073709551615", true),
            ("Stop == false", true),
            ("Stop == true", false),
            ("Periodic == true", true),
            ("Periodic == T", true),
            ("Periodic == yes", false),
            (r#"Status contains "unn""#, true),
            (r#"Status not contains "unn""#, false),
            (r#"Datacenters contains "dc2""#, true),
            (r#"Datacenters contains "dc""#, false),
            (r#""dc1" in Datacenters"#, true),
            (r#""dc9" in Datacenters"#, false),
            (r#""dc9" not in Datacenters"#, true),
            ("dc1 in Datacenters", true),
            (r#""team" in Meta"#, true),
            (r#"Meta contains "owner-email""#, true),
            (r#""x" in Meta.missing"#, false),
            (r#""x" not in Meta.missing"#, true),
            (r#"Status matches "^run""#, true),
            (r#"Status matches `ing$`"#, true),
            (r#"Status not matches "^dead""#, true),
            (r#"Priority matches "5""#, false),
            ("Name is empty", true),
            ("Name is not empty", false),
            ("Datacenters is empty", false),
            ("Datacenters is not empty", true),
            ("NoList is empty", true),
            ("EmptyMeta is empty", true),
            ("Priority is empty", false),
            ("JobSummary.Summary.web.Running == 2", true),
            ("JobSummary.Summary.web-api.Running >= 1", true),
            (r#"TaskGroups.1.Name == "b""#, true),
            (r#"TaskGroups.2.Name == "b""#, false),
            (r#"Status == "running" and Type == "service""#, true),
            (r#"Status == "running" and Type == "batch""#, false),
            (r#"Status == "dead" or Type == "service""#, true),
            (r#"not Status == "dead""#, true),
            (r#"not (Status == "dead" or Type == "service")"#, false),
            (
                r#"(Status == "dead" or Type == "service") and Priority > 10"#,
                true,
            ),
            (
                r#"Status == "dead" or Type == "service" and Priority > 99"#,
                false,
            ),
            (r#"  ( Priority == 50 )  "#, true),
            (r#"not not Priority == 50"#, true),
            (r#"notes is empty"#, true),
            (r#"Status == "r\u0075nning""#, true),
            ("Status ==\n\"running\"", true),
        ];
        for (src, want) in cases {
            let f = Filter::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(f.matches(&d), *want, "{src}");
        }
        // A filter applied to something that is not an object finds nothing.
        let f = Filter::parse("A is empty and not (A == 1)").unwrap();
        assert!(f.matches(&json!("scalar")));
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let cases: &[(&str, &str)] = &[
            (
                "Status ==",
                "1:10 (9): no match found, expected: identifier, number or string",
            ),
            (
                "Status = 1",
                r#"1:8 (7): no match found, expected: "!=", "<", "<=", "==", ">", ">=", "contains", "in", "is", "matches" or "not""#,
            ),
            (
                "",
                r#"1:1 (0): no match found, expected: "(", "not", identifier, number or string"#,
            ),
            (
                "(Status == 1",
                r#"1:13 (12): no match found, expected: ")" or whitespace"#,
            ),
            (
                "Priority > abc",
                "1:12 (11): no match found, expected: number",
            ),
            (
                "a == 1 or",
                "1:10 (9): no match found, expected: whitespace",
            ),
            (
                "a == \"open",
                r#"1:11 (10): no match found, expected: "\"""#,
            ),
            (
                "a == \"bad \\q\"",
                "1:12 (11): no match found, expected: escape sequence",
            ),
            (
                "a == 1\nand b",
                r#"2:6 (12): no match found, expected: "!=", "<", "<=", "==", ">", ">=" or whitespace"#,
            ),
            (
                "é == 1",
                r#"1:1 (0): no match found, expected: "(", "not", identifier, number or string"#,
            ),
            (
                "a == 1 éx",
                r#"1:8 (7): no match found, expected: "and", "or" or end of input"#,
            ),
            (
                "a matches \"(\"",
                "1:11 (10): invalid regular expression: unclosed group",
            ),
        ];
        for (src, want) in cases {
            let e = Filter::parse(src).expect_err(src).to_string();
            assert_eq!(&e, want, "{src:?}");
        }
        let deep = format!("{}a == 1{}", "(".repeat(100), ")".repeat(100));
        let e = Filter::parse(&deep).unwrap_err();
        assert!(e.message.contains("nested more than 64"), "{e}");
        assert!(Filter::parse(&"not ".repeat(100)).is_err());
        let ok = format!("{}a == 1{}", "(".repeat(60), ")".repeat(60));
        assert!(Filter::parse(&ok).unwrap().matches(&json!({"a": 1})));
        let long = vec!["a == 1"; 5000].join(" or ");
        assert!(Filter::parse(&long).unwrap().matches(&json!({"a": 1})));
    }

    /// Random token soup and random characters: parsing never panics, errors point
    /// inside the input, and whatever parses evaluates.
    #[test]
    fn never_panics_on_random_input() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        const TOKENS: &[&str] = &[
            "a",
            "Meta",
            ".",
            "team",
            "[",
            "]",
            "\"x\"",
            "`y`",
            "\"",
            "`",
            "\\",
            "==",
            "!=",
            "<",
            ">=",
            "(",
            ")",
            " ",
            "\n",
            "and",
            "or",
            "not",
            "in",
            "contains",
            "matches",
            "is",
            "empty",
            "1",
            "-2.5",
            "0.",
            "é",
            "\u{0}",
            "\"\\u00e9\"",
            "\"[\"",
            "\\u12",
        ];
        const ATOMS: &[&str] = &[
            "Status == \"running\"",
            "Priority > 10",
            "\"dc1\" in Datacenters",
            "Meta.team not contains `x`",
            "Name is not empty",
            "Status matches \"^r.*\"",
            "JobSummary.Summary.web.Running <= 2",
        ];
        let mut rng = StdRng::seed_from_u64(0xb3e7);
        let d = doc();
        let mut parsed = 0;
        for _ in 0..20_000 {
            let n = rng.random_range(0..12);
            let src: String = match rng.random_range(0..3) {
                0 => (0..n)
                    .map(|_| TOKENS[rng.random_range(0..TOKENS.len())])
                    .collect::<Vec<_>>()
                    .join(if rng.random_bool(0.5) { " " } else { "" }),
                1 => (0..n * 3).map(|_| rng.random::<char>()).collect(),
                // Valid expressions, some with one character dropped.
                _ => {
                    let mut e = ATOMS[rng.random_range(0..ATOMS.len())].to_string();
                    for _ in 0..n % 4 {
                        let atom = ATOMS[rng.random_range(0..ATOMS.len())];
                        let join = ["and", "or"][rng.random_range(0..2)];
                        e = if rng.random_bool(0.3) {
                            format!("not ({e}) {join} {atom}")
                        } else {
                            format!("{e} {join} {atom}")
                        };
                    }
                    if rng.random_bool(0.5) {
                        let chars: Vec<char> = e.chars().collect();
                        let drop = rng.random_range(0..chars.len());
                        e = chars
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != drop)
                            .map(|(_, c)| c)
                            .collect();
                    }
                    e
                }
            };
            match Filter::parse(&src) {
                Ok(f) => {
                    parsed += 1;
                    let _ = f.matches(&d);
                }
                Err(e) => assert!(e.offset <= src.len(), "{src:?}: {e}"),
            }
        }
        assert!(
            parsed > 4000,
            "the generator should produce some valid filters"
        );
    }
}
