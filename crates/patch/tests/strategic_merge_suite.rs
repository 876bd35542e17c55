//! Strategic merge patch conformance: the patches of apimachinery's own strategic
//! merge patch test tables (`pkg/util/strategicpatch/patch_test.go`, Apache-2.0, The
//! Kubernetes Authors) applied to their originals, re-expressed as a table. Each
//! expected result is what `strategicpatch.StrategicMergeMapPatch` v0.33 returns for
//! the test's `MergeItem` type (described below in OpenAPI form); list order matters.

use ferry_patch::{Schema, strategic_merge_patch};
use serde_json::{Value, json};

enum Expect {
    Doc(&'static str),
    Error(&'static str),
}
use Expect::*;

/// The `MergeItem` test type of patch_test.go, as OpenAPI with patch extensions.
fn merge_item_schema() -> Schema {
    let merge_item = |name_key: bool| {
        let _ = name_key;
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "mergingList": {"type": "array", "items": {"$ref": "#/definitions/mergeItem"},
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "nonMergingList": {"type": "array", "items": {"$ref": "#/definitions/mergeItem"}},
                "mergingIntList": {"type": "array", "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge"},
                "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
                "mergeItemPtr": {"$ref": "#/definitions/mergeItem",
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "replacingItem": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.runtime.RawExtension",
                    "x-kubernetes-patch-strategy": "replace"},
                "retainKeysMap": {"$ref": "#/definitions/retainKeysMergeItem",
                    "x-kubernetes-patch-strategy": "retainKeys"},
                "retainKeysMergingList": {"type": "array", "items": {"$ref": "#/definitions/mergeItem"},
                    "x-kubernetes-patch-strategy": "merge,retainKeys", "x-kubernetes-patch-merge-key": "name"}
            }
        })
    };
    let definitions = json!({
        "mergeItem": merge_item(true),
        "retainKeysMergeItem": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "other": {"type": "string"},
                "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
                "mergingIntList": {"type": "array", "items": {"type": "integer"},
                    "x-kubernetes-patch-strategy": "merge"},
                "mergingList": {"type": "array", "items": {"$ref": "#/definitions/mergeItem"},
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "nonMergingList": {"type": "array", "items": {"$ref": "#/definitions/mergeItem"}}
            }
        },
        "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object"}
    });
    let definitions = definitions.as_object().expect("definitions are an object");
    Schema::from_openapi_definitions(definitions, "mergeItem", true)
        .expect("MergeItem schema builds")
}

#[test]
fn strategic_merge_patch_matches_apimachinery() {
    let schema = merge_item_schema();
    let mut failures = Vec::new();
    for (comment, doc, patch, want) in CASES {
        let doc: Value = serde_json::from_str(doc).unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        let got = strategic_merge_patch(&doc, &patch, &schema);
        let ok = match (want, &got) {
            (Doc(want), Ok(out)) => &serde_json::from_str::<Value>(want).unwrap() == out,
            (Error(want), Err(e)) => &e.to_string() == want,
            _ => false,
        };
        if !ok {
            failures.push(format!("{comment}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

const CASES: &[(&str, &str, &str, Expect)] = &[
    (
        "nil original / two-way",
        r#"{}"#,
        r#"{"name":1,"value":1}"#,
        Doc(r#"{"name":1,"value":1}"#),
    ),
    (
        "nil original / three-way",
        r#"{"name":1,"other":"a"}"#,
        r#"{"value":1}"#,
        Doc(r#"{"name":1,"other":"a","value":1}"#),
    ),
    (
        "nil patch / two-way",
        r#"{"name":1}"#,
        r#"{}"#,
        Doc(r#"{"name":1}"#),
    ),
    (
        "add field to map / two-way",
        r#"{"name":1}"#,
        r#"{"value":1}"#,
        Doc(r#"{"name":1,"value":1}"#),
    ),
    (
        "add field to map with conflict / three-way",
        r#"{"name":"a","other":"a"}"#,
        r#"{"name":1,"value":1}"#,
        Doc(r#"{"name":1,"other":"a","value":1}"#),
    ),
    (
        "add field and delete field from map / two-way",
        r#"{"name":1}"#,
        r#"{"name":null,"value":1}"#,
        Doc(r#"{"value":1}"#),
    ),
    (
        "add field and delete field from map / three-way",
        r#"{"name":1,"other":"a"}"#,
        r#"{"name":null,"value":1}"#,
        Doc(r#"{"other":"a","value":1}"#),
    ),
    (
        "add field and delete field from map with conflict / three-way",
        r#"{"name":"a","other":"a"}"#,
        r#"{"name":null,"value":1}"#,
        Doc(r#"{"other":"a","value":1}"#),
    ),
    (
        "delete field from nested map / two-way",
        r#"{"simpleMap":{"key1":1,"key2":1}}"#,
        r#"{"simpleMap":{"key2":null}}"#,
        Doc(r#"{"simpleMap":{"key1":1}}"#),
    ),
    (
        "delete field from nested map / three-way",
        r#"{"simpleMap":{"key1":1,"key2":1,"other":"a"}}"#,
        r#"{"simpleMap":{"key2":null}}"#,
        Doc(r#"{"simpleMap":{"key1":1,"other":"a"}}"#),
    ),
    (
        "delete field from nested map with conflict / three-way",
        r#"{"simpleMap":{"key1":"a","key2":1,"other":"a"}}"#,
        r#"{"simpleMap":{"key1":1,"key2":null}}"#,
        Doc(r#"{"simpleMap":{"key1":1,"other":"a"}}"#),
    ),
    (
        "delete all fields from map / two-way",
        r#"{"name":1,"value":1}"#,
        r#"{"name":null,"value":null}"#,
        Doc(r#"{}"#),
    ),
    (
        "delete all fields from map / three-way",
        r#"{"name":1,"value":1,"other":"a"}"#,
        r#"{"name":null,"value":null}"#,
        Doc(r#"{"other":"a"}"#),
    ),
    (
        "delete all fields from map with conflict / three-way",
        r#"{"name":1,"value":"a","other":"a"}"#,
        r#"{"name":null,"value":null}"#,
        Doc(r#"{"other":"a"}"#),
    ),
    (
        "add field and delete all fields from map / two-way",
        r#"{"name":1,"value":1}"#,
        r#"{"name":null,"value":null,"other":"a"}"#,
        Doc(r#"{"other":"a"}"#),
    ),
    (
        "add field and delete all fields from map with conflict / three-way",
        r#"{"name":1,"value":1,"other":"b"}"#,
        r#"{"name":null,"value":null,"other":"a"}"#,
        Doc(r#"{"other":"a"}"#),
    ),
    (
        "replace list of scalars / two-way",
        r#"{"nonMergingIntList":[1,2]}"#,
        r#"{"nonMergingIntList":[2,3]}"#,
        Doc(r#"{"nonMergingIntList":[2,3]}"#),
    ),
    (
        "replace list of scalars with conflict / three-way",
        r#"{"nonMergingIntList":[1,4]}"#,
        r#"{"nonMergingIntList":[2,3]}"#,
        Doc(r#"{"nonMergingIntList":[2,3]}"#),
    ),
    (
        "delete all maps from merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "delete all maps from merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "delete all maps from empty merging list / three-way",
        r#"{"mergingList":[]}"#,
        r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":2,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "merge empty merging lists / two-way",
        r#"{"mergingList":[]}"#,
        r#"{}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "defined null values should propagate overwrite current fields (with conflict) / two-way",
        r#"{"name":2}"#,
        r#"{"name":1,"value":1,"other":null}"#,
        Doc(r#"{"name":1,"value":1}"#),
    ),
    (
        "defined null values should propagate overwrite current fields (with conflict) / three-way",
        r#"{"name":"a","other":"a"}"#,
        r#"{"name":1,"value":1,"other":null}"#,
        Doc(r#"{"name":1,"value":1}"#),
    ),
    (
        "defined null values should propagate removing original fields / two-way",
        r#"{"name":"original-name","value":"original-value"}"#,
        r#"{"name":"modified-name","value":null}"#,
        Doc(r#"{"name":"modified-name"}"#),
    ),
    (
        "defined null values should propagate removing original fields / three-way",
        r#"{"name":"original-name","value":"original-value","other":"current-other"}"#,
        r#"{"name":"modified-name","value":null}"#,
        Doc(r#"{"name":"modified-name","other":"current-other"}"#),
    ),
    (
        "nil patch with retainKeys map / two-way",
        r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#,
        r#"{}"#,
        Doc(r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#),
    ),
    (
        "nil patch with retainKeys map / three-way",
        r#"{"name":"a","value":"b","retainKeysMap":{"name":"foo"}}"#,
        r#"{}"#,
        Doc(r#"{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"}"#),
    ),
    (
        "retainKeys map with no change should not be present / two-way",
        r#"{"name":"a","retainKeysMap":{"name":"foo"}}"#,
        r#"{"value":"b"}"#,
        Doc(r#"{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"}"#),
    ),
    (
        "retainKeys map with no change should not be present / three-way",
        r#"{"name":"a","other":"c","retainKeysMap":{"name":"foo"}}"#,
        r#"{"value":"b"}"#,
        Doc(r#"{"name":"a","other":"c","retainKeysMap":{"name":"foo"},"value":"b"}"#),
    ),
    (
        "unique scalars when merging lists / two-way",
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"mergingIntList":[2,3]}"#,
        Doc(r#"{"mergingIntList":[1,2,3]}"#),
    ),
    (
        "delete map from nested map / two-way",
        r#"{"simpleMap":{"key1":1,"key2":1}}"#,
        r#"{"simpleMap":{"$patch":"delete"}}"#,
        Doc(r#"{"simpleMap":{}}"#),
    ),
    (
        "delete all items from merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"mergingList":[{"$patch":"replace"}]}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "merge empty merging lists / two-way",
        r#"{"mergingList":[]}"#,
        r#"{"mergingList":[]}"#,
        Doc(r#"{"mergingList":[]}"#),
    ),
    (
        "delete all keys from map / two-way",
        r#"{"name":1,"value":1}"#,
        r#"{"$patch":"replace"}"#,
        Doc(r#"{}"#),
    ),
    (
        "add key and delete all keys from map / two-way",
        r#"{"name":1,"value":1}"#,
        r#"{"other":"a","$patch":"replace"}"#,
        Doc(r#"{"other":"a"}"#),
    ),
    (
        "delete all duplicate entries in a merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]}"#,
        r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":3,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"value":"a"}]}"#),
    ),
    (
        "retainKeys map can add a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMap":{"name":"foo"}}"#,
        r#"{"retainKeysMap":{"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map can change a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#,
        r#"{"retainKeysMap":{"value":"b"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"b"}}"#),
    ),
    (
        "retainKeys map can delete a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#,
        r#"{"retainKeysMap":{"value":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo"}}"#),
    ),
    (
        "retainKeys map merge an empty map / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#,
        r#"{"retainKeysMap":{}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"a"}}"#),
    ),
    (
        "retainKeys list can add a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"foo","value":"a"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#),
    ),
    (
        "retainKeys list can change a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"foo","value":"b"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"b"}]}"#),
    ),
    (
        "retainKeys list can delete a field when no retainKeys directive present / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"foo","value":null}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#),
    ),
    (
        "preserve the order from the patch in a merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]}"#,
        r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x","value":"b"}]}"#,
        ),
    ),
    (
        "preserve the order from the patch in a merging list 2 / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]}"#,
        r#"{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"value":"b"},{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#,
        ),
    ),
    (
        "preserve the order from the patch in a merging int list / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"mergingIntList":[3,1,2]}"#,
        Doc(r#"{"mergingIntList":[3,1,2]}"#),
    ),
    (
        "preserve the order from the patch in a merging int list / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"mergingIntList":[3,1]}"#,
        Doc(r#"{"mergingIntList":[2,3,1]}"#),
    ),
    (
        "nested patch merge with empty list / two-way",
        r#"{"name":"hi"}"#,
        r#"{"mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}"#,
        Doc(r#"{"mergingList":[{"name":"hello"}],"name":"hi"}"#),
    ),
    (
        "nested patch merge with empty list / three-way",
        r#"{"name":"hi","mergingList":[{"name":"hello2"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":"hello"},{"name":"doesntexist"}],"mergingList":[{"name":"hello"}]}"#,
        Doc(r#"{"mergingList":[{"name":"hello"},{"name":"hello2"}],"name":"hi"}"#),
    ),
    (
        "delete items in lists of scalars / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2]}"#),
    ),
    (
        "delete items in lists of scalars / three-way",
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2,4]}"#),
    ),
    (
        "delete all duplicate items in lists of scalars / two-way",
        r#"{"mergingIntList":[1,2,3,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2]}"#),
    ),
    (
        "delete all duplicate items in lists of scalars / three-way",
        r#"{"mergingIntList":[1,2,3,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2,4]}"#),
    ),
    (
        "add and delete items in lists of scalars / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3],"mergingIntList":[4]}"#,
        Doc(r#"{"mergingIntList":[1,2,4]}"#),
    ),
    (
        "add and delete items in lists of scalars / three-way",
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2,4]}"#),
    ),
    (
        "merge lists of maps / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":1},{"name":2,"value":2},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "merge lists of maps / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "merge lists of maps with conflict / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3}]}"#,
        Doc(r#"{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3}]}"#),
    ),
    (
        "merge lists of maps with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":3,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":2,"value":2},{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "add field to map in merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#),
    ),
    (
        "add field to map in merging list / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "add field to map in merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"value":2},{"name":3,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "add duplicate field to map in merging list / three-way",
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "add an item that already exists in current object in merging list / two-way",
        r#"{"mergingList":[{"name":1,"value":"a"},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"value":"a"},{"name":2},{"name":3}]}"#),
    ),
    (
        "add an item that already exists in current object in merging list / three-way",
        r#"{"mergingList":[{"name":1,"value":"a","other":"x"},{"name":2},{"name":3}]}"#,
        r#"{}"#,
        Doc(r#"{"mergingList":[{"name":1,"other":"x","value":"a"},{"name":2},{"name":3}]}"#),
    ),
    (
        "add duplicate field to map in merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":3,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2,"value":2}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "replace map field value in merging list / two-way",
        r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"value":"a"},{"name":2,"value":2}]}"#),
    ),
    (
        "replace map field value in merging list / three-way",
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "replace map field value in merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"value":3,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "delete map from merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2}]}"#),
    ),
    (
        "delete map from merging list / three-way",
        r#"{"mergingList":[{"name":1},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"other":"b"}]}"#),
    ),
    (
        "delete map from merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"other":"b"}]}"#),
    ),
    (
        "delete missing map from merging list / three-way",
        r#"{"mergingList":[{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"other":"b"}]}"#),
    ),
    (
        "delete missing map from merging list with conflict / three-way",
        r#"{"mergingList":[{"name":3,"other":"a"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":2},{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2},{"name":3,"other":"a"}]}"#),
    ),
    (
        "add map and delete map from merging list / two-way",
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2},{"name":3}]}"#),
    ),
    (
        "add map and delete map from merging list / three-way",
        r#"{"mergingList":[{"name":1},{"name":2,"other":"b"},{"name":4,"other":"c"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"other":"b"},{"name":4,"other":"c"},{"name":3}]}"#),
    ),
    (
        "add map and delete map from merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":4,"other":"c"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":2},{"name":3},{"name":1,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":4,"other":"c"},{"name":2},{"name":3}]}"#),
    ),
    (
        "delete field from map in merging list / two-way",
        r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        Doc(r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#),
    ),
    (
        "delete field from map in merging list / three-way",
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]}"#),
    ),
    (
        "delete field from map in merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"value":"a","other":"a"},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2}]}"#),
    ),
    (
        "delete missing field from map in merging list / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]}"#),
    ),
    (
        "delete missing field from map in merging list with conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null},{"name":2,"value":2}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]}"#),
    ),
    (
        "replace non merging list nested in merging list / two-way",
        r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        Doc(r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]}"#),
    ),
    (
        "replace non merging list nested in merging list / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "replace non merging list nested in merging list with value conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1,"value":"c"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "replace non merging list nested in merging list with deletion conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list / two-way",
        r#"{"mergingList":[{"name":1,"mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list with value conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1,"value":"a","other":"c"},{"name":2,"value":"b","other":"d"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":1,"other":"c","value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list with deletion conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":2,"value":2,"other":"d"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list with deletion conflict / two-way",
        r#"{"mergingList":[{"name":1,"mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":2,"value":2},{"name":1,"value":1}],"name":1},{"name":2}]}"#,
        ),
    ),
    (
        "add field to map in merging list nested in merging list with deletion conflict / three-way",
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":2,"value":2,"other":"d"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2},{"name":1,"value":1}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add map to merging list by pointer / two-way",
        r#"{"mergeItemPtr":[{"name":1}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}"#,
        Doc(r#"{"mergeItemPtr":[{"name":1},{"name":2}]}"#),
    ),
    (
        "add map to merging list by pointer / three-way",
        r#"{"mergeItemPtr":[{"name":1,"other":"a"},{"name":3}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}"#,
        Doc(r#"{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2},{"name":3}]}"#),
    ),
    (
        "add map to merging list by pointer with conflict / three-way",
        r#"{"mergeItemPtr":[{"name":3}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1},{"name":2}]}"#,
        Doc(r#"{"mergeItemPtr":[{"name":1},{"name":2},{"name":3}]}"#),
    ),
    (
        "add field to map in merging list by pointer / two-way",
        r#"{"mergeItemPtr":[{"name":1,"mergeItemPtr":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"name":1,"mergeItemPtr":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]}"#,
        ),
    ),
    (
        "add field to map in merging list by pointer / three-way",
        r#"{"mergeItemPtr":[{"name":1,"other":"a","mergeItemPtr":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"name":1,"mergeItemPtr":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "add field to map in merging list by pointer with conflict / three-way",
        r#"{"mergeItemPtr":[{"name":1,"other":"a","mergeItemPtr":[{"name":1,"value":"a"},{"name":2,"value":2,"other":"b"}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"name":1,"mergeItemPtr":[{"name":1,"value":1}]}]}"#,
        Doc(
            r#"{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]}"#,
        ),
    ),
    (
        "merge lists of scalars / two-way",
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2,3]}"#),
    ),
    (
        "merge lists of scalars / three-way",
        r#"{"mergingIntList":[1,2,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2,3,4]}"#),
    ),
    (
        "add duplicate field to map in merging int list / three-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{}"#,
        Doc(r#"{"mergingIntList":[1,2,3]}"#),
    ),
    (
        "add an item in a list of primitives and preserve order / two-way",
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[3,1,2]}"#),
    ),
    (
        "add an item in a list of primitives and preserve order / three-way",
        r#"{"mergingIntList":[1,4,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[3,1,4,2]}"#),
    ),
    (
        "delete an item in a list of primitives and preserve order / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[2,1]}"#),
    ),
    (
        "add an item in a list and preserve order / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]}"#,
        Doc(r#"{"mergingList":[{"name":3,"value":3},{"name":1},{"name":2,"value":2}]}"#),
    ),
    (
        "add an item in a list and preserve order / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":3,"value":3},{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]}"#,
        ),
    ),
    (
        "add multiple items in a list and preserve order / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1},{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "add multiple items in a list and preserve order / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":1,"other":"a"},{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "delete an item in a list and preserve order / two-way",
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"value":2},{"name":1}]}"#),
    ),
    (
        "delete an item in a list and preserve order / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]}"#),
    ),
    (
        "change an item in a list and preserve order / two-way",
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]}"#,
        Doc(r#"{"mergingList":[{"name":2,"value":2},{"name":3,"value":"x"},{"name":1}]}"#),
    ),
    (
        "change an item in a list and preserve order / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"other":"b","value":2},{"name":3,"value":"x"},{"name":1,"other":"a"}]}"#,
        ),
    ),
    (
        "add and delete an item in a list and preserve order / two-way",
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
        Doc(r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":1}]}"#),
    ),
    (
        "add and delete an item in a list and preserve order / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]}"#,
        ),
    ),
    (
        "set elements order in a list / two-way",
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]}"#,
        ),
    ),
    (
        "set elements order in a list / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"}]}"#,
        ),
    ),
    (
        "set elements order in a list with server-only items / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2},{"name":9}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        Doc(
            r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"},{"name":9}]}"#,
        ),
    ),
    (
        "set elements order in a list with server-only items 2 / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "set elements order in a list with server-only items 2 / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":9},{"name":3,"value":3},{"name":4,"value":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":9},{"name":4,"value":4},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "set elements order in a list with server-only items 3 / three-way",
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":7},{"name":9},{"name":8},{"name":3,"value":3},{"name":4,"value":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":7},{"name":9},{"name":8},{"name":4,"value":4},{"name":3,"value":3}]}"#,
        ),
    ),
    (
        "add multiple items in a int list and preserve order / two-way",
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,4,2,3],"mergingIntList":[4,3]}"#,
        Doc(r#"{"mergingIntList":[1,4,2,3]}"#),
    ),
    (
        "delete an item in a int list and preserve order / two-way",
        r#"{"mergingIntList":[1,3,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[2,1]}"#),
    ),
    (
        "add and delete an item in a int list and preserve order / two-way",
        r#"{"mergingIntList":[1,3,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[4,2,1]}"#),
    ),
    (
        "add and delete an item in a int list and preserve order / three-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[4,2,1]}"#),
    ),
    (
        "set elements order in a int list / two-way",
        r#"{"mergingIntList":[1,3,4,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,3,1]}"#,
        Doc(r#"{"mergingIntList":[4,2,3,1]}"#),
    ),
    (
        "set elements order in a int list with server-only items / three-way",
        r#"{"mergingIntList":[1,3,4,2,9]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,3,1]}"#,
        Doc(r#"{"mergingIntList":[4,2,3,1,9]}"#),
    ),
    (
        "set elements order in a int list with server-only items 2 / two-way",
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
        Doc(r#"{"mergingIntList":[2,1,4,3]}"#),
    ),
    (
        "set elements order in a int list with server-only items 2 / three-way",
        r#"{"mergingIntList":[1,2,9,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
        Doc(r#"{"mergingIntList":[2,1,9,4,3]}"#),
    ),
    (
        "set elements order in a int list with server-only items 3 / three-way",
        r#"{"mergingIntList":[1,2,7,9,8,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
        Doc(r#"{"mergingIntList":[2,1,7,9,8,4,3]}"#),
    ),
    (
        "behavior of set element order for a merging list with duplicate / two-way",
        r#"{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
        Doc(
            r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#,
        ),
    ),
    (
        "behavior of set element order for a merging int list with duplicate / two-way",
        r#"{"mergingIntList":[1,2,3,2,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3,2]}"#,
        Doc(r#"{"mergingIntList":[2,2,1,4,3]}"#),
    ),
    (
        "retainKeys map should clear defaulted field / two-way",
        r#"{}"#,
        r#"{"retainKeysMap":{"other":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"other":"bar"}}"#),
    ),
    (
        "retainKeys map should clear defaulted field / three-way",
        r#"{"retainKeysMap":{"value":"foo"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["other"],"other":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"other":"bar"}}"#),
    ),
    (
        "retainKeys map should clear defaulted field with conflict (discriminated union) / two-way",
        r#"{}"#,
        r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#),
    ),
    (
        "retainKeys map should clear defaulted field with conflict (discriminated union) / three-way",
        r#"{"retainKeysMap":{"name":"type1","value":"foo"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","other"],"name":"type2","other":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"type2","other":"bar"}}"#),
    ),
    (
        "retainKeys map adds a field / two-way",
        r#"{"retainKeysMap":{"name":"foo"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map adds a field and clear a field / three-way",
        r#"{"retainKeysMap":{"name":"foo","other":"a"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map deletes a field / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name"],"value":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo"}}"#),
    ),
    (
        "retainKeys map deletes a field and clears a field / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","other":"a"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name"],"value":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo"}}"#),
    ),
    (
        "retainKeys map clears a field / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
        r#"{}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map clears a field / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","other":"a"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"]}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map nested map with no change / two-way",
        r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}}"#),
    ),
    (
        "retainKeys map adds a field in a nested map / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map adds a field in a nested map / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key3":"c"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map deletes a field in a nested map / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}}"#),
    ),
    (
        "retainKeys map deletes a field in a nested map / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b","key3":"c"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key3":"c"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map changes a field in a nested map / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map changes a field in a nested map / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b","key3":"c"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b","key3":"c"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map changes a field in a nested map with conflict / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"old","key2":"b"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map changes a field in a nested map with conflict / three-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"new","key2":"b","key3":"c"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b","key3":"c"},"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map replaces non-merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","value":"bar","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}],"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map nested non-merging list with no change / two-way",
        r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map nested non-merging list with no change with conflict / three-way",
        r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map deletes nested non-merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar","nonMergingList":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map delete nested non-merging list with conflict / three-way",
        r#"{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar","nonMergingList":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map nested merging int list with no change / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map nested merging int list with no change / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"$setElementOrder/mergingIntList":[1,2],"value":"bar"}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map adds an item in nested merging int list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2]}}"#,
        r#"{"retainKeysMap":{"$setElementOrder/mergingIntList":[1,2,4],"$retainKeys":["mergingIntList","name"],"mergingIntList":[4]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,2,4],"name":"foo"}}"#),
    ),
    (
        "retainKeys map adds an item in nested merging int list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$setElementOrder/mergingIntList":[1,2,4],"$retainKeys":["mergingIntList","name"],"mergingIntList":[4]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,2,4,3],"name":"foo"}}"#),
    ),
    (
        "retainKeys map deletes an item in nested merging int list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,3],"name":"foo"}}"#),
    ),
    (
        "retainKeys map deletes an item in nested merging int list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3,4]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,3,4],"name":"foo"}}"#),
    ),
    (
        "retainKeys map adds an item and deletes an item in nested merging int list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"mergingIntList":[5],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3,5]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,3,5],"name":"foo"}}"#),
    ),
    (
        "retainKeys map adds an item and deletes an item in nested merging int list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3,4]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"mergingIntList":[5],"$deleteFromPrimitiveList/mergingIntList":[2],"$setElementOrder/mergingIntList":[1,3,5]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingIntList":[1,3,5,4],"name":"foo"}}"#),
    ),
    (
        "retainKeys map deletes nested merging int list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo"}}"#),
    ),
    (
        "retainKeys map nested merging list with no change / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"value":"bar"}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo","value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map nested merging list with no change / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo","value":"bar"}}"#,
        ),
    ),
    (
        "retainKeys map adds an item in nested merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo"}}"#,
        ),
    ),
    (
        "retainKeys map adds an item in nested merging list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"x"}],"name":"foo"}}"#,
        ),
    ),
    (
        "retainKeys map changes an item in nested merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b","value":"foo"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"}],"name":"foo"}}"#,
        ),
    ),
    (
        "retainKeys map changes an item in nested merging list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b","value":"foo"},{"name":"x"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}}"#,
        Doc(
            r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"},{"name":"x"}],"name":"foo"}}"#,
        ),
    ),
    (
        "retainKeys map deletes nested merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar","mergingList":null}}"#,
        Doc(r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#),
    ),
    (
        "retainKeys map deletes an item in nested merging list / two-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingList":[{"name":"a"}],"name":"foo"}}"#),
    ),
    (
        "retainKeys map deletes an item in nested merging list / three-way",
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
        Doc(r#"{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"x"}],"name":"foo"}}"#),
    ),
    (
        "retainKeys list of maps clears a field / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
        r#"{}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#),
    ),
    (
        "retainKeys list of maps clears a field / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#),
    ),
    (
        "retainKeys list of maps clears a field with conflict / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]}"#),
    ),
    (
        "retainKeys list of maps clears a field with conflict / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]}"#),
    ),
    (
        "retainKeys list of maps changes a field and clear a field / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]}"#),
    ),
    (
        "retainKeys list of maps changes a field and clear a field / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]}"#),
    ),
    (
        "retainKeys list of maps changes a field and clear a field with conflict / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]}"#),
    ),
    (
        "retainKeys list of maps adds a field / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#),
    ),
    (
        "retainKeys list of maps adds a field and clear a field / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#),
    ),
    (
        "retainKeys list of maps deletes a field / two-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#),
    ),
    (
        "retainKeys list of maps deletes a field and clear a field / three-way",
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}"#,
        Doc(r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#),
    ),
    (
        "delete and reorder in one list, reorder in another / two-way",
        r#"{"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":"b"}],"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"mergingList":[{"$patch":"delete","name":"a"}]}"#,
        Doc(
            r#"{"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}],"mergingList":[{"name":"b","value":"b"}]}"#,
        ),
    ),
    (
        "$setElementOrder contains item that is not present in the list to be merged / two-way",
        r#"{"mergingList":[{"name":1},{"name":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":3},{"name":2},{"name":1}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
        Doc(r#"{"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#),
    ),
    (
        "$setElementOrder contains item that is not present in the int list to be merged / two-way",
        r#"{"mergingIntList":[1,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,2,1]}"#,
        Doc(r#"{"mergingIntList":[3,1]}"#),
    ),
    (
        "should check if order in $setElementOrder and patch list match / two-way",
        r#"{"mergingList":[{"name":1},{"name":3},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
        Error(
            "The order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n",
        ),
    ),
    (
        "$setElementOrder contains item that is not present in the int list to be merged / two-way",
        r#"{"mergingIntList":[1,3,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}"#,
        Error("The order in patch list:\n[3 1]\n doesn't match $setElementOrder list:\n[1 2 3]\n"),
    ),
    (
        "missing merge key should error out / two-way",
        r#"{"mergingList":[{"name":1,"value":"a"}]}"#,
        r#"{"mergingList":[{"value":"b"}]}"#,
        Error("map: map[value:b] does not contain declared merge key: name"),
    ),
    (
        "$deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list / two-way",
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":[1,2]}"#),
    ),
    (
        "$deleteFromPrimitiveList on empty primitive list should not add the item to the list / two-way",
        r#"{"mergingIntList":null}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"mergingIntList":null}"#),
    ),
    (
        "$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list / two-way",
        r#"{"foo":["bar"]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        Doc(r#"{"foo":["bar"]}"#),
    ),
    (
        "$deleteFromPrimitiveList should delete item from a list with merge patch strategy / two-way",
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[2]}"#,
        Doc(r#"{"mergingIntList":[1,3]}"#),
    ),
    (
        "$deleteFromPrimitiveList should delete item from a list without merge patch strategy / two-way",
        r#"{"nonMergingIntList":[1,2,3]}"#,
        r#"{"$deleteFromPrimitiveList/nonMergingIntList":[2]}"#,
        Doc(r#"{"nonMergingIntList":[1,3]}"#),
    ),
];
