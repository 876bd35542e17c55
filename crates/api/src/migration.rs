//! `Migration`: one request to run a plan (`migration.go`).

use crate::condition::Conditions;
use crate::plan::{Timed, VmStatus};
use crate::reference::Ref;
use crate::{ObjectReference, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A per-VM cutover time (warm migrations).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VmCutover {
    /// The VM ID (e.g. the vSphere managed object ID).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub id: String,
    /// When to finalize the warm migration of this VM.
    pub cutover: Time,
}

/// Desired state of a Migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSpec {
    /// The Plan to run. `kubectl-mtv` also sets `uid`.
    #[serde(default)]
    pub plan: ObjectReference,
    /// VMs whose migration is canceled. Only entries with an `id` take effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancel: Vec<Ref>,
    /// When to finalize a warm migration (overrides the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<Time>,
    /// Per-VM cutover times; override `cutover` for the listed VMs.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "vmCutover")]
    pub vm_cutover: Vec<VmCutover>,
    /// Re-run only the conversion, reusing the PVCs of a failed run.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub resume_conversion: bool,
}

impl MigrationSpec {
    /// Upstream `Canceled(ref)`: whether the VM is in `cancel`, matching by **ID only**
    /// (entries without an ID, and a VM without an ID, never match).
    pub fn canceled(&self, vm: &Ref) -> bool {
        !vm.id.is_empty()
            && self
                .cancel
                .iter()
                .any(|c| !c.id.is_empty() && c.id == vm.id)
    }

    /// Upstream `CutoverFor(ref)`: the VM's own cutover (matched by ID) if listed, else the
    /// migration-wide one.
    pub fn cutover_for(&self, vm: &Ref) -> Option<&Time> {
        if !vm.id.is_empty()
            && let Some(entry) = self.vm_cutover.iter().find(|c| c.id == vm.id)
        {
            return Some(&entry.cutover);
        }
        self.cutover.as_ref()
    }
}

/// Observed state of a Migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    /// Start and completion.
    #[serde(flatten)]
    pub timed: Timed,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "crate::omit::is_zero")]
    pub observed_generation: i64,
    /// A verbatim copy of the plan's VM statuses for this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmStatus>,
}

forklift_kind! {
    /// A request to run a plan.
    pub struct Migration {
        kind: "Migration",
        plural: "migrations",
        spec: MigrationSpec,
        status: MigrationStatus
    }
}

impl Migration {
    /// Upstream `Match(plan)`: `spec.plan` names the plan (namespace and name).
    pub fn matches_plan(&self, plan: &crate::Plan) -> bool {
        self.spec.plan.namespace.as_deref().unwrap_or_default() == plan.namespace()
            && self.spec.plan.name.as_deref().unwrap_or_default() == plan.name()
    }

    /// Upstream `Canceled(ref)` on the spec: whether the VM's migration is canceled
    /// (matched by ID only).
    pub fn canceled(&self, vm: &Ref) -> bool {
        self.spec.canceled(vm)
    }

    /// Upstream `CutoverFor(ref)` on the spec: the VM's effective warm cutover time.
    pub fn cutover_for(&self, vm: &Ref) -> Option<&Time> {
        self.spec.cutover_for(vm)
    }

    /// Upstream `IsResumeConversion()`.
    pub fn is_resume_conversion(&self) -> bool {
        self.spec.resume_conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(s: &str) -> Time {
        crate::time::parse(s).unwrap()
    }

    #[test]
    fn canceled_matches_ids_only() {
        let spec = MigrationSpec {
            cancel: vec![Ref::name("web"), Ref::with_id_and_name("vm-2", "db")],
            ..MigrationSpec::default()
        };
        assert!(spec.canceled(&Ref::id("vm-2")));
        assert!(!spec.canceled(&Ref::name("web")), "names never match");
        assert!(!spec.canceled(&Ref::name("db")));
        assert!(!spec.canceled(&Ref::id("vm-3")));
    }

    #[test]
    fn per_vm_cutover_wins() {
        let spec = MigrationSpec {
            cutover: Some(time("2024-05-01T10:00:00Z")),
            vm_cutover: vec![VmCutover {
                id: "vm-1".into(),
                cutover: time("2024-05-02T10:00:00Z"),
            }],
            ..MigrationSpec::default()
        };
        assert_eq!(
            spec.cutover_for(&Ref::id("vm-1")),
            Some(&time("2024-05-02T10:00:00Z"))
        );
        assert_eq!(
            spec.cutover_for(&Ref::id("vm-2")),
            Some(&time("2024-05-01T10:00:00Z"))
        );
        assert_eq!(
            spec.cutover_for(&Ref::name("vm-1")),
            Some(&time("2024-05-01T10:00:00Z"))
        );
        assert_eq!(MigrationSpec::default().cutover_for(&Ref::id("vm-1")), None);
    }
}
