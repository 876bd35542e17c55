//! Itineraries: the ordered phases of a VM's migration, with the predicate flags that keep
//! or drop each phase (upstream `migrator/base`, `lib/itinerary`; plan spec §4.1–4.2).
//!
//! An itinerary keeps a phase when **all** of its flags hold for the VM ([`Flags`]). The
//! flags are evaluated anew on every transition, from the current plan, settings and
//! inventory, exactly as upstream does.

use ferry_api::phase;
use ferry_api::phase::itinerary as names;

/// The predicate flags of the base migrator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `HasPreHook` (0x01): the VM has a `PreHook`.
    pub has_pre_hook: bool,
    /// `HasPostHook` (0x02): the VM has a `PostHook`.
    pub has_post_hook: bool,
    /// `RequiresConversion` (0x04): the source needs virt-v2v (vSphere, OVA, Hyper-V, EC2)
    /// and `skipGuestConversion` is off.
    pub requires_conversion: bool,
    /// `CDIDiskCopy` (0x08) when false, `VirtV2vDiskCopy` (0x10) when true: virt-v2v
    /// copies the disks (upstream `ShouldUseV2vForTransfer`).
    pub v2v_disk_copy: bool,
    /// `OpenstackImageMigration` (0x20): the source is OpenStack.
    pub openstack: bool,
    /// `VSphere` (0x40): the source is vSphere.
    pub vsphere: bool,
    /// `RunInspection` (0x80): `ShouldRunPreflightInspection`.
    pub run_inspection: bool,
    /// `WindowsWaitForGuestReboot` (0x100).
    pub windows_wait_for_reboot: bool,
    /// `WaitForFinalSnapshotConsolidation` (0x200).
    pub wait_for_final_snapshot_consolidation: bool,
}

/// One flag of an itinerary entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// `HasPreHook`.
    HasPreHook,
    /// `HasPostHook`.
    HasPostHook,
    /// `RequiresConversion`.
    RequiresConversion,
    /// `CDIDiskCopy`.
    CdiDiskCopy,
    /// `VirtV2vDiskCopy`.
    VirtV2vDiskCopy,
    /// `OpenstackImageMigration`.
    OpenstackImageMigration,
    /// `VSphere`.
    VSphere,
    /// `RunInspection`.
    RunInspection,
    /// `WindowsWaitForGuestReboot`.
    WindowsWaitForGuestReboot,
    /// `WaitForFinalSnapshotConsolidation`.
    WaitForFinalSnapshotConsolidation,
}

impl Flags {
    /// Whether `flag` holds.
    pub fn holds(&self, flag: Flag) -> bool {
        match flag {
            Flag::HasPreHook => self.has_pre_hook,
            Flag::HasPostHook => self.has_post_hook,
            Flag::RequiresConversion => self.requires_conversion,
            Flag::CdiDiskCopy => !self.v2v_disk_copy,
            Flag::VirtV2vDiskCopy => self.v2v_disk_copy,
            Flag::OpenstackImageMigration => self.openstack,
            Flag::VSphere => self.vsphere,
            Flag::RunInspection => self.run_inspection,
            Flag::WindowsWaitForGuestReboot => self.windows_wait_for_reboot,
            Flag::WaitForFinalSnapshotConsolidation => self.wait_for_final_snapshot_consolidation,
        }
    }
}

/// A phase and the flags that must all hold for it to be kept.
pub type Entry = (&'static str, &'static [Flag]);

/// Which itinerary a VM follows (upstream `Itinerary`, chosen in this order: resume
/// conversion, `type: conversion`, warm, cold).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Cold migration (`""`).
    Cold,
    /// Warm migration (`Warm`).
    Warm,
    /// Conversion only (`OnlyConversion`).
    OnlyConversion,
    /// Resume a failed conversion (`ResumeConversion`).
    ResumeConversion,
}

use Flag::*;

const COLD: &[Entry] = &[
    (phase::STARTED, &[]),
    (phase::PRE_HOOK, &[HasPreHook]),
    (phase::STORE_POWER_STATE, &[]),
    (phase::POWER_OFF_SOURCE, &[]),
    (phase::WAIT_FOR_POWER_OFF, &[]),
    (phase::CREATE_DATA_VOLUMES, &[]),
    (phase::COPY_DISKS, &[CdiDiskCopy]),
    (phase::ALLOCATE_DISKS, &[VirtV2vDiskCopy]),
    (phase::CREATE_GUEST_CONVERSION_POD, &[RequiresConversion]),
    (phase::CONVERT_GUEST, &[RequiresConversion]),
    (
        phase::COPY_DISKS_VIRT_V2V,
        &[RequiresConversion, VirtV2vDiskCopy],
    ),
    (
        phase::CONVERT_OPENSTACK_SNAPSHOT,
        &[OpenstackImageMigration],
    ),
    (phase::CREATE_VM, &[]),
    (phase::WAIT_FOR_GUEST_REBOOTS, &[WindowsWaitForGuestReboot]),
    (phase::POST_HOOK, &[HasPostHook]),
    (phase::COMPLETED, &[]),
];

const WARM: &[Entry] = &[
    (phase::STARTED, &[]),
    (phase::PRE_HOOK, &[HasPreHook]),
    (phase::CREATE_INITIAL_SNAPSHOT, &[]),
    (phase::WAIT_FOR_INITIAL_SNAPSHOT, &[]),
    (phase::STORE_INITIAL_SNAPSHOT_DELTAS, &[VSphere]),
    (phase::PREFLIGHT_INSPECTION, &[RunInspection]),
    (phase::CREATE_DATA_VOLUMES, &[]),
    (phase::COPY_DISKS, &[]),
    (phase::COPYING_PAUSED, &[]),
    (phase::REMOVE_PREVIOUS_SNAPSHOT, &[VSphere]),
    (phase::WAIT_FOR_PREVIOUS_SNAPSHOT_REMOVAL, &[VSphere]),
    (phase::CREATE_SNAPSHOT, &[]),
    (phase::WAIT_FOR_SNAPSHOT, &[]),
    (phase::STORE_SNAPSHOT_DELTAS, &[VSphere]),
    (phase::ADD_CHECKPOINT, &[]),
    (phase::STORE_POWER_STATE, &[]),
    (phase::POWER_OFF_SOURCE, &[]),
    (phase::WAIT_FOR_POWER_OFF, &[]),
    (phase::REMOVE_PENULTIMATE_SNAPSHOT, &[VSphere]),
    (phase::WAIT_FOR_PENULTIMATE_SNAPSHOT_REMOVAL, &[VSphere]),
    (phase::CREATE_FINAL_SNAPSHOT, &[]),
    (phase::WAIT_FOR_FINAL_SNAPSHOT, &[]),
    (phase::ADD_FINAL_CHECKPOINT, &[]),
    (phase::FINALIZE, &[]),
    (phase::REMOVE_FINAL_SNAPSHOT, &[VSphere]),
    (phase::CREATE_GUEST_CONVERSION_POD, &[RequiresConversion]),
    (phase::CONVERT_GUEST, &[RequiresConversion]),
    (phase::CREATE_VM, &[]),
    (phase::WAIT_FOR_GUEST_REBOOTS, &[WindowsWaitForGuestReboot]),
    (phase::POST_HOOK, &[HasPostHook]),
    (
        phase::WAIT_FOR_FINAL_SNAPSHOT_REMOVAL,
        &[VSphere, WaitForFinalSnapshotConsolidation],
    ),
    (phase::COMPLETED, &[]),
];

const ONLY_CONVERSION: &[Entry] = &[
    (phase::STARTED, &[]),
    (phase::PRE_HOOK, &[HasPreHook]),
    (phase::STORE_POWER_STATE, &[]),
    (phase::POWER_OFF_SOURCE, &[]),
    (phase::WAIT_FOR_POWER_OFF, &[]),
    (phase::CREATE_GUEST_CONVERSION_POD, &[RequiresConversion]),
    (phase::CONVERT_GUEST, &[RequiresConversion]),
    (phase::CREATE_VM, &[]),
    (phase::WAIT_FOR_GUEST_REBOOTS, &[WindowsWaitForGuestReboot]),
    (phase::POST_HOOK, &[HasPostHook]),
    (phase::COMPLETED, &[]),
];

const RESUME_CONVERSION: &[Entry] = &[
    (phase::STARTED, &[]),
    (phase::PRE_HOOK, &[HasPreHook]),
    (phase::CREATE_GUEST_CONVERSION_POD, &[RequiresConversion]),
    (phase::CONVERT_GUEST, &[RequiresConversion]),
    (phase::CREATE_VM, &[]),
    (phase::WAIT_FOR_GUEST_REBOOTS, &[WindowsWaitForGuestReboot]),
    (phase::POST_HOOK, &[HasPostHook]),
    (phase::COMPLETED, &[]),
];

/// An itinerary with the flags of one VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Itinerary {
    /// Which itinerary.
    pub kind: Kind,
    /// The VM's flags.
    pub flags: Flags,
}

/// What comes after a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The next kept phase.
    Phase(&'static str),
    /// The itinerary is done (or the phase is not in it): the VM goes to `Completed`.
    Done,
}

impl Itinerary {
    /// The itinerary's name, as upstream logs it (`""`, `Warm`, `OnlyConversion`,
    /// `ResumeConversion`).
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Cold => names::COLD,
            Kind::Warm => names::WARM,
            Kind::OnlyConversion => names::ONLY_CONVERSION,
            Kind::ResumeConversion => names::RESUME_CONVERSION,
        }
    }

    fn entries(&self) -> &'static [Entry] {
        match self.kind {
            Kind::Cold => COLD,
            Kind::Warm => WARM,
            Kind::OnlyConversion => ONLY_CONVERSION,
            Kind::ResumeConversion => RESUME_CONVERSION,
        }
    }

    /// Upstream `List`: the phases whose flags all hold, in order.
    pub fn phases(&self) -> Vec<&'static str> {
        self.entries()
            .iter()
            .filter(|(_, flags)| flags.iter().all(|f| self.flags.holds(*f)))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Upstream `First`.
    pub fn first(&self) -> &'static str {
        self.phases().first().copied().unwrap_or(phase::COMPLETED)
    }

    /// Upstream `Next`: the kept phase after `current`; `Done` after the last one, and
    /// also when `current` is not kept (any more), as upstream's matching loop never
    /// finds it.
    pub fn next(&self, current: &str) -> Next {
        if !self.entries().iter().any(|(name, _)| *name == current) {
            return Next::Done;
        }
        let phases = self.phases();
        let mut matched = false;
        for name in phases {
            if matched {
                return Next::Phase(name);
            }
            if name == current {
                matched = true;
            }
        }
        Next::Done
    }

    /// Whether `phase` is kept.
    pub fn contains(&self, phase: &str) -> bool {
        self.phases().contains(&phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cold(flags: Flags) -> Itinerary {
        Itinerary {
            kind: Kind::Cold,
            flags,
        }
    }

    /// Conformance case 28: the virt-v2v transfer path (OVA, vSphere to the host).
    #[test]
    fn cold_virt_v2v_path() {
        let flags = Flags {
            requires_conversion: true,
            v2v_disk_copy: true,
            ..Flags::default()
        };
        assert_eq!(
            cold(flags).phases(),
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
                "Completed"
            ]
        );
        let windows = Flags {
            windows_wait_for_reboot: true,
            ..flags
        };
        assert!(cold(windows).contains("WaitForGuestReboots"));
    }

    /// Conformance case 29: the CDI path (vSphere remote, or without shared disks).
    #[test]
    fn cold_cdi_path() {
        let flags = Flags {
            requires_conversion: true,
            vsphere: true,
            ..Flags::default()
        };
        assert_eq!(
            cold(flags).phases(),
            [
                "Started",
                "StorePowerState",
                "PowerOffSource",
                "WaitForPowerOff",
                "CreateDataVolumes",
                "CopyDisks",
                "CreateGuestConversionPod",
                "ConvertGuest",
                "CreateVM",
                "Completed"
            ]
        );
    }

    /// Conformance case 30, hooks, OpenStack.
    #[test]
    fn cold_variants() {
        let skip_conversion = cold(Flags::default());
        assert_eq!(
            skip_conversion.phases(),
            [
                "Started",
                "StorePowerState",
                "PowerOffSource",
                "WaitForPowerOff",
                "CreateDataVolumes",
                "CopyDisks",
                "CreateVM",
                "Completed"
            ]
        );
        let hooks = cold(Flags {
            has_pre_hook: true,
            has_post_hook: true,
            ..Flags::default()
        });
        let phases = hooks.phases();
        assert_eq!(phases[1], "PreHook");
        assert_eq!(phases[phases.len() - 2], "PostHook");
        let openstack = cold(Flags {
            openstack: true,
            ..Flags::default()
        });
        assert!(openstack.contains("ConvertOpenstackSnapshot"));
    }

    #[test]
    fn transitions() {
        let itinerary = cold(Flags {
            requires_conversion: true,
            v2v_disk_copy: true,
            ..Flags::default()
        });
        assert_eq!(itinerary.first(), "Started");
        assert_eq!(itinerary.next("Started"), Next::Phase("StorePowerState"));
        assert_eq!(
            itinerary.next("ConvertGuest"),
            Next::Phase("CopyDisksVirtV2V")
        );
        assert_eq!(itinerary.next("CreateVM"), Next::Phase("Completed"));
        assert_eq!(itinerary.next("Completed"), Next::Done);
        // A phase no longer kept (a flag changed) ends the itinerary, as upstream.
        assert_eq!(itinerary.next("CopyDisks"), Next::Done);
        assert_eq!(itinerary.next("Bogus"), Next::Done);
    }

    #[test]
    fn other_itineraries() {
        let flags = Flags {
            requires_conversion: true,
            vsphere: true,
            wait_for_final_snapshot_consolidation: true,
            run_inspection: true,
            ..Flags::default()
        };
        let warm = Itinerary {
            kind: Kind::Warm,
            flags,
        };
        assert_eq!(warm.name(), "Warm");
        assert_eq!(warm.phases().len(), 29);
        assert_eq!(warm.phases().last(), Some(&"Completed"));
        let resume = Itinerary {
            kind: Kind::ResumeConversion,
            flags,
        };
        assert_eq!(
            resume.phases(),
            [
                "Started",
                "CreateGuestConversionPod",
                "ConvertGuest",
                "CreateVM",
                "Completed"
            ]
        );
        let only = Itinerary {
            kind: Kind::OnlyConversion,
            flags,
        };
        assert_eq!(only.name(), "OnlyConversion");
        assert!(!only.contains("CreateDataVolumes"));
    }
}
