//! Hostile input: deep nesting, huge arrays, catastrophic patterns, expensive rules, and a
//! broad generated table of arbitrary JSON that prune/default/validate must survive.

use ferry_structural::{MAX_DATA_DEPTH, Schema};
use serde_json::{Map, Value, json};

fn schema() -> Schema {
    Schema::compile(&json!({"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {
            "name": {"type": "string", "pattern": "^(a+)+$", "maxLength": 100000},
            "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                      "items": {"type": "object", "required": ["port"], "properties": {"port": {"type": "integer"}, "v": {"type": "string", "default": "d"}}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "count": {"type": "integer", "minimum": 0, "default": 1},
            "mode": {"type": "string", "enum": ["a", "b"], "nullable": true},
            "nested": {"type": "object", "properties": {"deeper": {"type": "object", "properties": {"x": {"type": "boolean"}}}}},
            "ios": {"x-kubernetes-int-or-string": true},
            "when": {"type": "string", "format": "date-time"},
            "checked": {"type": "array", "items": {"type": "integer"},
                        "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x + y >= 0))"}]}
        }}
    }}))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Builds `depth` nested objects without recursion.
fn nested(depth: usize) -> Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        let mut m = Map::new();
        m.insert("a".to_string(), v);
        v = Value::Object(m);
    }
    v
}

/// Drops a deep value without recursing (serde_json's own drop is recursive).
fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        match x {
            Value::Object(m) => stack.extend(m.into_iter().map(|(_, c)| c)),
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
}

#[test]
fn ten_thousand_levels_do_not_overflow_the_stack() {
    let s = schema();
    let mut obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {}});
    obj["spec"]["free"] = nested(10_000);
    let errs = s.validate(&obj, None);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].message(),
        format!("Invalid value: \"\": object nests deeper than {MAX_DATA_DEPTH} levels")
    );
    let pruned = s.prune(&mut obj);
    assert!(pruned.is_empty());
    s.apply_defaults(&mut obj);
    // The old object may be the deep one too.
    let ok = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {}});
    assert_eq!(s.validate(&ok, Some(&obj)).len(), 1);
    dismantle(obj);
    // Within the bound, everything works.
    let mut fine = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {}});
    fine["spec"]["free"] = nested(150);
    assert!(s.validate(&fine, None).is_empty());
    assert!(s.prune(&mut fine).is_empty());
    dismantle(fine);
}

#[test]
fn catastrophic_patterns_stay_linear() {
    let s = schema();
    let obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {"name": format!("{}!", "a".repeat(50_000))}});
    let errs = s.validate(&obj, None);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.name");
}

#[test]
fn huge_arrays_are_validated_in_linear_time() {
    let s = schema();
    let tags: Vec<String> = (0..200_000)
        .map(|i| format!("t{i}"))
        .chain(["t7".to_string()])
        .collect();
    let ports: Vec<Value> = (0..100_000).map(|i| json!({"port": i})).collect();
    let mut obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {"tags": tags, "ports": ports}});
    assert!(s.prune(&mut obj).is_empty());
    s.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["ports"][99_999]["v"], json!("d"));
    let errs = s.validate(&obj, None);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["spec.tags[200000]"]);
}

#[test]
fn expensive_rules_stop_at_the_cost_limit() {
    let s = schema();
    let checked: Vec<i64> = (0..5_000).collect();
    let obj =
        json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {"checked": checked}});
    let errs = s.validate(&obj, None);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "spec.checked");
    assert!(errs[0].message().contains("cost"), "{}", errs[0].message());
}

/// A small deterministic generator (xorshift), so the table is broad but reproducible.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self, depth: usize) -> Value {
        let keys = [
            "spec",
            "name",
            "tags",
            "ports",
            "port",
            "free",
            "labels",
            "count",
            "mode",
            "nested",
            "deeper",
            "x",
            "ios",
            "when",
            "checked",
            "metadata",
            "apiVersion",
            "kind",
            "v",
            "zz",
        ];
        match self.next() % if depth > 6 { 6 } else { 9 } {
            0 => Value::Null,
            1 => Value::Bool(self.next().is_multiple_of(2)),
            2 => json!(self.next() as i64 % 1000 - 500),
            3 => json!((self.next() % 10_000) as f64 / 7.0),
            4 => json!(
                [
                    "",
                    "a",
                    "aaa",
                    "2024-01-01T00:00:00Z",
                    "b",
                    "é",
                    "50%",
                    "-1"
                ][(self.next() % 8) as usize]
            ),
            5 => json!(i64::MIN),
            6 | 7 => {
                let n = self.next() % 5;
                Value::Object(
                    (0..n)
                        .map(|_| {
                            (
                                keys[(self.next() % keys.len() as u64) as usize].to_string(),
                                self.value(depth + 1),
                            )
                        })
                        .collect(),
                )
            }
            _ => Value::Array(
                (0..self.next() % 5)
                    .map(|_| self.value(depth + 1))
                    .collect(),
            ),
        }
    }
}

#[test]
fn arbitrary_json_never_panics() {
    let s = schema();
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5_000 {
        let mut obj = match g.next() % 3 {
            0 => g.value(0),
            _ => {
                json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": g.value(1)})
            }
        };
        let old = g.value(0);
        let _ = s.validate(&obj, Some(&old));
        let _ = s.prune(&mut obj);
        s.apply_defaults(&mut obj);
        let errs = s.validate(&obj, None);
        for e in &errs {
            let _ = (e.message(), e.reason(), e.to_string());
        }
        // After pruning, nothing unknown is left to prune.
        assert!(s.prune(&mut obj).is_empty());
    }
}

#[test]
fn arbitrary_schemas_never_panic() {
    let mut g = Gen(0xD1B5_4A32_D192_ED03);
    for _ in 0..3_000 {
        let schema = g.value(0);
        let _ = Schema::compile(&schema);
        let wrapped = json!({"type": "object", "properties": {"spec": schema}});
        if let Ok(s) = Schema::compile(&wrapped) {
            let mut obj = json!({"spec": g.value(1)});
            let _ = s.prune(&mut obj);
            s.apply_defaults(&mut obj);
            let _ = s.validate(&obj, None);
        }
    }
    // A schema nested far beyond any real CRD is refused, not recursed into.
    let mut deep = json!({"type": "string"});
    for _ in 0..5_000 {
        // (not `json!`, which would serialize `deep` recursively)
        let mut props = Map::new();
        props.insert("a".to_string(), deep);
        let mut node = Map::new();
        node.insert("type".to_string(), json!("object"));
        node.insert("properties".to_string(), Value::Object(props));
        deep = Value::Object(node);
    }
    let err = Schema::compile(&deep).unwrap_err();
    assert!(err.to_string().contains("may not nest deeper"), "{err}");
    dismantle(deep);
}
