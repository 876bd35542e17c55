//! The phases and stages of a Conversion (upstream `pipeline.go`, `controller.go`):
//! which stages a type goes through, the conditions and message of each phase, and the
//! pending-pod timeout. Pure.

use std::time::Duration;

use ferry_api::condition::{Condition, Conditions, category, types as shared};
use ferry_api::conversion::{
    ConversionPhase, ConversionStage, ConversionStatus, ConversionType, SETTINGS_SNAPSHOT_MOREF,
};
use ferry_api::{Conversion, Time};
use jiff::Timestamp;

use super::validate::types;

/// The stages of `Remote`, `InPlace` and `Inspection` conversions.
pub const VIRT_V2V_STAGES: &[ConversionStage] = &[
    ConversionStage::CreatingPod,
    ConversionStage::PodRunning,
    ConversionStage::Finished,
];

/// The stages of a `DeepInspection`; the snapshot stages only run when the controller
/// owns the snapshot ([`owns_snapshot`]).
pub const DEEP_INSPECTION_STAGES: &[ConversionStage] = &[
    ConversionStage::CreatingSnapshot,
    ConversionStage::WaitingForSnapshot,
    ConversionStage::CreatingPod,
    ConversionStage::PodRunning,
    ConversionStage::FetchingResults,
    ConversionStage::RemovingSnapshot,
    ConversionStage::WaitingForSnapshotRemoval,
    ConversionStage::Finished,
];

/// The stages of a Conversion of this type.
pub fn stages(conversion_type: &ConversionType) -> &'static [ConversionStage] {
    match conversion_type {
        ConversionType::DeepInspection => DEEP_INSPECTION_STAGES,
        _ => VIRT_V2V_STAGES,
    }
}

/// Upstream `snapshotOwnedByController`: no `SNAPSHOT_MOREF` in `spec.settings`, so the
/// controller creates and removes the snapshot itself.
pub fn owns_snapshot(conversion: &Conversion) -> bool {
    conversion
        .spec
        .settings
        .get(SETTINGS_SNAPSHOT_MOREF)
        .is_none_or(|moref| moref.trim().is_empty())
}

/// Whether a stage runs for this Conversion (its predicate).
pub fn runs(stage: &ConversionStage, conversion: &Conversion) -> bool {
    match stage {
        ConversionStage::CreatingSnapshot
        | ConversionStage::WaitingForSnapshot
        | ConversionStage::RemovingSnapshot
        | ConversionStage::WaitingForSnapshotRemoval => owns_snapshot(conversion),
        _ => true,
    }
}

/// The stage after `stage`, skipping the stages that do not run; `None` after the last
/// or for a stage the type does not have.
pub fn next(stage: &ConversionStage, conversion: &Conversion) -> Option<ConversionStage> {
    let stages = stages(&conversion.spec.r#type);
    let at = stages.iter().position(|s| s == stage)?;
    stages[at + 1..]
        .iter()
        .find(|s| runs(s, conversion))
        .cloned()
}

/// The first stage that runs; `stage` itself when it runs, else the next that does.
pub fn current(stage: Option<&ConversionStage>, conversion: &Conversion) -> ConversionStage {
    let stages = stages(&conversion.spec.r#type);
    let start = stage
        .and_then(|stage| stages.iter().position(|s| s == stage))
        .unwrap_or(0);
    stages[start..]
        .iter()
        .find(|s| runs(s, conversion))
        .cloned()
        .unwrap_or(ConversionStage::Finished)
}

/// What a running conversion is doing, by stage (upstream `resolveStageConditions`).
pub fn stage_message(stage: Option<&ConversionStage>) -> &'static str {
    match stage {
        Some(ConversionStage::CreatingPod) => "Creating the conversion pod.",
        Some(ConversionStage::PodRunning) => "Conversion pod is running.",
        Some(ConversionStage::CreatingSnapshot) => "Creating vSphere snapshot.",
        Some(ConversionStage::WaitingForSnapshot) => "Waiting for snapshot creation to complete.",
        Some(ConversionStage::FetchingResults) => "Fetching inspection results from pod.",
        Some(ConversionStage::RemovingSnapshot) => "Removing vSphere snapshot.",
        Some(ConversionStage::WaitingForSnapshotRemoval) => {
            "Waiting for snapshot removal to complete."
        }
        Some(ConversionStage::Finished) => "Finalizing conversion.",
        _ => "The conversion is running.",
    }
}

/// Upstream `resolvePhaseConditions`: the message, the phase's condition and the
/// completion time (set once). `failure` is why a failed conversion failed.
pub fn resolve(status: &mut ConversionStatus, failure: Option<&str>, now: &Time) {
    let complete = |status: &mut ConversionStatus| {
        if status.completion_time.is_none() {
            status.completion_time = Some(now.clone());
        }
    };
    let (message, condition) = match status.phase.clone().unwrap_or(ConversionPhase::Pending) {
        ConversionPhase::Succeeded => {
            complete(status);
            let message = "The conversion has completed successfully.".to_string();
            let condition = Condition::new(shared::READY, category::REQUIRED);
            (message, condition)
        }
        ConversionPhase::Failed => {
            complete(status);
            let message = match failure {
                Some(failure) => format!("The conversion has failed: {failure}"),
                None => "The conversion has failed.".to_string(),
            };
            (
                message,
                Condition::new(types::CONVERSION_FAILED, category::CRITICAL),
            )
        }
        ConversionPhase::Canceled => {
            complete(status);
            (
                "The conversion has been canceled.".to_string(),
                Condition::new(types::CONVERSION_CANCELED, category::ADVISORY),
            )
        }
        ConversionPhase::Running => (
            stage_message(status.stage.as_ref()).to_string(),
            Condition::new(types::ADVISORY, category::ADVISORY),
        ),
        ConversionPhase::Pending | ConversionPhase::Unknown(_) => (
            "The conversion is pending.".to_string(),
            Condition::new(shared::READY, category::REQUIRED).with_status_false(),
        ),
    };
    let condition = condition.with_message(message.clone());
    status.message = message;
    status.conditions.set(condition, now);
}

/// Where a Pending pod stands against `CONVERSION_POD_PENDING_TIMEOUT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingClock {
    /// No timeout (the setting is 0, or the pod has no creation time).
    Unbounded,
    /// It may wait this much longer.
    Remaining(Duration),
    /// It has waited this long, at least the timeout.
    Expired(Duration),
}

/// Upstream `checkPendingPodTimeout`, with the time left for the timer.
pub fn pending_clock(
    created: Option<Timestamp>,
    now: Timestamp,
    timeout_minutes: i64,
) -> PendingClock {
    let Some(created) = created else {
        return PendingClock::Unbounded;
    };
    let Ok(minutes) = u64::try_from(timeout_minutes) else {
        return PendingClock::Unbounded;
    };
    if minutes == 0 {
        return PendingClock::Unbounded;
    }
    let timeout = Duration::from_secs(minutes.saturating_mul(60));
    // A creation time in the future (clock skew) counts as just created.
    let elapsed = now
        .duration_since(created)
        .try_into()
        .unwrap_or(Duration::ZERO);
    if elapsed >= timeout {
        PendingClock::Expired(elapsed)
    } else {
        PendingClock::Remaining(timeout - elapsed)
    }
}

/// A duration as Go prints a duration truncated to seconds (`5m0s`, `1h2m3s`, `42s`).
pub fn go_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The conditions of a Conversion that block it, as one sentence: their messages and
/// items.
pub fn blockers(conditions: &Conditions) -> String {
    conditions
        .blockers()
        .map(|condition| {
            if condition.items.is_empty() {
                condition.message.clone()
            } else {
                format!("{} ({})", condition.message, condition.items.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
