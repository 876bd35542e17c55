//! The test adapter: an OVA-shaped provider with a deliberately simple builder.

use ferry_api::Ref;
use ferry_api::destination::DataVolume;
use ferry_api::destination::VirtualMachine;
use ferry_api::destination::cdi::{DataVolumeSource, DataVolumeSpec, StorageSpec};
use ferry_api::k8s_openapi::api::core::v1::{EnvVar, Secret, VolumeResourceRequirements};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::labels::annotation;
use ferry_api::plan::{MigrationType, Task, VmStatus};
use ferry_api::provider::{Provider, ProviderType};
use ferry_inventory::SourceVm;
use ferry_inventory::ova::model::{Category, Vm};
use ferry_plan::adapter::{
    Adapter, AdapterError, Builder, Concern, DiskVolume, NoSourceActions, PlanView,
    ProviderStorage, SourceClient, Validator, VmBuild, VmDisks, VmFacts, VmFinding,
};
use ferry_plan::template::PvcNameData;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::inventory::network_id;

/// The test adapter (registers as `ova`).
#[derive(Default)]
pub struct TestAdapter;

fn ova(vm: &SourceVm) -> Result<&Arc<Vm>, AdapterError> {
    match vm {
        SourceVm::Ova(vm) => Ok(vm),
        other => Err(AdapterError::WrongVm(other.id().to_string())),
    }
}

impl Adapter for TestAdapter {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Ova
    }

    fn facts(&self, vm: &SourceVm) -> Result<VmFacts, AdapterError> {
        let vm = ova(vm)?;
        Ok(VmFacts {
            id: vm.id.clone(),
            name: vm.name.clone(),
            macs: vm.nics.iter().map(|n| n.mac.clone()).collect(),
            nic_networks: vm
                .nics
                .iter()
                .map(|n| Ref::id(network_id(&n.network)))
                .collect(),
            concerns: vm
                .concerns
                .iter()
                .map(|c| Concern {
                    id: c.id.clone(),
                    category: match c.category {
                        Category::Critical => "Critical",
                        Category::Warning => "Warning",
                        Category::Information => "Information",
                    }
                    .into(),
                    label: c.label.clone(),
                    message: c.assessment.clone(),
                })
                .collect(),
            windows: vm.os_type.to_lowercase().contains("windows"),
        })
    }

    fn validator(&self) -> &dyn Validator {
        self
    }

    fn builder(&self) -> &dyn Builder {
        self
    }

    fn source_client(
        &self,
        _source: &Provider,
        _secret: Option<&Secret>,
    ) -> Result<Arc<dyn SourceClient>, AdapterError> {
        Ok(Arc::new(NoSourceActions))
    }
}

impl Validator for TestAdapter {
    fn warm_migration(&self, _view: &PlanView<'_>) -> bool {
        false
    }

    fn migration_type(&self, view: &PlanView<'_>) -> bool {
        matches!(view.plan.spec.r#type, None | Some(MigrationType::Cold))
    }

    fn check_vm(&self, view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<VmFinding>, AdapterError> {
        let vm = ova(vm)?;
        let mut findings = Vec::new();
        if let Some(map) = view.network_map
            && vm
                .networks
                .iter()
                .any(|n| !map.status.references.find(&Ref::id(n.id.clone())))
        {
            findings.push(VmFinding::NetworksNotMapped);
        }
        if let Some(map) = view.storage_map
            && vm
                .disks
                .iter()
                .any(|d| !map.status.references.find(&Ref::id(d.id.clone())))
        {
            findings.push(VmFinding::StorageNotMapped);
        }
        let invalid: Vec<String> = vm
            .disks
            .iter()
            .filter(|d| d.capacity <= 0)
            .map(|d| d.file_path.clone())
            .collect();
        if !invalid.is_empty() {
            findings.push(VmFinding::InvalidDiskSizes { disks: invalid });
        }
        Ok(findings)
    }
}

impl Builder for TestAdapter {
    fn tasks(&self, _view: &PlanView<'_>, vm: &SourceVm) -> Result<Vec<Task>, AdapterError> {
        Ok(ova(vm)?
            .disks
            .iter()
            .map(|d| {
                let mut task = Task::new(d.disk_source(), d.capacity / 0x100000);
                task.annotations.insert("unit".into(), "MB".into());
                task
            })
            .collect())
    }

    fn pvc_name_data(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<PvcNameData>, AdapterError> {
        let vm = ova(vm)?;
        Ok((0..vm.disks.len())
            .map(|i| PvcNameData {
                vm_name: vm.name.clone(),
                target_vm_name: target_vm_name.into(),
                plan_name: view.plan.metadata.name.clone().unwrap_or_default(),
                disk_index: i as i64,
                vm_id: vm.id.clone(),
                ..PvcNameData::default()
            })
            .collect())
    }

    fn data_volumes(
        &self,
        view: &PlanView<'_>,
        vm: &SourceVm,
        target_vm_name: &str,
    ) -> Result<Vec<DiskVolume>, AdapterError> {
        let source = ova(vm)?;
        let names = self.pvc_name_data(view, vm, target_vm_name)?;
        let Some(map) = view.storage_map else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (disk, name_data) in source.disks.iter().zip(names) {
            let Some(pair) = map.find_storage(&disk.id) else {
                continue;
            };
            let bytes = disk
                .capacity_bytes()
                .map_err(|e| AdapterError::Build(e.to_string()))?;
            let mut dv = DataVolume::new(
                "",
                "",
                DataVolumeSpec {
                    source: Some(DataVolumeSource {
                        blank: Some(BTreeMap::new()),
                        ..DataVolumeSource::default()
                    }),
                    storage: Some(StorageSpec {
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([(
                                "storage".to_string(),
                                Quantity(bytes.to_string()),
                            )])),
                            ..VolumeResourceRequirements::default()
                        }),
                        storage_class_name: Some(pair.destination.storage_class.clone()),
                        ..StorageSpec::default()
                    }),
                    ..DataVolumeSpec::default()
                },
            );
            dv.metadata.name = None;
            dv.metadata.namespace = None;
            dv.metadata.annotations = Some(BTreeMap::from([(
                annotation::DISK_SOURCE.to_string(),
                disk.disk_source(),
            )]));
            out.push(DiskVolume {
                data_volume: dv,
                name_data,
            });
        }
        Ok(out)
    }

    fn resolve_data_volume_identifier(&self, annotations: &BTreeMap<String, String>) -> String {
        annotations
            .get(annotation::DISK_SOURCE)
            .cloned()
            .unwrap_or_default()
    }

    fn secret_data(
        &self,
        _view: &PlanView<'_>,
        _provider_secret: Option<&Secret>,
    ) -> Result<BTreeMap<String, Vec<u8>>, AdapterError> {
        Ok(BTreeMap::new())
    }

    fn conversion_environment(
        &self,
        _view: &PlanView<'_>,
        vm: &SourceVm,
    ) -> Result<Vec<EnvVar>, AdapterError> {
        let vm = ova(vm)?;
        let env = |name: &str, value: &str| EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..EnvVar::default()
        };
        Ok(vec![
            env("V2V_vmName", &vm.name),
            env("V2V_diskPath", &vm.ovf_path),
            env("V2V_source", "ova"),
        ])
    }

    fn provider_storage(
        &self,
        _view: &PlanView<'_>,
        _vm: &SourceVm,
        _labels: &BTreeMap<String, String>,
    ) -> Result<Option<ProviderStorage>, AdapterError> {
        Ok(None)
    }

    fn virtual_machine(
        &self,
        _view: &PlanView<'_>,
        _vm: &SourceVm,
        _status: &VmStatus,
        _disks: &VmDisks<'_>,
    ) -> Result<VmBuild, AdapterError> {
        Ok(VmBuild {
            vm: VirtualMachine::new("", "", Default::default()),
        })
    }
}
