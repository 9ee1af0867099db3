//! Collection functions over lists and maps.

use hcl::Value;
use hcl::eval::{Context, FuncArgs, ParamType as P};

use super::{def, int, list, num, number, s};

fn any_list() -> P {
    P::Array(Box::new(P::Any))
}

fn any_map() -> P {
    P::Object(Box::new(P::Any))
}

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "chunklist", &[any_list(), P::Number], None, |a| {
        let size = int(&a[1])?;
        let l = list(&a[0])?;
        if size < 0 {
            return Err("the chunk size must not be negative".to_string());
        }
        if size == 0 {
            return Ok(Value::Array(vec![Value::Array(l.clone())]));
        }
        Ok(Value::Array(
            l.chunks(size as usize)
                .map(|c| Value::Array(c.to_vec()))
                .collect(),
        ))
    });
    def(ctx, "coalesce", &[], Some(P::Any), |a| {
        a.iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .ok_or_else(|| "no non-null, non-empty argument".to_string())
    });
    def(ctx, "coalescelist", &[], Some(any_list()), |a| {
        a.iter()
            .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
            .cloned()
            .ok_or_else(|| "no non-empty list argument".to_string())
    });
    def(ctx, "compact", &[any_list()], None, |a| {
        let l = list(&a[0])?;
        Ok(Value::Array(
            l.iter()
                .filter(|v| !v.is_null() && v.as_str() != Some(""))
                .cloned()
                .collect(),
        ))
    });
    def(ctx, "concat", &[], Some(any_list()), |a| {
        Ok(Value::Array(
            a.iter()
                .flat_map(|l| l.as_array().cloned().unwrap_or_default())
                .collect(),
        ))
    });
    def(ctx, "contains", &[any_list(), P::Any], None, |a| {
        Ok(Value::Bool(list(&a[0])?.contains(&a[1])))
    });
    def(ctx, "distinct", &[any_list()], None, |a| {
        Ok(Value::Array(dedup(list(&a[0])?)))
    });
    def(ctx, "element", &[any_list(), P::Number], None, |a| {
        let l = list(&a[0])?;
        if l.is_empty() {
            return Err("cannot use element on an empty list".to_string());
        }
        let i = int(&a[1])?.rem_euclid(l.len() as i64) as usize;
        Ok(l[i].clone())
    });
    def(ctx, "flatten", &[any_list()], None, |a| {
        let mut out = Vec::new();
        flatten(list(&a[0])?, &mut out, 0)?;
        Ok(Value::Array(out))
    });
    def(ctx, "index", &[any_list(), P::Any], None, |a| {
        list(&a[0])?
            .iter()
            .position(|v| *v == a[1])
            .map(|i| Value::from(i as u64))
            .ok_or_else(|| "item not found".to_string())
    });
    def(ctx, "keys", &[any_map()], None, |a| {
        let mut k: Vec<String> = a[0]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        Ok(Value::Array(k.into_iter().map(Value::from).collect()))
    });
    def(ctx, "values", &[any_map()], None, |a| {
        let mut kv: Vec<(String, Value)> = a[0]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        kv.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(Value::Array(kv.into_iter().map(|(_, v)| v).collect()))
    });
    def(ctx, "length", &[P::Any], None, |a| match &a[0] {
        Value::Array(l) => Ok(Value::from(l.len() as u64)),
        Value::Object(o) => Ok(Value::from(o.len() as u64)),
        Value::String(x) => Ok(Value::from(x.chars().count() as u64)),
        other => Err(format!(
            "length needs a list, map or string, found `{other}`"
        )),
    });
    def(ctx, "lookup", &[any_map(), P::String], Some(P::Any), |a| {
        let key = s(&a[1]);
        match a[0].as_object().and_then(|o| o.get(&key)) {
            Some(v) => Ok(v.clone()),
            None => a
                .get(2)
                .cloned()
                .ok_or_else(|| format!("lookup failed to find key \"{key}\"")),
        }
    });
    def(
        ctx,
        "merge",
        &[],
        Some(P::Nullable(Box::new(any_map()))),
        |a| {
            let mut out = hcl::Map::new();
            for m in a.iter().filter_map(Value::as_object) {
                for (k, v) in m {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        },
    );
    def(ctx, "range", &[P::Number], Some(P::Number), range);
    def(
        ctx,
        "setintersection",
        &[any_list()],
        Some(any_list()),
        |a| {
            let mut out = dedup(list(&a[0])?);
            for other in a.iter().skip(1) {
                let o = list(other)?;
                out.retain(|v| o.contains(v));
            }
            Ok(Value::Array(out))
        },
    );
    def(ctx, "setunion", &[any_list()], Some(any_list()), |a| {
        let all: Vec<Value> = a
            .iter()
            .flat_map(|l| l.as_array().cloned().unwrap_or_default())
            .collect();
        Ok(Value::Array(dedup(&all)))
    });
    def(ctx, "setproduct", &[], Some(any_list()), |a| {
        let mut out: Vec<Vec<Value>> = vec![Vec::new()];
        for l in a.iter() {
            let l = list(l)?;
            if out.len().saturating_mul(l.len()) > 100_000 {
                return Err("setproduct result is too large".to_string());
            }
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    l.iter().map(move |v| {
                        let mut p = prefix.clone();
                        p.push(v.clone());
                        p
                    })
                })
                .collect();
        }
        Ok(Value::Array(out.into_iter().map(Value::Array).collect()))
    });
    def(
        ctx,
        "slice",
        &[any_list(), P::Number, P::Number],
        None,
        |a| {
            let l = list(&a[0])?;
            let (from, to) = (int(&a[1])?, int(&a[2])?);
            if from < 0 || to < from || to as usize > l.len() {
                return Err(format!(
                    "invalid slice [{from}:{to}] of a list of {}",
                    l.len()
                ));
            }
            Ok(Value::Array(l[from as usize..to as usize].to_vec()))
        },
    );
    def(ctx, "sort", &[any_list()], None, |a| {
        let mut l: Vec<String> = list(&a[0])?.iter().map(s).collect();
        l.sort();
        Ok(Value::Array(l.into_iter().map(Value::from).collect()))
    });
    def(ctx, "zipmap", &[any_list(), any_list()], None, |a| {
        let (k, v) = (list(&a[0])?, list(&a[1])?);
        if k.len() != v.len() {
            return Err("zipmap needs two lists of the same length".to_string());
        }
        Ok(Value::Object(
            k.iter().map(s).zip(v.iter().cloned()).collect(),
        ))
    });
}

fn dedup(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn flatten(l: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("lists nested too deeply".to_string());
    }
    for v in l {
        match v {
            Value::Array(inner) => flatten(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

fn range(a: FuncArgs) -> Result<Value, String> {
    let n: Vec<f64> = a.iter().map(num).collect::<Result<_, _>>()?;
    let (start, end, step) = match n.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err("range takes one to three numbers".to_string()),
    };
    if step == 0.0 || (end > start && step < 0.0) || (end < start && step > 0.0) {
        return Err("the step does not move from start to end".to_string());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        if out.len() >= 1024 {
            return Err("range has more than 1024 elements".to_string());
        }
        out.push(number(x));
        x += step;
    }
    Ok(Value::Array(out))
}
