//! Jobs (batch/v1): defaulting, selector generation, template rules and the
//! Orphan default for dependents that batch/v1 keeps for compatibility.

use super::{def, default_path, get_path, set_path, str_path};
use crate::resource::{Behaviour, Column, Decoded, GcPolicy, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, meta_str, name_of, parse_time};
use k8s_openapi::api::batch::v1 as batch;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
struct Job;

/// The template's ObjectMeta is a struct in Go: its zero creationTimestamp is
/// written as null (and so is stored and served that way).
fn template_creation_timestamp(obj: &mut Value) {
    if let Some(meta) = obj
        .pointer_mut("/spec/template/metadata")
        .and_then(Value::as_object_mut)
    {
        meta.entry("creationTimestamp").or_insert(Value::Null);
    }
}

fn has_condition(obj: &Value, t: &str) -> bool {
    get_path(obj, &["status", "conditions"])
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| str_path(c, &["type"]) == t && str_path(c, &["status"]) == "True")
        })
}

impl Behaviour for Job {
    fn has_status(&self) -> bool {
        true
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        let paths = super::pod_spec_quantities("/spec/template/spec");
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        super::roundtrip_quantities::<batch::Job>(obj, "Job", version, &paths)
    }
    fn default(&self, obj: &mut Value) {
        super::null_condition_times(obj, &["lastProbeTime", "lastTransitionTime"]);
        if get_path(obj, &["spec", "completions"]).is_none()
            && get_path(obj, &["spec", "parallelism"]).is_none()
        {
            set_path(obj, &["spec", "completions"], json!(1));
            set_path(obj, &["spec", "parallelism"], json!(1));
        }
        default_path(obj, &["spec", "parallelism"], json!(1));
        default_path(obj, &["spec", "backoffLimit"], json!(6));
        default_path(obj, &["spec", "completionMode"], json!("NonIndexed"));
        default_path(obj, &["spec", "suspend"], json!(false));
        if get_path(obj, &["spec", "podFailurePolicy"]).is_none() {
            default_path(
                obj,
                &["spec", "podReplacementPolicy"],
                json!("TerminatingOrFailed"),
            );
        }
        default_path(obj, &["spec", "manualSelector"], json!(false));
        // Pod template defaults (SetDefaults_PodSpec); kube-apiserver 1.33 leaves a
        // Job template's restartPolicy for validation to require.
        default_path(
            obj,
            &["spec", "template", "spec", "terminationGracePeriodSeconds"],
            json!(30),
        );
        default_path(
            obj,
            &["spec", "template", "spec", "dnsPolicy"],
            json!("ClusterFirst"),
        );
        default_path(
            obj,
            &["spec", "template", "spec", "schedulerName"],
            json!("default-scheduler"),
        );
        default_path(
            obj,
            &["spec", "template", "spec", "securityContext"],
            json!({}),
        );
        if let Some(cs) = obj
            .pointer_mut("/spec/template/spec/containers")
            .and_then(Value::as_array_mut)
        {
            for c in cs {
                default_path(
                    c,
                    &["terminationMessagePath"],
                    json!("/dev/termination-log"),
                );
                default_path(c, &["terminationMessagePolicy"], json!("File"));
                let image = str_path(c, &["image"]);
                let last = image.rsplit('/').next().unwrap_or_default();
                let policy = match last.split_once(':') {
                    None if !image.contains('@') => "Always",
                    Some((_, "latest")) => "Always",
                    _ => "IfNotPresent",
                };
                default_path(c, &["imagePullPolicy"], json!(policy));
            }
        }
        if let Some(spec) = obj.pointer_mut("/spec/template/spec") {
            super::container_resources(spec);
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        set_path(obj, &["status"], json!({}));
        if get_path(obj, &["spec", "manualSelector"]).and_then(Value::as_bool) != Some(true) {
            let uid = meta_str(obj, "uid");
            let name = name_of(obj);
            for (k, v) in [
                ("batch.kubernetes.io/controller-uid", uid.as_str()),
                ("batch.kubernetes.io/job-name", name.as_str()),
                ("controller-uid", uid.as_str()),
                ("job-name", name.as_str()),
            ] {
                set_path(
                    obj,
                    &["spec", "template", "metadata", "labels", k],
                    json!(v),
                );
            }
            set_path(
                obj,
                &["spec", "selector"],
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
            );
        }
        template_creation_timestamp(obj);
        // A Job without labels takes its template's.
        let no_labels = get_path(obj, &["metadata", "labels"])
            .and_then(Value::as_object)
            .is_none_or(|m| m.is_empty());
        if no_labels
            && let Some(l) = get_path(obj, &["spec", "template", "metadata", "labels"]).cloned()
        {
            set_path(obj, &["metadata", "labels"], l);
        }
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        template_creation_timestamp(new);
        match old.get("status") {
            Some(s) => set_path(new, &["status"], s.clone()),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        // Generated selectors and labels survive updates that omit them.
        for path in [
            &["spec", "selector"][..],
            &["spec", "template", "metadata", "labels"][..],
        ] {
            if get_path(new, path).is_none()
                && let Some(v) = get_path(old, path)
            {
                set_path(new, path, v.clone());
            }
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let rp = str_path(obj, &["spec", "template", "spec", "restartPolicy"]);
        if rp.is_empty() {
            errs.push(FieldError::required(
                "spec.template.spec.restartPolicy",
                "valid values: \"OnFailure\", \"Never\"",
            ));
        } else if rp != "OnFailure" && rp != "Never" {
            // kube-apiserver words a wrong value as a required one.
            errs.push(FieldError::required(
                "spec.template.spec.restartPolicy",
                "valid values: \"OnFailure\", \"Never\"",
            ));
        }
        let cs = get_path(obj, &["spec", "template", "spec", "containers"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if cs.is_empty() {
            errs.push(FieldError::required("spec.template.spec.containers", ""));
        }
        errs.extend(super::pod::validate_containers(
            get_path(obj, &["spec", "template", "spec"]).unwrap_or(&Value::Null),
            "spec.template.spec",
        ));
        for (i, c) in cs.iter().enumerate() {
            if str_path(c, &["name"]).is_empty() {
                errs.push(FieldError::required(
                    format!("spec.template.spec.containers[{i}].name"),
                    "",
                ));
            }
            if str_path(c, &["image"]).is_empty() {
                errs.push(FieldError::required(
                    format!("spec.template.spec.containers[{i}].image"),
                    "",
                ));
            }
        }
        for f in [
            "parallelism",
            "completions",
            "backoffLimit",
            "activeDeadlineSeconds",
        ] {
            if let Some(n) = get_path(obj, &["spec", f]).and_then(Value::as_i64)
                && n < 0
            {
                errs.push(FieldError::invalid(
                    format!("spec.{f}"),
                    n,
                    "must be greater than or equal to 0",
                ));
            }
        }
        let name = name_of(obj);
        if name.len() > 63
            && get_path(obj, &["spec", "manualSelector"]).and_then(Value::as_bool) != Some(true)
        {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                "must be no more than 63 characters",
            ));
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        for (path, field) in [
            (&["spec", "selector"][..], "spec.selector"),
            (&["spec", "completionMode"][..], "spec.completionMode"),
        ] {
            if get_path(new, path) != get_path(old, path) {
                errs.push(FieldError::invalid(
                    field,
                    get_path(new, path).cloned().unwrap_or(Value::Null),
                    "field is immutable",
                ));
            }
        }
        let suspended = get_path(old, &["spec", "suspend"]).and_then(Value::as_bool) == Some(true);
        if !suspended
            && get_path(new, &["spec", "template"]) != get_path(old, &["spec", "template"])
        {
            errs.push(FieldError::invalid(
                "spec.template",
                get_path(new, &["spec", "template"])
                    .cloned()
                    .unwrap_or(Value::Null),
                "field is immutable",
            ));
        }
        errs
    }
    fn default_gc_policy(&self, version: &str) -> GcPolicy {
        if version == "v1" {
            GcPolicy::OrphanDependents
        } else {
            GcPolicy::DeleteDependents
        }
    }
    fn default_gc_warning(&self, version: &str) -> Option<&'static str> {
        (version == "v1").then_some(
            "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning",
        )
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Status", "string", "", "Status of the job.", 0),
            Column::new(
                "Completions",
                "string",
                "",
                "The desired number of successfully finished pods the job should be run with.",
                0,
            ),
            Column::new(
                "Duration",
                "string",
                "",
                "Time required to complete the job.",
                0,
            ),
            Column::age(),
            Column::new(
                "Containers",
                "string",
                "",
                "Names of each container in the template.",
                1,
            ),
            Column::new(
                "Images",
                "string",
                "",
                "Images referenced by each container in the template.",
                1,
            ),
            Column::new(
                "Selector",
                "string",
                "",
                "Query over pods that should match the number of pods.",
                1,
            ),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let status = if has_condition(obj, "Complete") {
            "Complete"
        } else if has_condition(obj, "Failed") {
            "Failed"
        } else if !meta_str(obj, "deletionTimestamp").is_empty() {
            "Terminating"
        } else if has_condition(obj, "Suspended") {
            "Suspended"
        } else if has_condition(obj, "FailureTarget") {
            "FailureTarget"
        } else if has_condition(obj, "SuccessCriteriaMet") {
            "SuccessCriteriaMet"
        } else {
            "Running"
        };
        let succeeded = get_path(obj, &["status", "succeeded"])
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let completions = match get_path(obj, &["spec", "completions"]).and_then(Value::as_i64) {
            Some(c) => format!("{succeeded}/{c}"),
            None => {
                let p = get_path(obj, &["spec", "parallelism"])
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if p > 1 {
                    format!("{succeeded}/1 of {p}")
                } else {
                    format!("{succeeded}/1")
                }
            }
        };
        let start = parse_time(&str_path(obj, &["status", "startTime"]));
        let end = parse_time(&str_path(obj, &["status", "completionTime"]));
        let duration = match (start, end) {
            (Some(s), Some(e)) => crate::table::human_duration(e.as_second() - s.as_second()),
            (Some(s), None) => crate::table::human_duration(now.as_second() - s.as_second()),
            _ => String::new(),
        };
        let cs = get_path(obj, &["spec", "template", "spec", "containers"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let names: Vec<String> = cs.iter().map(|c| str_path(c, &["name"])).collect();
        let images: Vec<String> = cs.iter().map(|c| str_path(c, &["image"])).collect();
        let selector = get_path(obj, &["spec", "selector", "matchLabels"])
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        vec![
            json!(name_of(obj)),
            json!(status),
            json!(completions),
            json!(duration),
            json!(age_of(obj, now)),
            json!(names.join(",")),
            json!(images.join(",")),
            json!(selector),
        ]
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        Some(match label {
            "metadata.name" => name_of(obj),
            "metadata.namespace" => meta_str(obj, "namespace"),
            "status.successful" => get_path(obj, &["status", "succeeded"])
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string(),
            _ => return None,
        })
    }
}

/// `jobs` (batch/v1).
pub fn jobs() -> ResourceDef {
    def(
        "batch",
        "v1",
        "Job",
        "jobs",
        &[],
        &["all"],
        true,
        &["status"],
        Arc::new(Job),
    )
}
