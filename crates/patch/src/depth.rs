//! A guard against hostile nesting. Every algorithm in this crate recurses over JSON;
//! callers check their inputs here first (iteratively, so the check itself cannot
//! overflow the stack).

use serde_json::Value;

use crate::error::PatchError;

/// The deepest nesting (objects and arrays) this crate accepts in any input.
///
/// Real Kubernetes objects nest a few dozen levels (a CRD's `openAPIV3Schema` maybe a
/// hundred); `serde_json` itself refuses to parse more than 128 by default. The bound
/// keeps every recursive walk far from the end of a 2 MiB thread stack.
pub const MAX_DEPTH: usize = 512;

/// The nesting depth of `value`, or `None` when it exceeds `limit`. A scalar has depth 0.
pub fn depth_within(value: &Value, limit: usize) -> Option<usize> {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) if !items.is_empty() => {
                if d + 1 > limit {
                    return None;
                }
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Object(map) if !map.is_empty() => {
                if d + 1 > limit {
                    return None;
                }
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            Value::Array(_) | Value::Object(_) => deepest = deepest.max(d + 1),
            _ => {}
        }
    }
    Some(deepest)
}

/// Fails with [`PatchError::TooDeep`] when `value` nests deeper than [`MAX_DEPTH`].
pub(crate) fn check(value: &Value, what: &'static str) -> Result<(), PatchError> {
    match depth_within(value, MAX_DEPTH) {
        Some(_) => Ok(()),
        None => Err(PatchError::TooDeep {
            what,
            limit: MAX_DEPTH,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn measures_depth() {
        assert_eq!(depth_within(&json!(1), 10), Some(0));
        assert_eq!(depth_within(&json!({}), 10), Some(1));
        assert_eq!(depth_within(&json!({"a": [1, {"b": 2}]}), 10), Some(3));
        assert_eq!(depth_within(&json!({"a": [1, {"b": 2}]}), 2), None);
    }
}
