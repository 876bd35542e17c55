//! The CustomResourceDefinitions of the components the sandbox simulates: KubeVirt
//! (`kubevirt.io/v1`, and the instancetype/preference kinds), CDI (`cdi.kubevirt.io/v1beta1`)
//! and Multus (`k8s.cni.cncf.io/v1`).
//!
//! Their schemas keep every field (`x-kubernetes-preserve-unknown-fields`): the sandbox
//! does not validate these kinds as the real operators' CRDs do. Names, scopes, short
//! names, the status subresource and the printer columns are the real ones, so
//! `kubectl get virtualmachines,datavolumes` shows what a real cluster shows.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

/// One CRD, described compactly.
struct Def {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    namespaced: bool,
    status: bool,
    /// (name, type, JSON path, priority)
    columns: &'static [(&'static str, &'static str, &'static str, i32)],
}

const AGE: (&str, &str, &str, i32) = ("Age", "date", ".metadata.creationTimestamp", 0);

const DEFS: &[Def] = &[
    Def {
        group: "kubevirt.io",
        version: "v1",
        kind: "VirtualMachine",
        plural: "virtualmachines",
        short_names: &["vm", "vms"],
        categories: &["all"],
        namespaced: true,
        status: true,
        columns: &[
            AGE,
            ("Status", "string", ".status.printableStatus", 0),
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
                0,
            ),
        ],
    },
    Def {
        group: "kubevirt.io",
        version: "v1",
        kind: "VirtualMachineInstance",
        plural: "virtualmachineinstances",
        short_names: &["vmi", "vmis"],
        categories: &["all"],
        namespaced: true,
        status: true,
        columns: &[
            AGE,
            ("Phase", "string", ".status.phase", 0),
            ("IP", "string", ".status.interfaces[0].ipAddress", 0),
            ("NodeName", "string", ".status.nodeName", 0),
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
                0,
            ),
            (
                "Live-Migratable",
                "string",
                ".status.conditions[?(@.type=='LiveMigratable')].status",
                1,
            ),
            (
                "Paused",
                "string",
                ".status.conditions[?(@.type=='Paused')].status",
                1,
            ),
        ],
    },
    Def {
        group: "instancetype.kubevirt.io",
        version: "v1beta1",
        kind: "VirtualMachineInstancetype",
        plural: "virtualmachineinstancetypes",
        short_names: &["vminstancetype", "vminstancetypes", "vmf", "vmfs"],
        categories: &[],
        namespaced: true,
        status: false,
        columns: &[],
    },
    Def {
        group: "instancetype.kubevirt.io",
        version: "v1beta1",
        kind: "VirtualMachineClusterInstancetype",
        plural: "virtualmachineclusterinstancetypes",
        short_names: &[
            "vmclusterinstancetype",
            "vmclusterinstancetypes",
            "vmcf",
            "vmcfs",
        ],
        categories: &[],
        namespaced: false,
        status: false,
        columns: &[],
    },
    Def {
        group: "instancetype.kubevirt.io",
        version: "v1beta1",
        kind: "VirtualMachinePreference",
        plural: "virtualmachinepreferences",
        short_names: &["vmpref", "vmprefs", "vmp", "vmps"],
        categories: &[],
        namespaced: true,
        status: false,
        columns: &[],
    },
    Def {
        group: "instancetype.kubevirt.io",
        version: "v1beta1",
        kind: "VirtualMachineClusterPreference",
        plural: "virtualmachineclusterpreferences",
        short_names: &["vmcp", "vmcps"],
        categories: &[],
        namespaced: false,
        status: false,
        columns: &[],
    },
    Def {
        group: "cdi.kubevirt.io",
        version: "v1beta1",
        kind: "DataVolume",
        plural: "datavolumes",
        short_names: &["dv", "dvs"],
        categories: &["all"],
        namespaced: true,
        status: true,
        columns: &[
            ("Phase", "string", ".status.phase", 0),
            ("Progress", "string", ".status.progress", 0),
            ("Restarts", "integer", ".status.restartCount", 0),
            AGE,
        ],
    },
    Def {
        group: "cdi.kubevirt.io",
        version: "v1beta1",
        kind: "StorageProfile",
        plural: "storageprofiles",
        short_names: &[],
        categories: &[],
        namespaced: false,
        status: true,
        columns: &[],
    },
    Def {
        group: "cdi.kubevirt.io",
        version: "v1beta1",
        kind: "CDI",
        plural: "cdis",
        short_names: &["cdi", "cdis"],
        categories: &[],
        namespaced: false,
        status: true,
        columns: &[AGE, ("Phase", "string", ".status.phase", 0)],
    },
    Def {
        group: "k8s.cni.cncf.io",
        version: "v1",
        kind: "NetworkAttachmentDefinition",
        plural: "network-attachment-definitions",
        short_names: &["net-attach-def"],
        categories: &[],
        namespaced: true,
        status: false,
        columns: &[],
    },
];

/// The CRDs, in install order.
pub fn all() -> Result<Vec<CustomResourceDefinition>, serde_json::Error> {
    DEFS.iter()
        .map(|def| serde_json::from_value(render(def)))
        .collect()
}

/// `<plural>.<group>` of every CRD.
pub fn names() -> Vec<String> {
    DEFS.iter()
        .map(|def| format!("{}.{}", def.plural, def.group))
        .collect()
}

fn render(def: &Def) -> Value {
    let open = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
    let mut properties = json!({
        "apiVersion": { "type": "string" },
        "kind": { "type": "string" },
        "metadata": { "type": "object" },
        "spec": open.clone(),
    });
    if def.status {
        properties["status"] = open.clone();
    }
    let mut version = json!({
        "name": def.version,
        "served": true,
        "storage": true,
        "schema": { "openAPIV3Schema": {
            "type": "object",
            "properties": properties,
            "x-kubernetes-preserve-unknown-fields": true,
        } },
    });
    if def.status {
        version["subresources"] = json!({ "status": {} });
    }
    if !def.columns.is_empty() {
        version["additionalPrinterColumns"] = def
            .columns
            .iter()
            .map(|(name, kind, path, priority)| {
                let mut column = json!({ "name": name, "type": kind, "jsonPath": path });
                if *priority != 0 {
                    column["priority"] = json!(priority);
                }
                column
            })
            .collect();
    }
    let mut names = json!({
        "kind": def.kind,
        "listKind": format!("{}List", def.kind),
        "plural": def.plural,
        "singular": def.kind.to_ascii_lowercase(),
    });
    if !def.short_names.is_empty() {
        names["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        names["categories"] = json!(def.categories);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{}.{}", def.plural, def.group),
            "labels": { "app.kubernetes.io/managed-by": "ferry-sandbox" },
        },
        "spec": {
            "group": def.group,
            "names": names,
            "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [version],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_render() {
        let crds = all().unwrap();
        assert_eq!(crds.len(), DEFS.len());
        let dv = crds
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some("datavolumes.cdi.kubevirt.io"))
            .unwrap();
        let columns: Vec<&str> = dv.spec.versions[0]
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["Phase", "Progress", "Restarts", "Age"]);
        assert!(names().contains(&"virtualmachines.kubevirt.io".to_owned()));
    }
}
