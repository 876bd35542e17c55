//! The scheduler: which VM starts next under the in-flight limit (plan spec §5).
//!
//! Upstream counts in-flight VMs per source provider (per ESXi host for vSphere, in cost
//! units). For every provider but vSphere and Hyper-V it counts from the controller's
//! *cached* Plans, so VMs started earlier in the same pass are not counted and the first
//! pass of a migration can start every VM regardless of the limit (conformance case 47).
//! Ferry counts correctly: this plan's VMs from the status being built (so each admission
//! is counted at once), other plans' VMs from a fresh read, and the reconciles of plans
//! sharing a source are serialized by the controller (see `docs/compatibility.md`).

use std::collections::BTreeMap;

/// A VM that has not started yet, in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its index in the plan's VM statuses.
    pub index: usize,
    /// The unit the limit applies to (`""`: the whole source provider).
    pub key: String,
    /// What it costs while running.
    pub cost: usize,
}

/// In-flight usage per scheduling unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InFlight {
    usage: BTreeMap<String, usize>,
}

impl InFlight {
    /// Nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a running VM.
    pub fn add(&mut self, key: &str, cost: usize) {
        *self.usage.entry(key.to_string()).or_default() += cost;
    }

    /// The usage of a unit.
    pub fn usage(&self, key: &str) -> usize {
        self.usage.get(key).copied().unwrap_or(0)
    }

    /// Whether a VM of `cost` may start on `key` under `limit` (upstream vSphere rule,
    /// which for a cost of 1 is simply "usage below the limit"): the unit is below the
    /// limit and the VM fits, or the VM alone exceeds the limit and the unit is idle.
    pub fn admits(&self, key: &str, cost: usize, limit: usize) -> bool {
        let usage = self.usage(key);
        (usage < limit && cost + usage <= limit) || (cost > limit && usage == 0)
    }
}

/// Upstream `Next()`: the first candidate, in plan order, that the limit admits.
/// (Upstream's vSphere scheduler picks the last host of a randomly ordered map; Ferry
/// keeps plan order across hosts too.)
pub fn next<'a>(
    candidates: &'a [Candidate],
    in_flight: &InFlight,
    limit: usize,
) -> Option<&'a Candidate> {
    candidates
        .iter()
        .find(|c| in_flight.admits(&c.key, c.cost, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(index: usize, key: &str, cost: usize) -> Candidate {
        Candidate {
            index,
            key: key.into(),
            cost,
        }
    }

    /// Ferry's answer to conformance case 47: 30 VMs, limit 20, one pass: exactly 20 start.
    #[test]
    fn compat_the_limit_holds_within_a_pass() {
        let mut pending: Vec<Candidate> = (0..30).map(|i| candidate(i, "", 1)).collect();
        let mut in_flight = InFlight::new();
        let mut started = Vec::new();
        while let Some(next) = next(&pending, &in_flight, 20).cloned() {
            in_flight.add(&next.key, next.cost);
            pending.retain(|c| c.index != next.index);
            started.push(next.index);
        }
        assert_eq!(started, (0..20).collect::<Vec<_>>());
        assert_eq!(pending.len(), 10);
    }

    /// Conformance case 46: a VM costing more than the limit starts on an idle host and
    /// then blocks that host.
    #[test]
    fn an_oversized_vm_runs_alone() {
        let pending = vec![candidate(0, "host-1", 25), candidate(1, "host-1", 1)];
        let mut in_flight = InFlight::new();
        assert_eq!(next(&pending, &in_flight, 20).map(|c| c.index), Some(0));
        in_flight.add("host-1", 25);
        assert_eq!(next(&pending[1..], &in_flight, 20), None);
        // Another host is independent.
        let other = vec![candidate(2, "host-2", 3)];
        assert_eq!(next(&other, &in_flight, 20).map(|c| c.index), Some(2));
    }

    #[test]
    fn costs_must_fit() {
        let mut in_flight = InFlight::new();
        in_flight.add("h", 18);
        assert!(in_flight.admits("h", 2, 20));
        assert!(!in_flight.admits("h", 3, 20));
        assert!(!in_flight.admits("h", 25, 20));
        assert!(in_flight.admits("h", 0, 20));
    }
}
