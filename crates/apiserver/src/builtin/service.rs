//! Services: defaulting, cluster-IP and node-port allocation (from the default
//! service CIDR 10.96.0.0/12 and the 30000-32767 range), and the rules that keep
//! allocated values across updates.

use super::{def, default_path, get_path, roundtrip, set_path, str_path};
use crate::names::NameRule;
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, name_of};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
struct Service;

fn headless_or_external(obj: &Value) -> bool {
    str_path(obj, &["spec", "type"]) == "ExternalName"
        || str_path(obj, &["spec", "clusterIP"]) == "None"
}

fn ip_from(n: u32) -> String {
    // 10.96.0.0/12: 10.96.0.0 - 10.111.255.255; skip .0 and the first address
    // (10.96.0.1 belongs to the `kubernetes` service in a real cluster).
    let base: u32 = (10 << 24) | (96 << 16);
    let ip = base + 2 + (n % ((1 << 20) - 3));
    format!(
        "{}.{}.{}.{}",
        ip >> 24,
        (ip >> 16) & 255,
        (ip >> 8) & 255,
        ip & 255
    )
}

fn seed(s: &str) -> u32 {
    s.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    })
}

fn in_cidr(ip: &str) -> bool {
    let parts: Vec<u32> = ip.split('.').filter_map(|p| p.parse().ok()).collect();
    parts.len() == 4
        && parts.iter().all(|p| *p < 256)
        && parts[0] == 10
        && (96..112).contains(&parts[1])
}

impl Behaviour for Service {
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1035
    }
    fn has_status(&self) -> bool {
        true
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<core::Service>(obj, "Service", version)
    }
    fn default(&self, obj: &mut Value) {
        default_path(obj, &["spec", "type"], json!("ClusterIP"));
        default_path(obj, &["spec", "sessionAffinity"], json!("None"));
        let t = str_path(obj, &["spec", "type"]);
        if t != "ExternalName" {
            default_path(obj, &["spec", "internalTrafficPolicy"], json!("Cluster"));
        }
        if t == "NodePort" || t == "LoadBalancer" {
            default_path(obj, &["spec", "externalTrafficPolicy"], json!("Cluster"));
        }
        if t == "LoadBalancer" {
            default_path(obj, &["spec", "allocateLoadBalancerNodePorts"], json!(true));
        }
        if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for p in ports {
                default_path(p, &["protocol"], json!("TCP"));
                if get_path(p, &["targetPort"]).is_none()
                    && let Some(port) = p.get("port").cloned()
                {
                    set_path(p, &["targetPort"], port);
                }
            }
        }
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        set_path(obj, &["status"], json!({"loadBalancer": {}}));
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // Allocated values survive updates that omit them (kubectl replace/apply).
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if get_path(new, &["spec", f]).is_none()
                && let Some(v) = get_path(old, &["spec", f])
            {
                set_path(new, &["spec", f], v.clone());
            }
        }
        let old_ports = get_path(old, &["spec", "ports"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for p in ports {
                if p.get("nodePort").is_none()
                    && let Some(op) = old_ports.iter().find(|op| {
                        op.get("port") == p.get("port") && op.get("protocol") == p.get("protocol")
                    })
                    && let Some(np) = op.get("nodePort")
                {
                    set_path(p, &["nodePort"], np.clone());
                }
            }
        }
        match old.get("status") {
            Some(s) => set_path(new, &["status"], s.clone()),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    fn allocate(&self, obj: &mut Value, taken: &dyn Fn(&str) -> bool) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if str_path(obj, &["spec", "type"]) == "ExternalName" {
            return errs;
        }
        let requested = str_path(obj, &["spec", "clusterIP"]);
        if requested == "None" {
            set_path(obj, &["spec", "clusterIPs"], json!(["None"]));
        } else if requested.is_empty() {
            let s = seed(&crate::table::meta_str(obj, "uid"));
            let mut ip = String::new();
            for i in 0..4096u32 {
                let candidate = ip_from(s.wrapping_add(i.wrapping_mul(7919)));
                if !taken(&candidate) {
                    ip = candidate;
                    break;
                }
            }
            if ip.is_empty() {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs",
                    "",
                    "failed to allocate IP: range is full",
                ));
                return errs;
            }
            set_path(obj, &["spec", "clusterIP"], json!(ip));
            set_path(obj, &["spec", "clusterIPs"], json!([ip]));
        } else if !in_cidr(&requested) {
            errs.push(FieldError::invalid(
                "spec.clusterIPs",
                json!([requested]),
                "failed to allocate IP: the provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
            ));
        } else if taken(&requested) {
            errs.push(FieldError::invalid(
                "spec.clusterIPs",
                json!([requested]),
                format!("failed to allocate IP {requested}: provided IP is already allocated"),
            ));
        } else {
            set_path(obj, &["spec", "clusterIPs"], json!([requested]));
        }
        // A headless service without a selector (its endpoints are managed by
        // hand, in any family) requires dual stack unless told otherwise, and lists
        // both families, whatever the cluster's.
        let headless_without_selector = str_path(obj, &["spec", "clusterIP"]) == "None"
            && get_path(obj, &["spec", "selector"])
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty());
        let policy = if headless_without_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        default_path(obj, &["spec", "ipFamilyPolicy"], json!(policy));
        default_path(obj, &["spec", "ipFamilies"], json!(["IPv4"]));
        if headless_without_selector
            && str_path(obj, &["spec", "ipFamilyPolicy"]) != "SingleStack"
            && let Some(families) = obj
                .pointer_mut("/spec/ipFamilies")
                .and_then(Value::as_array_mut)
            && families.len() == 1
        {
            let other = if families[0] == "IPv6" {
                "IPv4"
            } else {
                "IPv6"
            };
            families.push(json!(other));
        }
        let t = str_path(obj, &["spec", "type"]);
        if t == "NodePort" || t == "LoadBalancer" {
            let s = seed(&format!("np{}", crate::table::meta_str(obj, "uid")));
            if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
                for (i, p) in ports.iter_mut().enumerate() {
                    if p.get("nodePort").is_none() {
                        let np = 30000 + (s.wrapping_add(i as u32 * 131) % 2768);
                        set_path(p, &["nodePort"], json!(np));
                    }
                }
            }
        }
        errs
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let t = str_path(obj, &["spec", "type"]);
        // Listed sorted, as Go's sets.List gives them.
        let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
        if !types.contains(&t.as_str()) {
            errs.push(FieldError::not_supported("spec.type", t.clone(), &types));
        }
        let ip = str_path(obj, &["spec", "clusterIP"]);
        if !ip.is_empty() && ip != "None" && ip.parse::<std::net::IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
        if let Some(selector) = get_path(obj, &["spec", "selector"]).and_then(Value::as_object) {
            for v in selector.values().filter_map(Value::as_str) {
                if let Some(msg) = crate::names::label_value_error(v) {
                    errs.push(FieldError::invalid("spec.selector", v, msg));
                }
            }
        }
        let ports = get_path(obj, &["spec", "ports"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if ports.is_empty() && !headless_or_external(obj) {
            errs.push(FieldError::required("spec.ports", ""));
        }
        if t == "ExternalName" && str_path(obj, &["spec", "externalName"]).is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        }
        let mut names = Vec::new();
        let mut seen_ports: Vec<(i64, String)> = Vec::new();
        for (i, p) in ports.iter().enumerate() {
            let name = str_path(p, &["name"]);
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(format!("spec.ports[{i}].name"), ""));
            }
            if !name.is_empty() {
                if names.contains(&name) {
                    errs.push(FieldError::duplicate(
                        format!("spec.ports[{i}].name"),
                        name.clone(),
                    ));
                }
                names.push(name);
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&port) {
                errs.push(FieldError::invalid(
                    format!("spec.ports[{i}].port"),
                    port,
                    "must be between 1 and 65535, inclusive",
                ));
            }
            let proto = str_path(p, &["protocol"]);
            if !["TCP", "UDP", "SCTP"].contains(&proto.as_str()) {
                errs.push(FieldError::not_supported(
                    format!("spec.ports[{i}].protocol"),
                    proto.clone(),
                    &["SCTP", "TCP", "UDP"],
                ));
            }
            if let Some(target) = p.get("targetPort").and_then(Value::as_i64)
                && !(1..=65535).contains(&target)
            {
                errs.push(FieldError::invalid(
                    format!("spec.ports[{i}].targetPort"),
                    target,
                    "must be between 1 and 65535, inclusive",
                ));
            }
            // Two ports may not share a port number and protocol; Go shows the
            // (port, protocol) key it compares.
            let key = (port, proto.clone());
            if seen_ports.contains(&key) {
                let mut e = FieldError::duplicate(format!("spec.ports[{i}]"), Value::Null);
                e.rendered = Some(format!(
                    "Duplicate value: core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    crate::status::go_quote(&proto)
                ));
                errs.push(e);
            } else {
                seen_ports.push(key);
            }
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        let old_ip = str_path(old, &["spec", "clusterIP"]);
        let new_ip = str_path(new, &["spec", "clusterIP"]);
        if !old_ip.is_empty()
            && old_ip != new_ip
            && str_path(new, &["spec", "type"]) != "ExternalName"
        {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                new_ip,
                "may not change once set",
            ));
        }
        errs
    }
    fn custom_field_labels(&self) -> bool {
        true
    }
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        Some(match label {
            "metadata.name" => name_of(obj),
            "metadata.namespace" => crate::table::meta_str(obj, "namespace"),
            "spec.clusterIP" => str_path(obj, &["spec", "clusterIP"]),
            "spec.type" => str_path(obj, &["spec", "type"]),
            _ => return None,
        })
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Type", "string", "", "", 0),
            Column::new("Cluster-IP", "string", "", "", 0),
            Column::new("External-IP", "string", "", "", 0),
            Column::new("Port(s)", "string", "", "", 0),
            Column::age(),
            Column::new("Selector", "string", "", "", 1),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let t = str_path(obj, &["spec", "type"]);
        let external = match t.as_str() {
            "ExternalName" => str_path(obj, &["spec", "externalName"]),
            "LoadBalancer" => {
                let ing = get_path(obj, &["status", "loadBalancer", "ingress"])
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let ips: Vec<String> = ing
                    .iter()
                    .map(|i| {
                        let ip = str_path(i, &["ip"]);
                        if ip.is_empty() {
                            str_path(i, &["hostname"])
                        } else {
                            ip
                        }
                    })
                    .collect();
                if ips.is_empty() {
                    "<pending>".into()
                } else {
                    ips.join(",")
                }
            }
            _ => "<none>".into(),
        };
        let ports = get_path(obj, &["spec", "ports"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ports: Vec<String> = ports
            .iter()
            .map(|p| {
                let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                let proto = str_path(p, &["protocol"]);
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(np) => format!("{port}:{np}/{proto}"),
                    None => format!("{port}/{proto}"),
                }
            })
            .collect();
        let selector = get_path(obj, &["spec", "selector"])
            .and_then(Value::as_object)
            .map(|m| {
                let mut v: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect();
                v.sort();
                v.join(",")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "<none>".into());
        let cip = str_path(obj, &["spec", "clusterIP"]);
        vec![
            json!(name_of(obj)),
            json!(t),
            json!(if cip.is_empty() {
                "<none>".to_string()
            } else {
                cip
            }),
            json!(external),
            json!(if ports.is_empty() {
                "<none>".to_string()
            } else {
                ports.join(",")
            }),
            json!(age_of(obj, now)),
            json!(selector),
        ]
    }
}

/// `services` (core/v1).
pub fn services() -> ResourceDef {
    def(
        "",
        "v1",
        "Service",
        "services",
        &["svc"],
        &["all"],
        true,
        &["status"],
        Arc::new(Service),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_a_free_ip_in_the_service_cidr() {
        let mut s = json!({"metadata": {"uid": "u1"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
        Service.default(&mut s);
        let first = ip_from(seed("u1"));
        let errs = Service.allocate(&mut s, &|ip| ip == first);
        assert!(errs.is_empty());
        let ip = s["spec"]["clusterIP"].as_str().unwrap().to_string();
        assert_ne!(ip, first);
        assert!(in_cidr(&ip));
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
    }

    #[test]
    fn taken_ips_are_refused() {
        let mut s = json!({"metadata": {"uid": "u1"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}});
        assert_eq!(Service.allocate(&mut s, &|_| true).len(), 1);
    }
}
