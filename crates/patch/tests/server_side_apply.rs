//! Server-side apply and managed fields, scenario by scenario. `data/ssa_scenarios.json`
//! holds scenarios (creates, updates, applies by several managers, forced and not,
//! subresources, custom resources, resets, the update-manager cap) with, for each
//! step, the object and `managedFields` (times left out) or the error that
//! apimachinery v0.33's field manager (`managedfields.NewDefaultFieldManager`, with the
//! Kubernetes v1.33 OpenAPI) produced for the same steps.

use ferry_patch::{Schema, TypeInfo, Writer, apply, record_update};
use serde_json::Value;

const SCENARIOS: &str = include_str!("data/ssa_scenarios.json");

fn strip_times(mut v: Value) -> Value {
    if let Some(Value::Array(entries)) = v.pointer_mut("/metadata/managedFields") {
        for e in entries {
            if let Value::Object(m) = e {
                m.remove("time");
            }
        }
    }
    v
}

fn now() -> jiff::Timestamp {
    "2025-01-02T03:04:05Z".parse().expect("a timestamp")
}

#[test]
fn field_manager_matches_apimachinery() {
    let scenarios: Vec<Value> = serde_json::from_str(SCENARIOS).unwrap();
    let mut failures = Vec::new();
    for sc in &scenarios {
        let name = sc["name"].as_str().unwrap();
        let api_version = sc["apiVersion"].as_str().unwrap();
        let kind = sc["kind"].as_str().unwrap();
        let schema: Box<dyn TypeInfo> = match sc.get("crdSchema") {
            Some(s) => Box::new(Schema::for_custom_resource(Some(s), false).unwrap()),
            None => Box::new(Schema::builtin(api_version, kind).unwrap()),
        };
        let reset: Vec<&str> = sc
            .get("reset")
            .and_then(Value::as_array)
            .map(|r| r.iter().map(|p| p.as_str().unwrap()).collect())
            .unwrap_or_default();
        let mut live: Option<Value> = None;
        for (i, step) in sc["steps"].as_array().unwrap().iter().enumerate() {
            let writer = Writer {
                manager: step["manager"].as_str().unwrap(),
                api_version,
                kind,
                subresource: sc.get("subresource").and_then(Value::as_str),
                reset_fields: &reset,
                now: now(),
            };
            let mut object = step["object"].clone();
            let got: Result<Value, String> = match step["op"].as_str().unwrap() {
                "update" => record_update(live.as_ref(), &mut object, schema.as_ref(), &writer)
                    .map_err(|e| e.to_string())
                    .map(|()| object),
                _ => apply(
                    live.as_ref(),
                    &object,
                    schema.as_ref(),
                    &writer,
                    step["force"].as_bool().unwrap_or(false),
                )
                .map(|a| a.object)
                .map_err(|e| e.to_string()),
            };
            match (&got, step.get("expect"), step.get("error")) {
                (Ok(obj), Some(want), _) => {
                    let obj = strip_times(obj.clone());
                    if &obj != want {
                        failures.push(format!("{name} step {i}:\n  want {want}\n  got  {obj}"));
                    }
                    live = Some(got.unwrap());
                }
                (Err(e), _, Some(want)) if want.as_str() == Some(e.as_str()) => {}
                _ => failures.push(format!(
                    "{name} step {i}: got {got:?}, want {:?} / {:?}",
                    step.get("expect"),
                    step.get("error")
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
