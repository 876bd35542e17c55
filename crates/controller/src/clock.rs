//! The time source of every controller: the system clock in production, a settable one
//! in tests, so condition times and `started`/`completed` stamps are reproducible.

use std::sync::{Mutex, PoisonError};

use ferry_api::Time;
use jiff::{SignedDuration, Timestamp};

/// Tells the time. Controllers read it through [`crate::Context::now`].
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time forward (or back, for a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A clock reading as a Kubernetes time, truncated to whole seconds as Forklift stores it.
pub fn time(clock: &dyn Clock) -> Time {
    ferry_api::time::seconds(clock.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2024-05-01T10:00:00.750Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_secs(90));
        assert_eq!(time(&clock).0.to_string(), "2024-05-01T10:01:30Z");
        clock.set(start);
        assert_eq!(time(&clock).0.to_string(), "2024-05-01T10:00:00Z");
    }
}
