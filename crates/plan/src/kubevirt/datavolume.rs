//! DataVolumes (plan spec §6.1–6.3): the builder's disks, named by the PVC name template,
//! labelled with the VM labels and annotated as upstream annotates them.

use super::{Run, labels};
use crate::adapter::DiskVolume;
use crate::template::{self, ObjectName};
use ferry_api::destination::DataVolume;
use ferry_api::labels::{self as keys, annotation};
use ferry_api::provider::ProviderType;
use std::collections::BTreeMap;

/// What shapes a VM's DataVolumes besides the builder's output.
#[derive(Clone, Debug, Default)]
pub struct DataVolumeOptions {
    /// The PVC name template in effect for the VM.
    pub template: String,
    /// Put the rendered name in `generateName` (else in `name`).
    pub use_generate_name: bool,
    /// The transfer network's annotations, if the plan has one.
    pub transfer_network: BTreeMap<String, String>,
    /// The `vmUUID` label, set when copy and conversion are separate phases.
    pub vm_uuid: Option<String>,
}

/// A DataVolume ready to create, from one of the builder's disks.
pub fn data_volume(
    run: &Run<'_>,
    vm_id: &str,
    disk: &DiskVolume,
    options: &DataVolumeOptions,
) -> DataVolume {
    let mut dv = disk.data_volume.clone();
    let mut annotations = labels::vm(run, vm_id, true);
    if run.settings.retain_precopy_importer_pods {
        annotations.insert(annotation::CDI_RETAIN_POD.into(), "true".into());
    }
    annotations.extend(options.transfer_network.clone());
    if run.plan.is_warm() {
        annotations.insert(annotation::CDI_USE_POPULATOR.into(), "false".into());
    }
    if run.plan.is_warm() || !run.destination.is_host() || run.source.is(ProviderType::OpenShift) {
        annotations.insert(annotation::CDI_BIND_IMMEDIATE.into(), "true".into());
    }
    let sa = run.service_account();
    if !sa.is_empty() {
        annotations.insert(annotation::CDI_POD_SERVICE_ACCOUNT.into(), sa.into());
    }
    annotations.insert(
        annotation::CDI_DELETE_AFTER_COMPLETION.into(),
        "false".into(),
    );
    annotations.extend(dv.metadata.annotations.take().unwrap_or_default());
    dv.metadata.annotations = Some(annotations);

    let mut dv_labels = labels::vm(run, vm_id, true);
    if let Some(uuid) = &options.vm_uuid {
        dv_labels.insert(keys::VM_UUID.into(), uuid.clone());
    }
    dv_labels.extend(dv.metadata.labels.take().unwrap_or_default());
    dv.metadata.labels = Some(dv_labels);
    dv.metadata.namespace = Some(run.target_namespace().to_string());

    let unnamed = dv.metadata.name.as_deref().unwrap_or_default().is_empty()
        && dv
            .metadata
            .generate_name
            .as_deref()
            .unwrap_or_default()
            .is_empty();
    if unnamed {
        match template::pvc_object_name(
            &options.template,
            &disk.name_data,
            options.use_generate_name,
        ) {
            Ok(ObjectName::Name(name)) => dv.metadata.name = Some(name),
            Ok(ObjectName::GenerateName(prefix)) => dv.metadata.generate_name = Some(prefix),
            // Upstream falls back to `<plan>-<vmID>-` when the template fails here.
            Err(_) => dv.metadata.generate_name = Some(run.generate_name(vm_id)),
        }
    }
    if dv.metadata.name.as_deref() == Some("") {
        dv.metadata.name = None;
    }
    dv
}
