//! Hostile and malformed input: every entry point answers with a typed error (or a
//! result), never a panic or a stack overflow.

use ferry_patch::{
    MAX_DEPTH, PatchError, Schema, Writer, apply, fields_v1_to_set, json_patch, merge_patch,
    record_update, strategic_merge_patch,
};
use serde_json::{Map, Value, json};

/// `{"a": {"a": ... 1 ...}}`, `depth` objects deep, built without recursion.
fn deep_object(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        let mut m = Map::new();
        m.insert("a".into(), v);
        v = Value::Object(m);
    }
    v
}

/// Takes a deep value apart without recursion (serde_json's drop recurses).
fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
}

fn writer<'a>(api_version: &'a str, kind: &'a str) -> Writer<'a> {
    Writer {
        manager: "m",
        api_version,
        kind,
        subresource: None,
        reset_fields: &[],
        now: "2025-01-01T00:00:00Z".parse().expect("time"),
    }
}

#[test]
fn ten_thousand_levels_are_refused_everywhere() {
    const DEEP: usize = 10_000;
    let deep = deep_object(DEEP);
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let cm = Schema::builtin("v1", "ConfigMap").unwrap();

    let mut target = json!({"a": 1});
    assert!(matches!(
        merge_patch(&mut target, &deep),
        Err(PatchError::TooDeep { .. })
    ));
    // (json! would serialize the deep value recursively: build the operation by hand.)
    let mut op = json!({"op": "add", "path": "/a"});
    op["value"] = deep_object(DEEP);
    let ops = Value::Array(vec![op]);
    assert!(matches!(
        json_patch(&json!({}), &ops),
        Err(PatchError::TooDeep { .. })
    ));
    dismantle(ops);
    assert!(matches!(
        strategic_merge_patch(&json!({}), &deep, &pod),
        Err(PatchError::TooDeep { .. })
    ));
    assert!(matches!(
        strategic_merge_patch(&deep, &json!({}), &pod),
        Err(PatchError::TooDeep { .. })
    ));
    assert_eq!(deep_object(3).to_string(), r#"{"a":{"a":{"a":1}}}"#);

    let mut config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    config["data"] = deep_object(DEEP);
    let err = apply(None, &config, &cm, &writer("v1", "ConfigMap"), false).unwrap_err();
    assert_eq!(err.status().code, 400, "{err}");
    let err = apply(
        Some(&config),
        &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
        &cm,
        &writer("v1", "ConfigMap"),
        false,
    )
    .unwrap_err();
    assert_eq!(err.status().code, 400, "{err}");
    assert!(record_update(None, &mut config, &cm, &writer("v1", "ConfigMap")).is_err());
    dismantle(config);

    assert!(Schema::for_custom_resource(Some(&deep), false).is_err());
    let mut fields = deep_object(DEEP);
    if let Value::Object(m) = &mut fields {
        m.insert("f:x".into(), json!({}));
    }
    assert!(fields_v1_to_set(&fields).is_err());
    dismantle(fields);
    dismantle(deep);
}

#[test]
fn nesting_just_under_the_limit_works_on_a_normal_stack() {
    let depth = MAX_DEPTH - 8;
    let deep = deep_object(depth);
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let cm = Schema::builtin("v1", "ConfigMap").unwrap();

    let mut target = deep.clone();
    merge_patch(&mut target, &deep).unwrap();
    assert_eq!(target, deep);
    let ops = json!([{"op": "add", "path": "/b", "value": deep.clone()}]);
    json_patch(&deep, &ops).unwrap();
    let patched = strategic_merge_patch(&deep, &deep, &pod).unwrap();
    assert_eq!(patched, deep);

    let mut config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    // ConfigMap data values are strings: a deep value is refused as a typed error.
    config["data"] = json!({"k": deep.clone()});
    assert!(apply(None, &config, &cm, &writer("v1", "ConfigMap"), false).is_err());
    // A custom resource with preserved fields takes it.
    let cr = Schema::for_custom_resource(
        Some(&json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})),
        false,
    )
    .unwrap();
    let mut obj =
        json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "k"}, "spec": deep.clone()});
    apply(None, &obj, &cr, &writer("x/v1", "K"), false).unwrap();
    record_update(None, &mut obj, &cr, &writer("x/v1", "K")).unwrap();
    assert!(obj["metadata"]["managedFields"].is_array());
}

#[test]
fn huge_arrays_are_handled() {
    let items: Vec<Value> = (0..20_000)
        .map(|i| json!({"name": format!("c{i}"), "image": "x"}))
        .collect();
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let live = json!({"spec": {"containers": items.clone()}});
    let patch = json!({"spec": {"containers": [{"name": "c19999", "image": "y"}]}});
    let out = strategic_merge_patch(&live, &patch, &pod).unwrap();
    let containers = out["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 20_000);
    assert_eq!(containers[19_999], json!({"name": "c19999", "image": "y"}));
    assert_eq!(containers[0], json!({"name": "c0", "image": "x"}));

    let ops: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
        .collect();
    let err = json_patch(&json!({"a": 1}), &Value::Array(ops)).unwrap_err();
    assert_eq!(err.status().code, 413);
}

#[test]
fn json_patch_copy_growth_is_capped() {
    // Each copy doubles the document: 3 MiB of copies is kube-apiserver's limit.
    let mut ops = vec![json!({"op": "add", "path": "/a", "value": "x".repeat(1024)})];
    for i in 0..40 {
        ops.push(json!({"op": "copy", "from": "/a", "path": format!("/b{i}")}));
        ops.push(json!({"op": "copy", "from": "", "path": "/a"}));
    }
    let err = json_patch(&json!({}), &Value::Array(ops)).unwrap_err();
    assert!(matches!(err, PatchError::Unprocessable(_)), "{err:?}");
    let mut grow = vec![json!({"op": "add", "path": "/a", "value": ["x".repeat(4096)]})];
    for _ in 0..2000 {
        grow.push(json!({"op": "copy", "from": "/a/0", "path": "/a/-"}));
    }
    let err = json_patch(&json!({}), &Value::Array(grow)).unwrap_err();
    assert!(
        err.to_string().contains("exceeding the limit 3145728"),
        "{err}"
    );
}

#[test]
fn invalid_pointers_and_type_mismatches_are_errors() {
    let doc = json!({"a": [1, 2], "s": "x", "n": null});
    for (path, why) in [
        ("/a/9", "index out of range"),
        ("/a/x", "not an index"),
        ("/s/x", "into a string"),
        ("/n/x", "through null"),
        ("/q/r/s", "missing parent"),
        ("a", "no leading slash"),
    ] {
        let r = json_patch(&doc, &json!([{"op": "remove", "path": path}]));
        assert!(
            matches!(r, Err(PatchError::Unprocessable(_))),
            "{why}: {r:?}"
        );
    }
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let live = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 1}]}]}});
    let mismatched = [
        json!({"spec": {"containers": [{"name": "a", "ports": "x"}]}}),
        json!({"spec": {"containers": [1, 2]}}),
        json!({"spec": {"containers": [{"name": "a"}, "b"]}}),
        json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 1.5}]}]}}),
        json!({"spec": 5}),
        json!({"$patch": 5}),
        json!({"spec": {"$setElementOrder/containers": 5}}),
        json!({"spec": {"$setElementOrder/containers": [{"nome": "a"}], "containers": [{"name": "a"}]}}),
    ];
    for patch in mismatched {
        // Either a result or a typed error; what matters is that nothing panics.
        let _ = strategic_merge_patch(&live, &patch, &pod);
    }
    let cm = Schema::builtin("v1", "ConfigMap").unwrap();
    let w = writer("v1", "ConfigMap");
    for config in [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": [1]}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": {"b": 1}}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": [{"a": 1}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["a", "a"]}}),
        json!("not an object"),
        json!(null),
    ] {
        let err = apply(None, &config, &cm, &w, false).unwrap_err();
        assert!(matches!(err.status().code, 400 | 500), "{err}");
    }
    // Garbage managed fields in a stored object: apply reports it, update starts over.
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "u",
        "managedFields": [{"manager": "x", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"zz": 1}}]}});
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
    assert_eq!(
        apply(Some(&live), &config, &cm, &w, false)
            .unwrap_err()
            .status()
            .code,
        500
    );
    let mut new = config.clone();
    record_update(Some(&live), &mut new, &cm, &w).unwrap();
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "containers",
    "name",
    "image",
    "ports",
    "containerPort",
    "protocol",
    "env",
    "value",
    "finalizers",
    "labels",
    "data",
    "a",
    "b",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "managedFields",
    "uid",
    "f:a",
    "k:{\"name\":\"a\"}",
    ".",
    "v:1",
    "i:0",
];

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    let choice = if depth == 0 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match choice {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(5) as i64 - 1),
        3 => json!(rng.below(3) as f64 + 0.5),
        4 => json!(rng.pick(&["a", "b", "delete", "replace", "merge", "TCP", "x/y"])),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(5) {
                m.insert(rng.pick(KEYS).to_string(), random_value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

fn random_pointer(rng: &mut Rng) -> String {
    let mut p = String::new();
    for _ in 0..rng.below(4) {
        p.push('/');
        p.push_str(rng.pick(&["a", "b", "0", "1", "-", "-1", "spec", "~0", "~1", "01"]));
    }
    p
}

#[test]
fn random_json_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let cr = Schema::for_custom_resource(
        Some(&json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-preserve-unknown-fields": true},
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}})),
        false,
    )
    .unwrap();
    for _ in 0..3000 {
        let target = random_value(&mut rng, 4);
        let patch = random_value(&mut rng, 4);

        let mut t = target.clone();
        let _ = merge_patch(&mut t, &patch);

        let ops: Vec<Value> = (0..rng.below(4))
            .map(|_| {
                json!({"op": rng.pick(&["add", "remove", "replace", "move", "copy", "test", "x"]),
                    "path": random_pointer(&mut rng), "from": random_pointer(&mut rng),
                    "value": random_value(&mut rng, 2)})
            })
            .collect();
        let _ = json_patch(&target, &Value::Array(ops));
        let _ = json_patch(&target, &patch);

        let _ = strategic_merge_patch(&target, &patch, &pod);
        let _ = fields_v1_to_set(&patch);

        for (schema, api_version, kind) in [
            (&pod as &dyn ferry_patch::TypeInfo, "v1", "Pod"),
            (&cr as &dyn ferry_patch::TypeInfo, "x/v1", "K"),
        ] {
            let w = writer(api_version, kind);
            let mut config = patch.clone();
            if let Value::Object(m) = &mut config {
                m.insert("apiVersion".into(), json!(api_version));
                m.insert("kind".into(), json!(kind));
            }
            let mut live = target.clone();
            if let Value::Object(m) = &mut live {
                m.insert("apiVersion".into(), json!(api_version));
                m.insert("kind".into(), json!(kind));
            }
            let _ = apply(Some(&live), &config, schema, &w, rng.below(2) == 0);
            let _ = apply(None, &config, schema, &w, false);
            let mut new = config.clone();
            let _ = record_update(Some(&live), &mut new, schema, &w);
            let mut new = config.clone();
            let _ = record_update(None, &mut new, schema, &w);
        }
    }
}

#[test]
fn apply_with_huge_keyed_lists_is_fast_enough() {
    let containers: Vec<Value> = (0..5_000)
        .map(|i| json!({"name": format!("c{i}"), "image": "x"}))
        .collect();
    let pod = Schema::builtin("v1", "Pod").unwrap();
    let w = writer("v1", "Pod");
    let config = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": containers}});
    let applied = apply(None, &config, &pod, &w, false).unwrap();
    let fields =
        &applied.object["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"];
    assert_eq!(fields.as_object().unwrap().len(), 5_000);
    let mut new = applied.object.clone();
    new["spec"]["containers"][4_999]["image"] = json!("y");
    let w2 = Writer {
        manager: "editor",
        ..writer("v1", "Pod")
    };
    record_update(Some(&applied.object), &mut new, &pod, &w2).unwrap();
    assert_eq!(
        new["metadata"]["managedFields"].as_array().unwrap().len(),
        2
    );
}
