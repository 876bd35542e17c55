//! Service account and hook checks (`validateServiceAccount`, `validateHooks`).

use super::Validation;
use crate::conditions as c;
use crate::observe::{Observed, ref_key};
use crate::settings::Settings;
use ferry_api::plan::hook_step;
use ferry_api::{Hook, ObjectReference};

/// Go's protobuf `ObjectReference.String()`, as upstream embeds it in hook items.
pub fn object_reference_string(reference: &ObjectReference) -> String {
    let field = |v: &Option<String>| v.clone().unwrap_or_default();
    format!(
        "&ObjectReference{{Kind:{},Namespace:{},Name:{},UID:{},APIVersion:{},ResourceVersion:{},FieldPath:{},}}",
        field(&reference.kind),
        field(&reference.namespace),
        field(&reference.name),
        field(&reference.uid),
        field(&reference.api_version),
        field(&reference.resource_version),
        field(&reference.field_path),
    )
}

/// The effective ServiceAccount of migration pods: the plan's, else the global one.
pub fn effective_service_account<'a>(observed: &'a Observed, settings: &'a Settings) -> &'a str {
    let own = observed.plan.spec.service_account.as_str();
    if own.is_empty() {
        settings.migration_service_account.as_str()
    } else {
        own
    }
}

/// Upstream `HookExecutionConfigValid`.
pub fn hook_execution_config_valid(hook: &Hook) -> bool {
    let has_local_fields =
        !hook.spec.image.trim().is_empty() || !hook.spec.playbook.trim().is_empty();
    match &hook.spec.aap {
        Some(aap) => !has_local_fields && aap.job_template_id > 0,
        None => !hook.spec.image.trim().is_empty(),
    }
}

/// Upstream `HookAAPRunnable`: an AAP hook has a connection, its own or the cluster's.
pub fn hook_aap_runnable(hook: &Hook, settings: &Settings) -> bool {
    let Some(aap) = &hook.spec.aap else {
        return true;
    };
    if aap.job_template_id <= 0 {
        return false;
    }
    let own = !aap.url.trim().is_empty()
        && aap
            .token_secret
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .is_some_and(|n| !n.trim().is_empty());
    let cluster =
        !settings.aap_url.trim().is_empty() && !settings.aap_token_secret_name.trim().is_empty();
    own || cluster
}

fn referenced_hooks(observed: &Observed) -> impl Iterator<Item = &Hook> {
    observed.plan.spec.vms.iter().flat_map(|vm| {
        vm.hooks.iter().filter_map(|h| {
            ref_key(&h.hook)
                .and_then(|key| observed.hooks.get(&key))
                .and_then(Option::as_ref)
        })
    })
}

/// `validateServiceAccount`.
pub(super) fn service_account(observed: &Observed, settings: &Settings, out: &mut Validation) {
    let sa = effective_service_account(observed, settings);
    if sa.is_empty() {
        return;
    }
    let plan = &observed.plan;
    let target = plan.spec.target_namespace.clone();
    if !observed
        .service_accounts
        .contains(&(target.clone(), sa.to_string()))
    {
        out.set(c::service_account_not_in_target(sa, &target));
        return;
    }
    let plan_namespace = plan.metadata.namespace.clone().unwrap_or_default();
    let local_hooks = referenced_hooks(observed)
        .any(|hook| hook.spec.aap.is_none() && !hook.spec.image.trim().is_empty());
    if local_hooks
        && plan_namespace != target
        && !observed
            .service_accounts
            .contains(&(plan_namespace.clone(), sa.to_string()))
    {
        out.set(c::service_account_not_in_plan_namespace(
            sa,
            &plan_namespace,
        ));
    }
}

/// `validateHooks`.
pub(super) fn hooks(observed: &Observed, settings: &Settings, out: &mut Validation) {
    let plan = &observed.plan;
    let plan_namespace = plan.metadata.namespace.clone().unwrap_or_default();
    let mut not_set = Vec::new();
    let mut not_found = Vec::new();
    let mut not_ready = Vec::new();
    let mut step_not_valid = Vec::new();
    let mut not_executable = Vec::new();
    let mut sa_not_found = Vec::new();
    for (index, vm) in plan.spec.vms.iter().enumerate() {
        // Upstream checks hooks after resolving the VMs in place, so items name the
        // resolved reference when there is one.
        let vm_ref = match out.resolved.get(index) {
            Some(Some(resolved)) => resolved.to_string(),
            _ => vm.reference().to_string(),
        };
        for hook_ref in &vm.hooks {
            if hook_ref.step != hook_step::PRE_HOOK && hook_ref.step != hook_step::POST_HOOK {
                step_not_valid.push(format!("VM: {vm_ref} step: {}", hook_ref.step));
            }
            let Some(key) = ref_key(&hook_ref.hook) else {
                not_set.push(format!("VM: {vm_ref}"));
                continue;
            };
            let description = format!(
                "VM: {vm_ref} hook: {}",
                object_reference_string(&hook_ref.hook)
            );
            let Some(Some(hook)) = observed.hooks.get(&key) else {
                not_found.push(description);
                continue;
            };
            if !hook_execution_config_valid(hook) || !hook_aap_runnable(hook, settings) {
                not_executable.push(description.clone());
            }
            if !hook.status.conditions.is_ready() {
                not_ready.push(description.clone());
            }
            let sa = &hook.spec.service_account;
            if !sa.is_empty()
                && hook.spec.aap.is_none()
                && !observed
                    .service_accounts
                    .contains(&(plan_namespace.clone(), sa.clone()))
            {
                sa_not_found.push(format!(
                    "VM: {vm_ref} hook: {} ServiceAccount '{sa}' not found in namespace '{plan_namespace}'",
                    object_reference_string(&hook_ref.hook)
                ));
            }
        }
    }
    for (condition, items) in [
        (c::hook_not_set(), not_set),
        (c::hook_not_found(), not_found),
        (c::hook_not_ready(), not_ready),
        (c::hook_step_not_valid(), step_not_valid),
        (c::hook_not_executable(), not_executable),
        (c::hook_service_account_not_valid(), sa_not_found),
    ] {
        if !items.is_empty() {
            out.set(condition.with_items(items));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::hook::{AapConfig, HookSpec};

    #[test]
    fn object_reference_string_is_gos() {
        let reference = ObjectReference {
            namespace: Some("ns".into()),
            name: Some("h".into()),
            ..ObjectReference::default()
        };
        assert_eq!(
            object_reference_string(&reference),
            "&ObjectReference{Kind:,Namespace:ns,Name:h,UID:,APIVersion:,ResourceVersion:,FieldPath:,}"
        );
    }

    /// Upstream `hook_exec.go` rules.
    #[test]
    fn execution_config_matrix() {
        let hook = |image: &str, playbook: &str, aap: Option<i64>| {
            Hook::new(
                "ns",
                "h",
                HookSpec {
                    image: image.into(),
                    playbook: playbook.into(),
                    aap: aap.map(|id| AapConfig {
                        job_template_id: id,
                        ..AapConfig::default()
                    }),
                    ..HookSpec::default()
                },
            )
        };
        assert!(hook_execution_config_valid(&hook("img", "", None)));
        assert!(hook_execution_config_valid(&hook("img", "cGxheQ==", None)));
        assert!(!hook_execution_config_valid(&hook("  ", "cGxheQ==", None)));
        assert!(hook_execution_config_valid(&hook("", "", Some(3))));
        assert!(!hook_execution_config_valid(&hook("", "", Some(0))));
        assert!(!hook_execution_config_valid(&hook("img", "", Some(3))));
        let settings = Settings::default();
        assert!(!hook_aap_runnable(&hook("", "", Some(3)), &settings));
        let cluster = Settings {
            aap_url: "https://aap".into(),
            aap_token_secret_name: "token".into(),
            ..Settings::default()
        };
        assert!(hook_aap_runnable(&hook("", "", Some(3)), &cluster));
        assert!(hook_aap_runnable(&hook("img", "", None), &settings));
    }
}
