//! Forklift's polling floor for the itinerary the benchmark runs (pure).
//!
//! Upstream moves each running VM by **one phase per reconcile pass** (`execute(vm)` runs
//! the handler of the VM's current phase once, plan spec §3.5), and requeues an executing
//! plan every `PollReQ` = 3 s (§1.3); the plan's own status writes do not wake it (§1.1).
//! The first pass runs when the Migration is created. So even if every phase's work took
//! no time at all, a VM that goes through `P` phases before `Completed` needs `P` passes,
//! `(P - 1) × 3 s` after the first. This module computes that floor from Ferry's copy of
//! upstream's itinerary (an OVA cold migration: no hooks, virt-v2v copies the disks), for
//! one VM and for N VMs under `MAX_VM_INFLIGHT`:
//!
//! - as upstream's OVA scheduler behaves: it counts in-flight VMs from the *cached* Plan,
//!   so the first pass admits every VM whatever the limit (plan spec §5, quirk);
//! - with the limit honoured (as its vSphere scheduler does, and Ferry does): VMs run in
//!   waves of `K`, and a wave is admitted in the pass after the previous one completed
//!   (the cached Plan still shows it running during the pass that completes it).
//!
//! The time each pass takes (upstream lists and reads the plan, its inventory, and every
//! VM's objects) is not counted: this is a lower bound.

use std::time::Duration;

use ferry_plan::execute::itinerary::{Flags, Itinerary, Kind};
use serde::Serialize;

/// Upstream's `PollReQ`: how often an executing plan is reconciled again.
pub const POLL_REQ: Duration = Duration::from_secs(3);

/// The phases of an OVA cold migration without hooks, `Started` to `Completed`.
pub fn ova_cold_phases() -> Vec<&'static str> {
    Itinerary {
        kind: Kind::Cold,
        flags: Flags {
            requires_conversion: true,
            v2v_disk_copy: true,
            ..Flags::default()
        },
    }
    .phases()
}

/// Forklift's floor for a plan of `vms` VMs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Floor {
    /// The phases each VM goes through.
    pub phases: Vec<&'static str>,
    /// Reconcile passes one VM needs (one per phase before `Completed`).
    pub passes_per_vm: usize,
    /// The VMs.
    pub vms: usize,
    /// `MAX_VM_INFLIGHT`.
    pub max_inflight: usize,
    /// Seconds from the Migration's creation to the plan's success as upstream's OVA
    /// scheduler behaves (every VM admitted in the first pass).
    pub as_written_seconds: f64,
    /// Seconds with the in-flight limit honoured (waves of `max_inflight`).
    pub limit_honoured_seconds: f64,
}

/// The floor for `vms` VMs under an in-flight limit of `max_inflight` (at least 1).
pub fn floor(vms: usize, max_inflight: usize) -> Floor {
    let phases = ova_cold_phases();
    let passes_per_vm = phases.len().saturating_sub(1);
    let poll = POLL_REQ.as_secs_f64();
    let seconds_after_first = |passes: usize| passes.saturating_sub(1) as f64 * poll;
    let waves = vms.max(1).div_ceil(max_inflight.max(1));
    Floor {
        passes_per_vm,
        vms,
        max_inflight,
        as_written_seconds: seconds_after_first(passes_per_vm),
        limit_honoured_seconds: seconds_after_first(waves * passes_per_vm),
        phases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ova_cold_itinerary_is_upstreams() {
        // Plan spec §4.2–4.3: OVA always copies with virt-v2v; no hooks, not Windows.
        assert_eq!(
            ova_cold_phases(),
            [
                "Started",
                "StorePowerState",
                "PowerOffSource",
                "WaitForPowerOff",
                "CreateDataVolumes",
                "AllocateDisks",
                "CreateGuestConversionPod",
                "ConvertGuest",
                "CopyDisksVirtV2V",
                "CreateVM",
                "Completed",
            ]
        );
    }

    #[test]
    fn floors_in_passes_of_three_seconds() {
        let one = floor(1, 20);
        assert_eq!(one.passes_per_vm, 10);
        assert_eq!(one.as_written_seconds, 27.0);
        assert_eq!(one.limit_honoured_seconds, 27.0);
        // 100 VMs in waves of 20: 5 waves of 10 passes.
        assert_eq!(floor(100, 20).limit_honoured_seconds, 147.0);
        assert_eq!(floor(1000, 20).limit_honoured_seconds, 1497.0);
        assert_eq!(floor(1000, 20).as_written_seconds, 27.0);
        assert_eq!(floor(1000, 100_000).limit_honoured_seconds, 27.0);
        // Degenerate input stays finite.
        assert_eq!(floor(0, 0).limit_honoured_seconds, 27.0);
    }
}
