//! One reconcile over an [`Observed`] snapshot, without the reads and the status write
//! (upstream `Reconcile` steps 2–11, plan spec §1.2): skip archived and succeeded plans,
//! validate, archive, stage the conditions with `Ready`, then execute to a fixed point.

use crate::adapter::Adapters;
use crate::execute::{self, Apply, ExecuteError, Input, Settled};
use crate::observe::Observed;
use crate::settings::Settings;
use crate::validate::{self, ValidateError, Validation};
use ferry_api::Time;
use ferry_api::condition::types;

/// Why a pass did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The plan is archived and was archived before.
    Archived,
    /// The plan succeeded: it is never reconciled again unless archived (upstream).
    Succeeded,
}

/// The outcome of a pass.
// One per reconcile, returned and consumed at once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome<E> {
    /// Nothing to do: no reads beyond the plan, no write.
    Skipped(Skip),
    /// Executed.
    Done {
        /// This pass's validation.
        validation: Validation,
        /// Where execution ended (the status to write, the next wake-up).
        settled: Settled<E>,
    },
}

/// A pass that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Validation could not run (the inventory is not ready, an adapter failed).
    #[error("validation: {0}")]
    Validate(#[from] ValidateError),
    /// Execution could not decide.
    #[error("execution: {0}")]
    Execute(#[from] ExecuteError),
}

/// Whether a plan needs no reconcile at all (upstream steps 2 and 3).
pub fn skip(plan: &ferry_api::Plan) -> Option<Skip> {
    let conditions = &plan.status.conditions;
    if plan.spec.archived && conditions.has(&[types::ARCHIVED]) {
        return Some(Skip::Archived);
    }
    if conditions.has(&[types::SUCCEEDED]) && !plan.spec.archived {
        return Some(Skip::Succeeded);
    }
    None
}

/// Runs one pass over `observed`, applying actions through `applier`.
pub async fn run<A: Apply>(
    observed: &mut Observed,
    adapters: &Adapters,
    settings: &Settings,
    now: &Time,
    applier: &mut A,
) -> Result<Outcome<A::Error>, PassError> {
    if let Some(skip) = skip(&observed.plan) {
        return Ok(Outcome::Skipped(skip));
    }
    let validation = validate::validate(observed, adapters, settings)?;
    let archived = observed.plan.spec.archived;
    if archived {
        let actions = execute::archive(&Input {
            observed,
            validation: &validation,
            adapters,
            settings,
            now,
        });
        if let Err(error) = applier.apply(&actions, observed).await {
            // Archiving is retried: the Archived condition is not written yet.
            return Ok(Outcome::Done {
                settled: Settled {
                    status: observed.plan.status.clone(),
                    wake: None,
                    passes: 0,
                    applied: Vec::new(),
                    error: Some(error),
                },
                validation,
            });
        }
    }
    observed.plan.status.conditions =
        validate::conclude(&observed.plan.status.conditions, &validation, archived, now);
    observed.plan.status.observed_generation = observed.plan.metadata.generation.unwrap_or(0);
    let settled = execute::settle(observed, &validation, adapters, settings, now, applier).await?;
    Ok(Outcome::Done {
        validation,
        settled,
    })
}
