//! A VM listed in a plan (`plan/vm.go`: `VM`, `HookRef`).

use crate::ObjectReference;
use crate::reference::Ref;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Desired power state of the target VM after migration.
    pub enum TargetPowerState {
        /// Powered on.
        On = "on",
        /// Powered off.
        Off = "off",
        /// Match the source VM's power state (also the meaning of unset).
        Auto = "auto",
    }
}

/// Hook steps (`spec.vms[].hooks[].step`). Any other value gets `HookStepNotValid`.
pub mod hook_step {
    /// Runs before the migration of the VM.
    pub const PRE_HOOK: &str = "PreHook";
    /// Runs after the migration of the VM.
    pub const POST_HOOK: &str = "PostHook";
}

/// A hook to run at a step of a VM's migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HookRef {
    /// The step: `PreHook` or `PostHook` ([`hook_step`]).
    #[serde(default)]
    pub step: String,
    /// The Hook.
    #[serde(default)]
    pub hook: ObjectReference,
}

/// A VM to migrate. The source reference (`id`, `name`, `namespace`, `type`) is inline,
/// as upstream embeds `ref.Ref`; [`Vm::reference`] gives it as a [`Ref`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vm {
    /// The source VM ID (see [`Ref::id`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The source VM name (see [`Ref::name`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The source VM namespace (OpenShift sources).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Type used to qualify the name.
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "type")]
    pub r#type: String,
    /// Hooks to run for this VM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRef>,
    /// Secret with LUKS disk decryption keys. Always serialized (`luks: {}` when empty),
    /// as upstream does.
    #[serde(default, skip_serializing_if = "crate::omit::never")]
    pub luks: ObjectReference,
    /// Attempt passphrase-less unlocking of all devices with Clevis (network-bound disk
    /// encryption). Takes precedence over `luks`.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub nbde_clevis: bool,
    /// The disk to boot from (root disk), e.g. `hd0`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_disk: String,
    /// Instance type to use for the target VM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance_type: String,
    /// PVC name template for this VM's disks; overrides the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pvc_name_template: String,
    /// Volume name template for this VM; overrides the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_name_template: String,
    /// Network interface name template for this VM; overrides the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_name_template: String,
    /// The target VM name; a DNS-1123 subdomain, unique within the plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_name: String,
    /// The target VM's power state after migration; overrides the plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_power_state: Option<TargetPowerState>,
    /// Delete the target VM when this VM's migration fails.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub delete_vm_on_fail_migration: bool,
    /// Migrate shared disks; `None` falls back to the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_shared_disks: Option<bool>,
    /// Nested virtualization on the target; `None` falls back to the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_nested_virtualization: Option<bool>,
    /// Map RDM disks as LUNs; `None` falls back to the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdm_as_lun: Option<bool>,
    /// SCSI reservation for LUNs; `None` falls back to the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scsi_reservation: Option<bool>,
}

impl Vm {
    /// A VM named by source ID.
    pub fn with_id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// A VM named by source name.
    pub fn with_name(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The inline source reference.
    pub fn reference(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            r#type: self.r#type.clone(),
        }
    }

    /// Replaces the inline source reference (after resolving it in the inventory).
    pub fn set_reference(&mut self, reference: Ref) {
        self.id = reference.id;
        self.name = reference.name;
        self.namespace = reference.namespace;
        self.r#type = reference.r#type;
    }

    /// Upstream `FindHook`: the first hook of the step.
    pub fn find_hook(&self, step: &str) -> Option<&HookRef> {
        self.hooks.iter().find(|hook| hook.step == step)
    }
}
