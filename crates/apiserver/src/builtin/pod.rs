//! Pods: defaulting as `SetDefaults_Pod` does for the fields clients read back,
//! create-time status, the update rules for a pod's spec, graceful deletion, the
//! printer `kubectl get pods` shows and the field selectors kubelets and kubectl use.

use super::{def, default_path, get_path, set_path, str_path};
use crate::names;
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, meta_str, name_of, since};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
struct Pod;

/// The container rules of a pod spec (at `prefix`) beyond names and images:
/// mounts name a volume, environment variable names, container ports, and
/// requests no higher than limits.
pub(crate) fn validate_containers(spec: &Value, prefix: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes: Vec<String> = get_path(spec, &["volumes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| str_path(v, &["name"]))
        .collect();
    for field in ["initContainers", "containers"] {
        let containers = get_path(spec, &[field])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, c) in containers.iter().enumerate() {
            let path = format!("{prefix}.{field}[{i}]");
            for (j, m) in get_path(c, &["volumeMounts"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let name = str_path(m, &["name"]);
                if name.is_empty() {
                    errs.push(FieldError::required(
                        format!("{path}.volumeMounts[{j}].name"),
                        "",
                    ));
                } else if !volumes.contains(&name) {
                    errs.push(FieldError::not_found(
                        format!("{path}.volumeMounts[{j}].name"),
                        name,
                    ));
                }
            }
            for (j, e) in get_path(c, &["env"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let name = str_path(e, &["name"]);
                let field = format!("{path}.env[{j}].name");
                if name.is_empty() {
                    errs.push(FieldError::required(field, ""));
                } else if !name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=') {
                    errs.push(FieldError::invalid(
                        field,
                        name,
                        "a valid environment variable name must consist only of printable ASCII characters other than '='",
                    ));
                }
            }
            for (j, p) in get_path(c, &["ports"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let field = format!("{path}.ports[{j}].containerPort");
                match p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
                    0 => errs.push(FieldError::required(field, "")),
                    port if !(1..=65535).contains(&port) => errs.push(FieldError::invalid(
                        field,
                        port,
                        "must be between 1 and 65535, inclusive",
                    )),
                    _ => {}
                }
            }
            let requests = get_path(c, &["resources", "requests"]).and_then(Value::as_object);
            let limits = get_path(c, &["resources", "limits"]).and_then(Value::as_object);
            if let (Some(requests), Some(limits)) = (requests, limits) {
                for (resource, request) in requests {
                    let (Some(request), Some(limit)) = (
                        request.as_str(),
                        limits.get(resource).and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    if let (Ok(r), Ok(l)) = (
                        crate::quantity::parse(request),
                        crate::quantity::parse(limit),
                    ) && r > l
                    {
                        errs.push(FieldError::invalid(
                            format!("{path}.resources.requests"),
                            request,
                            format!("must be less than or equal to {resource} limit of {limit}"),
                        ));
                    }
                }
            }
        }
    }
    errs
}

fn containers_mut(obj: &mut Value, field: &str) -> Vec<Value> {
    obj.get_mut("spec")
        .and_then(|s| s.get_mut(field))
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default()
}

fn default_container(c: &mut Value) {
    default_path(
        c,
        &["terminationMessagePath"],
        json!("/dev/termination-log"),
    );
    default_path(c, &["terminationMessagePolicy"], json!("File"));
    let image = str_path(c, &["image"]);
    let last = image.rsplit('/').next().unwrap_or_default();
    let tag = if image.contains('@') {
        Some("digest")
    } else {
        last.split_once(':').map(|(_, t)| t)
    };
    let policy = match tag {
        None | Some("latest") => "Always",
        _ => "IfNotPresent",
    };
    default_path(c, &["imagePullPolicy"], json!(policy));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            default_path(p, &["protocol"], json!("TCP"));
        }
    }
}

fn qos_class(spec: &Value) -> &'static str {
    let containers = spec
        .get("containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let req = c.pointer("/resources/requests").and_then(Value::as_object);
        let lim = c.pointer("/resources/limits").and_then(Value::as_object);
        if req.is_some_and(|m| !m.is_empty()) || lim.is_some_and(|m| !m.is_empty()) {
            any = true;
        }
        let full = |m: Option<&serde_json::Map<String, Value>>| {
            m.is_some_and(|m| m.contains_key("cpu") && m.contains_key("memory"))
        };
        if !full(lim) || (req.is_some() && req != lim) {
            guaranteed = false;
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The fields of a pod's spec that an update may change.
const MUTABLE_SPEC: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn comparable_spec(spec: &Value) -> Value {
    let mut s = spec.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("activeDeadlineSeconds");
        m.remove("tolerations");
        m.remove("terminationGracePeriodSeconds");
        for f in ["containers", "initContainers"] {
            if let Some(cs) = m.get_mut(f).and_then(Value::as_array_mut) {
                for c in cs {
                    if let Some(cm) = c.as_object_mut() {
                        cm.remove("image");
                    }
                }
            }
        }
    }
    s
}

impl Behaviour for Pod {
    fn has_status(&self) -> bool {
        true
    }
    fn tracks_generation(&self) -> bool {
        // Kubernetes 1.33 gives pods a generation (PodObservedGenerationTracking).
        true
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        let paths = super::pod_spec_quantities("/spec");
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        super::roundtrip_quantities::<core::Pod>(obj, "Pod", version, &paths)
    }
    fn default(&self, obj: &mut Value) {
        super::null_condition_times(obj, &["lastProbeTime", "lastTransitionTime"]);
        default_path(obj, &["spec", "restartPolicy"], json!("Always"));
        default_path(obj, &["spec", "terminationGracePeriodSeconds"], json!(30));
        default_path(obj, &["spec", "dnsPolicy"], json!("ClusterFirst"));
        default_path(obj, &["spec", "securityContext"], json!({}));
        default_path(obj, &["spec", "schedulerName"], json!("default-scheduler"));
        default_path(obj, &["spec", "enableServiceLinks"], json!(true));
        // v1 mirrors serviceAccountName into the deprecated serviceAccount.
        let sa = str_path(obj, &["spec", "serviceAccountName"]);
        if !sa.is_empty() {
            default_path(obj, &["spec", "serviceAccount"], json!(sa));
        }
        if let Some(vols) = obj
            .pointer_mut("/spec/volumes")
            .and_then(Value::as_array_mut)
        {
            for v in vols {
                if v.get("hostPath").is_some() {
                    default_path(v, &["hostPath", "type"], json!(""));
                }
                // SetDefaults_Volume: a volume without a source is an emptyDir.
                if let Some(m) = v.as_object_mut()
                    && m.keys().all(|k| k == "name")
                {
                    m.insert("emptyDir".into(), json!({}));
                }
            }
        }
        for field in ["containers", "initContainers"] {
            let mut cs = containers_mut(obj, field);
            if cs.is_empty() && get_path(obj, &["spec", field]).is_none() {
                continue;
            }
            for c in cs.iter_mut() {
                default_container(c);
            }
            set_path(obj, &["spec", field], Value::Array(cs));
        }
        if let Some(spec) = obj.get_mut("spec") {
            super::container_resources(spec);
        }
    }
    fn admit_create(&self, obj: &mut Value) {
        // ServiceAccount admission: the namespace's default account.
        default_path(obj, &["spec", "serviceAccountName"], json!("default"));
        let sa = str_path(obj, &["spec", "serviceAccountName"]);
        default_path(obj, &["spec", "serviceAccount"], json!(sa));
        // Priority admission (no PriorityClass: priority 0).
        default_path(obj, &["spec", "priority"], json!(0));
        default_path(
            obj,
            &["spec", "preemptionPolicy"],
            json!("PreemptLowerPriority"),
        );
        // DefaultTolerationSeconds admission.
        let mut tolerations: Vec<Value> = get_path(obj, &["spec", "tolerations"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let tolerated = tolerations.iter().any(|t| {
                let k = str_path(t, &["key"]);
                let effect = str_path(t, &["effect"]);
                (k == key || (k.is_empty() && str_path(t, &["operator"]) == "Exists"))
                    && (effect.is_empty() || effect == "NoExecute")
            });
            if !tolerated {
                tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
        set_path(obj, &["spec", "tolerations"], Value::Array(tolerations));
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        // A negative grace period becomes 1 second (kube-apiserver 1.32+).
        if get_path(obj, &["spec", "terminationGracePeriodSeconds"])
            .and_then(Value::as_i64)
            .is_some_and(|g| g < 0)
        {
            set_path(obj, &["spec", "terminationGracePeriodSeconds"], json!(1));
        }
        let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
        set_path(
            obj,
            &["status"],
            json!({"phase": "Pending", "qosClass": qos}),
        );
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        match old.get("status") {
            Some(s) => set_path(new, &["status"], s.clone()),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let containers = get_path(obj, &["spec", "containers"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if containers.is_empty() {
            errs.push(FieldError::required("spec.containers", ""));
        }
        let mut seen = Vec::new();
        for field in ["initContainers", "containers"] {
            let cs = get_path(obj, &["spec", field])
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, c) in cs.iter().enumerate() {
                let name = str_path(c, &["name"]);
                let path = format!("spec.{field}[{i}]");
                if name.is_empty() {
                    errs.push(FieldError::required(format!("{path}.name"), ""));
                } else {
                    for m in names::dns1123_label(&name) {
                        errs.push(FieldError::invalid(format!("{path}.name"), name.clone(), m));
                    }
                    if seen.contains(&name) {
                        errs.push(FieldError::duplicate(format!("{path}.name"), name.clone()));
                    }
                    seen.push(name);
                }
                if str_path(c, &["image"]).trim().is_empty() {
                    errs.push(FieldError::required(format!("{path}.image"), ""));
                }
            }
        }
        errs.extend(validate_containers(
            obj.get("spec").unwrap_or(&Value::Null),
            "spec",
        ));
        let rp = str_path(obj, &["spec", "restartPolicy"]);
        if !["Always", "OnFailure", "Never"].contains(&rp.as_str()) {
            errs.push(FieldError::not_supported(
                "spec.restartPolicy",
                rp,
                &["Always", "OnFailure", "Never"],
            ));
        }
        if let Some(vols) = get_path(obj, &["spec", "volumes"]).and_then(Value::as_array) {
            let mut vnames = Vec::new();
            for (i, v) in vols.iter().enumerate() {
                let n = str_path(v, &["name"]);
                if n.is_empty() {
                    errs.push(FieldError::required(format!("spec.volumes[{i}].name"), ""));
                } else if vnames.contains(&n) {
                    errs.push(FieldError::duplicate(
                        format!("spec.volumes[{i}].name"),
                        n.clone(),
                    ));
                } else {
                    vnames.push(n);
                }
            }
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        let ns = new.get("spec").cloned().unwrap_or(Value::Null);
        let os = old.get("spec").cloned().unwrap_or(Value::Null);
        // The node is set only through `pods/binding`: an update may not change it,
        // not even from empty.
        if comparable_spec(&ns) != comparable_spec(&os) {
            errs.push(FieldError::forbidden("spec", MUTABLE_SPEC));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new(
                "Ready",
                "string",
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            Column::new(
                "Status",
                "string",
                "",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            Column::new(
                "Restarts",
                "string",
                "",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            Column::age(),
            Column::new(
                "IP",
                "string",
                "",
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                1,
            ),
            Column::new(
                "Node",
                "string",
                "",
                "NodeName is a request to schedule this pod onto a specific node.",
                1,
            ),
            Column::new(
                "Nominated Node",
                "string",
                "",
                "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.",
                1,
            ),
            Column::new(
                "Readiness Gates",
                "string",
                "",
                "If specified, all readiness gates will be evaluated for pod readiness.",
                1,
            ),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let total = get_path(obj, &["spec", "containers"])
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0);
        let statuses = get_path(obj, &["status", "containerStatuses"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let phase = str_path(obj, &["status", "phase"]);
        let mut reason = {
            let r = str_path(obj, &["status", "reason"]);
            if r.is_empty() { phase.clone() } else { r }
        };
        let mut ready = 0;
        let mut restarts = 0;
        let mut last_restart = String::new();
        for cs in statuses.iter().rev() {
            restarts += cs.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            let finished = str_path(cs, &["lastState", "terminated", "finishedAt"]);
            if !finished.is_empty() && finished > last_restart {
                last_restart = finished;
            }
            let waiting = str_path(cs, &["state", "waiting", "reason"]);
            let term_reason = str_path(cs, &["state", "terminated", "reason"]);
            if !waiting.is_empty() {
                reason = waiting;
            } else if get_path(cs, &["state", "terminated"]).is_some() {
                reason = if !term_reason.is_empty() {
                    term_reason
                } else if let Some(sig) = get_path(cs, &["state", "terminated", "signal"])
                    .and_then(Value::as_i64)
                    .filter(|s| *s != 0)
                {
                    format!("Signal:{sig}")
                } else {
                    format!(
                        "ExitCode:{}",
                        get_path(cs, &["state", "terminated", "exitCode"])
                            .and_then(Value::as_i64)
                            .unwrap_or(0)
                    )
                };
            } else if cs.get("ready").and_then(Value::as_bool) == Some(true)
                && get_path(cs, &["state", "running"]).is_some()
            {
                ready += 1;
            }
        }
        if !meta_str(obj, "deletionTimestamp").is_empty()
            && phase != "Succeeded"
            && phase != "Failed"
        {
            reason = "Terminating".into();
        }
        let restarts_cell = if last_restart.is_empty() || restarts == 0 {
            restarts.to_string()
        } else {
            format!("{restarts} ({} ago)", since(&last_restart, now))
        };
        let none = |s: String| {
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s
            }
        };
        vec![
            json!(name_of(obj)),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_cell),
            json!(age_of(obj, now)),
            json!(none(str_path(obj, &["status", "podIP"]))),
            json!(none(str_path(obj, &["spec", "nodeName"]))),
            json!(none(str_path(obj, &["status", "nominatedNodeName"]))),
            json!("<none>"),
        ]
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        Some(match label {
            "metadata.name" => name_of(obj),
            "metadata.namespace" => meta_str(obj, "namespace"),
            "spec.nodeName" => str_path(obj, &["spec", "nodeName"]),
            "spec.restartPolicy" => str_path(obj, &["spec", "restartPolicy"]),
            "spec.schedulerName" => str_path(obj, &["spec", "schedulerName"]),
            "spec.serviceAccountName" => str_path(obj, &["spec", "serviceAccountName"]),
            "spec.hostNetwork" => get_path(obj, &["spec", "hostNetwork"])
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
            "status.phase" => str_path(obj, &["status", "phase"]),
            "status.podIP" => str_path(obj, &["status", "podIP"]),
            "status.podIPs" => get_path(obj, &["status", "podIPs"])
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| str_path(p, &["ip"]))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            "spec.host" => str_path(obj, &["spec", "nodeName"]),
            "status.nominatedNodeName" => str_path(obj, &["status", "nominatedNodeName"]),
            _ => return None,
        })
    }
    fn grace_period(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        let mut period = requested.unwrap_or_else(|| {
            get_path(obj, &["spec", "terminationGracePeriodSeconds"])
                .and_then(Value::as_i64)
                .unwrap_or(0)
        });
        if str_path(obj, &["spec", "nodeName"]).is_empty() {
            period = 0;
        }
        let phase = str_path(obj, &["status", "phase"]);
        if phase == "Failed" || phase == "Succeeded" {
            period = 0;
        }
        if period < 0 {
            period = 1;
        }
        Some(period)
    }
}

/// `pods` (core/v1), with `status`, `log` and `binding` subresources.
pub fn pods() -> ResourceDef {
    def(
        "",
        "v1",
        "Pod",
        "pods",
        &["po"],
        &["all"],
        true,
        &["status", "binding", "log"],
        Arc::new(Pod),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clients_rely_on() {
        let mut p = json!({"spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        Pod.default(&mut p);
        assert_eq!(p["spec"]["restartPolicy"], "Always");
        assert_eq!(p["spec"]["terminationGracePeriodSeconds"], 30);
        assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
        Pod.prepare_for_create(&mut p);
        assert_eq!(p["status"]["phase"], "Pending");
        assert_eq!(p["status"]["qosClass"], "BestEffort");
    }

    #[test]
    fn spec_is_immutable_except_images() {
        let old = json!({"spec": {"containers": [{"name": "c", "image": "a"}], "restartPolicy": "Always"}});
        let ok = json!({"spec": {"containers": [{"name": "c", "image": "b"}], "restartPolicy": "Always"}});
        assert!(Pod.validate_update(&ok, &old).is_empty());
        let bad = json!({"spec": {"containers": [{"name": "d", "image": "a"}], "restartPolicy": "Always"}});
        assert_eq!(Pod.validate_update(&bad, &old).len(), 1);
        // Only pods/binding sets the node.
        let bound = json!({"spec": {"containers": [{"name": "c", "image": "a"}], "restartPolicy": "Always", "nodeName": "n"}});
        assert_eq!(Pod.validate_update(&bound, &old).len(), 1);
        assert_eq!(Pod.validate_update(&old, &bound).len(), 1);
    }

    #[test]
    fn unscheduled_pods_delete_at_once() {
        let p = json!({"spec": {"terminationGracePeriodSeconds": 30}});
        assert_eq!(Pod.grace_period(&p, None), Some(0));
        let p = json!({"spec": {"terminationGracePeriodSeconds": 30, "nodeName": "n"}});
        assert_eq!(Pod.grace_period(&p, None), Some(30));
    }
}
