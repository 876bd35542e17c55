//! The fixed point of a reconcile: decide, apply, decide again, until no VM can progress
//! without an external event.

use super::action::Action;
use super::engine::{Decision, ExecuteError, Input, decide};
use crate::adapter::Adapters;
use crate::observe::Observed;
use crate::settings::Settings;
use crate::validate::Validation;
use ferry_api::Time;
use ferry_api::plan::PlanStatus;
use futures::future::BoxFuture;
use std::time::Duration;

/// Most decisions in one reconcile. Each decision either moves a VM on or waits; this
/// bound only stops a run-away loop (a world that keeps undoing what was applied).
pub const MAX_PASSES: usize = 200;

/// Performs actions and records their outcomes in the snapshot.
pub trait Apply: Send {
    /// The error of a failed action.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies `actions` in order, stopping at the first failure, and records each
    /// outcome in `observed` (created objects, deletions, source answers, pod responses).
    fn apply<'a>(
        &'a mut self,
        actions: &'a [Action],
        observed: &'a mut Observed,
    ) -> BoxFuture<'a, Result<(), Self::Error>>;
}

/// Where a reconcile's execution ended.
#[derive(Debug)]
pub struct Settled<E> {
    /// The plan status to write.
    pub status: PlanStatus,
    /// When to look again if nothing else wakes the plan.
    pub wake: Option<Duration>,
    /// How many decisions were made.
    pub passes: usize,
    /// Every action applied, in order, described (for logs and tests; descriptions,
    /// not the actions, so a reconcile that creates thousands of objects does not keep
    /// a copy of each until it ends).
    pub applied: Vec<String>,
    /// The action failure that ended the loop, if one did. The status is still the last
    /// one decided, which never depends on actions not yet applied.
    pub error: Option<E>,
}

/// Decides and applies until the decision asks for nothing more.
pub async fn settle<A: Apply>(
    observed: &mut Observed,
    validation: &Validation,
    adapters: &Adapters,
    settings: &Settings,
    now: &Time,
    applier: &mut A,
) -> Result<Settled<A::Error>, ExecuteError> {
    let mut applied = Vec::new();
    let mut last: Option<Vec<Action>> = None;
    let mut repeats = 0;
    for pass in 1..=MAX_PASSES {
        let input = Input {
            observed,
            validation,
            adapters,
            settings,
            now,
        };
        let Decision {
            status,
            actions,
            wake,
            again,
        } = decide(&input)?;
        observed.plan.status = status.clone();
        if actions.is_empty() && !again {
            return Ok(Settled {
                status,
                wake,
                passes: pass,
                applied,
                error: None,
            });
        }
        if last.as_ref() == Some(&actions) && !actions.is_empty() {
            repeats += 1;
            if repeats >= 3 {
                tracing::warn!(
                    actions = actions.len(),
                    "the same actions were asked for three times; stopping this reconcile"
                );
                return Ok(Settled {
                    status,
                    wake: Some(
                        wake.unwrap_or(Duration::from_secs(30))
                            .min(Duration::from_secs(30)),
                    ),
                    passes: pass,
                    applied,
                    error: None,
                });
            }
        } else {
            repeats = 0;
        }
        if let Err(error) = applier.apply(&actions, observed).await {
            return Ok(Settled {
                status,
                wake,
                passes: pass,
                applied,
                error: Some(error),
            });
        }
        applied.extend(actions.iter().map(Action::describe));
        last = Some(actions);
    }
    let input = Input {
        observed,
        validation,
        adapters,
        settings,
        now,
    };
    let decision = decide(&input)?;
    Ok(Settled {
        status: decision.status,
        wake: Some(Duration::from_secs(1)),
        passes: MAX_PASSES,
        applied,
        error: None,
    })
}
