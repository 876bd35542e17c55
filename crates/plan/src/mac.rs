//! MAC address conflicts between source VMs and the VMs already on the destination
//! (`adapter/base/mac_conflicts.go`, the `MacConflicts` message of `validation.go`).

use ferry_api::destination::VirtualMachine;
use std::collections::BTreeMap;

/// A destination VM with the MACs of its interfaces (upstream `DestinationVM`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationVm {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.template.spec.domain.devices.interfaces[].macAddress`, empty ones included.
    pub macs: Vec<String>,
}

impl DestinationVm {
    /// The MACs of a KubeVirt VirtualMachine (upstream `ExtractMACsFromInterfaces`).
    pub fn of(vm: &VirtualMachine) -> Self {
        Self {
            namespace: vm.metadata.namespace.clone().unwrap_or_default(),
            name: vm.metadata.name.clone().unwrap_or_default(),
            macs: vm
                .spec
                .template
                .spec
                .domain
                .devices
                .interfaces
                .iter()
                .map(|i| i.mac_address.clone().unwrap_or_default())
                .collect(),
        }
    }
}

/// One conflicting MAC (upstream `MacConflict`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacConflict {
    /// The MAC.
    pub mac: String,
    /// `<namespace>/<name>` of the destination VM that has it.
    pub destination_vm: String,
}

/// Upstream `CheckMacConflicts`: every non-empty source MAC that a destination VM also
/// has, compared exactly (case-sensitive). When several destination VMs share a MAC, the
/// last one listed is named, as upstream's map assignment does.
pub fn check(source_macs: &[String], destination: &[DestinationVm]) -> Vec<MacConflict> {
    let mut owner: BTreeMap<&str, String> = BTreeMap::new();
    for vm in destination {
        let name = format!("{}/{}", vm.namespace, vm.name);
        for mac in vm.macs.iter().filter(|m| !m.is_empty()) {
            owner.insert(mac.as_str(), name.clone());
        }
    }
    source_macs
        .iter()
        .filter(|mac| !mac.is_empty())
        .filter_map(|mac| {
            owner.get(mac.as_str()).map(|vm| MacConflict {
                mac: mac.clone(),
                destination_vm: vm.clone(),
            })
        })
        .collect()
}

/// The part of the `MacConflicts` message for one source VM: `VM <ref> has MAC address
/// conflicts: MACs <m1>, <m2> conflict with destination VM <ns>/<name>[; …]`. Upstream
/// groups by destination VM in Go map order (random); Ferry orders the groups by the
/// destination VM's first conflict, so the message is stable.
pub fn describe(vm_ref: &str, conflicts: &[MacConflict]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for conflict in conflicts {
        match groups
            .iter_mut()
            .find(|(vm, _)| *vm == conflict.destination_vm)
        {
            Some((_, macs)) => macs.push(&conflict.mac),
            None => groups.push((&conflict.destination_vm, vec![&conflict.mac])),
        }
    }
    let details: Vec<String> = groups
        .iter()
        .map(|(vm, macs)| format!("MACs {} conflict with destination VM {vm}", macs.join(", ")))
        .collect();
    format!(
        "VM {vm_ref} has MAC address conflicts: {}",
        details.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(ns: &str, name: &str, macs: &[&str]) -> DestinationVm {
        DestinationVm {
            namespace: ns.into(),
            name: name.into(),
            macs: macs.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn macs(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn conflicts_are_exact_and_skip_empty_macs() {
        let destination = [
            dest("tgt", "old", &["00:50:56:aa:bb:cc", ""]),
            dest("other", "x", &["11:22:33:44:55:66"]),
        ];
        let found = check(
            &macs(&[
                "00:50:56:aa:bb:cc",
                "00:50:56:AA:BB:CC",
                "",
                "99:99:99:99:99:99",
            ]),
            &destination,
        );
        assert_eq!(
            found,
            vec![MacConflict {
                mac: "00:50:56:aa:bb:cc".into(),
                destination_vm: "tgt/old".into()
            }]
        );
        assert!(check(&macs(&[""]), &[dest("a", "b", &[""])]).is_empty());
        assert!(check(&[], &destination).is_empty());
    }

    /// Conformance case 23.
    #[test]
    fn message_matches_upstream() {
        let found = check(
            &macs(&["00:50:56:aa:bb:cc"]),
            &[dest("tgt", "old", &["00:50:56:aa:bb:cc"])],
        );
        assert_eq!(
            describe(" id:vm-1 name:'web01' ", &found),
            "VM  id:vm-1 name:'web01'  has MAC address conflicts: MACs 00:50:56:aa:bb:cc conflict with destination VM tgt/old"
        );
        let found = check(
            &macs(&["a", "b", "c"]),
            &[dest("n", "one", &["a", "c"]), dest("n", "two", &["b"])],
        );
        assert_eq!(
            describe("R", &found),
            "VM R has MAC address conflicts: MACs a, c conflict with destination VM n/one; MACs b conflict with destination VM n/two"
        );
    }

    /// Upstream `TestExtractMACsFromInterfaces`.
    #[test]
    fn macs_of_a_virtual_machine() {
        let vm: VirtualMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "vm1", "namespace": "test-ns"},
            "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [
                {"name": "a", "macAddress": "aa:bb:cc:dd:ee:ff"},
                {"name": "b", "macAddress": "11:22:33:44:55:66"},
                {"name": "c"}
            ]}}}}}
        }))
        .unwrap();
        assert_eq!(
            DestinationVm::of(&vm),
            dest(
                "test-ns",
                "vm1",
                &["aa:bb:cc:dd:ee:ff", "11:22:33:44:55:66", ""]
            )
        );
    }
}
