use std::collections::{BTreeMap, BTreeSet};

use ferry_api::forklift_controller::ForkliftControllerSpec;
use serde_json::json;

use super::*;

fn load(
    env: &[(&str, &str)],
    cr: Option<&ForkliftControllerSpec>,
) -> Result<Settings, SettingsError> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    Settings::load(&Sources {
        env: &lookup,
        forklift_controller: cr,
    })
}

fn cr(values: serde_json::Value) -> ForkliftControllerSpec {
    serde_json::from_value(values).unwrap()
}

#[test]
fn defaults_load() {
    let settings = Settings::defaults().unwrap();
    assert_eq!(settings.migration.max_vm_inflight, 20);
    assert_eq!(settings.migration.blocker_grace_period_minutes, 5);
    assert_eq!(settings.manager.max_concurrent_reconciles, 10);
    assert_eq!(settings.manager.metrics_port, 8080);
    assert!(settings.features.use_conversion_cr);
    assert!(!settings.features.copy_offload, "Go default, not the CRD's");
    assert_eq!(settings.resources.virt_v2v.limits_memory, "8Gi");
    assert_eq!(settings.resources.hooks.requests_memory, "150Mi");
    assert_eq!(settings.ova.catalog_path, CatalogPath::Mount("/ova".into()));
    assert_eq!(settings.manager.watch_namespace, None);
    assert!(!settings.aap.configured());
}

#[test]
fn the_catalogue_and_the_struct_agree() {
    let env = |_: &str| None;
    let sources = Sources {
        env: &env,
        forklift_controller: None,
    };
    let loader = Loader {
        sources: &sources,
        read: Default::default(),
    };
    loader.load().unwrap();
    let read: BTreeSet<&str> = loader.read.borrow().iter().copied().collect();
    let listed: BTreeSet<&str> = catalog::CATALOG.iter().map(|e| e.env).collect();
    assert_eq!(listed.len(), catalog::CATALOG.len(), "duplicate variables");
    assert_eq!(
        read, listed,
        "read but not listed, or listed but never read"
    );
}

#[test]
fn integers_stop_the_controller_with_upstreams_messages() {
    let error = load(&[("MAX_VM_INFLIGHT", "many")], None).unwrap_err();
    assert_eq!(error.to_string(), "MAX_VM_INFLIGHT must be an integer");
    let error = load(&[("MAX_VM_INFLIGHT", "0")], None).unwrap_err();
    assert_eq!(error.to_string(), "MAX_VM_INFLIGHT must be >= 1");
    let error = load(&[("FILESYSTEM_OVERHEAD", "-1")], None).unwrap_err();
    assert_eq!(error.to_string(), "FILESYSTEM_OVERHEAD must be >= 0");
    let error = load(
        &[("BLOCKER_GRACE_PERIOD_MINUTES", "99999999999999999999")],
        None,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "BLOCKER_GRACE_PERIOD_MINUTES must be an integer"
    );
    let settings = load(&[("MAX_VM_INFLIGHT", "3")], None).unwrap();
    assert_eq!(settings.migration.max_vm_inflight, 3);
}

#[test]
fn invalid_booleans_keep_the_default() {
    let settings = load(
        &[
            ("FEATURE_USE_CONVERSION_CR", "nope"),
            ("FEATURE_COPY_OFFLOAD", "yes"),
            ("FEATURE_WINDOWS_WAIT_FOR_REBOOT", "F"),
            ("VIRT_V2V_DONT_REQUEST_KVM", "1"),
        ],
        None,
    )
    .unwrap();
    assert!(settings.features.use_conversion_cr);
    assert!(!settings.features.copy_offload);
    assert!(!settings.features.windows_wait_for_reboot);
    assert!(settings.migration.virt_v2v_dont_request_kvm);
}

#[test]
fn the_forklift_controller_fills_what_the_environment_leaves_out() {
    let spec = cr(json!({
        "controller_max_vm_inflight": 7,
        "controller_blocker_grace_period_minutes": "9",
        "vddk_image": "quay.io/me/vddk:8",
        "k8s_cluster": "true",
        "aap_url": "https://aap.example",
        "aap_token_secret_name": "aap-token",
    }));
    let settings = load(&[("MAX_VM_INFLIGHT", "3")], Some(&spec)).unwrap();
    assert_eq!(
        settings.migration.max_vm_inflight, 3,
        "the environment wins"
    );
    assert_eq!(settings.migration.blocker_grace_period_minutes, 9);
    assert_eq!(settings.images.vddk, "quay.io/me/vddk:8");
    assert!(
        !settings.manager.openshift,
        "k8s_cluster=true means not OpenShift"
    );
    assert!(settings.aap.configured());
    // A key the ForkliftController leaves out takes the CRD default, as the API server
    // would have filled it in: feature_copy_offload defaults to true there.
    assert!(settings.features.copy_offload);
    assert_eq!(settings.migration.precopy_interval_minutes, 60);
}

#[test]
fn bad_forklift_controller_values_stop_the_controller() {
    let spec = cr(json!({ "controller_max_vm_inflight": "lots" }));
    let error = load(&[], Some(&spec)).unwrap_err();
    assert!(
        error.to_string().contains("controller_max_vm_inflight"),
        "{error}"
    );
    let spec = cr(json!({ "controller_max_vm_inflight": 0 }));
    let error = load(&[], Some(&spec)).unwrap_err();
    assert!(error.to_string().contains(">= 1"), "{error}");
}

#[test]
fn templates_are_unescaped() {
    let settings = load(
        &[(
            "PVC_NAME_TEMPLATE",
            r"\{\{.PlanName\}\}-\{\{.DiskIndex\}\}\\x",
        )],
        None,
    )
    .unwrap();
    assert_eq!(
        settings.migration.pvc_name_template,
        r"{{.PlanName}}-{{.DiskIndex}}\x"
    );
    let spec = cr(json!({ "controller_ocp_pvc_name_template": r"\{\{.SourcePVCName\}\}" }));
    let settings = load(&[], Some(&spec)).unwrap();
    assert_eq!(
        settings.migration.ocp_pvc_name_template,
        "{{.SourcePVCName}}"
    );
}

#[test]
fn quantities_and_sizes_are_checked() {
    let error = load(&[("VIRT_V2V_CONTAINER_LIMITS_MEMORY", "8 gigs")], None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "VIRT_V2V_CONTAINER_LIMITS_MEMORY must be a quantity such as 500m or 1Gi, found '8 gigs'"
    );
    let settings = load(&[("BLOCK_OVERHEAD", "1Mi")], None).unwrap();
    assert_eq!(settings.migration.block_overhead_bytes, 1 << 20);
    assert!(load(&[("BLOCK_OVERHEAD", "1500m")], None).is_err());
}

#[test]
fn ova_shares_and_catalog_path() {
    let settings = load(
        &[
            (
                "FERRY_OVA_SHARES",
                "nfs.example:/exports/ova=/srv/ova ; 10.0.0.1:/a=/mnt/a",
            ),
            ("FERRY_OVA_CATALOG_PATH", "local"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(
        settings.ova.shares,
        vec![
            (
                "nfs.example:/exports/ova".to_string(),
                PathBuf::from("/srv/ova")
            ),
            ("10.0.0.1:/a".to_string(), PathBuf::from("/mnt/a")),
        ]
    );
    assert_eq!(settings.ova.catalog_path, CatalogPath::Local);
    for bad in ["nfs:/x", "nfs:/x=relative", "=/dir"] {
        assert!(load(&[("FERRY_OVA_SHARES", bad)], None).is_err(), "{bad}");
    }
    assert!(load(&[("FERRY_OVA_CATALOG_PATH", "ova")], None).is_err());
}

#[test]
fn version_gated_features() {
    let settings = load(
        &[
            ("FEATURE_STATIC_UDN_IP_ADDRESSES", "true"),
            ("OPENSHIFT_VERSION", "4.19.3"),
        ],
        None,
    )
    .unwrap();
    assert!(!settings.features.static_udn_ip_addresses(&settings.manager));
    let settings = load(
        &[
            ("FEATURE_STATIC_UDN_IP_ADDRESSES", "true"),
            ("OPENSHIFT_VERSION", "4.20.0-0.nightly"),
        ],
        None,
    )
    .unwrap();
    assert!(settings.features.static_udn_ip_addresses(&settings.manager));
    assert!(
        settings
            .features
            .vmware_system_serial_number(&settings.manager)
    );
    assert!(!version_at_least("garbage", 4, 20));
    assert!(version_at_least("5.0", 4, 20));
}

#[test]
fn log_format_is_checked() {
    assert!(
        load(&[("FERRY_LOG_FORMAT", "json")], None)
            .unwrap()
            .manager
            .log_json
    );
    assert!(load(&[("FERRY_LOG_FORMAT", "xml")], None).is_err());
}

/// `docs/settings.md` is rendered from the catalogue; set `FERRY_UPDATE_DOCS=1` to
/// rewrite it after changing a setting.
#[test]
fn settings_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(doc::PATH);
    let rendered = doc::render();
    if std::env::var_os("FERRY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == rendered,
        "{} is stale: run `FERRY_UPDATE_DOCS=1 cargo test -p ferry-controller settings_doc_is_current`",
        doc::PATH
    );
    for entry in catalog::CATALOG {
        assert!(
            current.contains(&format!("`{}`", entry.env)),
            "{}",
            entry.env
        );
    }
}
