//! Numeric functions.

use hcl::Value;
use hcl::eval::{Context, ParamType as P};

use super::{def, int, num, number, s};

/// The functions `a / b` and `a % b` are evaluated with (see `refs::protect`): the
/// expression library panics on a zero divisor.
pub(crate) const DIVIDE: &str = "__division";
/// See [`DIVIDE`].
pub(crate) const MODULO: &str = "__modulo";

pub(super) fn register(ctx: &mut Context) {
    def(ctx, DIVIDE, &[P::Number, P::Number], None, |a| {
        let (x, y) = (num(&a[0])?, num(&a[1])?);
        if y == 0.0 {
            return Err("division by zero".into());
        }
        Ok(number(x / y))
    });
    def(ctx, MODULO, &[P::Number, P::Number], None, |a| {
        let (x, y) = (num(&a[0])?, num(&a[1])?);
        if y == 0.0 {
            return Err("modulo by zero".into());
        }
        Ok(number(x % y))
    });
    def(ctx, "abs", &[P::Number], None, |a| {
        Ok(number(num(&a[0])?.abs()))
    });
    def(ctx, "ceil", &[P::Number], None, |a| {
        Ok(number(num(&a[0])?.ceil()))
    });
    def(ctx, "floor", &[P::Number], None, |a| {
        Ok(number(num(&a[0])?.floor()))
    });
    def(ctx, "signum", &[P::Number], None, |a| {
        let x = num(&a[0])?;
        Ok(number(if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        }))
    });
    def(ctx, "log", &[P::Number, P::Number], None, |a| {
        Ok(number(num(&a[0])?.ln() / num(&a[1])?.ln()))
    });
    def(ctx, "pow", &[P::Number, P::Number], None, |a| {
        Ok(number(num(&a[0])?.powf(num(&a[1])?)))
    });
    def(ctx, "max", &[P::Number], Some(P::Number), |a| {
        let n: Vec<f64> = a.iter().map(num).collect::<Result<_, _>>()?;
        Ok(number(n.into_iter().fold(f64::MIN, f64::max)))
    });
    def(ctx, "min", &[P::Number], Some(P::Number), |a| {
        let n: Vec<f64> = a.iter().map(num).collect::<Result<_, _>>()?;
        Ok(number(n.into_iter().fold(f64::MAX, f64::min)))
    });
    def(ctx, "parseint", &[P::String, P::Number], None, |a| {
        let base = int(&a[1])?;
        if !(2..=36).contains(&base) {
            return Err(format!("base {base} is not between 2 and 36"));
        }
        i64::from_str_radix(&s(&a[0]), base as u32)
            .map(Value::from)
            .map_err(|e| format!("cannot parse \"{}\" in base {base}: {e}", s(&a[0])))
    });
}
