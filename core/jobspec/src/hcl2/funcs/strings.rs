//! String functions: case, trimming, splitting, formatting, regular expressions.

use hcl::Value;
use hcl::eval::{Context, FuncArgs, ParamType as P};

use super::{F, def, int, list, num, s};

pub(super) fn register(ctx: &mut Context) {
    let one: &[(&str, F)] = &[
        ("chomp", chomp),
        ("lower", |a| Ok(Value::from(s(&a[0]).to_lowercase()))),
        ("upper", |a| Ok(Value::from(s(&a[0]).to_uppercase()))),
        ("strlen", |a| {
            Ok(Value::from(s(&a[0]).chars().count() as u64))
        }),
        ("strrev", |a| {
            Ok(Value::from(s(&a[0]).chars().rev().collect::<String>()))
        }),
        ("reverse", |a| {
            Ok(Value::from(s(&a[0]).chars().rev().collect::<String>()))
        }),
        ("title", title),
        ("trimspace", |a| {
            Ok(Value::from(s(&a[0]).trim().to_string()))
        }),
    ];
    for (name, f) in one {
        def(ctx, name, &[P::String], None, *f);
    }
    def(ctx, "trim", &[P::String, P::String], None, |a| {
        let cut = s(&a[1]);
        Ok(Value::from(
            s(&a[0]).trim_matches(|c| cut.contains(c)).to_string(),
        ))
    });
    def(ctx, "trimprefix", &[P::String, P::String], None, |a| {
        let (x, p) = (s(&a[0]), s(&a[1]));
        Ok(Value::from(
            x.strip_prefix(p.as_str()).unwrap_or(&x).to_string(),
        ))
    });
    def(ctx, "trimsuffix", &[P::String, P::String], None, |a| {
        let (x, p) = (s(&a[0]), s(&a[1]));
        Ok(Value::from(
            x.strip_suffix(p.as_str()).unwrap_or(&x).to_string(),
        ))
    });
    def(ctx, "indent", &[P::Number, P::String], None, |a| {
        let pad = " ".repeat(int(&a[0])?.clamp(0, 1024) as usize);
        let text = s(&a[1]);
        Ok(Value::from(text.replace('\n', &format!("\n{pad}"))))
    });
    def(
        ctx,
        "join",
        &[P::String],
        Some(P::Array(Box::new(P::Any))),
        |a| {
            let sep = s(&a[0]);
            let mut parts = Vec::new();
            for l in a.variadic_args() {
                parts.extend(list(l)?.iter().map(s));
            }
            Ok(Value::from(parts.join(&sep)))
        },
    );
    def(ctx, "split", &[P::String, P::String], None, |a| {
        let (sep, x) = (s(&a[0]), s(&a[1]));
        Ok(Value::Array(
            x.split(sep.as_str()).map(Value::from).collect(),
        ))
    });
    def(
        ctx,
        "replace",
        &[P::String, P::String, P::String],
        None,
        replace,
    );
    def(
        ctx,
        "regex_replace",
        &[P::String, P::String, P::String],
        None,
        |a| {
            let re = regex::Regex::new(&s(&a[1])).map_err(|e| e.to_string())?;
            Ok(Value::from(
                re.replace_all(&s(&a[0]), s(&a[2]).as_str()).to_string(),
            ))
        },
    );
    def(
        ctx,
        "substr",
        &[P::String, P::Number, P::Number],
        None,
        substr,
    );
    def(ctx, "format", &[P::String], Some(P::Any), |a| {
        let args: Vec<Value> = a.variadic_args().cloned().collect();
        format(&s(&a[0]), &args).map(Value::from)
    });
    def(ctx, "formatlist", &[P::String], Some(P::Any), formatlist);
}

fn chomp(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::from(
        s(&a[0]).trim_end_matches(['\n', '\r']).to_string(),
    ))
}

fn title(a: FuncArgs) -> Result<Value, String> {
    let mut out = String::new();
    let mut start = true;
    for c in s(&a[0]).chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    Ok(Value::from(out))
}

/// `replace(str, search, rep)`: a search wrapped in slashes is a regular expression.
fn replace(a: FuncArgs) -> Result<Value, String> {
    let (x, search, rep) = (s(&a[0]), s(&a[1]), s(&a[2]));
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = regex::Regex::new(&search[1..search.len() - 1]).map_err(|e| e.to_string())?;
        return Ok(Value::from(re.replace_all(&x, rep.as_str()).to_string()));
    }
    Ok(Value::from(x.replace(&search, &rep)))
}

fn substr(a: FuncArgs) -> Result<Value, String> {
    let chars: Vec<char> = s(&a[0]).chars().collect();
    let n = chars.len() as i64;
    let mut off = int(&a[1])?;
    let len = int(&a[2])?;
    if off < 0 {
        off += n;
    }
    if off < 0 || off > n {
        return Err("offset out of range".to_string());
    }
    let end = if len < 0 { n } else { (off + len).min(n) };
    Ok(Value::from(
        chars[off as usize..end as usize].iter().collect::<String>(),
    ))
}

fn formatlist(a: FuncArgs) -> Result<Value, String> {
    let fmt = s(&a[0]);
    let args: Vec<&Value> = a.variadic_args().collect();
    let n = args
        .iter()
        .filter_map(|v| v.as_array().map(Vec::len))
        .max()
        .unwrap_or(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let row: Vec<Value> = args
            .iter()
            .map(|v| match v {
                Value::Array(l) => l.get(i).cloned().ok_or("lists must have the same length"),
                other => Ok((*other).clone()),
            })
            .collect::<Result<_, _>>()?;
        out.push(Value::from(format(&fmt, &row)?));
    }
    Ok(Value::Array(out))
}

/// Go-style `%s %d %v %q %f %t %%` with optional flags, width and precision.
pub(super) fn format(fmt: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = it.peek() {
            if d.is_ascii_digit() || matches!(d, '.' | '-' | '+' | '0' | ' ' | '#') {
                spec.push(d);
                it.next();
            } else {
                break;
            }
        }
        let Some(verb) = it.next() else {
            return Err("format string ends with %".to_string());
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| format!("not enough arguments for format {fmt:?}"))?;
        next += 1;
        let (left, zero) = (spec.contains('-'), spec.starts_with('0'));
        let (w, p): (usize, Option<usize>) = match spec
            .trim_start_matches(['-', '+', '0', ' ', '#'])
            .split_once('.')
        {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse::<usize>().ok()),
            None => (
                spec.trim_start_matches(['-', '+', '0', ' ', '#'])
                    .parse()
                    .unwrap_or(0),
                None,
            ),
        };
        let text = match verb {
            's' | 'v' => s(arg),
            'q' => format!("{:?}", s(arg)),
            'd' => format!("{}", int(arg)?),
            'f' | 'g' | 'e' => format!("{:.*}", p.unwrap_or(6), num(arg)?),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => return Err(format!("%t needs a bool, found `{other}`")),
            },
            'x' => format!("{:x}", int(arg)?),
            'X' => format!("{:X}", int(arg)?),
            'o' => format!("{:o}", int(arg)?),
            'b' => format!("{:b}", int(arg)?),
            other => return Err(format!("unsupported format verb %{other}")),
        };
        let text = match (verb, p) {
            ('s' | 'v', Some(p)) => text.chars().take(p).collect(),
            _ => text,
        };
        let pad = w.saturating_sub(text.chars().count()).min(4096);
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(verb, 'd' | 'f' | 'x' | 'X' | 'o' | 'b') {
            let (sign, digits) = text
                .strip_prefix('-')
                .map_or(("", text.as_str()), |d| ("-", d));
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}
