//! Every condition the plan controller sets, with upstream's exact type, category,
//! reason, message and durability (plan spec §2.2, §2.3, §3.13). Items are added by the
//! callers.

use ferry_api::condition::{Condition, category, reason, types};

fn critical(r#type: &str, message: &str) -> Condition {
    Condition::new(r#type, category::CRITICAL).with_message(message)
}

/// `SourceProviderNotValid (Critical/<reason>)`.
pub fn source_provider_not_valid(why: &str) -> Condition {
    critical(
        types::SOURCE_PROVIDER_NOT_VALID,
        "The source provider is not valid.",
    )
    .with_reason(why)
}

/// Ferry: the source provider's type has no adapter yet (a reason upstream does not have;
/// upstream fails the reconcile instead).
pub fn source_provider_not_supported(provider_type: &str) -> Condition {
    critical(
        types::SOURCE_PROVIDER_NOT_VALID,
        "The source provider is not valid.",
    )
    .with_reason(reason::NOT_SUPPORTED)
    .with_suggestion(format!(
        "Ferry cannot migrate from providers of type '{provider_type}' yet; use a supported source provider."
    ))
}

/// `SourceProviderNotReady (Critical)`.
pub fn source_provider_not_ready() -> Condition {
    critical(
        types::SOURCE_PROVIDER_NOT_READY,
        "The source provider does not have the Ready condition.",
    )
}

/// `DestinationProviderNotValid (Critical/<reason>)`.
pub fn destination_provider_not_valid(why: &str) -> Condition {
    critical(
        types::DESTINATION_PROVIDER_NOT_VALID,
        "The destination provider is not valid.",
    )
    .with_reason(why)
}

/// `DestinationProviderNotReady (Critical)`.
pub fn destination_provider_not_ready() -> Condition {
    critical(
        types::DESTINATION_PROVIDER_NOT_READY,
        "The destination provider does not have the Ready condition.",
    )
}

/// `NamespaceNotValid (Critical/<reason>)`.
pub fn namespace_not_valid(why: &str) -> Condition {
    critical(types::NAMESPACE_NOT_VALID, "Target namespace is not valid.").with_reason(why)
}

/// `NetworkMapRefNotValid (Critical/<reason>)`.
pub fn network_map_ref_not_valid(why: &str) -> Condition {
    critical(
        types::NETWORK_MAP_REF_NOT_VALID,
        "Map.Network is not valid.",
    )
    .with_reason(why)
}

/// `NetworkMapNotReady (Critical)`.
pub fn network_map_not_ready() -> Condition {
    critical(
        types::NETWORK_MAP_NOT_READY,
        "Map.Network does not have Ready condition.",
    )
}

/// `NetMapPreservingIPsOnPodNetwork (Warn)`.
pub fn net_map_preserving_ips_on_pod_network() -> Condition {
    Condition::new(types::NET_MAP_PRESERVING_IPS_ON_POD_NETWORK, category::WARN).with_message(
        "Your migration plan preserves the static IPs of VMs and uses Pod Networking target network mapping. This combination isn't supported, because VM IPs aren't preserved in Pod Networking migrations.",
    )
}

/// `NetMapDestinationNADNotValid (Critical/NotValid)`.
pub fn net_map_destination_nad_not_valid(
    namespace: &str,
    name: &str,
    target_namespace: &str,
) -> Condition {
    critical(
        types::NET_MAP_DESTINATION_NAD_NOT_VALID,
        &format!(
            "Destination NAD {namespace}/{name} must be in either the target namespace ({target_namespace}) or the default namespace. Pods cannot reference network attachment definitions from other namespaces."
        ),
    )
    .with_reason(reason::NOT_VALID)
}

/// `StorageRefNotValid (Critical/<reason>)`.
pub fn storage_ref_not_valid(why: &str) -> Condition {
    critical(types::STORAGE_REF_NOT_VALID, "Map.Storage is not valid.").with_reason(why)
}

/// `StorageMapNotReady (Critical)`.
pub fn storage_map_not_ready() -> Condition {
    critical(
        types::STORAGE_MAP_NOT_READY,
        "Map.Storage does not have Ready condition.",
    )
}

/// `UnsupportedUserDefinedNetwork (Critical/NotSupported)`.
pub fn unsupported_udn() -> Condition {
    critical(
        types::UNSUPPORTED_USER_DEFINED_NETWORK,
        "UserDefinedNetwork Layer3 is not supported, please use Layer2",
    )
    .with_reason(reason::NOT_SUPPORTED)
}

/// `WarmMigrationNotReady (Critical/NotSupported)`.
pub fn warm_migration_not_ready() -> Condition {
    critical(
        types::WARM_MIGRATION_NOT_READY,
        "Warm migration from the source provider is not supported.",
    )
    .with_reason(reason::NOT_SUPPORTED)
}

/// `MigrationTypeNotValid (Critical/NotSupported)`; `migration_type` is `spec.type` as
/// written (`""` when unset).
pub fn migration_type_not_valid(migration_type: &str) -> Condition {
    critical(
        types::MIGRATION_TYPE_NOT_VALID,
        &format!("`{migration_type}` migration from the source provider is not supported."),
    )
    .with_reason(reason::NOT_SUPPORTED)
}

/// `TransferNetworkNotValid (Critical/NotFound)`.
pub fn transfer_network_not_found() -> Condition {
    critical(
        types::TRANSFER_NETWORK_NOT_VALID,
        "Transfer network is not valid.",
    )
    .with_reason(reason::NOT_FOUND)
}

/// `TransferNetworkNotValid (Critical/NotValid)` for a NAD in another namespace.
pub fn transfer_network_other_namespace(
    namespace: &str,
    name: &str,
    target_namespace: &str,
) -> Condition {
    critical(
        types::TRANSFER_NETWORK_NOT_VALID,
        &format!(
            "Transfer network {namespace}/{name} is in a different namespace than the target namespace {target_namespace}. Pods cannot reference network attachment definitions across namespaces."
        ),
    )
    .with_reason(reason::NOT_VALID)
}

/// `TransferNetworkNotValid (Critical/NotValid)` for a bad route annotation.
pub fn transfer_network_bad_route() -> Condition {
    critical(
        types::TRANSFER_NETWORK_NOT_VALID,
        "Transfer network default route annotation is not a valid IP address.",
    )
    .with_reason(reason::NOT_VALID)
}

/// `TransferNetworkMissingDefaultRoute (Warn/NotValid)`.
pub fn transfer_network_missing_default_route() -> Condition {
    Condition::new(
        types::TRANSFER_NETWORK_MISSING_DEFAULT_ROUTE,
        category::WARN,
    )
    .with_reason(reason::NOT_VALID)
    .with_message("Transfer network missing default route annotation.")
}

/// `ServiceAccountNotValid (Critical/NotFound)` in the target namespace.
pub fn service_account_not_in_target(sa: &str, target_namespace: &str) -> Condition {
    critical(
        types::SERVICE_ACCOUNT_NOT_VALID,
        &format!("ServiceAccount '{sa}' not found in target namespace '{target_namespace}'."),
    )
    .with_reason(reason::NOT_FOUND)
}

/// `ServiceAccountNotValid (Critical/NotFound)` in the plan namespace (hook pods).
pub fn service_account_not_in_plan_namespace(sa: &str, namespace: &str) -> Condition {
    critical(
        types::SERVICE_ACCOUNT_NOT_VALID,
        &format!(
            "ServiceAccount '{sa}' not found in plan namespace '{namespace}' (required for hook pods)."
        ),
    )
    .with_reason(reason::NOT_FOUND)
}

/// `HookNotValid (Critical/NotSet)`.
pub fn hook_not_set() -> Condition {
    critical(
        types::HOOK_NOT_VALID,
        "Hook specified by: `namespace` and `name`.",
    )
    .with_reason(reason::NOT_SET)
}

/// `HookNotValid (Critical/NotFound)`.
pub fn hook_not_found() -> Condition {
    critical(types::HOOK_NOT_VALID, "Hook not found.").with_reason(reason::NOT_FOUND)
}

/// `HookNotReady (Critical/NotFound)`.
pub fn hook_not_ready() -> Condition {
    critical(
        types::HOOK_NOT_READY,
        "Hook does not have `Ready` condition.",
    )
    .with_reason(reason::NOT_FOUND)
}

/// `HookStepNotValid (Critical/NotValid)`.
pub fn hook_step_not_valid() -> Condition {
    critical(types::HOOK_STEP_NOT_VALID, "Hook step not valid.").with_reason(reason::NOT_VALID)
}

/// `HookNotValid (Critical/NotValid)`: the hook cannot run.
pub fn hook_not_executable() -> Condition {
    critical(
        types::HOOK_NOT_VALID,
        "Hook must set spec.aap or spec.image for a local hook (playbook optional).",
    )
    .with_reason(reason::NOT_VALID)
}

/// `HookServiceAccountNotValid (Critical/NotFound)`.
pub fn hook_service_account_not_valid() -> Condition {
    critical(
        types::HOOK_SERVICE_ACCOUNT_NOT_VALID,
        "Hook ServiceAccount not found in plan namespace.",
    )
    .with_reason(reason::NOT_FOUND)
}

/// `VirtV2vImageNotValid (Critical/NotValid)`.
pub fn virt_v2v_image_not_valid() -> Condition {
    critical(
        types::VIRT_V2V_IMAGE_NOT_VALID,
        "VirtV2vImage is not a valid container image reference. A fully-qualified image is required (e.g. quay.io/kubev2v/forklift-virt-v2v:latest).",
    )
    .with_reason(reason::NOT_VALID)
}

/// `NotValid (Critical)` for the plan-level volume name template.
pub fn volume_name_template_not_valid() -> Condition {
    critical(types::NOT_VALID, "Volume name template is invalid.")
}

/// `NotValid (Critical)` for the plan-level network name template.
pub fn network_name_template_not_valid() -> Condition {
    critical(types::NOT_VALID, "Network name template is invalid.")
}

/// `NotValid (Critical)`: only one of the temp storage class and size is set.
pub fn temp_storage_incomplete() -> Condition {
    critical(
        types::NOT_VALID,
        "Both ConversionTempStorageClass and ConversionTempStorageSize must be specified together.",
    )
}

/// `NotValid (Critical)`: the temp storage size is not a quantity.
pub fn temp_storage_size_not_valid(size: &str, error: &str) -> Condition {
    critical(
        types::NOT_VALID,
        &format!(
            "ConversionTempStorageSize '{size}' is not a valid Kubernetes resource quantity: {error}"
        ),
    )
}

/// `NotValid (Critical)`: the temp storage class does not exist.
pub fn temp_storage_class_not_found(class: &str) -> Condition {
    critical(
        types::NOT_VALID,
        &format!(
            "ConversionTempStorageClass {} not found in the cluster. The conversion PVC will remain Pending and the migration will hang.",
            go_quote(class)
        ),
    )
}

/// `NotValid (Advisory)`: capacities could not be listed.
pub fn temp_storage_unverified(class: &str) -> Condition {
    Condition::new(types::NOT_VALID, category::ADVISORY).with_message(format!(
        "Storage capacity for ConversionTempStorageClass {} could not be verified. Ensure sufficient space is available.",
        go_quote(class)
    ))
}

/// `NotValid (Advisory)`: no capacity entry names the class.
pub fn temp_storage_no_capacity_info(class: &str) -> Condition {
    Condition::new(types::NOT_VALID, category::ADVISORY).with_message(format!(
        "No capacity information found for ConversionTempStorageClass {}. Ensure sufficient space is available.",
        go_quote(class)
    ))
}

/// `NotValid (Critical)`: no capacity entry is large enough.
pub fn temp_storage_insufficient(class: &str, requested: &str) -> Condition {
    critical(
        types::NOT_VALID,
        &format!(
            "Insufficient space in storage class {} for conversion temp storage (requested {requested}). Migration may fail.",
            go_quote(class)
        ),
    )
}

/// `RestrictedPodSecurity (Warn)`.
pub fn restricted_pod_security(namespace: &str) -> Condition {
    Condition::new(types::RESTRICTED_POD_SECURITY, category::WARN).with_message(format!(
        "Namespace '{namespace}' where MTV is installed may be restricted, causing migration to fail. Disable SCC label synchronization and apply the privileged label."
    ))
}

/// `ConversionResumable (Advisory, durable)`.
pub fn conversion_resumable(names: &[String]) -> Condition {
    Condition::new(types::CONVERSION_RESUMABLE, category::ADVISORY)
        .durable()
        .with_message(format!(
            "{} VM(s) have migrated disks available for conversion resume: {}",
            names.len(),
            names.join(", ")
        ))
}

/// `Archived (Advisory/UserRequested)`, not durable.
pub fn archived() -> Condition {
    Condition::new(types::ARCHIVED, category::ADVISORY)
        .with_reason(reason::USER_REQUESTED)
        .with_message("The migration plan has been archived.")
}

/// The scheduler's `Ready` while VMs wait for the in-flight limit.
pub fn ready_waiting(waiting: usize, limit: usize) -> Condition {
    Condition::new(types::READY, category::REQUIRED).with_message(format!(
        "{waiting} VM(s) waiting to start migration (in-flight limit: {limit})."
    ))
}

// --- Execution: plan and snapshot ---

/// `Executing (Advisory)`, durable.
pub fn executing() -> Condition {
    Condition::new(types::EXECUTING, category::ADVISORY)
        .durable()
        .with_message("The plan is EXECUTING.")
}

/// `Succeeded (Advisory)` of a run, durable.
pub fn plan_succeeded() -> Condition {
    Condition::new(types::SUCCEEDED, category::ADVISORY)
        .durable()
        .with_message("The plan execution has SUCCEEDED.")
}

/// `Failed (Advisory)` of a run, durable.
pub fn plan_failed() -> Condition {
    Condition::new(types::FAILED, category::ADVISORY)
        .durable()
        .with_message("The plan execution has FAILED.")
}

/// `Canceled (Advisory)` of a run whose VMs were all canceled, durable.
pub fn plan_canceled() -> Condition {
    Condition::new(types::CANCELED, category::ADVISORY)
        .durable()
        .with_message("The plan execution has been CANCELED.")
}

/// `Canceled (Advisory/Modified)`: the plan, a provider or a map changed under the run.
pub fn canceled_modified() -> Condition {
    Condition::new(types::CANCELED, category::ADVISORY)
        .durable()
        .with_reason(reason::MODIFIED)
        .with_message("The migration has been canceled.")
}

/// `Canceled (Advisory/Deleted)` on a snapshot whose Migration is gone.
pub fn canceled_deleted() -> Condition {
    Condition::new(types::CANCELED, category::ADVISORY)
        .durable()
        .with_reason(reason::DELETED)
        .with_message("The migration has been deleted.")
}

/// `Failed (Advisory)` after a blocker outlasted the grace period, durable.
pub fn failed_by_blocker(messages: &[String]) -> Condition {
    Condition::new(types::FAILED, category::ADVISORY)
        .durable()
        .with_message(format!(
            "The migration has FAILED due to a validation blocker: {}",
            messages.join("; ")
        ))
}

/// `Failed (Critical)`: a resume-conversion request was rejected, durable.
pub fn resume_rejected(message: String) -> Condition {
    Condition::new(types::FAILED, category::CRITICAL)
        .durable()
        .with_message(message)
}

// --- Execution: VM status ---

/// VM `Succeeded (Advisory)`, durable.
pub fn vm_succeeded() -> Condition {
    Condition::new(types::SUCCEEDED, category::ADVISORY)
        .durable()
        .with_message("The VM migration has SUCCEEDED.")
}

/// VM `Failed (Advisory)`, durable.
pub fn vm_failed() -> Condition {
    Condition::new(types::FAILED, category::ADVISORY)
        .durable()
        .with_message("The VM migration has FAILED.")
}

/// VM `Canceled (Advisory/UserRequested)`, durable.
pub fn vm_canceled_by_user() -> Condition {
    Condition::new(types::CANCELED, category::ADVISORY)
        .durable()
        .with_reason(reason::USER_REQUESTED)
        .with_message("The migration has been canceled.")
}

/// VM `Canceled (Advisory/NotFound)`: the VM left the inventory, durable.
pub fn vm_canceled_not_found() -> Condition {
    Condition::new(types::CANCELED, category::ADVISORY)
        .durable()
        .with_reason(reason::NOT_FOUND)
        .with_message("VM was not found in inventory.")
}

/// VM `Pending (Advisory)`: waiting for the in-flight limit, durable.
pub fn vm_pending(limit: usize) -> Condition {
    Condition::new(types::PENDING, category::ADVISORY)
        .durable()
        .with_message(format!(
            "Waiting to start migration: in-flight limit reached (max {limit})."
        ))
}

/// VM `WaitForGuestReboots (Warn)`, durable.
pub fn vm_wait_for_guest_reboots(termination_message: &str) -> Condition {
    let mut message = "Windows guest reboot wait did not complete successfully; migration continues. Pod retained for debugging.".to_string();
    if !termination_message.is_empty() {
        message.push_str(" Reason: ");
        message.push_str(termination_message);
    }
    Condition::new(types::WAIT_FOR_GUEST_REBOOTS, category::WARN)
        .durable()
        .with_message(message)
}

/// VM `ConversionHasWarnings (Warning/<reason>)`.
pub fn vm_conversion_warning(warning_reason: &str, message: &str) -> Condition {
    Condition::new(types::CONVERSION_HAS_WARNINGS, category::WARNING)
        .with_reason(warning_reason)
        .with_message(message)
}

/// Go's `%q` of a string: double-quoted with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("sc1"), "\"sc1\"");
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
        assert_eq!(go_quote("é"), "\"é\"");
    }

    #[test]
    fn messages_match_upstream() {
        assert_eq!(
            migration_type_not_valid("warm").message,
            "`warm` migration from the source provider is not supported."
        );
        assert_eq!(
            temp_storage_no_capacity_info("sc1").message,
            "No capacity information found for ConversionTempStorageClass \"sc1\". Ensure sufficient space is available."
        );
        assert_eq!(
            vm_wait_for_guest_reboots("timeout").message,
            "Windows guest reboot wait did not complete successfully; migration continues. Pod retained for debugging. Reason: timeout"
        );
        assert_eq!(
            failed_by_blocker(&["a".into(), "b".into()]).message,
            "The migration has FAILED due to a validation blocker: a; b"
        );
        assert!(executing().durable && !archived().durable);
        assert_eq!(
            ready_waiting(1, 20).message,
            "1 VM(s) waiting to start migration (in-flight limit: 20)."
        );
    }
}
