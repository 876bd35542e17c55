//! Resource quantities (`500m`, `1Gi`, `2e3`): their syntax, checked when a body is
//! decoded as kube-apiserver's `resource.ParseQuantity` checks it, and their value,
//! for validation rules that compare them (a request above its limit).

use serde_json::Value;

/// `resource.ErrFormatWrong`.
pub const FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// `resource.ErrNumeric`.
pub const NUMERIC: &str = "unable to parse numeric part of quantity";
/// `resource.ErrSuffix`.
pub const SUFFIX: &str = "unable to parse quantity's suffix";

/// The value of a quantity (as a float: enough to compare), or the error text
/// kube-apiserver gives for it.
pub fn parse(s: &str) -> Result<f64, &'static str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let start = i;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    let number = &s[..i];
    let digits = &s[start..i];
    if digits.is_empty() {
        return Err(FORMAT_WRONG);
    }
    if digits.matches('.').count() > 1 || !digits.bytes().any(|b| b.is_ascii_digit()) {
        return Err(NUMERIC);
    }
    let value: f64 = number.parse().map_err(|_| NUMERIC)?;
    let multiplier = suffix(&s[i..])?;
    Ok(value * multiplier)
}

/// The multiplier of a suffix: binary (`Ki`..`Ei`), decimal (`n`..`E`) or an
/// exponent (`e3`, `E-2`).
fn suffix(s: &str) -> Result<f64, &'static str> {
    let binary = |p: i32| Ok(2f64.powi(p));
    let decimal = |p: i32| Ok(10f64.powi(p));
    match s {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = s
                .strip_prefix('e')
                .or_else(|| s.strip_prefix('E'))
                .ok_or(SUFFIX)?;
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SUFFIX);
            }
            decimal(exponent.parse().map_err(|_| SUFFIX)?)
        }
    }
}

/// The first malformed quantity among the values of the maps at `paths` (JSON
/// pointers, `*` standing for every element of an array), as kube-apiserver's
/// decoder reports it.
pub fn first_error(obj: &Value, paths: &[&str]) -> Option<&'static str> {
    paths.iter().find_map(|p| {
        let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let mut found = None;
        visit(obj, &parts, &mut |map| {
            if found.is_none()
                && let Some(m) = map.as_object()
            {
                found = m.values().find_map(|v| match v {
                    Value::String(s) => parse(s).err(),
                    // Go reads a JSON number as a quantity too.
                    Value::Number(_) => None,
                    _ => Some(FORMAT_WRONG),
                });
            }
        });
        found
    })
}

fn visit<'a>(v: &'a Value, parts: &[&str], f: &mut dyn FnMut(&'a Value)) {
    match parts.split_first() {
        None => f(v),
        Some((&"*", rest)) => {
            for x in v.as_array().into_iter().flatten() {
                visit(x, rest, f);
            }
        }
        Some((key, rest)) => {
            if let Some(x) = v.get(*key) {
                visit(x, rest, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_of_each_suffix() {
        assert_eq!(parse("2").unwrap(), 2.0);
        assert_eq!(parse("500m").unwrap(), 0.5);
        assert_eq!(parse("1Gi").unwrap(), 1073741824.0);
        assert_eq!(parse("1.5k").unwrap(), 1500.0);
        assert_eq!(parse("2e3").unwrap(), 2000.0);
        assert_eq!(parse("+1E-1").unwrap(), 0.1);
        assert!(parse("1000m").unwrap() <= parse("1").unwrap());
    }

    #[test]
    fn errors_as_go_words_them() {
        assert_eq!(parse("lots"), Err(FORMAT_WRONG));
        assert_eq!(parse(""), Err(FORMAT_WRONG));
        assert_eq!(parse("1Zi"), Err(SUFFIX));
        assert_eq!(parse("1e"), Err(SUFFIX));
        assert_eq!(parse("1.2.3"), Err(NUMERIC));
    }

    #[test]
    fn finds_the_first_bad_quantity_under_wildcards() {
        let pod = json!({"spec": {"containers": [
            {"resources": {"requests": {"cpu": "1"}}},
            {"resources": {"limits": {"memory": "lots"}}}]}});
        let paths = [
            "/spec/containers/*/resources/requests",
            "/spec/containers/*/resources/limits",
        ];
        assert_eq!(first_error(&pod, &paths), Some(FORMAT_WRONG));
        assert_eq!(first_error(&json!({}), &paths), None);
    }
}
