//! PersistentVolumeClaims, PersistentVolumes and StorageClasses.

use super::{def, default_path, get_path, roundtrip, set_path, str_path};
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, meta_str, name_of};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;
use serde_json::{Value, json};
use std::sync::Arc;

/// The finalizer that keeps a claim while a pod uses it.
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The finalizer that keeps a volume while a claim is bound to it.
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

fn add_finalizer(obj: &mut Value, f: &str) {
    let mut fs: Vec<Value> = get_path(obj, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !fs.iter().any(|x| x == f) {
        fs.push(json!(f));
    }
    set_path(obj, &["metadata", "finalizers"], Value::Array(fs));
}

const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

fn access_modes_cell(obj: &Value, path: &[&str]) -> String {
    let modes = get_path(obj, path)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let short: Vec<&str> = modes
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect();
    short.join(",")
}

fn validate_access_modes(obj: &Value, path: &[&str], field: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let modes = get_path(obj, path)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if modes.is_empty() {
        errs.push(FieldError::required(
            field,
            "at least 1 access mode is required",
        ));
    }
    for m in modes {
        let s = m.as_str().unwrap_or_default();
        if !ACCESS_MODES.contains(&s) {
            // Listed sorted, as Go's sets.List gives them.
            let mut sorted = ACCESS_MODES.to_vec();
            sorted.sort_unstable();
            errs.push(FieldError::not_supported(field, s, &sorted));
        }
    }
    errs
}

/// `spec.volumeMode`, when given, is `Block` or `Filesystem`.
fn validate_volume_mode(obj: &Value) -> Vec<FieldError> {
    match get_path(obj, &["spec", "volumeMode"]).and_then(Value::as_str) {
        Some(m) if m != "Block" && m != "Filesystem" => vec![FieldError::not_supported(
            "spec.volumeMode",
            m,
            &["Block", "Filesystem"],
        )],
        _ => Vec::new(),
    }
}

fn keep_status(new: &mut Value, old: &Value) {
    match old.get("status") {
        Some(s) => set_path(new, &["status"], s.clone()),
        None => {
            if let Some(m) = new.as_object_mut() {
                m.remove("status");
            }
        }
    }
}

#[derive(Debug)]
struct Pvc;

impl Behaviour for Pvc {
    fn has_status(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        super::roundtrip_quantities::<core::PersistentVolumeClaim>(
            obj,
            "PersistentVolumeClaim",
            version,
            &["/spec/resources/requests", "/spec/resources/limits"],
        )
    }
    fn default(&self, obj: &mut Value) {
        default_path(obj, &["spec", "volumeMode"], json!("Filesystem"));
        super::null_condition_times(obj, &["lastProbeTime", "lastTransitionTime"]);
    }
    fn admit_create(&self, obj: &mut Value) {
        add_finalizer(obj, PVC_PROTECTION);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        set_path(obj, &["status"], json!({"phase": "Pending"}));
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_status(new, old);
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_access_modes(obj, &["spec", "accessModes"], "spec.accessModes");
        if get_path(obj, &["spec", "resources", "requests", "storage"]).is_none() {
            errs.push(FieldError::required("spec.resources[storage]", ""));
        }
        errs.extend(validate_volume_mode(obj));
        errs
    }
    fn warnings(&self, new: &Value, _old: Option<&Value>) -> Vec<String> {
        // GetWarningsForPersistentVolumeClaim.
        let beta = "volume.beta.kubernetes.io/storage-class";
        if new
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(beta))
            .is_some()
        {
            vec![format!(
                "metadata.annotations[{beta}]: deprecated since v1.8; use \"storageClassName\" attribute instead"
            )]
        } else {
            Vec::new()
        }
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        let old_volume = str_path(old, &["spec", "volumeName"]);
        // As kube-apiserver: the PV controller sets `volumeName` once, and a claim
        // created without a class may get one later (RetroactiveDefaultStorageClass).
        let old_class_unset = get_path(old, &["spec", "storageClassName"]).is_none();
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                m.remove("resources");
                m.remove("volumeAttributesClassName");
                if old_volume.is_empty() {
                    m.remove("volumeName");
                }
                if old_class_unset {
                    m.remove("storageClassName");
                }
            }
            s
        };
        if (!old_volume.is_empty() && str_path(new, &["spec", "volumeName"]) != old_volume)
            || strip(new) != strip(old)
        {
            errs.push(FieldError::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Status", "string", "", "", 0),
            Column::new("Volume", "string", "", "", 0),
            Column::new("Capacity", "string", "", "", 0),
            Column::new("Access Modes", "string", "", "", 0),
            Column::new("StorageClass", "string", "", "", 0),
            Column::new("VolumeAttributesClass", "string", "", "", 0),
            Column::age(),
            Column::new("VolumeMode", "string", "", "", 1),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let phase = if meta_str(obj, "deletionTimestamp").is_empty() {
            str_path(obj, &["status", "phase"])
        } else {
            "Terminating".into()
        };
        let unset = |s: String| {
            if s.is_empty() {
                "<unset>".to_string()
            } else {
                s
            }
        };
        vec![
            json!(name_of(obj)),
            json!(phase),
            json!(str_path(obj, &["spec", "volumeName"])),
            json!(str_path(obj, &["status", "capacity", "storage"])),
            json!(access_modes_cell(obj, &["status", "accessModes"])),
            json!(str_path(obj, &["spec", "storageClassName"])),
            json!(unset(str_path(obj, &["spec", "volumeAttributesClassName"]))),
            json!(age_of(obj, now)),
            json!(str_path(obj, &["spec", "volumeMode"])),
        ]
    }
}

/// `persistentvolumeclaims` (core/v1).
pub fn persistent_volume_claims() -> ResourceDef {
    def(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["pvc"],
        &[],
        true,
        &["status"],
        Arc::new(Pvc),
    )
}

/// Volume sources a PersistentVolume may name (one is required).
const PV_SOURCES: &[&str] = &[
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];

#[derive(Debug)]
struct Pv;

impl Behaviour for Pv {
    fn has_status(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        super::roundtrip_quantities::<core::PersistentVolume>(
            obj,
            "PersistentVolume",
            version,
            &["/spec/capacity"],
        )
    }
    fn default(&self, obj: &mut Value) {
        default_path(
            obj,
            &["spec", "persistentVolumeReclaimPolicy"],
            json!("Retain"),
        );
        default_path(obj, &["spec", "volumeMode"], json!("Filesystem"));
        if get_path(obj, &["spec", "hostPath"]).is_some() {
            default_path(obj, &["spec", "hostPath", "type"], json!(""));
        }
    }
    fn admit_create(&self, obj: &mut Value) {
        add_finalizer(obj, PV_PROTECTION);
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        set_path(
            obj,
            &["status"],
            json!({"phase": "Pending", "lastPhaseTransitionTime": crate::ops::now()}),
        );
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_status(new, old);
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        let phase_changed =
            get_path(new, &["status", "phase"]) != get_path(old, &["status", "phase"]);
        let status = new.get("status").cloned();
        let managed = new.pointer("/metadata/managedFields").cloned();
        let mut merged = old.clone();
        match status {
            Some(s) => set_path(&mut merged, &["status"], s),
            None => {
                if let Some(m) = merged.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let Some(mf) = managed {
            set_path(&mut merged, &["metadata", "managedFields"], mf);
        }
        if phase_changed {
            set_path(
                &mut merged,
                &["status", "lastPhaseTransitionTime"],
                json!(crate::ops::now()),
            );
        }
        *new = merged;
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_access_modes(obj, &["spec", "accessModes"], "spec.accessModes");
        if get_path(obj, &["spec", "capacity", "storage"]).is_none() {
            errs.push(FieldError::required("spec.capacity", ""));
            // validateResourceRequirements on the (nil) capacity map, as Go
            // prints it.
            if get_path(obj, &["spec", "capacity"])
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
            {
                let mut e = FieldError::not_supported("spec.capacity", Value::Null, &["storage"]);
                e.rendered = Some(
                    "Unsupported value: core.ResourceList(nil): supported values: \"storage\""
                        .into(),
                );
                errs.push(e);
            }
        }
        errs.extend(validate_volume_mode(obj));
        let host_path = str_path(obj, &["spec", "hostPath", "path"]);
        if host_path.split('/').any(|part| part == "..") {
            errs.push(FieldError::invalid(
                "spec.hostPath.path",
                host_path,
                "must not contain '..'",
            ));
        }
        let n = PV_SOURCES
            .iter()
            .filter(|s| get_path(obj, &["spec", s]).is_some())
            .count();
        if n == 0 {
            errs.push(FieldError::required("spec", "must specify a volume type"));
        } else if n > 1 {
            errs.push(FieldError::forbidden(
                "spec",
                "may not specify more than 1 volume type",
            ));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Capacity", "string", "", "", 0),
            Column::new("Access Modes", "string", "", "", 0),
            Column::new("Reclaim Policy", "string", "", "", 0),
            Column::new("Status", "string", "", "", 0),
            Column::new("Claim", "string", "", "", 0),
            Column::new("StorageClass", "string", "", "", 0),
            Column::new("VolumeAttributesClass", "string", "", "", 0),
            Column::new("Reason", "string", "", "", 0),
            Column::age(),
            Column::new("VolumeMode", "string", "", "", 1),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let claim = {
            let n = str_path(obj, &["spec", "claimRef", "name"]);
            if n.is_empty() {
                String::new()
            } else {
                format!(
                    "{}/{}",
                    str_path(obj, &["spec", "claimRef", "namespace"]),
                    n
                )
            }
        };
        let phase = if meta_str(obj, "deletionTimestamp").is_empty() {
            str_path(obj, &["status", "phase"])
        } else {
            "Terminating".into()
        };
        let unset = |s: String| {
            if s.is_empty() {
                "<unset>".to_string()
            } else {
                s
            }
        };
        vec![
            json!(name_of(obj)),
            json!(str_path(obj, &["spec", "capacity", "storage"])),
            json!(access_modes_cell(obj, &["spec", "accessModes"])),
            json!(str_path(obj, &["spec", "persistentVolumeReclaimPolicy"])),
            json!(phase),
            json!(claim),
            json!(str_path(obj, &["spec", "storageClassName"])),
            json!(unset(str_path(obj, &["spec", "volumeAttributesClassName"]))),
            json!(str_path(obj, &["status", "reason"])),
            json!(age_of(obj, now)),
            json!(str_path(obj, &["spec", "volumeMode"])),
        ]
    }
}

/// `persistentvolumes` (core/v1, cluster-scoped).
pub fn persistent_volumes() -> ResourceDef {
    def(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        &["pv"],
        &[],
        false,
        &["status"],
        Arc::new(Pv),
    )
}

#[derive(Debug)]
struct StorageClass;

impl Behaviour for StorageClass {
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<storage::StorageClass>(obj, "StorageClass", version)
    }
    fn default(&self, obj: &mut Value) {
        default_path(obj, &["reclaimPolicy"], json!("Delete"));
        default_path(obj, &["volumeBindingMode"], json!("Immediate"));
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let p = str_path(obj, &["provisioner"]);
        if p.is_empty() {
            errs.push(FieldError::required("provisioner", ""));
        } else {
            for m in crate::names::qualified_name(&p.to_lowercase()) {
                errs.push(FieldError::invalid("provisioner", p.clone(), m));
            }
        }
        let rp = str_path(obj, &["reclaimPolicy"]);
        if !["Delete", "Retain"].contains(&rp.as_str()) {
            errs.push(FieldError::not_supported(
                "reclaimPolicy",
                rp,
                &["Delete", "Retain"],
            ));
        }
        let vb = str_path(obj, &["volumeBindingMode"]);
        if !["Immediate", "WaitForFirstConsumer"].contains(&vb.as_str()) {
            errs.push(FieldError::not_supported(
                "volumeBindingMode",
                vb,
                &["Immediate", "WaitForFirstConsumer"],
            ));
        }
        errs
    }
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        for (f, msg) in [
            ("parameters", "updates to parameters are forbidden."),
            ("provisioner", "updates to provisioner are forbidden."),
            ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
        ] {
            if new.get(f) != old.get(f) {
                errs.push(FieldError::forbidden(f, msg));
            }
        }
        if new.get("volumeBindingMode") != old.get("volumeBindingMode") {
            errs.push(FieldError::invalid(
                "volumeBindingMode",
                new.get("volumeBindingMode").cloned().unwrap_or(Value::Null),
                "field is immutable",
            ));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Provisioner", "string", "", "", 0),
            Column::new("ReclaimPolicy", "string", "", "", 0),
            Column::new("VolumeBindingMode", "string", "", "", 0),
            Column::new("AllowVolumeExpansion", "string", "", "", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        let mut name = name_of(obj);
        let default = |k: &str| str_path(obj, &["metadata", "annotations", k]) == "true";
        if default("storageclass.kubernetes.io/is-default-class")
            || default("storageclass.beta.kubernetes.io/is-default-class")
        {
            name.push_str(" (default)");
        }
        vec![
            json!(name),
            json!(str_path(obj, &["provisioner"])),
            json!(str_path(obj, &["reclaimPolicy"])),
            json!(str_path(obj, &["volumeBindingMode"])),
            json!(
                get_path(obj, &["allowVolumeExpansion"])
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            json!(age_of(obj, now)),
        ]
    }
}

/// `storageclasses` (storage.k8s.io/v1, cluster-scoped).
pub fn storage_classes() -> ResourceDef {
    def(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        &["sc"],
        &[],
        false,
        &[],
        Arc::new(StorageClass),
    )
}
