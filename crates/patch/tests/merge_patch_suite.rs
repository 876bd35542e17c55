//! JSON merge patch conformance: RFC 7386's appendix A examples plus cases that show
//! how Kubernetes' merge patch (gopkg.in/evanphx/json-patch.v4 v4.12.0) treats nulls
//! and non-object patches. Expected outcomes are kube-apiserver v1.33's; the last
//! column says where that departs from the RFC.

use ferry_patch::{PatchError, merge_patch};
use serde_json::Value;

enum Expect {
    Doc(&'static str),
    Error(&'static str),
}
use Expect::*;

#[test]
fn merge_patch_matches_kube_apiserver() {
    for (comment, doc, patch, want, note) in CASES {
        let mut doc: Value = serde_json::from_str(doc).unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        let before = doc.clone();
        let got = merge_patch(&mut doc, &patch);
        match want {
            Doc(want) => {
                assert_eq!(got, Ok(()), "{comment} ({note})");
                assert_eq!(
                    doc,
                    serde_json::from_str::<Value>(want).unwrap(),
                    "{comment} ({note})"
                );
            }
            Error(message) => {
                let err = got.expect_err(comment);
                assert_eq!(&err.to_string(), message, "{comment}");
                assert!(matches!(
                    err,
                    PatchError::BadRequest(_) | PatchError::Internal(_)
                ));
                assert_eq!(doc, before, "{comment}: the target is unchanged on error");
            }
        }
    }
}

const CASES: &[(&str, &str, &str, Expect, &str)] = &[
    (
        "RFC 7386 appendix A #1",
        r#"{"a":"b"}"#,
        r#"{"a":"c"}"#,
        Doc(r#"{"a":"c"}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #2",
        r#"{"a":"b"}"#,
        r#"{"b":"c"}"#,
        Doc(r#"{"a":"b","b":"c"}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #3",
        r#"{"a":"b"}"#,
        r#"{"a":null}"#,
        Doc(r#"{}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #4",
        r#"{"a":"b","b":"c"}"#,
        r#"{"a":null}"#,
        Doc(r#"{"b":"c"}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #5",
        r#"{"a":["b"]}"#,
        r#"{"a":"c"}"#,
        Doc(r#"{"a":"c"}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #6",
        r#"{"a":"c"}"#,
        r#"{"a":["b"]}"#,
        Doc(r#"{"a":["b"]}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #7",
        r#"{"a":{"b":"c"}}"#,
        r#"{"a":{"b":"d","c":null}}"#,
        Doc(r#"{"a":{"b":"d"}}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #8",
        r#"{"a":[{"b":"c"}]}"#,
        r#"{"a":[1]}"#,
        Doc(r#"{"a":[1]}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #9",
        r#"["a","b"]"#,
        r#"["c","d"]"#,
        Doc(r#"["c","d"]"#),
        "",
    ),
    (
        "RFC 7386 appendix A #10",
        r#"{"a":"b"}"#,
        r#"["c"]"#,
        Doc(r#"["c"]"#),
        "",
    ),
    (
        "RFC 7386 appendix A #11",
        r#"{"a":"foo"}"#,
        r#"null"#,
        Error("Invalid JSON Patch"),
        "RFC expects null",
    ),
    (
        "RFC 7386 appendix A #12",
        r#"{"a":"foo"}"#,
        r#""bar""#,
        Error("Invalid JSON Patch"),
        "RFC expects \"bar\"",
    ),
    (
        "RFC 7386 appendix A #13",
        r#"{"e":null}"#,
        r#"{"a":1}"#,
        Doc(r#"{"a":1,"e":null}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #14",
        r#"[1,2]"#,
        r#"{"a":"b","c":null}"#,
        Doc(r#"{"a":"b"}"#),
        "",
    ),
    (
        "RFC 7386 appendix A #15",
        r#"{}"#,
        r#"{"a":{"bb":{"ccc":null}}}"#,
        Doc(r#"{"a":{"bb":{}}}"#),
        "",
    ),
    (
        "nulls inside objects inside a new array are dropped",
        r#"{}"#,
        r#"{"a":[{"b":null,"c":1}]}"#,
        Doc(r#"{"a":[{"c":1}]}"#),
        "kube",
    ),
    (
        "an array replacing an object keeps its nulls",
        r#"{"a":{}}"#,
        r#"{"a":[{"b":null}]}"#,
        Doc(r#"{"a":[{"b":null}]}"#),
        "kube",
    ),
    (
        "an array replacing a scalar loses nested nulls",
        r#"{"a":1}"#,
        r#"{"a":[{"b":null},null]}"#,
        Doc(r#"{"a":[{},null]}"#),
        "kube",
    ),
    (
        "null array elements are kept",
        r#"{}"#,
        r#"{"a":[null,1]}"#,
        Doc(r#"{"a":[null,1]}"#),
        "kube",
    ),
    (
        "patch is a number",
        r#"{"a":1}"#,
        r#"5"#,
        Error("Invalid JSON Patch"),
        "kube",
    ),
    (
        "patch is true",
        r#"{"a":1}"#,
        r#"true"#,
        Error("Invalid JSON Patch"),
        "kube",
    ),
    (
        "patch is an array of nulls at the top",
        r#"{"a":1}"#,
        r#"[null,{"x":null}]"#,
        Doc(r#"[null,{}]"#),
        "kube",
    ),
    (
        "nested merge",
        r#"{"metadata":{"labels":{"a":"1","b":"2"}}}"#,
        r#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
        Doc(r#"{"metadata":{"labels":{"b":"2","c":"3"}}}"#),
        "kube",
    ),
    (
        "object over null member",
        r#"{"a":null}"#,
        r#"{"a":{"b":null,"c":1}}"#,
        Doc(r#"{"a":{"c":1}}"#),
        "kube",
    ),
    (
        "object over scalar",
        r#"{"a":1}"#,
        r#"{"a":{"b":null,"c":{"d":null}}}"#,
        Doc(r#"{"a":{"c":{}}}"#),
        "kube",
    ),
    (
        "deleting a missing key",
        r#"{"a":1}"#,
        r#"{"b":null}"#,
        Doc(r#"{"a":1}"#),
        "kube",
    ),
    (
        "empty patch",
        r#"{"a":1}"#,
        r#"{}"#,
        Doc(r#"{"a":1}"#),
        "kube",
    ),
    (
        "scalar document",
        r#"1"#,
        r#"{"a":1}"#,
        Doc(r#"{"a":1}"#),
        "kube",
    ),
    (
        "null document",
        r#"null"#,
        r#"{"a":1}"#,
        Error("Invalid JSON Document"),
        "kube",
    ),
];
