//! The watch contract: which changes wake which Plan. The manager sets the watches up
//! (kube-runtime `Controller::watches` or shared caches); this module says what they
//! are and maps an object to the Plans it concerns.
//!
//! | what changed | which Plans |
//! |---|---|
//! | the Plan | itself (status-only updates can be ignored: [`plan_needs_reconcile`]) |
//! | a Provider | Plans naming it as source or destination ([`references`]) |
//! | a NetworkMap / StorageMap | Plans naming it in `spec.map` ([`references`]) |
//! | a Hook | Plans naming it in a VM's `hooks` ([`references`]) |
//! | a Migration (created, edited, deleted) | the Plan in its `spec.plan` ([`migration_plan`]) |
//! | any kind of [`DESTINATION_KINDS`] labelled per [`LABEL_SELECTOR`] | the Plan its `plan-name`/`plan-namespace` labels name ([`labelled_plan`]) |
//! | a source inventory VM (created, changed, deleted) | unfinished, unarchived Plans of that source listing it ([`wants_inventory_news`], [`lists_vm`]) |
//! | the source inventory becoming ready | unfinished Plans of that source |
//!
//! Every object the plan controller creates carries `plan-name` and `plan-namespace`
//! (owner references cannot cross namespaces), so one label-selected watch per kind
//! covers them all.

use crate::observe::ref_key;
use ferry_api::condition::types;
use ferry_api::labels;
use ferry_api::{Migration, Plan};
use std::collections::BTreeMap;

/// A Plan, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A destination kind the manager watches (all namespaces, label-selected).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchedKind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource (plural).
    pub plural: &'static str,
    /// Whether the cluster may not serve it (a CRD of CDI, KubeVirt or Forklift): the
    /// watch is set up only when it is served.
    pub optional: bool,
}

/// The label selector of every destination watch: both plan labels present.
pub const LABEL_SELECTOR: &str = "plan-name,plan-namespace";

/// The destination kinds whose changes wake a plan.
pub const DESTINATION_KINDS: &[WatchedKind] = &[
    WatchedKind {
        group: "cdi.kubevirt.io",
        version: "v1beta1",
        kind: "DataVolume",
        plural: "datavolumes",
        optional: true,
    },
    WatchedKind {
        group: "",
        version: "v1",
        kind: "PersistentVolumeClaim",
        plural: "persistentvolumeclaims",
        optional: false,
    },
    WatchedKind {
        group: "",
        version: "v1",
        kind: "PersistentVolume",
        plural: "persistentvolumes",
        optional: false,
    },
    WatchedKind {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        optional: false,
    },
    WatchedKind {
        group: "batch",
        version: "v1",
        kind: "Job",
        plural: "jobs",
        optional: false,
    },
    WatchedKind {
        group: "kubevirt.io",
        version: "v1",
        kind: "VirtualMachine",
        plural: "virtualmachines",
        optional: true,
    },
    WatchedKind {
        group: "forklift.konveyor.io",
        version: "v1beta1",
        kind: "Conversion",
        plural: "conversions",
        optional: true,
    },
];

/// The Plan an object's `plan-name` and `plan-namespace` labels name.
pub fn labelled_plan(object_labels: Option<&BTreeMap<String, String>>) -> Option<PlanKey> {
    let object_labels = object_labels?;
    let name = object_labels.get(labels::PLAN_NAME)?;
    let namespace = object_labels.get(labels::PLAN_NAMESPACE)?;
    (!name.is_empty() && !namespace.is_empty()).then(|| PlanKey {
        namespace: namespace.clone(),
        name: name.clone(),
    })
}

/// The Plan a Migration's `spec.plan` names.
pub fn migration_plan(migration: &Migration) -> Option<PlanKey> {
    ref_key(&migration.spec.plan).map(|(namespace, name)| PlanKey { namespace, name })
}

/// What a Plan references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Referenced {
    /// A Provider (source or destination).
    Provider,
    /// A NetworkMap.
    NetworkMap,
    /// A StorageMap.
    StorageMap,
    /// A Hook.
    Hook,
}

/// The objects a Plan references, as `(kind, namespace, name)`, sorted and deduplicated:
/// the index from a Provider, map or Hook to the Plans to wake.
pub fn references(plan: &Plan) -> Vec<(Referenced, String, String)> {
    let mut found = Vec::new();
    let mut add = |kind, reference: &ferry_api::ObjectReference| {
        if let Some((namespace, name)) = ref_key(reference) {
            found.push((kind, namespace, name));
        }
    };
    add(Referenced::Provider, &plan.spec.provider.source);
    add(Referenced::Provider, &plan.spec.provider.destination);
    add(Referenced::NetworkMap, &plan.spec.map.network);
    add(Referenced::StorageMap, &plan.spec.map.storage);
    for vm in &plan.spec.vms {
        for hook in &vm.hooks {
            add(Referenced::Hook, &hook.hook);
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Whether a Plan still cares about its source's inventory: not archived, none of
/// `Succeeded`, `Failed`, `Canceled` (upstream's inventory handler).
pub fn wants_inventory_news(plan: &Plan) -> bool {
    !plan.spec.archived
        && !plan
            .status
            .conditions
            .has_any(&[types::SUCCEEDED, types::FAILED, types::CANCELED])
}

/// Whether a Plan lists the inventory VM `id` at `path`: by `id`, or by a `name` that is
/// a suffix of the path (upstream's handler).
pub fn lists_vm(plan: &Plan, id: &str, path: &str) -> bool {
    plan.spec.vms.iter().any(|vm| {
        (!vm.id.is_empty() && vm.id == id) || (!vm.name.is_empty() && path.ends_with(&vm.name))
    })
}

/// Whether a Plan update needs a reconcile: its spec changed since the status was
/// written (`observedGeneration < generation`), or it was never reconciled. The plan
/// controller's own status writes then wake nothing (upstream's predicate).
pub fn plan_needs_reconcile(plan: &Plan) -> bool {
    plan.status.observed_generation < plan.metadata.generation.unwrap_or(0)
        || plan.status.conditions.list.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn objects_map_back_through_both_labels() {
        let found = labelled_plan(Some(&labels(&[
            ("plan-name", "p"),
            ("plan-namespace", "ns"),
        ])));
        assert_eq!(
            found,
            Some(PlanKey {
                namespace: "ns".into(),
                name: "p".into()
            })
        );
        assert_eq!(labelled_plan(Some(&labels(&[("plan-name", "p")]))), None);
        assert_eq!(
            labelled_plan(Some(&labels(&[
                ("plan-name", ""),
                ("plan-namespace", "ns")
            ]))),
            None
        );
        assert_eq!(labelled_plan(None), None);
    }

    #[test]
    fn status_only_updates_need_no_reconcile() {
        let mut plan = Plan::new("ns", "p", Default::default());
        plan.metadata.generation = Some(2);
        plan.status.observed_generation = 2;
        plan.status.conditions =
            ferry_api::condition::Conditions::from(vec![ferry_api::condition::Condition::new(
                types::READY,
                "Required",
            )]);
        assert!(!plan_needs_reconcile(&plan));
        plan.metadata.generation = Some(3);
        assert!(plan_needs_reconcile(&plan));
    }

    #[test]
    fn vms_match_by_id_or_path_suffix() {
        let mut plan = Plan::new("ns", "p", Default::default());
        plan.spec.vms = serde_json::from_value(serde_json::json!([
            {"id": "vm-1"},
            {"name": "web"}
        ]))
        .unwrap_or_default();
        assert!(lists_vm(&plan, "vm-1", "/x/other"));
        assert!(lists_vm(&plan, "vm-9", "/dc/vm/web"));
        assert!(!lists_vm(&plan, "vm-9", "/dc/vm/db"));
        let mut done = plan.clone();
        done.status.conditions =
            ferry_api::condition::Conditions::from(vec![ferry_api::condition::Condition::new(
                types::FAILED,
                "Required",
            )]);
        assert!(wants_inventory_news(&plan));
        assert!(!wants_inventory_news(&done));
    }
}
