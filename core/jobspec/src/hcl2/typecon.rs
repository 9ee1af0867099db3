//! Variable type constraints (`type = list(string)` …) and the conversions HCL applies
//! when a value meets one: `"5"` is a number where a number is wanted, a number is a
//! string where a string is wanted.

use hcl::{Expression, Value};

/// A variable's declared type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Any,
    String,
    Number,
    Bool,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Object(Vec<(String, Ty)>),
    Tuple(Vec<Ty>),
}

impl Ty {
    /// Read a type expression; the error names what was not understood.
    pub(crate) fn parse(e: &Expression) -> Result<Ty, String> {
        match e {
            Expression::Variable(v) => match v.as_str() {
                "any" => Ok(Ty::Any),
                "string" => Ok(Ty::String),
                "number" => Ok(Ty::Number),
                "bool" => Ok(Ty::Bool),
                "list" => Ok(Ty::List(Box::new(Ty::Any))),
                "map" => Ok(Ty::Map(Box::new(Ty::Any))),
                other => Err(format!("unknown type \"{other}\"")),
            },
            Expression::FuncCall(f) if f.args.len() == 1 => {
                let arg = &f.args[0];
                match f.name.name.as_str() {
                    "list" => Ok(Ty::List(Box::new(Ty::parse(arg)?))),
                    "set" => Ok(Ty::Set(Box::new(Ty::parse(arg)?))),
                    "map" => Ok(Ty::Map(Box::new(Ty::parse(arg)?))),
                    "object" => match arg {
                        Expression::Object(o) => o
                            .iter()
                            .map(|(k, v)| Ok((key_name(k)?, Ty::parse(v)?)))
                            .collect::<Result<_, String>>()
                            .map(Ty::Object),
                        _ => Err("object(...) takes { name = type, ... }".to_string()),
                    },
                    "tuple" => match arg {
                        Expression::Array(a) => a
                            .iter()
                            .map(Ty::parse)
                            .collect::<Result<_, _>>()
                            .map(Ty::Tuple),
                        _ => Err("tuple(...) takes [type, ...]".to_string()),
                    },
                    other => Err(format!("unknown type constructor \"{other}\"")),
                }
            }
            other => Err(format!("invalid type expression `{other}`")),
        }
    }

    /// Whether a raw string (from -var or NOMAD_VAR_) is taken as is.
    pub(crate) fn takes_raw_string(&self) -> bool {
        matches!(self, Ty::String | Ty::Any)
    }

    /// Convert a value to this type, or say why it does not fit.
    pub(crate) fn convert(&self, v: Value) -> Result<Value, String> {
        match (self, v) {
            (Ty::Any, v) | (_, v @ Value::Null) => Ok(v),
            (Ty::String, Value::String(s)) => Ok(Value::String(s)),
            (Ty::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
            (Ty::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
            (Ty::Number, Value::Number(n)) => Ok(Value::Number(n)),
            (Ty::Number, Value::String(s)) => parse_number(&s)
                .ok_or_else(|| format!("a number is required, found the string \"{s}\"")),
            (Ty::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
            (Ty::Bool, Value::String(s)) if s == "true" || s == "false" => {
                Ok(Value::Bool(s == "true"))
            }
            (Ty::List(t), Value::Array(a)) => a
                .into_iter()
                .map(|x| t.convert(x))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (Ty::Set(t), Value::Array(a)) => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    let x = t.convert(x)?;
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
                Ok(Value::Array(out))
            }
            (Ty::Map(t), Value::Object(o)) => o
                .into_iter()
                .map(|(k, x)| Ok((k, t.convert(x)?)))
                .collect::<Result<_, String>>()
                .map(Value::Object),
            (Ty::Object(fields), Value::Object(mut o)) => {
                let mut out = hcl::Map::new();
                for (name, t) in fields {
                    let x = o
                        .swap_remove(name)
                        .ok_or_else(|| format!("attribute \"{name}\" is required"))?;
                    out.insert(name.clone(), t.convert(x)?);
                }
                Ok(Value::Object(out))
            }
            (Ty::Tuple(ts), Value::Array(a)) if ts.len() == a.len() => ts
                .iter()
                .zip(a)
                .map(|(t, x)| t.convert(x))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (t, v) => Err(format!(
                "{} is required, found {}",
                t.name(),
                super::eval::kind(&v)
            )),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Ty::Any => "any value",
            Ty::String => "a string",
            Ty::Number => "a number",
            Ty::Bool => "a bool",
            Ty::List(_) | Ty::Set(_) => "a list",
            Ty::Map(_) | Ty::Object(_) => "a map",
            Ty::Tuple(_) => "a list of the declared length",
        }
    }
}

fn key_name(k: &hcl::ObjectKey) -> Result<String, String> {
    match k {
        hcl::ObjectKey::Identifier(i) => Ok(i.to_string()),
        hcl::ObjectKey::Expression(Expression::String(s)) => Ok(s.clone()),
        hcl::ObjectKey::Expression(Expression::Variable(v)) => Ok(v.to_string()),
        other => Err(format!("invalid attribute name `{other:?}`")),
    }
}

pub(crate) fn parse_number(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    s.parse::<f64>()
        .ok()
        .and_then(hcl::Number::from_f64)
        .map(Value::Number)
}
