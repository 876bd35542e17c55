//! Evaluating a compiled rule.

use super::Program;
use super::parse::{BinOp, Expr, Lit, Macro};
use super::value::{ListKind, Val, compare, compare_numbers, equals, from_json};
use crate::schema::Node;
use serde_json::Value;
use std::cmp::Ordering;
use std::rc::Rc;

/// Why an evaluation produced no value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalError {
    /// A CEL runtime error (`no such key: name`, `division by zero`, `no such overload`).
    Runtime(String),
    /// The rule ran past its cost limit.
    CostExceeded,
}

/// The result of a rule: a value, or an error.
pub(crate) type Outcome = Result<Val, EvalError>;

struct Env<'a> {
    self_val: Val,
    old_self: Option<Val>,
    vars: Vec<(&'a str, Val)>,
    cost: u64,
    limit: u64,
}

fn rt(msg: impl Into<String>) -> EvalError {
    EvalError::Runtime(msg.into())
}

fn no_overload() -> EvalError {
    rt("no such overload")
}

/// Evaluates `program` with `self` = `data` (under `node`) and `oldSelf` = `old`.
/// Returns the value and the cost spent.
pub(crate) fn evaluate(
    program: &Program,
    data: &Value,
    old: Option<&Value>,
    node: &Node,
    is_root: bool,
    limit: u64,
) -> (Outcome, u64) {
    let mut env = Env {
        self_val: from_json(data, node, is_root, 0),
        old_self: old.map(|o| from_json(o, node, is_root, 0)),
        vars: Vec::new(),
        cost: 0,
        limit,
    };
    let out = eval(&program.ast, &mut env);
    (out, env.cost)
}

fn charge(env: &mut Env<'_>, n: u64) -> Result<(), EvalError> {
    env.cost = env.cost.saturating_add(n);
    if env.cost > env.limit {
        Err(EvalError::CostExceeded)
    } else {
        Ok(())
    }
}

fn lit(l: &Lit) -> Val {
    match l {
        Lit::Null => Val::Null,
        Lit::Bool(b) => Val::Bool(*b),
        Lit::Int(i) => Val::Int(*i),
        Lit::Uint(u) => Val::Uint(*u),
        Lit::Double(d) => Val::Double(*d),
        Lit::Str(s) => Val::str(s),
        Lit::Bytes(b) => Val::Bytes(Rc::from(b.as_slice())),
    }
}

fn ok(v: Val) -> Outcome {
    match v {
        Val::Err(e) => Err(rt(e.to_string())),
        other => Ok(other),
    }
}

fn eval<'a>(e: &'a Expr, env: &mut Env<'a>) -> Outcome {
    charge(env, 1)?;
    match e {
        Expr::Lit(l) => Ok(lit(l)),
        Expr::Ident(name) => {
            if let Some((_, v)) = env.vars.iter().rev().find(|(n, _)| n == name) {
                return ok(v.clone());
            }
            match name.as_str() {
                "self" => ok(env.self_val.clone()),
                "oldSelf" => match &env.old_self {
                    Some(v) => ok(v.clone()),
                    None => Err(rt("no such attribute(s): oldSelf")),
                },
                other => Err(rt(format!("no such attribute(s): {other}"))),
            }
        }
        Expr::Select(target, field) => {
            let t = eval(target, env)?;
            select(&t, field)
        }
        Expr::Has(target, field) => {
            let t = eval(target, env)?;
            match t {
                Val::Object(m) => Ok(Val::Bool(m.contains_key(field.as_str()))),
                Val::Map(m) => Ok(Val::Bool(
                    m.iter()
                        .any(|(k, _)| matches!(k, Val::Str(s) if &**s == field)),
                )),
                _ => Err(no_overload()),
            }
        }
        Expr::Index(target, idx) => {
            let t = eval(target, env)?;
            let i = eval(idx, env)?;
            index(&t, &i)
        }
        Expr::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(eval(i, env)?);
            }
            Ok(Val::List(Rc::new(out), ListKind::Ordered))
        }
        Expr::Map(entries) => {
            let mut out: Vec<(Val, Val)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = eval(k, env)?;
                if !matches!(key, Val::Str(_) | Val::Int(_) | Val::Uint(_) | Val::Bool(_)) {
                    return Err(rt("unsupported key type"));
                }
                let val = eval(v, env)?;
                for (existing, _) in &out {
                    if equals(existing, &key).map_err(rt)? {
                        return Err(rt("Failed with repeated key"));
                    }
                }
                out.push((key, val));
            }
            Ok(Val::Map(Rc::new(out)))
        }
        Expr::Not(x) => match eval(x, env)? {
            Val::Bool(b) => Ok(Val::Bool(!b)),
            _ => Err(no_overload()),
        },
        Expr::Neg(x) => match eval(x, env)? {
            Val::Int(i) => i
                .checked_neg()
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            Val::Double(d) => Ok(Val::Double(-d)),
            Val::Duration(d) => Ok(Val::Duration(-d)),
            _ => Err(no_overload()),
        },
        Expr::And(a, b) => logic(a, b, false, env),
        Expr::Or(a, b) => logic(a, b, true, env),
        Expr::Cond(c, a, b) => match eval(c, env)? {
            Val::Bool(true) => eval(a, env),
            Val::Bool(false) => eval(b, env),
            _ => Err(no_overload()),
        },
        Expr::Binary(op, a, b) => {
            let x = eval(a, env)?;
            let y = eval(b, env)?;
            binary(*op, &x, &y, env)
        }
        Expr::Call { name, target, args } => {
            let recv = match target {
                Some(t) => Some(eval(t, env)?),
                None => None,
            };
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, env)?);
            }
            call(name, recv, &vals, env)
        }
        Expr::Comprehension {
            kind,
            range,
            var,
            body,
            filter,
        } => {
            let r = eval(range, env)?;
            comprehension(*kind, &r, var, body, filter.as_deref(), env)
        }
    }
}

/// CEL's commutative `&&` / `||`: a decisive side wins even if the other errs.
fn logic<'a>(a: &'a Expr, b: &'a Expr, is_or: bool, env: &mut Env<'a>) -> Outcome {
    let left = eval(a, env);
    if let Ok(Val::Bool(v)) = left {
        if v == is_or {
            return Ok(Val::Bool(v));
        }
    }
    if matches!(left, Err(EvalError::CostExceeded)) {
        return left;
    }
    let right = eval(b, env);
    match (&left, &right) {
        (_, Ok(Val::Bool(v))) if *v == is_or => Ok(Val::Bool(*v)),
        (Ok(Val::Bool(_)), Ok(Val::Bool(v))) => Ok(Val::Bool(*v)),
        (Err(e), _) => Err(e.clone()),
        (_, Err(e)) => Err(e.clone()),
        _ => Err(no_overload()),
    }
}

fn select(t: &Val, field: &str) -> Outcome {
    match t {
        Val::Object(m) => match m.get(field) {
            Some(v) => ok(v.clone()),
            None => Err(rt(format!("no such key: {field}"))),
        },
        Val::Map(m) => m
            .iter()
            .find(|(k, _)| matches!(k, Val::Str(s) if &**s == field))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| rt(format!("no such key: {field}"))),
        _ => Err(rt(format!("no such key: {field}"))),
    }
}

fn index(t: &Val, i: &Val) -> Outcome {
    match t {
        Val::List(items, _) => {
            let idx = match i {
                Val::Int(n) => *n,
                Val::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX),
                Val::Double(d) if d.fract() == 0.0 => *d as i64,
                _ => return Err(no_overload()),
            };
            usize::try_from(idx)
                .ok()
                .and_then(|u| items.get(u))
                .cloned()
                .ok_or_else(|| rt(format!("index out of range: {idx}")))
                .and_then(ok)
        }
        Val::Object(m) => match i {
            Val::Str(k) => m
                .get(&**k)
                .cloned()
                .ok_or_else(|| rt(format!("no such key: {k}")))
                .and_then(ok),
            _ => Err(no_overload()),
        },
        Val::Map(m) => {
            for (k, v) in m.iter() {
                if equals(k, i).map_err(rt)? {
                    return Ok(v.clone());
                }
            }
            Err(rt(format!("no such key: {}", display(i))))
        }
        _ => Err(no_overload()),
    }
}

fn display(v: &Val) -> String {
    match v {
        Val::Str(s) => s.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Uint(u) => u.to_string(),
        Val::Double(d) => crate::gofmt::format_float(*d),
        Val::Bool(b) => b.to_string(),
        Val::Null => "null".to_string(),
        other => other.type_name().to_string(),
    }
}

fn binary(op: BinOp, x: &Val, y: &Val, env: &mut Env<'_>) -> Outcome {
    use BinOp::*;
    match op {
        Eq => Ok(Val::Bool(equals(x, y).map_err(rt)?)),
        Ne => Ok(Val::Bool(!equals(x, y).map_err(rt)?)),
        Lt | Le | Gt | Ge => {
            let ord = compare(x, y).ok_or_else(no_overload)?;
            Ok(Val::Bool(match op {
                Lt => ord == Ordering::Less,
                Le => ord != Ordering::Greater,
                Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        In => match y {
            Val::List(items, _) => {
                charge(env, items.len() as u64)?;
                for v in items.iter() {
                    if equals(x, v).map_err(rt)? {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            Val::Object(m) => match x {
                Val::Str(k) => Ok(Val::Bool(m.contains_key(&**k))),
                _ => Ok(Val::Bool(false)),
            },
            Val::Map(m) => {
                for (k, _) in m.iter() {
                    if equals(k, x).map_err(rt)? {
                        return Ok(Val::Bool(true));
                    }
                }
                Ok(Val::Bool(false))
            }
            _ => Err(no_overload()),
        },
        Add => match (x, y) {
            (Val::Int(a), Val::Int(b)) => a
                .checked_add(*b)
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            (Val::Uint(a), Val::Uint(b)) => a
                .checked_add(*b)
                .map(Val::Uint)
                .ok_or_else(|| rt("unsigned integer overflow")),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a + b)),
            (Val::Str(a), Val::Str(b)) => {
                charge(env, ((a.len() + b.len()) / 10) as u64)?;
                Ok(Val::str(&format!("{a}{b}")))
            }
            (Val::Bytes(a), Val::Bytes(b)) => Ok(Val::Bytes(Rc::from([&a[..], &b[..]].concat()))),
            (Val::List(a, _), Val::List(b, _)) => {
                charge(env, (a.len() + b.len()) as u64)?;
                let mut out = Vec::with_capacity(a.len() + b.len());
                out.extend(a.iter().cloned());
                out.extend(b.iter().cloned());
                Ok(Val::List(Rc::new(out), ListKind::Ordered))
            }
            (Val::Duration(a), Val::Duration(b)) => Ok(Val::Duration(a + b)),
            (Val::Timestamp(a), Val::Duration(b)) | (Val::Duration(b), Val::Timestamp(a)) => {
                Ok(Val::Timestamp(a + b))
            }
            _ => Err(no_overload()),
        },
        Sub => match (x, y) {
            (Val::Int(a), Val::Int(b)) => a
                .checked_sub(*b)
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            (Val::Uint(a), Val::Uint(b)) => a
                .checked_sub(*b)
                .map(Val::Uint)
                .ok_or_else(|| rt("unsigned integer overflow")),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a - b)),
            (Val::Duration(a), Val::Duration(b)) => Ok(Val::Duration(a - b)),
            (Val::Timestamp(a), Val::Timestamp(b)) => Ok(Val::Duration(a - b)),
            (Val::Timestamp(a), Val::Duration(b)) => Ok(Val::Timestamp(a - b)),
            _ => Err(no_overload()),
        },
        Mul => match (x, y) {
            (Val::Int(a), Val::Int(b)) => a
                .checked_mul(*b)
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            (Val::Uint(a), Val::Uint(b)) => a
                .checked_mul(*b)
                .map(Val::Uint)
                .ok_or_else(|| rt("unsigned integer overflow")),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a * b)),
            _ => Err(no_overload()),
        },
        Div => match (x, y) {
            (Val::Int(_), Val::Int(0)) | (Val::Uint(_), Val::Uint(0)) => {
                Err(rt("division by zero"))
            }
            (Val::Int(a), Val::Int(b)) => a
                .checked_div(*b)
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            (Val::Uint(a), Val::Uint(b)) => Ok(Val::Uint(a / b)),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a / b)),
            _ => Err(no_overload()),
        },
        Rem => match (x, y) {
            (Val::Int(_), Val::Int(0)) | (Val::Uint(_), Val::Uint(0)) => Err(rt("modulus by zero")),
            (Val::Int(a), Val::Int(b)) => a
                .checked_rem(*b)
                .map(Val::Int)
                .ok_or_else(|| rt("integer overflow")),
            (Val::Uint(a), Val::Uint(b)) => Ok(Val::Uint(a % b)),
            _ => Err(no_overload()),
        },
    }
}

fn range_items(r: &Val) -> Result<Vec<Val>, EvalError> {
    Ok(match r {
        Val::List(items, _) => items.to_vec(),
        Val::Object(m) => m.keys().map(|k| Val::str(k)).collect(),
        Val::Map(m) => m.iter().map(|(k, _)| k.clone()).collect(),
        _ => return Err(no_overload()),
    })
}

fn comprehension<'a>(
    kind: Macro,
    r: &Val,
    var: &'a str,
    body: &'a Expr,
    filter: Option<&'a Expr>,
    env: &mut Env<'a>,
) -> Outcome {
    let items = range_items(r)?;
    let mut all = true;
    let mut any = false;
    let mut first_err: Option<EvalError> = None;
    let mut count = 0usize;
    let mut out = Vec::new();
    for item in items {
        charge(env, 1)?;
        env.vars.push((var, item.clone()));
        let result = (|| -> Outcome {
            match kind {
                Macro::All | Macro::Exists | Macro::ExistsOne => eval(body, env),
                Macro::Filter => eval(body, env),
                Macro::Map => {
                    if let Some(f) = filter {
                        match eval(f, env)? {
                            Val::Bool(true) => {}
                            Val::Bool(false) => return Ok(Val::Null),
                            _ => return Err(no_overload()),
                        }
                    }
                    eval(body, env).map(|v| Val::List(Rc::new(vec![v]), ListKind::Ordered))
                }
            }
        })();
        env.vars.pop();
        if matches!(result, Err(EvalError::CostExceeded)) {
            return result;
        }
        match kind {
            Macro::All => match result {
                Ok(Val::Bool(false)) => {
                    all = false;
                    break;
                }
                Ok(Val::Bool(true)) => {}
                Ok(_) => first_err = first_err.or(Some(no_overload())),
                Err(e) => first_err = first_err.or(Some(e)),
            },
            Macro::Exists => match result {
                Ok(Val::Bool(true)) => {
                    any = true;
                    break;
                }
                Ok(Val::Bool(false)) => {}
                Ok(_) => first_err = first_err.or(Some(no_overload())),
                Err(e) => first_err = first_err.or(Some(e)),
            },
            Macro::ExistsOne => match result? {
                Val::Bool(true) => count += 1,
                Val::Bool(false) => {}
                _ => return Err(no_overload()),
            },
            Macro::Filter => match result? {
                Val::Bool(true) => out.push(item),
                Val::Bool(false) => {}
                _ => return Err(no_overload()),
            },
            Macro::Map => {
                if let Val::List(v, _) = result? {
                    out.extend(v.iter().cloned());
                }
            }
        }
    }
    match kind {
        Macro::All => {
            if !all {
                Ok(Val::Bool(false))
            } else if let Some(e) = first_err {
                Err(e)
            } else {
                Ok(Val::Bool(true))
            }
        }
        Macro::Exists => {
            if any {
                Ok(Val::Bool(true))
            } else if let Some(e) = first_err {
                Err(e)
            } else {
                Ok(Val::Bool(false))
            }
        }
        Macro::ExistsOne => Ok(Val::Bool(count == 1)),
        Macro::Filter | Macro::Map => Ok(Val::List(Rc::new(out), ListKind::Ordered)),
    }
}

fn size_of(v: &Val) -> Result<i64, EvalError> {
    Ok(match v {
        Val::Str(s) => s.chars().count() as i64,
        Val::Bytes(b) => b.len() as i64,
        Val::List(l, _) => l.len() as i64,
        Val::Object(m) => m.len() as i64,
        Val::Map(m) => m.len() as i64,
        _ => return Err(no_overload()),
    })
}

fn regex_match(s: &str, pattern: &str, env: &mut Env<'_>) -> Outcome {
    charge(
        env,
        (s.len() as u64 / 10).saturating_mul(pattern.len() as u64 / 10 + 1),
    )?;
    let re =
        crate::regex_compat::compile(pattern).map_err(|e| rt(format!("invalid regex: {e}")))?;
    Ok(Val::Bool(re.is_match(s)))
}

fn arg_str(v: &Val) -> Result<&str, EvalError> {
    match v {
        Val::Str(s) => Ok(s),
        _ => Err(no_overload()),
    }
}

fn arg_int(v: &Val) -> Result<i64, EvalError> {
    match v {
        Val::Int(i) => Ok(*i),
        _ => Err(no_overload()),
    }
}

fn char_index(s: &str, i: i64) -> Result<usize, EvalError> {
    let n = s.chars().count() as i64;
    if i < 0 || i > n {
        return Err(rt(format!("index out of range: {i}")));
    }
    Ok(s.char_indices().nth(i as usize).map_or(s.len(), |(b, _)| b))
}

fn call(name: &str, recv: Option<Val>, args: &[Val], env: &mut Env<'_>) -> Outcome {
    match (name, recv.as_ref(), args) {
        ("size", None, [v]) | ("size", Some(v), []) => size_of(v).map(Val::Int),
        ("dyn", None, [v]) => Ok(v.clone()),
        ("int", None, [v]) => match v {
            Val::Int(i) => Ok(Val::Int(*i)),
            Val::Uint(u) => i64::try_from(*u)
                .map(Val::Int)
                .map_err(|_| rt("range error converting uint to int")),
            Val::Double(d) => {
                if d.is_finite() && *d > -9.223_372_036_854_776e18 && *d < 9.223_372_036_854_776e18
                {
                    Ok(Val::Int(d.trunc() as i64))
                } else {
                    Err(rt("range error converting double to int"))
                }
            }
            Val::Str(s) => s
                .parse()
                .map(Val::Int)
                .map_err(|_| rt(format!("cannot convert '{s}' to int"))),
            Val::Timestamp(t) => Ok(Val::Int((t.div_euclid(1_000_000_000)) as i64)),
            Val::Duration(d) => Ok(Val::Int(*d as i64)),
            _ => Err(no_overload()),
        },
        ("uint", None, [v]) => match v {
            Val::Uint(u) => Ok(Val::Uint(*u)),
            Val::Int(i) => u64::try_from(*i)
                .map(Val::Uint)
                .map_err(|_| rt("range error converting int to uint")),
            Val::Double(d) if d.is_finite() && *d >= 0.0 && *d < 1.844_674_407_370_955_2e19 => {
                Ok(Val::Uint(d.trunc() as u64))
            }
            Val::Str(s) => s
                .parse()
                .map(Val::Uint)
                .map_err(|_| rt(format!("cannot convert '{s}' to uint"))),
            _ => Err(no_overload()),
        },
        ("double", None, [v]) => match v {
            Val::Double(d) => Ok(Val::Double(*d)),
            Val::Int(i) => Ok(Val::Double(*i as f64)),
            Val::Uint(u) => Ok(Val::Double(*u as f64)),
            Val::Str(s) => s
                .parse()
                .map(Val::Double)
                .map_err(|_| rt(format!("cannot convert '{s}' to double"))),
            _ => Err(no_overload()),
        },
        ("string", None, [v]) => match v {
            Val::Str(_) => Ok(v.clone()),
            Val::Int(_) | Val::Uint(_) | Val::Double(_) | Val::Bool(_) => Ok(Val::str(&display(v))),
            Val::Bytes(b) => std::str::from_utf8(b)
                .map(Val::str)
                .map_err(|_| rt("invalid UTF-8")),
            _ => Err(no_overload()),
        },
        ("bool", None, [v]) => match v {
            Val::Bool(b) => Ok(Val::Bool(*b)),
            Val::Str(s) => match &**s {
                "true" | "True" | "TRUE" | "t" | "1" => Ok(Val::Bool(true)),
                "false" | "False" | "FALSE" | "f" | "0" => Ok(Val::Bool(false)),
                _ => Err(rt("type conversion error from 'string' to 'bool'")),
            },
            _ => Err(no_overload()),
        },
        ("bytes", None, [v]) => match v {
            Val::Bytes(_) => Ok(v.clone()),
            Val::Str(s) => Ok(Val::Bytes(Rc::from(s.as_bytes()))),
            _ => Err(no_overload()),
        },
        ("duration", None, [Val::Str(s)]) => crate::formats::go_parse_duration(s)
            .map(Val::Duration)
            .ok_or_else(|| rt(format!("cannot parse duration: {s}"))),
        ("timestamp", None, [Val::Str(s)]) => super::value::parse_rfc3339(s)
            .map(Val::Timestamp)
            .ok_or_else(|| rt(format!("cannot parse timestamp: {s}"))),
        ("matches", None, [s, p]) | ("matches", Some(s), [p]) => {
            regex_match(arg_str(s)?, arg_str(p)?, env)
        }
        (_, Some(recv), _) => method(name, recv, args, env),
        _ => Err(no_overload()),
    }
}

fn method(name: &str, recv: &Val, args: &[Val], env: &mut Env<'_>) -> Outcome {
    if let Val::List(items, _) = recv {
        charge(env, items.len() as u64)?;
        return list_method(name, items, args);
    }
    let s = arg_str(recv)?;
    charge(env, (s.len() / 10) as u64)?;
    match (name, args) {
        ("contains", [x]) => Ok(Val::Bool(s.contains(arg_str(x)?))),
        ("startsWith", [x]) => Ok(Val::Bool(s.starts_with(arg_str(x)?))),
        ("endsWith", [x]) => Ok(Val::Bool(s.ends_with(arg_str(x)?))),
        ("lowerAscii", []) => Ok(Val::str(&s.to_ascii_lowercase())),
        ("upperAscii", []) => Ok(Val::str(&s.to_ascii_uppercase())),
        ("trim", []) => Ok(Val::str(s.trim())),
        ("replace", [a, b]) => Ok(Val::str(&s.replace(arg_str(a)?, arg_str(b)?))),
        ("replace", [a, b, n]) => {
            let n = arg_int(n)?;
            let out = if n < 0 {
                s.replace(arg_str(a)?, arg_str(b)?)
            } else {
                s.replacen(arg_str(a)?, arg_str(b)?, n as usize)
            };
            Ok(Val::str(&out))
        }
        ("split", [sep]) => {
            let sep = arg_str(sep)?;
            let parts: Vec<Val> = if sep.is_empty() {
                s.chars().map(|c| Val::str(&c.to_string())).collect()
            } else {
                s.split(sep).map(Val::str).collect()
            };
            Ok(Val::List(Rc::new(parts), ListKind::Ordered))
        }
        ("charAt", [i]) => {
            let i = arg_int(i)?;
            let start = char_index(s, i)?;
            Ok(Val::str(
                s[start..]
                    .chars()
                    .next()
                    .map(|c| c.to_string())
                    .as_deref()
                    .unwrap_or(""),
            ))
        }
        ("substring", [a]) => Ok(Val::str(&s[char_index(s, arg_int(a)?)?..])),
        ("substring", [a, b]) => {
            let (x, y) = (arg_int(a)?, arg_int(b)?);
            if x > y {
                return Err(rt(format!("invalid substring range. start: {x}, end: {y}")));
            }
            Ok(Val::str(&s[char_index(s, x)?..char_index(s, y)?]))
        }
        ("indexOf", [x]) => {
            let sub = arg_str(x)?;
            Ok(Val::Int(
                s.find(sub).map_or(-1, |b| s[..b].chars().count() as i64),
            ))
        }
        ("lastIndexOf", [x]) => {
            let sub = arg_str(x)?;
            Ok(Val::Int(
                s.rfind(sub).map_or(-1, |b| s[..b].chars().count() as i64),
            ))
        }
        _ => Err(no_overload()),
    }
}

fn list_method(name: &str, items: &[Val], args: &[Val]) -> Outcome {
    match (name, args) {
        ("join", []) | ("join", [_]) => {
            let sep = match args.first() {
                Some(v) => arg_str(v)?.to_string(),
                None => String::new(),
            };
            let mut parts = Vec::with_capacity(items.len());
            for i in items {
                parts.push(arg_str(i)?.to_string());
            }
            Ok(Val::str(&parts.join(&sep)))
        }
        ("isSorted", []) => {
            for w in items.windows(2) {
                match compare(&w[0], &w[1]) {
                    Some(Ordering::Greater) => return Ok(Val::Bool(false)),
                    Some(_) => {}
                    None => return Err(no_overload()),
                }
            }
            Ok(Val::Bool(true))
        }
        ("sum", []) => {
            let mut acc = match items.first() {
                Some(Val::Double(_)) => Val::Double(0.0),
                Some(Val::Uint(_)) => Val::Uint(0),
                Some(Val::Duration(_)) => Val::Duration(0),
                _ => Val::Int(0),
            };
            for i in items {
                acc = match (&acc, i) {
                    (Val::Int(a), Val::Int(b)) => {
                        Val::Int(a.checked_add(*b).ok_or_else(|| rt("integer overflow"))?)
                    }
                    (Val::Uint(a), Val::Uint(b)) => Val::Uint(
                        a.checked_add(*b)
                            .ok_or_else(|| rt("unsigned integer overflow"))?,
                    ),
                    (Val::Double(a), Val::Double(b)) => Val::Double(a + b),
                    (Val::Duration(a), Val::Duration(b)) => Val::Duration(a + b),
                    _ => return Err(no_overload()),
                };
            }
            Ok(acc)
        }
        ("min", []) | ("max", []) => {
            let want = if name == "min" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best = items
                .first()
                .cloned()
                .ok_or_else(|| rt(format!("{name}(list) argument must not be empty")))?;
            for i in &items[1..] {
                match compare_numbers(i, &best).or_else(|| compare(i, &best)) {
                    Some(o) if o == want => best = i.clone(),
                    Some(_) => {}
                    None => return Err(no_overload()),
                }
            }
            Ok(best)
        }
        _ => Err(no_overload()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(schema: Value) -> Node {
        let mut errs = Vec::new();
        let n = crate::schema::parse(&schema, "", 0, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        n
    }

    fn run(rule: &str, schema: Value, data: Value, old: Option<Value>) -> Outcome {
        let n = node(schema);
        let p = super::super::compile(rule, &n, false).unwrap();
        evaluate(
            &p,
            &data,
            old.as_ref(),
            &n,
            false,
            super::super::PER_CALL_LIMIT,
        )
        .0
    }

    fn obj() -> Value {
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "at": {"type": "string", "format": "date-time"},
            "opt": {"type": "string"}
        }})
    }

    #[test]
    fn expressions_evaluate() {
        let data = json!({"name": "abc", "n": 3, "tags": ["a", "b"], "at": "2024-01-01T00:00:00Z"});
        let t = |rule: &str| run(rule, obj(), data.clone(), None);
        for rule in [
            "self.name == 'abc'",
            "self.n * 2 + 1 == 7",
            "size(self.name) == 3 && self.name.size() == 3",
            "self.name.startsWith('a') && self.name.endsWith('c') && self.name.contains('b')",
            "self.name.matches('^a.c$')",
            "'a' in self.tags && !('z' in self.tags)",
            "self.tags.all(t, t.size() == 1)",
            "self.tags.exists(t, t == 'b')",
            "self.tags.exists_one(t, t == 'a')",
            "self.tags.map(t, t + '!') == ['a!', 'b!']",
            "self.tags.filter(t, t != 'a') == ['b']",
            "has(self.name) && !has(self.opt)",
            "self.n > 2 ? true : false",
            "1 == 1.0 && 2u > 1",
            "self.at < timestamp('2025-01-01T00:00:00Z')",
            "duration('1h') > duration('59m')",
            "[3, 1, 2].max() == 3 && [1, 2].isSorted() && [1, 2, 3].sum() == 6",
            "'a,b'.split(',').join('-') == 'a-b'",
            "{'a': 1}['a'] == 1",
            "int('42') == 42 && string(42) == '42' && double(1) == 1.0",
        ] {
            assert!(
                matches!(t(rule), Ok(Val::Bool(true))),
                "{rule}: {:?}",
                t(rule)
            );
        }
    }

    #[test]
    fn errors_are_cel_errors() {
        let data = json!({"name": "abc"});
        assert_eq!(
            run("self.n == 1", obj(), data.clone(), None).err(),
            Some(rt("no such key: n"))
        );
        assert_eq!(
            run("1 / 0 == 1", obj(), data.clone(), None).err(),
            Some(rt("division by zero"))
        );
        assert_eq!(
            run("9223372036854775807 + 1 > 0", obj(), data.clone(), None).err(),
            Some(rt("integer overflow"))
        );
        // commutative or: a true side wins over an error
        assert!(matches!(
            run("self.n == 1 || true", obj(), data.clone(), None),
            Ok(Val::Bool(true))
        ));
        assert!(matches!(
            run("self.n == 1 && false", obj(), data, None),
            Ok(Val::Bool(false))
        ));
    }

    #[test]
    fn set_lists_compare_without_order() {
        let r = run(
            "self.tags == oldSelf.tags",
            obj(),
            json!({"tags": ["b", "a"]}),
            Some(json!({"tags": ["a", "b"]})),
        );
        assert!(matches!(r, Ok(Val::Bool(true))));
    }

    #[test]
    fn cost_is_bounded() {
        let n = node(
            json!({"type": "object", "properties": {"l": {"type": "array", "items": {"type": "integer"}}}}),
        );
        let data = json!({"l": (0..2000).collect::<Vec<i64>>()});
        let p =
            super::super::compile("self.l.all(x, self.l.all(y, x + y >= 0))", &n, false).unwrap();
        let (out, _) = evaluate(&p, &data, None, &n, false, super::super::PER_CALL_LIMIT);
        assert_eq!(out.err(), Some(EvalError::CostExceeded));
    }

    #[test]
    fn unsupported_functions_are_refused_at_compile_time() {
        let n = node(obj());
        assert!(matches!(
            super::super::compile(
                "quantity(self.name).isGreaterThan(quantity('1'))",
                &n,
                false
            ),
            Err(super::super::CompileError::Unsupported(_))
        ));
        assert!(matches!(
            super::super::compile("self.nope == 1", &n, false),
            Err(super::super::CompileError::Invalid(_))
        ));
        assert!(matches!(
            super::super::compile("foo == 1", &n, false),
            Err(super::super::CompileError::Invalid(_))
        ));
    }
}
