//! The generated CRDs against upstream's (`fixtures/upstream/crds`): every difference by
//! path. Deliberate ones are listed, with a reason each, in `crd-differences.yaml`; the
//! test fails on any difference not listed there and on any listed one that no longer
//! occurs.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/upstream/crds")
}

fn upstream(plural: &str) -> Value {
    let path = fixtures().join(format!("forklift.konveyor.io_{plural}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A compact path: schema properties as `.name`, array items as `[]`, map values as `{}`.
fn compact(path: &[String]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < path.len() {
        match path[i].as_str() {
            "spec" if i == 0 => {
                i += 1;
                continue;
            }
            "versions" if path.get(1 + i).map(String::as_str) == Some("0") => {
                out.push_str("version");
                i += 2;
                if path.get(i).map(String::as_str) == Some("schema")
                    && path.get(i + 1).map(String::as_str) == Some("openAPIV3Schema")
                {
                    out.truncate(out.len() - "version".len());
                    out.push_str("schema");
                    i += 2;
                }
                continue;
            }
            "properties" if i + 1 < path.len() => {
                out.push('.');
                out.push_str(&path[i + 1]);
                i += 2;
                continue;
            }
            "items" => out.push_str("[]"),
            "additionalProperties" => out.push_str("{}"),
            other => {
                out.push(':');
                out.push_str(other);
            }
        }
        i += 1;
    }
    out
}

/// Collects `(difference, detail)`: the difference is what the list matches on; the
/// detail shows the values.
fn walk(
    generated: &Value,
    upstream: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(String, String)>,
) {
    match (generated, upstream) {
        (Value::Object(g), Value::Object(u)) => {
            let keys: BTreeSet<&String> = g.keys().chain(u.keys()).collect();
            for key in keys {
                path.push(key.clone());
                match (g.get(key), u.get(key)) {
                    (Some(a), Some(b)) => walk(a, b, path, out),
                    (Some(a), None) => {
                        out.push((format!("{} extra", compact(path)), format!("generated {a}")))
                    }
                    (None, Some(b)) => out.push((
                        format!("{} missing", compact(path)),
                        format!("upstream {b}"),
                    )),
                    (None, None) => {}
                }
                path.pop();
            }
        }
        (Value::Array(g), Value::Array(u)) if g.len() == u.len() => {
            for (i, (a, b)) in g.iter().zip(u).enumerate() {
                path.push(i.to_string());
                walk(a, b, path, out);
                path.pop();
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push((
            format!("{} differs", compact(path)),
            format!("generated {a} upstream {b}"),
        )),
    }
}

/// One deliberate difference. `crd` is a plural or `*` (any); `difference` is matched
/// exactly, or as a suffix when it starts with `*`.
#[derive(Deserialize)]
struct Listed {
    crd: String,
    difference: String,
    reason: String,
}

impl Listed {
    fn matches(&self, crd: &str, difference: &str) -> bool {
        (self.crd == "*" || self.crd == crd)
            && match self.difference.strip_prefix('*') {
                Some(suffix) => difference.ends_with(suffix),
                None => self.difference == difference,
            }
    }
}

fn listed() -> Vec<Listed> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/crd-differences.yaml");
    let text = std::fs::read_to_string(&path).expect("crd-differences.yaml is readable");
    let listed: Vec<Listed> = serde_saphyr::from_str(&text).expect("crd-differences.yaml parses");
    for entry in &listed {
        assert!(
            !entry.reason.trim().is_empty(),
            "{}: {} has no reason",
            entry.crd,
            entry.difference
        );
    }
    listed
}

fn differences() -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for crd in ferry_api::crds::all().expect("CRDs generate") {
        let plural = crd.spec.names.plural.clone();
        let generated = serde_json::to_value(&crd).expect("CRDs serialize");
        let upstream = upstream(&plural);
        assert_eq!(generated["metadata"]["name"], upstream["metadata"]["name"]);
        assert_eq!(generated["apiVersion"], upstream["apiVersion"]);
        assert_eq!(generated["kind"], upstream["kind"]);
        let mut found = Vec::new();
        walk(&generated, &upstream, &mut Vec::new(), &mut found);
        all.extend(
            found
                .into_iter()
                .map(|(d, detail)| (plural.clone(), d, detail)),
        );
    }
    all
}

#[test]
fn generated_crds_match_upstream_except_listed_differences() {
    let found = differences();
    let listed = listed();
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(crd, d, _)| !listed.iter().any(|l| l.matches(crd, d)))
        .map(|(crd, d, detail)| format!("{crd}: {d} ({detail})"))
        .collect();
    let stale: Vec<String> = listed
        .iter()
        .filter(|l| !found.iter().any(|(crd, d, _)| l.matches(crd, d)))
        .map(|l| format!("{}: {}", l.crd, l.difference))
        .collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "\n{} unlisted differences:\n  {}\n{} listed differences that no longer occur:\n  {}\n",
        unlisted.len(),
        unlisted.join("\n  "),
        stale.len(),
        stale.join("\n  "),
    );
}

#[test]
fn all_fourteen_kinds_are_served() {
    let crds = ferry_api::crds::all().unwrap();
    assert_eq!(crds.len(), 14);
    let files = std::fs::read_dir(fixtures()).unwrap().count();
    assert_eq!(files, 14);
}

#[test]
fn yaml_output_is_multi_document_and_parses_back() {
    let crds = ferry_api::crds::all().unwrap();
    let yaml = ferry_api::crds::to_yaml(&crds).unwrap();
    assert_eq!(yaml.matches("\n---\n").count() + 1, 14, "14 documents");
    let back: Vec<Value> = serde_saphyr::from_str_multiple(&yaml).unwrap();
    assert_eq!(back.len(), 14);
    for (value, crd) in back.iter().zip(&crds) {
        let original = serde_json::to_value(crd).unwrap();
        assert_eq!(
            ferry_api::crds::first_difference(value, &original, ""),
            None,
            "{}",
            crd.spec.names.plural
        );
    }
}

#[test]
fn the_comparison_finds_differences() {
    let upstream = upstream("plans");
    let mut changed = upstream.clone();
    let spec =
        &mut changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["required"] = serde_json::json!(["map", "provider", "vms"]);
    spec["properties"]["warm"]["type"] = serde_json::json!("string");
    spec["properties"]["vms"]["items"]["properties"]["luks"]
        .as_object_mut()
        .unwrap()
        .remove("x-kubernetes-map-type");
    spec["properties"]["extra"] = serde_json::json!({"type": "string"});
    let mut found = Vec::new();
    walk(&changed, &upstream, &mut Vec::new(), &mut found);
    let found: Vec<&str> = found.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        found,
        [
            "schema.spec.extra extra",
            "schema.spec.vms[].luks:x-kubernetes-map-type missing",
            "schema.spec.warm:type differs",
            "schema.spec:required differs",
        ]
    );
}
