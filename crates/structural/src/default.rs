//! Structural defaulting (schema/defaulting): a property's `default` fills it when absent, or
//! when it is `null` and the property is not nullable; map values and list items that are
//! non-nullable nulls take their schema's default.

use crate::schema::{Additional, Node};
use serde_json::Value;

fn non_nullable_null(x: &Value, s: &Node) -> bool {
    x.is_null() && !s.nullable
}

pub(crate) fn apply(x: &mut Value, s: &Node, depth: usize) {
    if depth > crate::MAX_DATA_DEPTH {
        return;
    }
    match x {
        Value::Object(map) => {
            for (k, prop) in &s.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let fill = match map.get(k) {
                    None => true,
                    Some(v) => non_nullable_null(v, prop),
                };
                if fill {
                    map.insert(k.clone(), default.clone());
                }
            }
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    apply(v, prop, depth + 1);
                } else if let Some(Additional::Schema(add)) = &s.additional {
                    if non_nullable_null(v, add) {
                        *v = add.default.clone().unwrap_or(Value::Null);
                    }
                    apply(v, add, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                for v in items.iter_mut() {
                    if non_nullable_null(v, item) {
                        *v = item.default.clone().unwrap_or(Value::Null);
                    }
                    apply(v, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}
