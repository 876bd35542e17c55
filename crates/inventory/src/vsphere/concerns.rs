//! Per-VM concerns (pure): what upstream's vSphere Rego policies
//! (`validation/policies/io/konveyor/forklift/vmware/*.rego`, rules version
//! [`RULES_VERSION`], evaluated by OPA v1.8.0) say about a VM, computed in process from
//! the same input upstream posts to OPA: the VM's workload (the VM with its host and the
//! host's cluster).
//!
//! Every rule is ported with OPA's semantics, including those that make a rule fire
//! less often than its name suggests:
//!
//! - `count(x)` of `null` is an error, which makes the rule undefined: a VM whose
//!   `guestNetworks` is `null` (never reported) gets no `vmware.vm_missing_ip.detected`
//!   (only an empty list would), and `null` `cpuAffinity` / `numaNodeAffinity` fire
//!   nothing;
//! - fields the JSON omits when empty are undefined: a guest disk without a `diskPath`,
//!   or with a `freeSpace` of 0, never gets `vmware.guestDisks.freespace`;
//! - `vmware.dpm.enabled` and `vmware.host_affinity.detected` read cluster fields the
//!   workload does not have, so they never fire;
//! - the per-disk CBT label computes the controller index as
//!   `controllerKey - (controllerKey / 100) * 100` with OPA's floating-point division,
//!   which is 0 (`Disk - scsi0:1 …`) whenever the arithmetic is exact and a float such
//!   as `%!d(float64=-8.881784197001252e-16)` when it is not (controller key 16001);
//!   [`rego_controller_index`] reproduces OPA's 64-bit-mantissa arithmetic.
//!
//! OPA returns the concerns as a set: no duplicates, sorted by their JSON object order
//! (`assessment`, then `category`, `id`, `label`). Ferry returns them in that order.
//!
//! Upstream evaluates the workload of a VM whose host or cluster is missing as an error
//! (the VM is never validated); Ferry evaluates it without them (no DRS concern).

use std::borrow::Cow;

use super::model::{Category, Cluster, Concern, Disk, GuestDisk, Vm, bus};

/// The rules version of the policies ported here; reported as the VM's `policyVersion`.
pub const RULES_VERSION: i64 = 5;
/// KubeVirt's disk limit per VM (upstream `max_disk_count`).
pub const MAX_DISK_COUNT: usize = 165;

const MIB: i64 = 1024 * 1024;

/// The concerns upstream's policies raise for `vm` running on a host of `cluster`.
pub fn concerns(vm: &Vm, cluster: Option<&Cluster>) -> Vec<Concern> {
    let mut found = Vec::new();
    let mut add = |id: &'static str,
                   category: Category,
                   label: Cow<'static, str>,
                   assessment: Cow<'static, str>| {
        found.push(Concern {
            id,
            label,
            category,
            assessment,
        });
    };

    if !vm.change_tracking_enabled {
        add(
            "vmware.changed_block_tracking.disabled",
            Category::Warning,
            "Changed Block Tracking (CBT) not enabled".into(),
            "For VM warm migration, Changed Block Tracking (CBT) must be enabled in VMware.".into(),
        );
    }
    for disk in vm.disks().iter().filter(|d| !d.change_tracking_enabled) {
        add(
            "vmware.changed_block_tracking.disk.disabled",
            Category::Warning,
            format!("Disk - {} does not have CBT enabled", rego_device_key(disk)).into(),
            "Changed Block Tracking (CBT) has not been enabled for this device. This feature is \
             a prerequisite for VM warm migration."
                .into(),
        );
    }
    if vm.consolidation_needed {
        add(
            "vmware.consolidation_needed",
            Category::Warning,
            "Snapshot consolidation required".into(),
            "VM has snapshots that require consolidation. This may cause delays between \
             precopies."
                .into(),
        );
    }
    if vm.cpu_affinity.as_ref().is_some_and(|a| !a.is_empty()) {
        add(
            "vmware.cpu_affinity.detected",
            Category::Warning,
            "CPU affinity detected".into(),
            "The VM will be migrated without CPU affinity, but administrators can set it after \
             migration."
                .into(),
        );
    }
    if vm.cpu_hot_add_enabled || vm.cpu_hot_remove_enabled || vm.memory_hot_add_enabled {
        add(
            "vmware.cpu_memory.hotplug.enabled",
            Category::Warning,
            "CPU/Memory hotplug detected".into(),
            "Hot pluggable CPU or memory is not currently supported by Migration Toolkit for \
             Virtualization. You can reconfigure CPU or memory after migration."
                .into(),
        );
    }
    if vm.disks().iter().any(|d| d.datastore.id.is_empty()) {
        add(
            "vmware.datastore.missing",
            Category::Critical,
            "Disk is not located on a datastore".into(),
            "The VM is configured with a disk that is not located on a datastore. The VM cannot \
             be migrated."
                .into(),
        );
    }
    let disk_count = vm.disks().len();
    if disk_count > MAX_DISK_COUNT {
        add(
            "vmware.disk.count.exceeds.limit",
            Category::Warning,
            format!("VM has {disk_count} disks, which exceeds the limit of {MAX_DISK_COUNT}")
                .into(),
            format!(
                "The VM has {disk_count} disks but the target platform supports a maximum of \
                 {MAX_DISK_COUNT} disks per VM. Migration may result in network connectivity \
                 issues."
            )
            .into(),
        );
    }
    if vm
        .disks()
        .iter()
        .any(|d| d.mode == "independent_persistent" || d.mode == "independent_nonpersistent")
    {
        add(
            "vmware.disk_mode.independent",
            Category::Warning,
            "Independent disk detected".into(),
            "Independent disks cannot be transferred using VDDK. If copy-offload (XCOPY) is \
             enabled in the migration plan, independent disks can be migrated. Otherwise, the \
             disks must be changed to 'Dependent' mode in VMware before migration."
                .into(),
        );
    }
    if vm.disk_enable_uuid && vm.disks().iter().any(|d| d.bus == bus::SCSI) {
        add(
            "vmware.disk_serial.truncated",
            Category::Information,
            "Disk serial numbers may be truncated".into(),
            "This VM is configured with at least one SCSI disk and the disk.EnableUUID \
             parameter is set to TRUE. This may indicate a need for consistent SCSI disk serial \
             numbers, but be advised that these serial numbers will be truncated after \
             migration."
                .into(),
        );
    }
    for disk in vm.disks().iter().filter(|d| d.capacity <= 0) {
        add(
            "vmware.disk.capacity.invalid",
            Category::Critical,
            format!(
                "Disk '{}' has an invalid capacity of {} bytes",
                disk.file, disk.capacity
            )
            .into(),
            format!(
                "Disk '{}' has a capacity of {} bytes, which is not allowed. Capacity must be \
                 greater than zero.",
                disk.file, disk.capacity
            )
            .into(),
        );
    }
    if cluster.is_some_and(|c| c.drs_enabled) {
        add(
            "vmware.drs.enabled",
            Category::Information,
            "VM running in a DRS-enabled cluster".into(),
            "Distributed resource scheduling is not currently supported by Migration Toolkit \
             for Virtualization. The VM can be migrated but it will not have this feature in \
             the target environment."
                .into(),
        );
    }
    if vm.fault_tolerance_enabled {
        add(
            "vmware.fault_tolerance.enabled",
            Category::Information,
            "Fault tolerance".into(),
            "Fault tolerance is not currently supported by OpenShift Virtualization. The VM can \
             be migrated but it will not have this feature in the target environment."
                .into(),
        );
    }
    for (disk, required_mb) in vm
        .guest_disks
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(short_of_space)
    {
        add(
            "vmware.guestDisks.freespace",
            Category::Critical,
            format!(
                "Insufficient free space for conversion on '{}'",
                disk.disk_path
            )
            .into(),
            format!(
                "The guest filesystem '{}' has {} MB of free space, but a minimum of {} MB is \
                 required for conversion. Free up space on this filesystem before migration.",
                disk.disk_path,
                rego_round_mib(disk.free_space),
                required_mb
            )
            .into(),
        );
    }
    if vm.guest_id.to_lowercase().contains("windows") {
        for disk in vm
            .guest_disks
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|d| d.key == 0 && !d.disk_path.is_empty())
        {
            add(
                "vmware.guestDisks.key.not_found",
                Category::Information,
                format!("Missing disk key mapping for '{}'", disk.disk_path).into(),
                "winDriveLetter cannot be resolved in PVC name templates without a disk key \
                 mapping."
                    .into(),
            );
        }
    }
    if vm.host_name.is_empty() {
        add(
            "vmware.hostname.empty",
            Category::Warning,
            "Empty Host Name".into(),
            "The 'hostname' field is missing or empty. The hostname might be renamed during \
             migration."
                .into(),
        );
    }
    if vm.host_name == "localhost.localdomain" {
        add(
            "vmware.hostname.default",
            Category::Warning,
            "Default Host Name".into(),
            "The 'hostname' is set to 'localhost.localdomain', which is a default value. The \
             hostname might be renamed during migration."
                .into(),
        );
    }
    if vm.guest_networks.as_ref().is_some_and(Vec::is_empty) {
        add(
            "vmware.vm_missing_ip.detected",
            Category::Warning,
            "VM is missing IP addresses".into(),
            "Static IP preservation requires the VM to be powered on and running VMware tools."
                .into(),
        );
    }
    if !valid_vm_name(&vm.base.name) {
        add(
            "vmware.vm.name.invalid",
            Category::Warning,
            "Invalid VM Name".into(),
            "The VM name does not comply with the DNS subdomain name format. Edit the name or \
             it will be renamed automatically during the migration to meet RFC 1123. The VM \
             name must be a maximum of 63 characters containing lowercase letters (a-z), \
             numbers (0-9), periods (.), and hyphens (-). The first and last character must be \
             a letter or number. The name cannot contain uppercase letters, spaces or special \
             characters."
                .into(),
        );
    }
    if vm
        .numa_node_affinity
        .as_ref()
        .is_some_and(|a| !a.is_empty())
    {
        add(
            "vmware.numa_affinity.detected",
            Category::Warning,
            "NUMA node affinity detected".into(),
            "NUMA node affinity is not currently supported by Migration Toolkit for \
             Virtualization. The VM can be migrated but it will not have this feature in the \
             target environment."
                .into(),
        );
    }
    let has_device = |kind: &str| vm.devices().iter().any(|d| d.kind == kind);
    if has_device("VirtualPCIPassthrough") {
        add(
            "vmware.passthrough_device.detected",
            Category::Critical,
            "Passthrough device detected".into(),
            "SCSI or PCI passthrough devices are not currently supported by Migration Toolkit \
             for Virtualization. The VM cannot be migrated unless the passthrough device is \
             removed."
                .into(),
        );
    }
    if vm.disks().iter().any(|d| d.rdm) {
        add(
            "vmware.disk.rdm.detected",
            Category::Warning,
            "Raw Device Mapped disk detected".into(),
            "RDM disks are not supported when using VDDK transfer. If copy-offload (XCOPY) is \
             enabled in the migration plan, RDM disks can be migrated. Otherwise, the RDM disks \
             must be removed before migration and reattached after."
                .into(),
        );
    }
    if vm.disks().iter().any(|d| d.shared) {
        add(
            "vmware.disk.shared.detected",
            Category::Warning,
            "Shared disk detected".into(),
            "The VM has a disk that is shared with another VM. Shared disks require special \
             handling during migration."
                .into(),
        );
    }
    if vm.snapshot.kind == "VirtualMachineSnapshot" {
        add(
            "vmware.snapshot.detected",
            Category::Information,
            "VM snapshot detected".into(),
            "Online snapshots are not currently supported by OpenShift Virtualization. VM will \
             be migrated with current snapshot."
                .into(),
        );
    }
    if has_device("VirtualSriovEthernetCard") {
        add(
            "vmware.device.sriov.detected",
            Category::Warning,
            "SR-IOV passthrough adapter configuration detected".into(),
            "SR-IOV passthrough adapter configuration is not currently supported by Migration \
             Toolkit for Virtualization. Administrators can configure this after migration."
                .into(),
        );
    }
    if vm.tpm_enabled {
        add(
            "vmware.tpm.detected",
            Category::Warning,
            "TPM detected".into(),
            "The VM is configured with a TPM device. TPM data will not be transferred during \
             the migration."
                .into(),
        );
    }
    if has_device("VirtualUSBController") {
        add(
            "vmware.usb_controller.detected",
            Category::Warning,
            "USB controller detected".into(),
            "USB controllers are not currently supported by Migration Toolkit for \
             Virtualization. The VM can be migrated but the devices attached to the USB \
             controller will not be migrated. Administrators can configure this after \
             migration."
                .into(),
        );
    }
    if !supported_os(vm) {
        add(
            "vmware.os.unsupported",
            Category::Warning,
            "Unsupported operating system detected".into(),
            "The guest operating system is not currently supported by the Migration Toolkit for \
             Virtualization"
                .into(),
        );
    }
    as_opa_set(found)
}

/// OPA's set order (objects compare key by key: `assessment`, `category`, `id`,
/// `label`), without duplicates.
fn as_opa_set(mut concerns: Vec<Concern>) -> Vec<Concern> {
    concerns.sort_by(|a, b| {
        (&a.assessment, category_name(a.category), a.id, &a.label).cmp(&(
            &b.assessment,
            category_name(b.category),
            b.id,
            &b.label,
        ))
    });
    concerns.dedup();
    concerns
}

fn category_name(category: Category) -> &'static str {
    match category {
        Category::Critical => "Critical",
        Category::Warning => "Warning",
        Category::Information => "Information",
    }
}

/// The per-disk CBT label's `<bus><index>:<unit>`, as OPA computes it.
fn rego_device_key(disk: &Disk) -> String {
    format!(
        "{}{}:{}",
        disk.bus,
        rego_controller_index(disk.controller_key),
        disk.unit_number
    )
}

/// `controllerKey - (controllerKey / 100) * 100` evaluated as OPA v1.8.0 does and
/// printed with `%d`: OPA divides in `big.Float` (64-bit mantissa, round to nearest
/// even), prints the quotient with the shortest round-tripping digits, multiplies the
/// same way, and subtracts exactly only when both operands print as integers. The result
/// is `0` unless the rounding leaves a residue, which Go's `%d` prints as
/// `%!d(float64=…)`.
pub fn rego_controller_index(controller_key: i64) -> String {
    let key = i128::from(controller_key);
    // key / 100, rounded to 64 bits.
    let quotient = BigFloat::from_ratio(key, 100);
    // (key / 100) * 100, rounded to 64 bits.
    let base = quotient.times(100);
    match base.exact_integer() {
        Some(base) => {
            let index = key - base;
            index.to_string()
        }
        None => {
            // key - base in 64-bit precision: the operands are 64-bit values close to
            // each other, so the difference is exact.
            let residue = base.subtract_from(key);
            format!("%!d(float64={})", go_float(residue))
        }
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`), for the tiny
/// residues above.
fn go_float(value: f64) -> String {
    let exponent = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    if value == 0.0 || (-4..6).contains(&exponent) {
        return format!("{value}");
    }
    let formatted = format!("{value:e}");
    match formatted.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => formatted,
    }
}

/// A binary float with a 64-bit mantissa: `mantissa * 2^exponent` (`big.Float` at
/// OPA's default precision), enough for `rego_controller_index`.
#[derive(Clone, Copy, Debug)]
struct BigFloat {
    negative: bool,
    mantissa: u128,
    exponent: i32,
}

impl BigFloat {
    /// `numerator / denominator` rounded to 64 bits (nearest, ties to even).
    fn from_ratio(numerator: i128, denominator: u128) -> Self {
        let negative = numerator < 0;
        let numerator = numerator.unsigned_abs();
        if numerator == 0 {
            return Self {
                negative,
                mantissa: 0,
                exponent: 0,
            };
        }
        // Scale so that the quotient has 64 significant bits plus guard bits.
        let mut exponent: i32 = 0;
        let mut num = numerator;
        let mut den = denominator;
        while num / den >= 1 << 64 {
            den <<= 1;
            exponent += 1;
        }
        while num / den < 1 << 63 {
            num <<= 1;
            exponent -= 1;
        }
        let quotient = num / den;
        let remainder = num % den;
        let twice = remainder * 2;
        let round_up = twice > den || (twice == den && quotient & 1 == 1);
        Self::normalized(negative, quotient + u128::from(round_up), exponent)
    }

    fn normalized(negative: bool, mut mantissa: u128, mut exponent: i32) -> Self {
        while mantissa >= 1 << 64 {
            let lost = mantissa & 1;
            mantissa >>= 1;
            exponent += 1;
            // Only reached after rounding carried into a new bit: the lost bit is 0.
            debug_assert_eq!(lost, 0);
        }
        Self {
            negative,
            mantissa,
            exponent,
        }
    }

    /// `self * factor`, rounded to 64 bits.
    fn times(self, factor: u128) -> Self {
        let product = self.mantissa * factor;
        let bits = 128 - product.leading_zeros();
        if bits <= 64 {
            return Self::normalized(self.negative, product, self.exponent);
        }
        let shift = bits - 64;
        let kept = product >> shift;
        let lost = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let round_up = lost > half || (lost == half && kept & 1 == 1);
        let shift = i32::try_from(shift).unwrap_or(i32::MAX);
        Self::normalized(
            self.negative,
            kept + u128::from(round_up),
            self.exponent + shift,
        )
    }

    /// The value as an integer, if it is one.
    fn exact_integer(self) -> Option<i128> {
        let magnitude = if self.exponent >= 0 {
            let shifted = self
                .mantissa
                .checked_shl(u32::try_from(self.exponent).ok()?)?;
            i128::try_from(shifted).ok()?
        } else {
            let shift = u32::try_from(-self.exponent).ok()?;
            if shift >= 128 {
                return (self.mantissa == 0).then_some(0);
            }
            if self.mantissa & ((1u128 << shift) - 1) != 0 {
                return None;
            }
            i128::try_from(self.mantissa >> shift).ok()?
        };
        Some(if self.negative { -magnitude } else { magnitude })
    }

    /// `integer - self` as an f64, for a non-integral `self` close to `integer` (the
    /// difference is a few units of the last place, exact in an f64).
    fn subtract_from(self, integer: i128) -> f64 {
        let shift = u32::try_from(-self.exponent).unwrap_or(0).min(100);
        let mantissa = i128::try_from(self.mantissa).unwrap_or(i128::MAX);
        let signed = if self.negative { -mantissa } else { mantissa };
        let scaled = integer
            .checked_shl(shift)
            .and_then(|i| i.checked_sub(signed))
            .unwrap_or(0);
        scaled as f64 * 2f64.powi(-i32::try_from(shift).unwrap_or(0))
    }
}

/// `round(freeSpace / 1 MiB)` as Rego rounds (half away from zero).
fn rego_round_mib(bytes: i64) -> i64 {
    let half = MIB / 2;
    if bytes >= 0 {
        (bytes + half) / MIB
    } else {
        -((-bytes + half) / MIB)
    }
}

/// The guest disk's shortfall, with the MiB the rule requires.
fn short_of_space(disk: &GuestDisk) -> Vec<(&GuestDisk, i64)> {
    // An empty path or a zero free space is omitted from the JSON: the rule is undefined.
    if disk.disk_path.is_empty() || disk.free_space == 0 {
        return Vec::new();
    }
    let path = disk.disk_path.as_str();
    let windows_c = matches!(path.to_lowercase().as_str(), "c:" | "c:\\" | "c:/");
    let mut short = Vec::new();
    if path == "/" && disk.free_space < 100 * MIB {
        short.push((disk, 100));
    }
    if path == "/boot" && disk.free_space < 50 * MIB {
        short.push((disk, 50));
    }
    if windows_c && disk.free_space < 100 * MIB {
        short.push((disk, 100));
    }
    let special = path == "/" || path == "/boot" || windows_c;
    if !special && disk.free_space < 10 * MIB {
        short.push((disk, 10));
    }
    short
}

/// `^(([A-Za-z0-9][-A-Za-z0-9.]*)?[A-Za-z0-9])?$` and fewer than 64 characters.
fn valid_vm_name(name: &str) -> bool {
    if name.chars().count() >= 64 {
        return false;
    }
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    match bytes {
        [] => true,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first)
                && alnum(last)
                && middle
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
    }
}

const SUPPORTED_OS_NAMES: &[&str] = &[
    "red hat enterprise linux 7",
    "red hat enterprise linux 8",
    "red hat enterprise linux 9",
    "red hat enterprise linux 10",
    "windows 10",
    "windows 11",
    "windows server 2016",
    "windows server 2019",
    "windows server 2022",
    "windows server 2025",
];

const SUPPORTED_GUEST_IDS: &[&str] = &[
    "rhel7guest",
    "rhel7_64guest",
    "rhel8guest",
    "rhel8_64guest",
    "rhel9guest",
    "rhel9_64guest",
    "rhel10guest",
    "rhel10_64guest",
];

const SUPPORTED_WINDOWS_IDS: &[&str] = &[
    "windows10",
    "windows11",
    "windows2016",
    "windows2019",
    "windows2022",
    "windows2025",
];

/// `vm_os.rego`: the guest ID matches a supported pattern, or the tools' guest name
/// (the configured one when the tools report none) names a supported system.
fn supported_os(vm: &Vm) -> bool {
    let guest_id = vm.guest_id.to_lowercase();
    let id_supported = SUPPORTED_GUEST_IDS.iter().any(|id| guest_id.contains(id))
        || SUPPORTED_WINDOWS_IDS.iter().any(|prefix| {
            guest_id
                .match_indices(prefix)
                .any(|(at, _)| guest_id[at + prefix.len()..].contains("guest"))
        });
    let name_supported = |name: &str| {
        let name = name.to_lowercase();
        SUPPORTED_OS_NAMES.iter().any(|s| name.contains(s))
    };
    id_supported
        || name_supported(&vm.guest_name_from_vmware_tools)
        || (vm.guest_name_from_vmware_tools.is_empty() && name_supported(&vm.guest_name))
}

#[cfg(test)]
mod tests;
