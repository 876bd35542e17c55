//! The error policy every controller shares: what to do after a failed reconcile.
//!
//! | error | action |
//! |---|---|
//! | malformed object | wait for the object to change |
//! | conflict (409) | retry at once, up to [`CONFLICT_RETRIES`] times in a row, then back off |
//! | provider not ready | wait for the Provider watch |
//! | anything else | capped exponential backoff: [`BASE`], doubling, at most [`CAP`] |
//!
//! Forklift requeues every error after a flat 3 s; a broken API server then costs a
//! request per object every 3 s forever. The attempt count is per object and is reset
//! by the next successful reconcile.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use kube::runtime::controller::Action;

use crate::error::ErrorClass;

/// The first backoff delay.
pub const BASE: Duration = Duration::from_millis(500);
/// The longest backoff delay.
pub const CAP: Duration = Duration::from_secs(300);
/// Conflicts retried at once before backing off.
pub const CONFLICT_RETRIES: u32 = 3;

/// The delay after the `attempt`-th consecutive failure (1-based).
pub fn backoff(attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    BASE.saturating_mul(1u32 << shift).min(CAP)
}

/// The decision for a failure of `class` that is the `attempt`-th in a row.
pub fn decide(class: ErrorClass, attempt: u32) -> Action {
    match class {
        ErrorClass::Malformed | ErrorClass::ProviderNotReady => Action::await_change(),
        ErrorClass::Conflict if attempt <= CONFLICT_RETRIES => Action::requeue(Duration::ZERO),
        ErrorClass::Conflict => Action::requeue(backoff(attempt - CONFLICT_RETRIES)),
        ErrorClass::Transient => Action::requeue(backoff(attempt)),
    }
}

/// Consecutive failures per object, for [`decide`].
#[derive(Debug, Default)]
pub struct Attempts {
    failures: Mutex<HashMap<String, u32>>,
}

impl Attempts {
    /// Records a failure of the object with this key; returns the count so far.
    pub fn failed(&self, key: &str) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let count = failures.entry(key.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Forgets the object's failures (after a successful reconcile).
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(5), Duration::from_secs(8));
        assert_eq!(backoff(11), CAP);
        assert_eq!(backoff(u32::MAX), CAP);
    }

    #[test]
    fn each_class_gets_its_action() {
        assert_eq!(decide(ErrorClass::Malformed, 1), Action::await_change());
        assert_eq!(
            decide(ErrorClass::ProviderNotReady, 9),
            Action::await_change()
        );
        assert_eq!(
            decide(ErrorClass::Conflict, 1),
            Action::requeue(Duration::ZERO)
        );
        assert_eq!(
            decide(ErrorClass::Conflict, CONFLICT_RETRIES + 1),
            Action::requeue(BASE)
        );
        assert_eq!(
            decide(ErrorClass::Transient, 3),
            Action::requeue(Duration::from_secs(2))
        );
    }

    #[test]
    fn attempts_count_until_success() {
        let attempts = Attempts::default();
        assert_eq!(attempts.failed("ns/a"), 1);
        assert_eq!(attempts.failed("ns/a"), 2);
        assert_eq!(attempts.failed("ns/b"), 1);
        attempts.succeeded("ns/a");
        assert_eq!(attempts.failed("ns/a"), 1);
    }
}
