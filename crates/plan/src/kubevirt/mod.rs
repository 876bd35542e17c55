//! Destination objects (plan spec §6): the namespace, Secrets, ConfigMaps, DataVolumes,
//! the guest conversion (`Conversion` resource or virt-v2v pod), hook Jobs and the
//! VirtualMachine, with upstream's names, generateNames, labels and annotations so that
//! tools built for Forklift find them.
//!
//! Everything here is pure: a builder takes the [`Run`] (the plan and the Migration being
//! executed, the providers, the settings) and the VM's status, and returns the object to
//! create. Which objects exist is decided elsewhere, by label lookups.

pub mod conversion;
pub mod datavolume;
pub mod hook;
pub mod labels;
pub mod parse;
pub mod secret;
pub mod serial;
pub mod vm;

use crate::settings::Settings;
use ferry_api::{Migration, Plan, Provider};

/// The plan being executed and its current run.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The Migration being run.
    pub migration: &'a Migration,
    /// The source provider.
    pub source: &'a Provider,
    /// The destination provider.
    pub destination: &'a Provider,
    /// Global settings.
    pub settings: &'a Settings,
}

impl Run<'_> {
    /// The plan's UID.
    pub fn plan_uid(&self) -> &str {
        self.plan.metadata.uid.as_deref().unwrap_or_default()
    }

    /// The plan's name.
    pub fn plan_name(&self) -> &str {
        self.plan.metadata.name.as_deref().unwrap_or_default()
    }

    /// The plan's namespace.
    pub fn plan_namespace(&self) -> &str {
        self.plan.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// `spec.targetNamespace`.
    pub fn target_namespace(&self) -> &str {
        &self.plan.spec.target_namespace
    }

    /// The Migration's UID.
    pub fn migration_uid(&self) -> &str {
        self.migration.metadata.uid.as_deref().unwrap_or_default()
    }

    /// The Migration's name.
    pub fn migration_name(&self) -> &str {
        self.migration.metadata.name.as_deref().unwrap_or_default()
    }

    /// The effective ServiceAccount of migration pods: the plan's, else the global one.
    pub fn service_account(&self) -> &str {
        if self.plan.spec.service_account.is_empty() {
            &self.settings.migration_service_account
        } else {
            &self.plan.spec.service_account
        }
    }

    /// The generateName upstream uses for a VM's objects: `<plan>-<vmID>-`.
    pub fn generate_name(&self, vm_id: &str) -> String {
        format!("{}-{vm_id}-", self.plan_name())
    }

    /// The virt-v2v image: the plan's, else the XFS image with `xfsCompatibility`, else
    /// the global one (upstream `GetVirtV2vImage`).
    pub fn virt_v2v_image(&self) -> &str {
        let spec = &self.plan.spec;
        if !spec.virt_v2v_image.is_empty() {
            &spec.virt_v2v_image
        } else if spec.xfs_compatibility && !self.settings.virt_v2v_image_xfs.is_empty() {
            &self.settings.virt_v2v_image_xfs
        } else {
            &self.settings.virt_v2v_image
        }
    }

    /// The name of the copied extra virt-v2v configuration: `<plan>-extra-v2v-conf`.
    pub fn extra_v2v_conf_name(&self) -> String {
        format!("{}-extra-v2v-conf", self.plan_name())
    }

    /// The name of the copied customization scripts: `<plan>-customization-scripts`.
    pub fn customization_scripts_name(&self) -> String {
        format!("{}-customization-scripts", self.plan_name())
    }
}

/// Object metadata in `namespace` with a `generateName` or a `name`, and labels.
pub(crate) fn meta(
    namespace: &str,
    generate_name: Option<String>,
    name: Option<String>,
    labels: std::collections::BTreeMap<String, String>,
) -> ferry_api::ObjectMeta {
    ferry_api::ObjectMeta {
        namespace: Some(namespace.to_string()),
        generate_name,
        name,
        labels: (!labels.is_empty()).then_some(labels),
        ..ferry_api::ObjectMeta::default()
    }
}
