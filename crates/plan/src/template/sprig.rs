//! The Sprig functions upstream registers for name templates (`pkg/templateutil`):
//! string functions `lower upper contains replace trim trimAll trimSuffix trimPrefix title
//! untitle repeat substr nospace trunc initials hasPrefix hasSuffix mustRegexReplaceAll` and
//! math functions `add add1 sub div mod mul max min floor ceil round`, with Sprig's argument
//! order and Go's semantics (byte-indexed `trunc`/`substr`, `spf13/cast` conversions for
//! the math arguments, a recovered panic becoming an `error calling <f>` error).

use gotmpl::{FuncMap, TemplateError, Value};
use std::sync::Arc;

/// Longest string a function may produce; templates name Kubernetes objects, so anything
/// longer is refused rather than allocated (`repeat 1000000000 "x"`).
pub const MAX_OUTPUT: usize = 64 * 1024;

/// The function map: every function upstream offers, and nothing else.
pub fn functions() -> FuncMap {
    let mut map = FuncMap::new();
    let mut add = |name: &str, f: fn(&[Value]) -> Result<Value, String>| {
        let owned = name.to_string();
        map.insert(
            name.to_string(),
            Arc::new(move |args: &[Value]| {
                f(args).map_err(|message| {
                    TemplateError::Exec(format!("error calling {owned}: {message}"))
                })
            }),
        );
    };
    add("lower", |a| Ok(text(str_arg(a, 0, 1)?.to_lowercase())));
    add("upper", |a| Ok(text(str_arg(a, 0, 1)?.to_uppercase())));
    add("contains", |a| {
        let (substr, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(Value::Bool(s.contains(substr.as_str())))
    });
    add("hasPrefix", |a| {
        let (prefix, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(Value::Bool(s.starts_with(prefix.as_str())))
    });
    add("hasSuffix", |a| {
        let (suffix, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(Value::Bool(s.ends_with(suffix.as_str())))
    });
    add("replace", |a| {
        let (old, new, src) = (str_arg(a, 0, 3)?, str_arg(a, 1, 3)?, str_arg(a, 2, 3)?);
        checked(go_replace(&src, &old, &new))
    });
    add("trim", |a| Ok(text(str_arg(a, 0, 1)?.trim().to_string())));
    add("trimAll", |a| {
        let (cutset, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(text(s.trim_matches(|c| cutset.contains(c)).to_string()))
    });
    add("trimSuffix", |a| {
        let (suffix, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(text(
            s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string(),
        ))
    });
    add("trimPrefix", |a| {
        let (prefix, s) = (str_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(text(
            s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string(),
        ))
    });
    add("title", |a| Ok(text(go_title(&str_arg(a, 0, 1)?))));
    add("untitle", |a| Ok(text(uncapitalize(&str_arg(a, 0, 1)?))));
    add("repeat", |a| {
        let (count, s) = (int_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        let count = usize::try_from(count).map_err(|_| "strings: negative Repeat count")?;
        if s.len().saturating_mul(count) > MAX_OUTPUT {
            return Err(format!("output longer than {MAX_OUTPUT} bytes"));
        }
        Ok(text(s.repeat(count)))
    });
    add("substr", |a| {
        let (start, end, s) = (int_arg(a, 0, 3)?, int_arg(a, 1, 3)?, str_arg(a, 2, 3)?);
        substr(start, end, &s).map(text)
    });
    add("nospace", |a| {
        Ok(text(
            str_arg(a, 0, 1)?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
        ))
    });
    add("trunc", |a| {
        let (count, s) = (int_arg(a, 0, 2)?, str_arg(a, 1, 2)?);
        Ok(text(trunc(count, &s)))
    });
    add("initials", |a| Ok(text(initials(&str_arg(a, 0, 1)?))));
    add("mustRegexReplaceAll", |a| {
        let (pattern, s, repl) = (str_arg(a, 0, 3)?, str_arg(a, 1, 3)?, str_arg(a, 2, 3)?);
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("error parsing regexp: {e}"))?;
        checked(regex.replace_all(&s, repl.as_str()).into_owned())
    });

    add("add", |a| {
        Ok(Value::Int(
            a.iter().map(cast_i64).fold(0i64, i64::wrapping_add),
        ))
    });
    add("add1", |a| {
        arity(a, 1)?;
        Ok(Value::Int(cast_i64(&a[0]).wrapping_add(1)))
    });
    add("sub", |a| {
        arity(a, 2)?;
        Ok(Value::Int(cast_i64(&a[0]).wrapping_sub(cast_i64(&a[1]))))
    });
    add("div", |a| {
        arity(a, 2)?;
        let divisor = cast_i64(&a[1]);
        if divisor == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(cast_i64(&a[0]).wrapping_div(divisor)))
    });
    add("mod", |a| {
        arity(a, 2)?;
        let divisor = cast_i64(&a[1]);
        if divisor == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(cast_i64(&a[0]).wrapping_rem(divisor)))
    });
    add("mul", |a| {
        at_least(a, 1)?;
        Ok(Value::Int(
            a[1..]
                .iter()
                .map(cast_i64)
                .fold(cast_i64(&a[0]), i64::wrapping_mul),
        ))
    });
    add("max", |a| {
        at_least(a, 1)?;
        Ok(Value::Int(a.iter().map(cast_i64).max().unwrap_or(0)))
    });
    add("min", |a| {
        at_least(a, 1)?;
        Ok(Value::Int(a.iter().map(cast_i64).min().unwrap_or(0)))
    });
    add("floor", |a| {
        arity(a, 1)?;
        Ok(Value::Float(cast_f64(&a[0]).floor()))
    });
    add("ceil", |a| {
        arity(a, 1)?;
        Ok(Value::Float(cast_f64(&a[0]).ceil()))
    });
    add("round", |a| {
        at_least(a, 2)?;
        let places = int_arg(a, 1, a.len())?;
        let round_on = match a.get(2) {
            Some(v) => cast_f64(v),
            None => 0.5,
        };
        Ok(Value::Float(round(cast_f64(&a[0]), places, round_on)))
    });
    map
}

fn text(s: String) -> Value {
    Value::String(s.into())
}

fn checked(s: String) -> Result<Value, String> {
    if s.len() > MAX_OUTPUT {
        return Err(format!("output longer than {MAX_OUTPUT} bytes"));
    }
    Ok(text(s))
}

fn arity(args: &[Value], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want {want} got {}",
            args.len()
        ))
    }
}

fn at_least(args: &[Value], want: usize) -> Result<(), String> {
    if args.len() >= want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want at least {want} got {}",
            args.len()
        ))
    }
}

/// A `string` parameter: Go refuses any other type.
fn str_arg(args: &[Value], i: usize, want: usize) -> Result<String, String> {
    arity(args, want)?;
    match &args[i] {
        Value::String(s) => Ok(s.to_string()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// An `int` parameter: integers, and integral floats (Go's untyped constants).
fn int_arg(args: &[Value], i: usize, want: usize) -> Result<i64, String> {
    if args.len() != want {
        return Err(format!(
            "wrong number of args: want {want} got {}",
            args.len()
        ));
    }
    match &args[i] {
        Value::Int(n) => Ok(*n),
        Value::Uint(n) => i64::try_from(*n).map_err(|_| "integer overflow".to_string()),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )),
    }
}

/// `spf13/cast.ToInt64`: numbers truncate, booleans are 0/1, numeric strings parse, and
/// anything else is 0.
fn cast_i64(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Value::Float(f) if f.is_finite() => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(s.trim()).unwrap_or(0),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: decimal, `0x`, `0o`/`0`, `0b` prefixes, `_` separators.
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = digits.replace('_', "");
    let (radix, body) = if let Some(rest) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, rest.to_string())
    } else if let Some(rest) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, rest.to_string())
    } else if let Some(rest) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, rest.to_string())
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, digits[1..].to_string())
    } else {
        (10, digits)
    };
    let value = i64::from_str_radix(&body, radix).ok()?;
    Some(if negative { -value } else { value })
}

/// `spf13/cast.ToFloat64`.
fn cast_f64(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Uint(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig `round`.
fn round(value: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powi(i32::try_from(places.clamp(-300, 300)).unwrap_or(0));
    let digit = pow * value;
    let fraction = digit.fract();
    let rounded = if fraction >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

/// Go's byte slice of a string, with an invalid UTF-8 cut replaced as Go's writer would
/// then show it (U+FFFD): such a result is never a valid Kubernetes name anyway.
fn byte_slice(s: &str, start: usize, end: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[start..end]).into_owned()
}

/// Sprig `trunc`: the first `c` bytes, or with a negative `c` the last `-c` bytes.
fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(s, (len + c) as usize, s.len());
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

/// Sprig `substr`; out-of-range bounds are Go's slice panics.
fn substr(start: i64, end: i64, s: &str) -> Result<String, String> {
    let len = s.len() as i64;
    let out_of_range =
        |lo: i64, hi: i64| format!("runtime error: slice bounds out of range [{lo}:{hi}]");
    if start < 0 {
        if end < 0 || end > len {
            return Err(out_of_range(0, end));
        }
        return Ok(byte_slice(s, 0, end as usize));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(out_of_range(start, len));
        }
        return Ok(byte_slice(s, start as usize, s.len()));
    }
    if start > end {
        return Err(out_of_range(start, end));
    }
    Ok(byte_slice(s, start as usize, end as usize))
}

/// `strings.Replace(s, old, new, -1)`; an empty `old` inserts `new` around every rune.
fn go_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

/// Go `strings.Title`'s word separators.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go `strings.Title`: upper-cases the first letter of each word.
fn go_title(s: &str) -> String {
    let mut previous = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_separator(previous) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

/// `goutils.Uncapitalize`: lower-cases the first letter of each whitespace-separated word.
fn uncapitalize(s: &str) -> String {
    let mut at_start = true;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_whitespace() {
            at_start = true;
            out.push(c);
        } else if at_start {
            out.extend(c.to_lowercase());
            at_start = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `goutils.Initials`: the first character of each whitespace-separated word.
fn initials(s: &str) -> String {
    s.split_whitespace()
        .filter_map(|word| word.chars().next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_helpers_follow_go() {
        assert_eq!(
            trunc(15, "a-very-long-plan-name-that-exceeds"),
            "a-very-long-pla"
        );
        assert_eq!(trunc(-3, "abcdef"), "def");
        assert_eq!(trunc(-10, "abc"), "abc");
        assert_eq!(trunc(10, "abc"), "abc");
        assert_eq!(substr(1, 3, "abcdef").unwrap(), "bc");
        assert_eq!(substr(-1, 2, "abcdef").unwrap(), "ab");
        assert_eq!(substr(2, -1, "abcdef").unwrap(), "cdef");
        assert!(substr(4, 2, "abcdef").is_err());
        assert!(substr(-1, 20, "abc").is_err());
        assert_eq!(
            go_title("hello wORLD foo_bar a-b"),
            "Hello WORLD Foo_bar A-B"
        );
        assert_eq!(uncapitalize("Hello World"), "hello world");
        assert_eq!(initials("Hello big World"), "HbW");
        assert_eq!(go_replace("abc", "", "-"), "-a-b-c-");
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("017"), Some(15));
        assert_eq!(parse_go_int("-42"), Some(-42));
        assert_eq!(parse_go_int("x"), None);
        assert_eq!(round(2.5, 0, 0.5), 3.0);
        assert_eq!(round(2.4, 0, 0.5), 2.0);
        assert_eq!(round(1.25, 1, 0.5), 1.3);
    }

    #[test]
    fn a_utf8_cut_does_not_panic() {
        let cut = trunc(1, "é");
        assert_eq!(cut, "\u{fffd}");
    }
}
