//! One table row per schema keyword: the value, and the exact causes the real server reports.

use ferry_structural::{FieldError, Schema};
use serde_json::{Value, json};

fn root(spec_props: Value) -> Value {
    json!({"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": spec_props}
    }})
}

/// (field, reason, message) of each cause.
type Causes = Vec<(String, &'static str, String)>;

fn check(props: Value, spec: Value) -> Causes {
    let schema = Schema::compile(&root(props)).unwrap_or_else(|e| panic!("{e}"));
    let obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": spec});
    schema
        .validate(&obj, None)
        .iter()
        .map(|e: &FieldError| (e.field.clone(), e.reason(), e.message()))
        .collect()
}

fn one(field: &str, reason: &'static str, message: &str) -> Causes {
    vec![(field.to_string(), reason, message.to_string())]
}

#[test]
fn keyword_table() {
    let cases: Vec<(Value, Value, Causes)> = vec![
        (json!({"x": {"type": "integer"}}), json!({"x": "s"}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "string": spec.x in body must be of type integer: "string""#)),
        (json!({"x": {"type": "integer"}}), json!({"x": 1.5}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "number": spec.x in body must be of type integer: "number""#)),
        (json!({"x": {"type": "integer"}}), json!({"x": 2.0}), vec![]),
        (json!({"x": {"type": "number"}}), json!({"x": 2}), vec![]),
        (json!({"x": {"type": "string"}}), json!({"x": null}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "null": spec.x in body must be of type string: "null""#)),
        (json!({"x": {"type": "string", "nullable": true}}), json!({"x": null}), vec![]),
        (json!({"x": {"type": "object"}}), json!({"x": []}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "array": spec.x in body must be of type object: "array""#)),
        (json!({"x": {"type": "boolean"}}), json!({"x": "true"}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "string": spec.x in body must be of type boolean: "string""#)),
        (json!({"x": {"type": "string", "enum": ["cold", "warm"]}}), json!({"x": "x"}),
         one("spec.x", "FieldValueNotSupported", r#"Unsupported value: "x": supported values: "cold", "warm""#)),
        (json!({"x": {"type": "integer", "enum": [1, 2]}}), json!({"x": 3}),
         one("spec.x", "FieldValueNotSupported", r#"Unsupported value: 3: supported values: "1", "2""#)),
        (json!({"x": {"type": "string", "pattern": "^a+$"}}), json!({"x": "b"}),
         one("spec.x", "FieldValueInvalid", r#"Invalid value: "b": spec.x in body should match '^a+$'"#)),
        (json!({"x": {"type": "string", "maxLength": 3}}), json!({"x": "abcd"}),
         one("spec.x", "FieldValueTooLong", "Too long: may not be more than 3 bytes")),
        (json!({"x": {"type": "string", "maxLength": 3}}), json!({"x": "äöü"}), vec![]),
        (json!({"x": {"type": "string", "minLength": 3}}), json!({"x": "ab"}),
         one("spec.x", "FieldValueInvalid", r#"Invalid value: "ab": spec.x in body should be at least 3 chars long"#)),
        (json!({"x": {"type": "integer", "maximum": 10}}), json!({"x": 11}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 11: spec.x in body should be less than or equal to 10")),
        (json!({"x": {"type": "integer", "maximum": 10, "exclusiveMaximum": true}}), json!({"x": 10}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 10: spec.x in body should be less than 10")),
        (json!({"x": {"type": "number", "minimum": 0.5}}), json!({"x": 0.25}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 0.25: spec.x in body should be greater than or equal to 0.5")),
        (json!({"x": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}}), json!({"x": 1}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 1: spec.x in body should be greater than 1")),
        (json!({"x": {"type": "integer", "multipleOf": 3}}), json!({"x": 4}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 4: spec.x in body should be a multiple of 3")),
        (json!({"x": {"type": "array", "items": {"type": "string"}, "maxItems": 1}}), json!({"x": ["a", "b"]}),
         one("spec.x", "FieldValueTooMany", "Too many: 2: must have at most 1 items")),
        (json!({"x": {"type": "array", "items": {"type": "string"}, "minItems": 1}}), json!({"x": []}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 0: spec.x in body should have at least 1 items")),
        (json!({"x": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1}}), json!({"x": {"a": "1", "b": "2"}}),
         one("spec.x", "FieldValueTooMany", "Too many: 2: must have at most 1 items")),
        (json!({"x": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}}), json!({"x": {}}),
         one("spec.x", "FieldValueInvalid", "Invalid value: 0: spec.x in body should have at least 1 properties")),
        (json!({"x": {"type": "object", "additionalProperties": {"type": "integer"}}}), json!({"x": {"k": "v"}}),
         one("spec.x.k", "FieldValueTypeInvalid", r#"Invalid value: "string": spec.x.k in body must be of type integer: "string""#)),
        (json!({"x": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}}), json!({"x": {}}),
         one("spec.x.a", "FieldValueRequired", "Required value")),
        (json!({"x": {"type": "array", "items": {"type": "object", "required": ["n"], "properties": {"n": {"type": "string"}}}}}), json!({"x": [{"n": "a"}, {}]}),
         one("spec.x[1].n", "FieldValueRequired", "Required value")),
        (json!({"x": {"type": "string", "format": "date-time"}}), json!({"x": "yesterday"}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday""#)),
        (json!({"x": {"type": "string", "format": "uuid"}}), json!({"x": "nope"}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "nope": spec.x in body must be of type uuid: "nope""#)),
        (json!({"x": {"type": "string", "format": "byte"}}), json!({"x": "aGk="}), vec![]),
        (json!({"x": {"type": "integer", "format": "int32"}}), json!({"x": 9999999999i64}), vec![]),
        (json!({"x": {"type": "string", "format": "unknown-format"}}), json!({"x": "anything"}), vec![]),
        (json!({"x": {"x-kubernetes-int-or-string": true}}), json!({"x": "50%"}), vec![]),
        (json!({"x": {"x-kubernetes-int-or-string": true}}), json!({"x": 5}), vec![]),
        (json!({"x": {"x-kubernetes-int-or-string": true}}), json!({"x": true}),
         one("spec.x", "FieldValueTypeInvalid", r#"Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean""#)),
        (json!({"x": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}), json!({"x": {"any": [1, {"b": null}]}}), vec![]),
        (json!({"x": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}), json!({"x": ["a", "b", "a", "a"]}),
         one("spec.x[2]", "FieldValueDuplicate", r#"Duplicate value: "a""#)),
        (json!({"x": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}}),
         json!({"x": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}),
         one("spec.x[1]", "FieldValueDuplicate", r#"Duplicate value: map[string]interface {}{"name":"a"}"#)),
        (json!({"x": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
                      "items": {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}}),
         json!({"x": [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "x", "b": 1}]}),
         one("spec.x[2]", "FieldValueDuplicate", r#"Duplicate value: map[string]interface {}{"a":"x", "b":1}"#)),
        (json!({"x": {"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('a')"}]}}), json!({"x": "b"}),
         one("spec.x", "FieldValueInvalid", r#"Invalid value: "string": failed rule: self.startsWith('a')"#)),
        (json!({"x": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "too big", "reason": "FieldValueForbidden"}]}}), json!({"x": "abcd"}),
         one("spec.x", "FieldValueForbidden", "Forbidden: too big")),
        (json!({"x": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                      "x-kubernetes-validations": [{"rule": "self.a < self.b", "messageExpression": "'a (' + string(self.a) + ') must be below b'", "fieldPath": ".a"}]}}),
         json!({"x": {"a": 5, "b": 1}}),
         one("spec.x.a", "FieldValueInvalid", r#"Invalid value: "object": a (5) must be below b"#)),
        (json!({"x": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}, "y": {"type": "integer"}}),
         json!({"x": -1, "y": "wrong"}),
         vec![
             ("spec.y".to_string(), "FieldValueTypeInvalid", r#"Invalid value: "string": spec.y in body must be of type integer: "string""#.to_string()),
             ("<nil>".to_string(), "FieldValueInvalid", r#"Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"#.to_string()),
         ]),
        (json!({"x": {"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}]}}), json!({"x": {}}),
         vec![
             ("<nil>".to_string(), "FieldValueInvalid", r#"Invalid value: "": "spec.x" must validate at least one schema (anyOf)"#.to_string()),
             ("spec.x.a".to_string(), "FieldValueRequired", "Required value".to_string()),
         ]),
        (json!({"x": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                      "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}}), json!({"x": {"a": "1", "b": "2"}}),
         one("<nil>", "FieldValueInvalid", r#"Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives"#)),
        (json!({"x": {"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}}}), json!({"x": {"a": "1"}}),
         one("<nil>", "FieldValueInvalid", r#"Invalid value: "": "spec.x" must not validate the schema (not)"#)),
        (json!({"x": {"type": "string", "allOf": [{"minLength": 2}, {"pattern": "^a"}]}}), json!({"x": "b"}),
         vec![
             ("spec.x".to_string(), "FieldValueInvalid", r#"Invalid value: "b": spec.x in body should be at least 2 chars long"#.to_string()),
             ("spec.x".to_string(), "FieldValueInvalid", r#"Invalid value: "b": spec.x in body should match '^a'"#.to_string()),
             ("<nil>".to_string(), "FieldValueInvalid", r#"Invalid value: "": "spec.x" must validate all the schemas (allOf). None validated"#.to_string()),
         ]),
        (json!({"x": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}),
         json!({"x": {"kind": "Pod_x", "metadata": {"name": "a/b", "namespace": "Bad"}}}),
         vec![
             ("spec.x.apiVersion".to_string(), "FieldValueRequired", "Required value: must not be empty".to_string()),
             ("spec.x.kind".to_string(), "FieldValueInvalid", r#"Invalid value: "Pod_x": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#.to_string()),
             ("spec.x.metadata.name".to_string(), "FieldValueInvalid", r#"Invalid value: "a/b": may not contain '/'"#.to_string()),
             ("spec.x.metadata.namespace".to_string(), "FieldValueInvalid", r#"Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#.to_string()),
         ]),
    ];
    for (i, (props, spec, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            check(props.clone(), spec.clone()),
            want,
            "case {i}: {props} / {spec}"
        );
    }
}

#[test]
fn ratcheting_keeps_old_invalid_values_but_not_new_ones() {
    let schema = Schema::compile(&root(json!({
        "x": {"type": "string", "maxLength": 2},
        "y": {"type": "string", "pattern": "^o"},
        "r": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}
    })))
    .unwrap();
    let old = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {}, "spec": {"x": "long", "y": "ok", "r": -1}});
    let mut new = old.clone();
    new["spec"]["y"] = json!("not ok");
    let errs = schema.validate(&new, Some(&old));
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["spec.y"], "only the changed field fails: {errs:?}");
    // On create nothing ratchets: the too-long x blocks the CEL rules (one explaining cause).
    let create: Vec<String> = schema
        .validate(&old, None)
        .iter()
        .map(|e| e.field.clone())
        .collect();
    assert_eq!(create, ["spec.x", "<nil>"]);
    let mut fixed = old.clone();
    fixed["spec"]["x"] = json!("ok");
    let create: Vec<String> = schema
        .validate(&fixed, None)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        create,
        [r#"spec.r: Invalid value: "integer": failed rule: self > 0"#]
    );
}

#[test]
fn non_structural_schemas_are_refused_with_causes() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
            vec![
                "openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "array"}}}),
            vec!["openAPIV3Schema.properties[spec].items: Required value: must be specified"],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "anyOf": [{"type": "string"}]}}}),
            vec![
                "openAPIV3Schema.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"properties": {"b": {"description": "x"}}}]}}}),
            vec![
                "openAPIV3Schema.properties[spec].anyOf[0].properties[b].description: Forbidden: must be empty to be structural",
            ],
        ),
        (
            json!({"type": "object", "anyOf": [{"properties": {"zzz": {}}}], "properties": {"spec": {"type": "object"}}}),
            vec![
                "openAPIV3Schema.properties[zzz]: Required value: because it is defined in openAPIV3Schema.anyOf[0].properties[zzz]",
            ],
        ),
        (
            json!({"type": "string"}),
            vec!["openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"],
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            vec!["openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root"],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            vec![
                "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}}),
            vec![
                "openAPIV3Schema.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}}),
            vec![
                "openAPIV3Schema.properties[spec].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"$ref": "#/definitions/x"}}}),
            vec!["openAPIV3Schema.properties[spec].$ref: Forbidden: $ref is not supported"],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "string", "pattern": "(?=look)ahead"}}}),
            vec![
                "openAPIV3Schema.properties[spec].pattern: Invalid value: \"(?=look)ahead\": must be a valid regular expression, but isn't: error parsing regexp: look-around, including look-ahead and look-behind, is not supported",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "string"}}}}),
            vec![
                "openAPIV3Schema.properties[spec].items.type: Invalid value: \"string\": must be object if parent array's x-kubernetes-list-type is map",
                "openAPIV3Schema.properties[spec].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "string", "default": 5}}}),
            vec![
                "openAPIV3Schema.properties[spec].default: Invalid value: \"integer\":  in body must be of type string: \"integer\"",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": 1}}}}),
            vec![
                "openAPIV3Schema.properties[spec].default: Invalid value: map[string]interface {}{\"a\":\"x\", \"b\":1}: must not have unknown fields",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-validations": [{"rule": "self.nope == 1"}]}}}),
            vec![
                "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.nope == 1\": compilation failed: ERROR: <input>: undefined field 'nope'",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "string", "x-kubernetes-validations": [{"rule": "self.nope == 1"}]}}}),
            vec![
                "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.nope == 1\": compilation failed: ERROR: <input>: type 'string' does not support field selection",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}),
            vec![
                "openAPIV3Schema.properties[spec].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within openAPIV3Schema.properties[spec].items",
            ],
        ),
    ];
    for (schema, want) in cases {
        let err = Schema::compile(&schema).expect_err(&schema.to_string());
        let got: Vec<String> = err.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(got, want, "{schema}");
    }
}

#[test]
fn unsupported_cel_refuses_the_crd_loudly() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "string",
        "x-kubernetes-validations": [{"rule": "quantity(self).isLessThan(quantity('1Gi'))"}]}}});
    let err = Schema::compile(&schema).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].reason(), "FieldValueForbidden");
    assert_eq!(
        err.errors[0].field,
        "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    );
    assert!(
        err.errors[0].message().contains("does not support"),
        "{}",
        err.errors[0].message()
    );
}
