//! Namespaces, ConfigMaps, Secrets and ServiceAccounts.

use super::{def, get_path, roundtrip, str_path};
use crate::names::NameRule;
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, name_of};
use base64::Engine;
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};
use std::sync::Arc;

/// The finalizer the namespace controller removes once a namespace is empty.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";
/// The label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The most a ConfigMap's or Secret's data may weigh.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

#[derive(Debug)]
struct Namespace;

impl Behaviour for Namespace {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }
    fn has_status(&self) -> bool {
        true
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<core::Namespace>(obj, "Namespace", version)
    }
    fn delete_during_update(&self, new: &Value) -> bool {
        get_path(new, &["spec", "finalizers"])
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty())
    }
    fn default(&self, obj: &mut Value) {
        // The NamespaceDefaultLabelName feature: the label always equals the name.
        let name = crate::table::name_of(obj);
        if !name.is_empty() {
            super::set_path(
                obj,
                &["metadata", "labels", NAMESPACE_NAME_LABEL],
                json!(name),
            );
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        // Canonicalize: a namespace created with generateName gets its label now.
        self.default(obj);
        super::set_path(obj, &["status"], json!({"phase": "Active"}));
        let mut finalizers: Vec<Value> = get_path(obj, &["spec", "finalizers"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == NAMESPACE_FINALIZER) {
            finalizers.push(json!(NAMESPACE_FINALIZER));
        }
        super::set_path(obj, &["spec", "finalizers"], Value::Array(finalizers));
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // spec.finalizers change only through /finalize; status only through /status.
        let f = get_path(old, &["spec"]).cloned().unwrap_or(json!({}));
        super::set_path(new, &["spec"], f);
        match old.get("status") {
            Some(s) => super::set_path(new, &["status"], s.clone()),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(fs) = get_path(obj, &["spec", "finalizers"]).and_then(Value::as_array) {
            for f in fs.iter().filter_map(Value::as_str) {
                if !f.contains('/') && f != NAMESPACE_FINALIZER {
                    errs.push(FieldError::invalid(
                        "spec.finalizers",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    ));
                }
            }
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Status", "string", "", "The status of the namespace", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(str_path(obj, &["status", "phase"])),
            json!(age_of(obj, now)),
        ]
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" => Some(name_of(obj)),
            "status.phase" => Some(str_path(obj, &["status", "phase"])),
            _ => None,
        }
    }
}

/// `namespaces` (core/v1).
pub fn namespaces() -> ResourceDef {
    let mut d = def(
        "",
        "v1",
        "Namespace",
        "namespaces",
        &["ns"],
        &[],
        false,
        &["status", "finalize"],
        Arc::new(Namespace),
    );
    d.verbs = vec![
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    d
}

fn is_config_map_key(k: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if k.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if k.is_empty()
        || !k
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    if k == "." {
        errs.push("must not be '.'".into());
    } else if k == ".." {
        errs.push("must not be '..'".into());
    } else if k.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

fn validate_keys_and_size(obj: &Value, fields: &[&str], what: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for f in fields {
        if let Some(m) = obj.get(*f).and_then(Value::as_object) {
            for (k, v) in m {
                for msg in is_config_map_key(k) {
                    errs.push(FieldError::invalid(format!("{f}[{k}]"), k.as_str(), msg));
                }
                total += k.len() + v.as_str().map(str::len).unwrap_or(0);
            }
        }
    }
    if total > MAX_DATA_BYTES {
        errs.push(FieldError {
            kind: crate::status::FieldErrorType::TooLong,
            field: fields.first().copied().unwrap_or("data").to_string(),
            value: None,
            detail: format!("{what} may not be more than {MAX_DATA_BYTES} bytes"),
            rendered: None,
        });
    }
    errs
}

fn immutable_data(new: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.get("immutable").and_then(Value::as_bool) == Some(true) {
        for f in fields {
            if new.get(*f) != old.get(*f) {
                errs.push(FieldError::forbidden(
                    *f,
                    "field is immutable when `immutable` is set",
                ));
            }
        }
        if new.get("immutable") != old.get("immutable") {
            errs.push(FieldError::forbidden(
                "immutable",
                "field is immutable when `immutable` is set",
            ));
        }
    }
    errs
}

fn count(obj: &Value, fields: &[&str]) -> usize {
    fields
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .map(|m| m.len())
        .sum()
}

#[derive(Debug)]
struct ConfigMap;

impl Behaviour for ConfigMap {
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<core::ConfigMap>(obj, "ConfigMap", version)
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_keys_and_size(obj, &["data", "binaryData"], "");
        if let (Some(d), Some(b)) = (
            obj.get("data").and_then(Value::as_object),
            obj.get("binaryData").and_then(Value::as_object),
        ) {
            for k in d.keys().filter(|k| b.contains_key(*k)) {
                errs.push(FieldError::invalid(
                    format!("data[{k}]"),
                    k.as_str(),
                    "duplicate of key present in binaryData",
                ));
            }
        }
        for e in errs.iter_mut() {
            if e.kind == crate::status::FieldErrorType::TooLong {
                // field.NewPath("") prints as "[]".
                e.field = "[]".into();
                e.detail = format!("may not be more than {MAX_DATA_BYTES} bytes");
            }
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = immutable_data(new, old, &["data", "binaryData"]);
        errs.extend(self.validate(new));
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Data", "string", "", "", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(count(obj, &["data", "binaryData"])),
            json!(age_of(obj, now)),
        ]
    }
}

/// `configmaps` (core/v1).
pub fn config_maps() -> ResourceDef {
    def(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        &["cm"],
        &[],
        true,
        &[],
        Arc::new(ConfigMap),
    )
}

#[derive(Debug)]
struct Secret;

/// Secret types whose required keys the server checks.
fn required_keys(t: &str) -> &'static [&'static str] {
    match t {
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        _ => &[],
    }
}

impl Behaviour for Secret {
    fn decode(&self, mut obj: Value, version: &str) -> Result<Decoded, ApiError> {
        // stringData is write-only: merged into data (base64) on the way in.
        if let Some(m) = obj.as_object_mut()
            && let Some(sd) = m.remove("stringData")
        {
            if let Some(sd) = sd.as_object() {
                let mut data = m
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (k, v) in sd {
                    let s = v.as_str().unwrap_or_default();
                    data.insert(
                        k.clone(),
                        json!(base64::engine::general_purpose::STANDARD.encode(s)),
                    );
                }
                m.insert("data".into(), Value::Object(data));
            } else if !sd.is_null() {
                return Err(ApiError::bad_request(format!(
                    "Secret in version {version:?} cannot be handled as a Secret: stringData must be a map of strings"
                )));
            }
        }
        roundtrip::<core::Secret>(obj, "Secret", version)
    }
    fn default(&self, obj: &mut Value) {
        super::default_path(obj, &["type"], json!("Opaque"));
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_keys_and_size(obj, &["data"], "");
        for e in errs.iter_mut() {
            if e.kind == crate::status::FieldErrorType::TooLong {
                e.field = "data".into();
                e.detail = format!("may not be more than {MAX_DATA_BYTES} bytes");
            }
        }
        let t = str_path(obj, &["type"]);
        for k in required_keys(&t) {
            if get_path(obj, &["data", k]).is_none() {
                errs.push(FieldError::required(format!("data[{k}]"), ""));
            }
        }
        // Basic auth needs a username or a password.
        if t == "kubernetes.io/basic-auth"
            && get_path(obj, &["data", "username"]).is_none()
            && get_path(obj, &["data", "password"]).is_none()
        {
            errs.push(FieldError::required("data[username]", ""));
            errs.push(FieldError::required("data[password]", ""));
        }
        if t == "kubernetes.io/service-account-token"
            && str_path(
                obj,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            )
            .is_empty()
        {
            errs.push(FieldError::required(
                "metadata.annotations[kubernetes.io/service-account.name]",
                "",
            ));
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if new.get("type") != old.get("type") {
            errs.push(FieldError::invalid(
                "type",
                new.get("type").cloned().unwrap_or(Value::Null),
                "field is immutable",
            ));
        }
        errs.extend(immutable_data(new, old, &["data"]));
        errs.extend(self.validate(new));
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Type", "string", "", "The type of the secret", 0),
            Column::new("Data", "string", "", "", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(str_path(obj, &["type"])),
            json!(count(obj, &["data"])),
            json!(age_of(obj, now)),
        ]
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" => Some(name_of(obj)),
            "metadata.namespace" => Some(crate::table::meta_str(obj, "namespace")),
            "type" => Some(str_path(obj, &["type"])),
            _ => None,
        }
    }
}

/// `secrets` (core/v1).
pub fn secrets() -> ResourceDef {
    def(
        "",
        "v1",
        "Secret",
        "secrets",
        &[],
        &[],
        true,
        &[],
        Arc::new(Secret),
    )
}

#[derive(Debug)]
struct ServiceAccount;

impl Behaviour for ServiceAccount {
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<core::ServiceAccount>(obj, "ServiceAccount", version)
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Secrets", "string", "", "", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let n = obj
            .get("secrets")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0);
        vec![json!(name_of(obj)), json!(n), json!(age_of(obj, now))]
    }
}

/// `serviceaccounts` (core/v1).
pub fn service_accounts() -> ResourceDef {
    def(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        &["sa"],
        &[],
        true,
        &[],
        Arc::new(ServiceAccount),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_is_folded_into_data() {
        let d = Secret
            .decode(
                json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"user":"me"}}),
                "v1",
            )
            .unwrap();
        assert_eq!(d.object["data"]["user"], "bWU=");
        assert!(d.object.get("stringData").is_none());
    }

    #[test]
    fn unknown_fields_are_reported() {
        let d = ConfigMap
            .decode(
                json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","bogus":1},"data":{"a":"b"},"spec":{}}),
                "v1",
            )
            .unwrap();
        assert_eq!(d.unknown, ["metadata.bogus", "spec"]);
    }

    #[test]
    fn bad_config_keys_and_immutability() {
        let errs = ConfigMap.validate(&json!({"data": {"bad key": "x"}}));
        assert_eq!(errs.len(), 1);
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let new = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(ConfigMap.validate_update(&new, &old).len(), 1);
    }
}
