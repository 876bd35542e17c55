//! The per-VM Secrets and ConfigMap (plan spec §6.2): the CDI secret (`isDV`), the
//! virt-v2v secret (`isV2V`), and the per-VM ConfigMap, all with generateName
//! `<plan>-<vmID>-` and the VM labels. Their data comes from the provider's builder and
//! is never logged.

use super::{Run, labels, meta};
use ferry_api::k8s_openapi::ByteString;
use ferry_api::k8s_openapi::api::core::v1::{ConfigMap, Secret};
use ferry_api::labels as keys;
use std::collections::BTreeMap;

/// Which secret of a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The CDI importer's credentials (`isDV: "true"`).
    Cdi,
    /// The virt-v2v pod's credentials (`isV2V: "true"`).
    V2v,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Cdi => keys::IS_DV,
            Self::V2v => keys::IS_V2V,
        }
    }
}

/// The labels a VM's secret is created with and found by.
pub fn secret_labels(run: &Run<'_>, vm_id: &str, kind: Kind) -> labels::Labels {
    let mut labels = labels::vm(run, vm_id, true);
    labels.insert(kind.label().to_string(), "true".to_string());
    labels
}

/// A VM's secret with `data`.
pub fn secret(run: &Run<'_>, vm_id: &str, kind: Kind, data: BTreeMap<String, Vec<u8>>) -> Secret {
    Secret {
        metadata: meta(
            run.target_namespace(),
            Some(run.generate_name(vm_id)),
            None,
            secret_labels(run, vm_id, kind),
        ),
        data: (!data.is_empty())
            .then(|| data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        ..Secret::default()
    }
}

/// Whether an existing secret's data differs from `data` (upstream updates the data on
/// every ensure; Ferry only when it changed).
pub fn data_differs(existing: &Secret, data: &BTreeMap<String, Vec<u8>>) -> bool {
    let current: BTreeMap<&String, &Vec<u8>> = existing
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k, &v.0))
        .collect();
    let wanted: BTreeMap<&String, &Vec<u8>> = data.iter().collect();
    current != wanted
}

/// The per-VM ConfigMap (found by the VM labels).
pub fn config_map(run: &Run<'_>, vm_id: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap {
        metadata: meta(
            run.target_namespace(),
            Some(run.generate_name(vm_id)),
            None,
            labels::vm(run, vm_id, true),
        ),
        data: (!data.is_empty()).then_some(data),
        ..ConfigMap::default()
    }
}

/// A copy of `source`'s data under `name` in the target namespace (the extra virt-v2v
/// configuration and the customization scripts); create-only. Upstream sets no labels;
/// Ferry adds the plan labels (without `migration`) so a plan's objects are all found by
/// them.
pub fn copied_config_map(run: &Run<'_>, name: &str, source: &ConfigMap) -> ConfigMap {
    ConfigMap {
        metadata: meta(
            run.target_namespace(),
            None,
            Some(name.to_string()),
            labels::plan(run, false),
        ),
        data: source.data.clone(),
        binary_data: source.binary_data.clone(),
        ..ConfigMap::default()
    }
}
