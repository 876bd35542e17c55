use super::*;
use serde_json::json;

fn spec(value: Value) -> ForkliftControllerSpec {
    serde_json::from_value(value).unwrap()
}

#[test]
fn absent_keys_use_crd_defaults() {
    let empty = ForkliftControllerSpec::default();
    assert_eq!(empty.max_vm_inflight(), Ok(20));
    assert_eq!(empty.blocker_grace_period_minutes(), Ok(5));
    assert_eq!(empty.precopy_interval_minutes(), Ok(60));
    assert_eq!(empty.max_concurrent_reconciles(), Ok(10));
    assert!(empty.feature_use_conversion_cr());
    assert!(empty.feature_copy_offload(), "the CRD default, not Go's");
    assert!(empty.feature_windows_wait_for_reboot());
    assert!(!empty.retain_populator_pods());
    assert!(!empty.flag(keys::FEATURE_MCP_SERVER));
    assert!(!empty.virt_v2v_dont_request_kvm());
    assert_eq!(empty.vddk_image(), None);
    assert_eq!(empty.aap_timeout_seconds(), Ok(None));
    assert!(!empty.aap_configured());
    assert_eq!(
        empty
            .text(keys::VIRT_V2V_CONTAINER_LIMITS_MEMORY)
            .unwrap()
            .as_deref(),
        Some("8Gi")
    );
    assert_eq!(
        empty.text(keys::IMAGE_PULL_POLICY).unwrap().as_deref(),
        Some("Always")
    );
}

#[test]
fn present_values_are_read() {
    let s = spec(json!({
        "controller_max_vm_inflight": 3,
        "controller_precopy_interval": "15",
        "feature_copy_offload": "false",
        "feature_mcp_server": "true",
        "vddk_image": "quay.io/x/vddk:8",
        "aap_url": "https://aap.example",
        "aap_token_secret_name": "aap-token",
        "aap_timeout": 30,
        "controller_pvc_name_template": "\\{\\{.PlanName\\}\\}-\\\\x",
        "virt_v2v_extra_args": "  --a  --b ",
        "some_future_key": {"nested": true}
    }));
    assert_eq!(s.max_vm_inflight(), Ok(3));
    assert_eq!(s.precopy_interval_minutes(), Ok(15));
    assert!(!s.feature_copy_offload());
    assert!(s.flag(keys::FEATURE_MCP_SERVER));
    assert_eq!(s.vddk_image(), Some("quay.io/x/vddk:8"));
    assert!(s.aap_configured());
    assert_eq!(s.aap_timeout_seconds(), Ok(Some(30)));
    assert_eq!(s.pvc_name_template().as_deref(), Some("{{.PlanName}}-\\x"));
    assert_eq!(s.virt_v2v_extra_args(), ["--a", "--b"]);
    assert!(s.validate().is_empty(), "{:?}", s.validate());
    let round = serde_json::to_value(&s).unwrap();
    assert_eq!(
        round["some_future_key"],
        json!({"nested": true}),
        "unknown keys kept"
    );
}

#[test]
fn hostile_values_give_typed_errors() {
    let s = spec(json!({
        "controller_max_vm_inflight": 0,
        "controller_blocker_grace_period_minutes": "soon",
        "controller_precopy_interval": [1],
        "feature_copy_offload": "maybe",
        "image_pull_policy": "Sometimes",
        "vddk_image": {"a": 1}
    }));
    assert_eq!(
        s.max_vm_inflight(),
        Err(SettingError::BelowMinimum {
            key: "controller_max_vm_inflight".into(),
            minimum: 1,
            value: 0
        })
    );
    let error = s.blocker_grace_period_minutes().unwrap_err();
    assert!(error.to_string().contains("must be an integer"), "{error}");
    assert!(
        error.to_string().contains("remove it to use the default"),
        "{error}"
    );
    assert!(s.precopy_interval_minutes().is_err());
    assert!(
        s.feature_copy_offload(),
        "invalid flags keep the default, as upstream"
    );
    let errors = s.validate();
    assert_eq!(errors.len(), 6, "{errors:?}");
}

#[test]
fn long_values_are_truncated_in_errors() {
    let s = spec(json!({ "controller_max_vm_inflight": "x".repeat(500) }));
    let message = s.max_vm_inflight().unwrap_err().to_string();
    assert!(message.len() < 300, "{message}");
}

#[test]
fn catalogue_matches_the_keys() {
    assert_eq!(SETTINGS.len(), 145);
    let mut keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
    let sorted = {
        let mut k = keys.clone();
        k.sort_unstable();
        k
    };
    assert_eq!(keys, sorted, "alphabetical, like controller-gen");
    keys.dedup();
    assert_eq!(keys.len(), SETTINGS.len());
    assert_eq!(
        setting(keys::CONTROLLER_MAX_VM_INFLIGHT).unwrap().schema(),
        json!({"type": "integer", "format": "int32", "minimum": 1, "default": 20})
    );
}

#[test]
fn template_unescaping() {
    assert_eq!(unescape_template(r"a\{b\}c\\d\e\"), r"a{b}c\d\e\");
}
