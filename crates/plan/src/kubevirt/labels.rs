//! The label sets of created objects (plan spec §6.1) and label-selector matching.
//!
//! Every object Ferry creates carries `plan-name` and `plan-namespace` (the hook Jobs and
//! ConfigMaps too, which upstream labels without them): the manager maps any change of a
//! created object back to its plan through these two labels.

use super::Run;
use ferry_api::labels::{self as keys, app, resource};
use std::collections::BTreeMap;

/// A label set.
pub type Labels = BTreeMap<String, String>;

fn put(labels: &mut Labels, key: &str, value: &str) {
    labels.insert(key.to_string(), value.to_string());
}

/// The plan labels: `migration`, `plan`, `plan-name`, `plan-namespace`; `migration` only
/// with `with_migration`.
pub fn plan(run: &Run<'_>, with_migration: bool) -> Labels {
    keys::plan_labels(
        run.plan_uid(),
        run.plan_name(),
        run.plan_namespace(),
        with_migration.then(|| run.migration_uid()),
    )
}

/// The VM labels: the plan labels, `vmID` and `resource: vm-config`.
pub fn vm(run: &Run<'_>, vm_id: &str, with_migration: bool) -> Labels {
    keys::vm_labels(
        run.plan_uid(),
        run.plan_name(),
        run.plan_namespace(),
        with_migration.then(|| run.migration_uid()),
        vm_id,
    )
}

/// The virt-v2v conversion pod's labels: the VM labels and `forklift.app: virt-v2v`.
pub fn conversion_pod(run: &Run<'_>, vm_id: &str, with_migration: bool) -> Labels {
    let mut labels = vm(run, vm_id, with_migration);
    put(&mut labels, keys::FORKLIFT_APP, app::VIRT_V2V);
    labels
}

/// The PVC-binding (consumer) pod's labels.
pub fn consumer_pod(run: &Run<'_>, vm_id: &str, with_migration: bool) -> Labels {
    let mut labels = vm(run, vm_id, with_migration);
    put(&mut labels, keys::FORKLIFT_APP, app::CONSUMER);
    labels
}

/// The Windows wait-for-reboot pod's labels.
pub fn wait_for_reboot_pod(run: &Run<'_>, vm_id: &str, with_migration: bool) -> Labels {
    let mut labels = vm(run, vm_id, with_migration);
    put(&mut labels, keys::FORKLIFT_APP, app::WAIT_FOR_REBOOT);
    put(&mut labels, keys::RESOURCE, resource::WAIT_FOR_REBOOT);
    labels
}

/// A hook's Job and ConfigMap labels: `plan`, `migration`, `vmID`, `step`, `hook`,
/// `resource: hook-config`, plus Ferry's `plan-name` and `plan-namespace`.
pub fn hook(run: &Run<'_>, vm_id: &str, step: &str, hook_uid: &str) -> Labels {
    let mut labels = Labels::new();
    put(&mut labels, keys::PLAN, run.plan_uid());
    put(&mut labels, keys::MIGRATION, run.migration_uid());
    put(&mut labels, keys::VM_ID, vm_id);
    put(&mut labels, keys::STEP, step);
    put(&mut labels, keys::HOOK, hook_uid);
    put(&mut labels, keys::RESOURCE, resource::HOOK_CONFIG);
    put(&mut labels, keys::PLAN_NAME, run.plan_name());
    put(&mut labels, keys::PLAN_NAMESPACE, run.plan_namespace());
    labels
}

/// The selector upstream uses to find a VM's hook Jobs for deletion: `plan`, `vmID`,
/// `resource: hook-config`.
pub fn hook_jobs(run: &Run<'_>, vm_id: &str) -> Labels {
    let mut labels = Labels::new();
    put(&mut labels, keys::PLAN, run.plan_uid());
    put(&mut labels, keys::VM_ID, vm_id);
    put(&mut labels, keys::RESOURCE, resource::HOOK_CONFIG);
    labels
}

/// A guest `Conversion` resource's labels: `plan`, `vmID`, `plan-name`,
/// `plan-namespace`, `conversion-type`, `migration`, plus the pod labels.
pub fn conversion(run: &Run<'_>, vm_id: &str, conversion_type: &str) -> Labels {
    let mut labels = conversion_pod(run, vm_id, true);
    put(&mut labels, keys::CONVERSION_TYPE, conversion_type);
    labels
}

/// Whether `labels` has every pair of `selector` (an equality-based selector).
///
/// The most selective keys (`vmID`, then `migration`) are compared first: a plan's
/// objects share every other label, and plans of a thousand VMs match each VM's selector
/// against every object of the plan.
pub fn matches(labels: Option<&Labels>, selector: &Labels) -> bool {
    let Some(labels) = labels else {
        return selector.is_empty();
    };
    let pair = |k: &String, v: &String| labels.get(k).is_some_and(|found| found == v);
    for key in [keys::VM_ID, keys::MIGRATION] {
        if let Some(value) = selector.get(key)
            && labels.get(key).is_none_or(|found| found != value)
        {
            return false;
        }
    }
    selector.iter().all(|(k, v)| pair(k, v))
}

/// A selector as the API server takes it (`k=v,k=v`).
pub fn selector(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_subsets() {
        let labels: Labels = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want: Labels = [("a".to_string(), "1".to_string())].into_iter().collect();
        assert!(matches(Some(&labels), &want));
        assert!(matches(Some(&labels), &Labels::new()));
        assert!(!matches(None, &want));
        let other: Labels = [("a".to_string(), "2".to_string())].into_iter().collect();
        assert!(!matches(Some(&labels), &other));
        assert_eq!(selector(&labels), "a=1,b=2");
    }
}
