//! Timestamps as Forklift writes them.
//!
//! Kubernetes' `metav1.Time` is serialized by Go as RFC 3339 in UTC with seconds precision
//! (`2024-05-01T10:00:00Z`). k8s-openapi 0.29's [`Time`] (a `jiff::Timestamp`) serializes
//! the same way (`%Y-%m-%dT%H:%M:%SZ`, sub-second digits dropped), but it keeps the
//! sub-second part in memory after parsing or `Timestamp::now()`. Ferry truncates times to
//! whole seconds when it records them, so the value in memory is exactly what a later read
//! returns, and comparing a stored status with a recomputed one never differs by a fraction
//! of a second.

use crate::Time;
use jiff::Timestamp;

/// `timestamp` truncated to whole seconds, as a Kubernetes [`Time`].
pub fn seconds(timestamp: Timestamp) -> Time {
    // A timestamp's whole-second part is always itself a valid timestamp.
    Time(Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp))
}

/// The current time truncated to whole seconds. Pure code takes `now` as a parameter;
/// only the edges (controllers) call this.
pub fn now() -> Time {
    seconds(Timestamp::now())
}

/// Parses an RFC 3339 timestamp (any offset, any precision) into a [`Time`] truncated to
/// whole seconds, the way Go's `metav1.Time` would read and re-emit it.
pub fn parse(value: &str) -> Result<Time, jiff::Error> {
    value.parse::<Timestamp>().map(seconds)
}
