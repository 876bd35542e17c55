//! Nodes (core/v1, cluster-scoped), as kube-apiserver's node strategy serves
//! them: status may be set on create (kubelets register with it), the main
//! endpoint keeps status, the `TaintNodesByCondition` admission plugin's not-ready
//! taint on create, allocatable defaulted from capacity, taint validation, the
//! printer `kubectl get nodes` shows and the `spec.unschedulable` field selector.

use super::{def, default_path, get_path, roundtrip_quantities, str_path};
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, meta_str, name_of};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The taint `TaintNodesByCondition` puts on every new node until its lifecycle
/// controller sees it ready.
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// The API documentation of `status.addresses`, the IP columns' description.
const ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

#[derive(Debug)]
struct Node;

/// `ValidateLabelName`, value and effect rules and uniqueness by key and effect.
fn validate_taints(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let taints = get_path(obj, &["spec", "taints"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, t) in taints.iter().enumerate() {
        // kube-apiserver validates taints under `metadata` (its field path says so).
        let path = format!("metadata.taints[{i}]");
        let key = str_path(t, &["key"]);
        for m in crate::names::qualified_name(&key) {
            errs.push(FieldError::invalid(format!("{path}.key"), key.clone(), m));
        }
        let value = str_path(t, &["value"]);
        let problems = crate::names::label_value(&value);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.value"),
                value.clone(),
                problems.join(";"),
            ));
        }
        let effect = str_path(t, &["effect"]);
        if effect.is_empty() {
            errs.push(FieldError::required(format!("{path}.effect"), ""));
        } else if !EFFECTS.contains(&effect.as_str()) {
            errs.push(FieldError::not_supported(
                format!("{path}.effect"),
                effect.clone(),
                EFFECTS,
            ));
        }
        if !seen.insert((effect.clone(), key.clone())) {
            let mut e = FieldError::duplicate(path, t.clone());
            e.detail = "taints must be unique by key and effect pair".into();
            errs.push(e);
        }
    }
    errs
}

/// The `Status` column: the Ready condition, and whether scheduling is disabled.
fn status_cell(obj: &Value) -> String {
    let ready = get_path(obj, &["status", "conditions"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .rfind(|c| str_path(c, &["type"]) == "Ready")
        .map(|c| {
            if str_path(c, &["status"]) == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        })
        .unwrap_or("Unknown");
    let mut cell = ready.to_string();
    if get_path(obj, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        cell.push_str(",SchedulingDisabled");
    }
    cell
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` label keys and the value of
/// `kubernetes.io/role`, sorted.
fn roles_cell(obj: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(labels) = get_path(obj, &["metadata", "labels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role"
                && let Some(v) = v.as_str().filter(|v| !v.is_empty())
            {
                roles.insert(v.to_string());
            }
        }
    }
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

fn address(obj: &Value, kind: &str) -> String {
    get_path(obj, &["status", "addresses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| str_path(a, &["type"]) == kind)
        .map(|a| str_path(a, &["address"]))
        .unwrap_or_else(|| "<none>".into())
}

fn or_unknown(s: String) -> String {
    if s.is_empty() { "<unknown>".into() } else { s }
}

impl Behaviour for Node {
    fn has_status(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip_quantities::<core::Node>(
            obj,
            "Node",
            version,
            &["/status/capacity", "/status/allocatable"],
        )
    }
    fn default(&self, obj: &mut Value) {
        // Go writes these struct fields even when empty.
        default_path(obj, &["spec"], json!({}));
        default_path(
            obj,
            &["status", "daemonEndpoints", "kubeletEndpoint", "Port"],
            json!(0),
        );
        for f in [
            "machineID",
            "systemUUID",
            "bootID",
            "kernelVersion",
            "osImage",
            "containerRuntimeVersion",
            "kubeletVersion",
            "kubeProxyVersion",
            "operatingSystem",
            "architecture",
        ] {
            default_path(obj, &["status", "nodeInfo", f], json!(""));
        }
        // SetDefaults_NodeStatus.
        if get_path(obj, &["status", "allocatable"]).is_none()
            && let Some(capacity) = get_path(obj, &["status", "capacity"]).cloned()
        {
            super::set_path(obj, &["status", "allocatable"], capacity);
        }
        super::null_condition_times(obj, &["lastHeartbeatTime", "lastTransitionTime"]);
    }
    fn admit_create(&self, obj: &mut Value) {
        let mut taints = get_path(obj, &["spec", "taints"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let present = taints.iter().any(|t| {
            str_path(t, &["key"]) == NOT_READY_TAINT && str_path(t, &["effect"]) == "NoSchedule"
        });
        if !present {
            taints.push(json!({"key": NOT_READY_TAINT, "effect": "NoSchedule"}));
            super::set_path(obj, &["spec", "taints"], Value::Array(taints));
        }
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        match (new.as_object_mut(), old.get("status")) {
            (Some(m), Some(s)) => {
                m.insert("status".into(), s.clone());
            }
            (Some(m), None) => {
                m.remove("status");
            }
            _ => {}
        }
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_taints(obj)
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        for f in ["providerID", "podCIDR"] {
            let was = str_path(old, &["spec", f]);
            if !was.is_empty() && str_path(new, &["spec", f]) != was {
                errs.push(FieldError::forbidden(
                    format!("spec.{f}"),
                    format!(
                        "node updates may not change {} except from \"\" to valid",
                        if f == "podCIDR" {
                            "podCIDR"
                        } else {
                            "providerID"
                        }
                    ),
                ));
            }
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Status", "string", "", "The status of the node", 0),
            Column::new("Roles", "string", "", "The roles of the node", 0),
            Column::age(),
            Column::new(
                "Version",
                "string",
                "",
                "Kubelet Version reported by the node.",
                0,
            ),
            Column::new("Internal-IP", "string", "", ADDRESSES, 1),
            Column::new("External-IP", "string", "", ADDRESSES, 1),
            Column::new(
                "OS-Image",
                "string",
                "",
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                1,
            ),
            Column::new(
                "Kernel-Version",
                "string",
                "",
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                1,
            ),
            Column::new(
                "Container-Runtime",
                "string",
                "",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
                1,
            ),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let info = |f: &str| str_path(obj, &["status", "nodeInfo", f]);
        vec![
            json!(name_of(obj)),
            json!(status_cell(obj)),
            json!(roles_cell(obj)),
            json!(age_of(obj, now)),
            json!(info("kubeletVersion")),
            json!(address(obj, "InternalIP")),
            json!(address(obj, "ExternalIP")),
            json!(or_unknown(info("osImage"))),
            json!(or_unknown(info("kernelVersion"))),
            json!(or_unknown(info("containerRuntimeVersion"))),
        ]
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" => Some(meta_str(obj, "name")),
            "spec.unschedulable" => Some(
                get_path(obj, &["spec", "unschedulable"])
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// `nodes` (core/v1, cluster-scoped), with the `status` subresource.
pub fn nodes() -> ResourceDef {
    def(
        "",
        "v1",
        "Node",
        "nodes",
        &["no"],
        &[],
        false,
        &["status"],
        Arc::new(Node),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_nodes_are_tainted_not_ready_once() {
        let mut n = json!({"spec": {"taints": [{"key": NOT_READY_TAINT, "effect": "NoSchedule"}]}});
        Node.admit_create(&mut n);
        assert_eq!(n["spec"]["taints"].as_array().map(Vec::len), Some(1));
        let mut n = json!({"metadata": {"name": "n"}});
        Node.admit_create(&mut n);
        assert_eq!(n["spec"]["taints"][0]["key"], NOT_READY_TAINT);
    }

    #[test]
    fn taints_are_validated() {
        let n = json!({"spec": {"taints": [
            {"key": "a", "effect": "Sometimes"},
            {"key": "", "effect": "NoSchedule"},
            {"key": "b", "effect": "NoSchedule"},
            {"key": "b", "effect": "NoSchedule"},
        ]}});
        let errs = Node.validate(&n);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"metadata.taints[0].effect"), "{fields:?}");
        assert!(fields.contains(&"metadata.taints[1].key"), "{fields:?}");
        assert!(fields.contains(&"metadata.taints[3]"), "{fields:?}");
    }

    #[test]
    fn printer_shows_readiness_roles_and_addresses() {
        let n = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}});
        let row = Node.row(&n, jiff::Timestamp::now());
        assert_eq!(row[1], "NotReady,SchedulingDisabled");
        assert_eq!(row[2], "control-plane,worker");
        assert_eq!(row[5], "10.0.0.1");
        assert_eq!(row[6], "<none>");
        assert_eq!(row[7], "<unknown>");
        assert_eq!(status_cell(&json!({})), "Unknown");
    }
}
