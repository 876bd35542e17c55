//! Plan validation (plan spec §2): a pure function from the [`Observed`] snapshot to the
//! conditions of this pass, in the order upstream sets them.
//!
//! The order matters because conditions are unique by type: for a repeated type
//! (`DuplicateVM`, `VMHasSnapshots`) the last one set wins, as upstream. The shared
//! `NotValid` type is the one deliberate exception: upstream lets a later Advisory
//! `NotValid` replace a Critical one and so makes an invalid plan Ready; Ferry keeps the
//! most severe `NotValid` of the pass (see `docs/compatibility.md`).
//!
//! Order (upstream `Reconciler.validate`): provider pair (stop when the source is not
//! Ready) → target namespace → network map → storage map → (stop on any blocker) →
//! user-defined networks → warm → migration type → VMs (skipped while `Executing`) →
//! transfer network → service account → hooks → virt-v2v image → plan-level volume and
//! network name templates → conversion temp storage → pod security.

mod hooks;
mod plan;
mod vms;

pub use hooks::{
    effective_service_account, hook_aap_runnable, hook_execution_config_valid,
    object_reference_string,
};
pub use plan::{destination_has_udn, is_valid_image};
pub use vms::pvc_name_template;

use crate::adapter::{AdapterError, Adapters};
use crate::observe::Observed;
use crate::settings::Settings;
use ferry_api::Ref;
use ferry_api::Time;
use ferry_api::condition::{Condition, Conditions, category, types};

/// The result of validating a plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// The conditions of this pass, in the order upstream sets them.
    pub conditions: Vec<Condition>,
    /// For each `spec.vms[i]`: its reference as resolved in the inventory (`id` and
    /// `name` filled in), or `None` when it was not resolved (validation stopped, the VM
    /// was skipped, or the lookup failed).
    pub resolved: Vec<Option<Ref>>,
    /// The source provider could not be resolved (a "dangling" plan, which archiving
    /// still completes).
    pub dangling: bool,
    /// Validation stopped early (source provider not ready, or a blocker before the VM
    /// checks).
    pub stopped: bool,
}

impl Validation {
    fn set(&mut self, condition: Condition) {
        self.conditions.push(condition);
    }

    /// Whether a condition of this type was found (and is `True`).
    pub fn has(&self, r#type: &str) -> bool {
        self.conditions
            .iter()
            .any(|c| c.r#type == r#type && c.is_true())
    }

    /// Whether a blocker (Critical or Error) was found.
    pub fn has_blocker(&self) -> bool {
        self.conditions.iter().any(|c| {
            c.is_true() && (c.category == category::CRITICAL || c.category == category::ERROR)
        })
    }

    /// The types of the blockers found, in order, without duplicates.
    pub fn blocker_types(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.conditions {
            if c.is_true()
                && (c.category == category::CRITICAL || c.category == category::ERROR)
                && !out.contains(&c.r#type.as_str())
            {
                out.push(&c.r#type);
            }
        }
        out
    }

    /// The condition of a type as it ends up after this pass (the last one set), with
    /// Ferry's `NotValid` rule applied.
    pub fn get(&self, r#type: &str) -> Option<&Condition> {
        self.conditions.iter().rev().find(|c| c.r#type == r#type)
    }
}

/// A failure that is not the user's to fix: the inventory or an adapter could not answer.
/// The reconcile fails and is retried.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// The source inventory is not loaded yet (upstream `ProviderNotReady`); retry when it
    /// reaches parity.
    #[error("the source provider's inventory is not ready")]
    InventoryNotReady,
    /// An adapter failed.
    #[error("validating VM {vm}: {source}")]
    Adapter {
        /// The VM's reference string.
        vm: String,
        /// What failed.
        source: AdapterError,
    },
}

/// Validates the plan of `observed`.
pub fn validate(
    observed: &Observed,
    adapters: &Adapters,
    settings: &Settings,
) -> Result<Validation, ValidateError> {
    let mut out = Validation {
        resolved: vec![None; observed.plan.spec.vms.len()],
        ..Validation::default()
    };
    plan::provider_pair(observed, &mut out);
    if out.has(types::SOURCE_PROVIDER_NOT_READY) {
        out.stopped = true;
        return Ok(finish(out));
    }
    plan::target_namespace(observed, &mut out);
    plan::network_map(observed, &mut out);
    plan::storage_map(observed, &mut out);
    if out.has_blocker() {
        out.stopped = true;
        return Ok(finish(out));
    }
    // Ferry: a source type without an adapter is a condition, not a reconcile error.
    let (Some(source), Some(_)) = (observed.source.found(), observed.destination.found()) else {
        out.stopped = true;
        return Ok(finish(out));
    };
    let Some(adapter) = adapters.get(source) else {
        out.set(crate::conditions::source_provider_not_supported(
            source.type_name(),
        ));
        out.stopped = true;
        return Ok(finish(out));
    };
    plan::user_defined_networks(observed, &mut out);
    vms::plan_level(observed, adapter.as_ref(), settings, &mut out)?;
    vms::validate_vms(observed, adapter.as_ref(), settings, &mut out)?;
    plan::transfer_network(observed, &mut out);
    hooks::service_account(observed, settings, &mut out);
    hooks::hooks(observed, settings, &mut out);
    plan::virt_v2v_image(observed, &mut out);
    plan::name_templates(observed, &mut out);
    plan::temp_storage(observed, &mut out);
    plan::pod_security(observed, settings, &mut out);
    Ok(finish(out))
}

/// Stages a pass's conditions on the plan's previous ones (upstream steps 5–10 of the
/// reconcile): begin staging, set every finding, set `Archived` when the plan is archived,
/// set `Ready` when nothing blocks (plan rule: no blocker, not archived, not validating
/// VDDK), end staging. Durable conditions (`Executing`, `Succeeded`, …) survive;
/// everything else not found again is dropped; unchanged conditions keep their times.
pub fn conclude(
    previous: &Conditions,
    validation: &Validation,
    archived: bool,
    now: &Time,
) -> Conditions {
    let mut conditions = previous.clone();
    conditions.begin_staging();
    conditions.set_all(validation.conditions.iter().cloned(), now);
    if archived {
        conditions.set(crate::conditions::archived(), now);
    }
    if let Some(ready) = ferry_api::condition::ready::plan(&conditions) {
        conditions.set(ready, now);
    }
    conditions.end_staging();
    conditions
}

/// Ranks categories for Ferry's `NotValid` rule.
fn severity(category: &str) -> u8 {
    match category {
        category::CRITICAL => 4,
        category::ERROR => 3,
        category::WARN => 2,
        _ => 1,
    }
}

/// Applies Ferry's `NotValid` rule: of the `NotValid` conditions of the pass, the most
/// severe is kept (the last one among equals, as upstream), at the position of the first.
fn finish(mut out: Validation) -> Validation {
    let positions: Vec<usize> = out
        .conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.r#type == types::NOT_VALID)
        .map(|(i, _)| i)
        .collect();
    if positions.len() > 1 {
        let mut winner = positions[0];
        for &i in &positions[1..] {
            if severity(&out.conditions[i].category) >= severity(&out.conditions[winner].category) {
                winner = i;
            }
        }
        let kept = out.conditions[winner].clone();
        let first = positions[0];
        let mut index = 0;
        out.conditions.retain(|c| {
            let keep = c.r#type != types::NOT_VALID || index == first;
            index += 1;
            keep
        });
        out.conditions[first] = kept;
    }
    out
}
