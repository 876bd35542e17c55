//! The zero value of each built-in kind as kube-apiserver's field manager sees it when
//! an object is created (`Creater.New(kind)` converted to unstructured): non-pointer
//! structs appear as objects, slices and maps without `omitempty` as `null`. Kept in
//! `data/builtin-empty-objects.json` (made by marshalling `&Kind{}` with
//! k8s.io/apimachinery's unstructured converter).

use std::sync::LazyLock;

use serde_json::Value;

const DATA: &str = include_str!("../../data/builtin-empty-objects.json");

static OBJECTS: LazyLock<serde_json::Map<String, Value>> =
    LazyLock::new(|| match serde_json::from_str::<Value>(DATA) {
        Ok(Value::Object(mut doc)) => match doc.remove("objects") {
            Some(Value::Object(objects)) => objects,
            _ => serde_json::Map::new(),
        },
        _ => serde_json::Map::new(),
    });

/// The zero value of a built-in kind, without `apiVersion`/`kind`.
pub(crate) fn empty_object(api_version: &str, kind: &str) -> Option<Value> {
    OBJECTS.get(&format!("{api_version}/{kind}")).cloned()
}
