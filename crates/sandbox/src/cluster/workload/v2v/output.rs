//! What virt-v2v writes after a conversion (pure): the KubeVirt VirtualMachine YAML of
//! `-o kubevirt` (served at `:8080/vm`; the firmware in the new `firmware.bootloader`
//! form Forklift parses, `bootOrder: 1` on the first disk) and the inspector's XML
//! (served at `:8080/inspection`), and the monitor's progress metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferry_inventory::ova::model::{ExportSource, Vm};
use serde_json::{Value, json};

/// The virt-v2v version the output claims to come from.
pub const VIRT_V2V_VERSION: &str = "2.5.8";

/// The guest OS virt-v2v's inspection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOs {
    /// `linux` or `windows`.
    pub name: &'static str,
    /// `rhel`, `centos`, `ubuntu`, `debian`, `windows`, `unknown`.
    pub distro: &'static str,
    /// The libosinfo short ID.
    pub osinfo: String,
    /// Major version.
    pub major: u32,
}

/// The guest OS for an OVF `osType` (VMware guest IDs like `rhel9_64Guest`, VirtualBox
/// names like `RedHat_64`), as the inspection would find it.
pub fn guest_os(os_type: &str) -> GuestOs {
    let t = os_type.to_ascii_lowercase();
    let number = |prefix: &str| -> Option<u32> {
        let rest = t.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let linux = |distro: &'static str, osinfo: String, major: u32| GuestOs {
        name: "linux",
        distro,
        osinfo,
        major,
    };
    let windows = |osinfo: &str, major: u32| GuestOs {
        name: "windows",
        distro: "windows",
        osinfo: osinfo.to_owned(),
        major,
    };
    if let Some(v) = number("rhel") {
        return linux("rhel", format!("rhel{v}.0"), v);
    }
    if let Some(v) = number("centos") {
        return linux("centos", format!("centos{v}"), v);
    }
    if let Some(v) = number("debian") {
        return linux("debian", format!("debian{v}"), v);
    }
    if t.starts_with("ubuntu") {
        return linux("ubuntu", "ubuntu22.04".into(), 22);
    }
    if t.starts_with("redhat") {
        return linux("rhel", "rhel9.0".into(), 9);
    }
    if t.contains("windows2019srvnext") {
        return windows("win2k22", 10);
    }
    if t.contains("windows2022srvnext") {
        return windows("win2k25", 10);
    }
    if t.contains("windows2019srv") {
        return windows("win2k19", 10);
    }
    if t.contains("windows11") {
        return windows("win11", 10);
    }
    if t.contains("windows9") || t.contains("windows10") {
        return windows("win10", 10);
    }
    if t.contains("win") {
        return windows("win10", 10);
    }
    linux("unknown", "linux2022".into(), 0)
}

/// The `libguestfs.org/source` label: the hypervisor the appliance came from.
fn source_label(source: ExportSource) -> &'static str {
    match source {
        ExportSource::VMware => "vmware",
        ExportSource::Ovirt => "ovirt",
        ExportSource::Xen => "xen",
        ExportSource::VirtualBox | ExportSource::Unknown => "kvm",
    }
}

/// Whether the VM boots with UEFI.
pub fn is_efi(vm: &Vm) -> bool {
    matches!(vm.firmware.to_ascii_lowercase().as_str(), "efi" | "uefi")
}

/// `sda`, `sdb`, ..., `sdz`, `sdaa` (virt-v2v's output disk names).
pub fn disk_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'a' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("sd{}", String::from_utf8_lossy(&letters))
}

/// The `-o kubevirt` YAML for the converted VM named `name`.
pub fn vm_yaml(vm: &Vm, name: &str) -> String {
    let os = guest_os(&vm.os_type);
    let bootloader = if is_efi(vm) {
        let mut efi = json!({ "persistent": true });
        if vm.secure_boot {
            efi["secureBoot"] = json!(true);
        }
        json!({ "efi": efi })
    } else {
        json!({ "bios": {} })
    };
    let cores = vm.cores_per_socket.max(1);
    let cpus = vm.cpu_count.max(1);
    let memory_mib = vm.memory_bytes().unwrap_or(1 << 30).max(1 << 20) >> 20;
    let disks: Vec<Value> = (0..vm.disks.len())
        .map(|i| {
            let mut disk = json!({ "name": format!("disk-{i}"), "disk": { "bus": "virtio" } });
            if i == 0 {
                disk["bootOrder"] = json!(1);
            }
            disk
        })
        .collect();
    let volumes: Vec<Value> = (0..vm.disks.len())
        .map(|i| {
            json!({
                "name": format!("disk-{i}"),
                "hostDisk": { "path": format!("/var/tmp/v2v/{name}-{}", disk_letters(i)), "type": "Disk" },
            })
        })
        .collect();
    let mut features = json!({ "acpi": {}, "apic": {} });
    if vm.secure_boot {
        features["smm"] = json!({ "enabled": true });
    }
    let document = json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": name,
            "labels": {
                "libguestfs.org/virt-v2v-version": VIRT_V2V_VERSION,
                "libguestfs.org/osinfo": os.osinfo,
                "libguestfs.org/source": source_label(vm.export_source),
            },
        },
        "spec": { "template": { "spec": {
            "domain": {
                "firmware": { "bootloader": bootloader },
                "features": features,
                "cpu": { "sockets": (cpus / cores).max(1), "cores": cores, "threads": 1 },
                "resources": { "requests": { "memory": format!("{memory_mib}Mi") } },
                "devices": { "disks": disks },
            },
            "volumes": volumes,
            "terminationGracePeriodSeconds": 0,
        } } },
    });
    let body = serde_saphyr::to_string(&document).unwrap_or_default();
    format!(
        "---\n# generated by virt-v2v {VIRT_V2V_VERSION} (simulated by the ferry sandbox)\n{body}"
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// The virt-v2v-inspector XML for the VM, whose disks have `virtual_sizes`.
pub fn inspection_xml(vm: &Vm, virtual_sizes: &[u64]) -> String {
    let os = guest_os(&vm.os_type);
    let mut out = String::from("<?xml version='1.0' encoding='utf-8'?>\n<v2v-inspection>\n");
    let _ = writeln!(out, "  <program>virt-v2v-inspector</program>");
    let _ = writeln!(out, "  <package>virt-v2v</package>");
    let _ = writeln!(out, "  <version>{VIRT_V2V_VERSION}</version>");
    out.push_str("  <disks>\n");
    for (i, size) in virtual_sizes.iter().enumerate() {
        let _ = writeln!(
            out,
            "    <disk index='{i}'>\n      <virtual-size>{size}</virtual-size>\n    </disk>"
        );
    }
    out.push_str("  </disks>\n  <operatingsystem>\n");
    let _ = writeln!(out, "    <name>{}</name>", os.name);
    let _ = writeln!(out, "    <distro>{}</distro>", os.distro);
    let _ = writeln!(out, "    <osinfo>{}</osinfo>", xml_escape(&os.osinfo));
    let _ = writeln!(out, "    <arch>x86_64</arch>");
    let _ = writeln!(out, "    <major_version>{}</major_version>", os.major);
    let _ = writeln!(out, "    <minor_version>0</minor_version>");
    let _ = writeln!(
        out,
        "    <product_name>{}</product_name>",
        xml_escape(&vm.name)
    );
    let root = if os.name == "windows" { "C:\\" } else { "/" };
    let _ = writeln!(
        out,
        "    <mountpoints>\n      <mountpoint dev='/dev/sda1'>{root}</mountpoint>\n    </mountpoints>"
    );
    out.push_str("  </operatingsystem>\n");
    let _ = writeln!(
        out,
        "  <firmware type='{}'/>",
        if is_efi(vm) { "uefi" } else { "bios" }
    );
    out.push_str("</v2v-inspection>\n");
    out
}

/// The virt-v2v monitor's metrics: percent copied per disk (1-based `disk_id`), as the
/// Prometheus Go client renders a counter vector.
pub fn metrics_text(progress: &BTreeMap<usize, f64>) -> String {
    let mut out = String::from(
        "# HELP v2v_disk_transfers Percent of disk copied\n# TYPE v2v_disk_transfers counter\n",
    );
    for (disk, pct) in progress {
        let pct = (pct.clamp(0.0, 100.0) * 10.0).floor() / 10.0;
        let _ = writeln!(out, "v2v_disk_transfers{{disk_id=\"{disk}\"}} {pct}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(firmware: &str, secure_boot: bool, disks: usize) -> Vm {
        let disk = ferry_inventory::ova::model::Disk {
            id: "d".into(),
            name: "disk.vmdk".into(),
            file_path: "/ova/x.ova".into(),
            capacity: 1,
            capacity_allocation_units: "byte * 2^20".into(),
            disk_id: "vmdisk1".into(),
            file_ref: "file1".into(),
            format: String::new(),
            populated_size: 0,
        };
        Vm {
            id: "id".into(),
            name: "web".into(),
            ovf_path: "/ova/x.ova".into(),
            export_source: ExportSource::VMware,
            os_type: "rhel9_64Guest".into(),
            revision: 1,
            uuid: "id".into(),
            firmware: firmware.into(),
            secure_boot,
            cpu_hot_add_enabled: false,
            cpu_hot_remove_enabled: false,
            memory_hot_add_enabled: false,
            cpu_count: 4,
            cores_per_socket: 2,
            memory: 2048,
            memory_units: "byte * 2^20".into(),
            cpu_units: String::new(),
            devices: vec![],
            nics: vec![],
            disks: vec![disk; disks],
            networks: vec![],
            concerns: vec![],
        }
    }

    fn parse(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn vm_yaml_has_the_firmware_forklift_reads() {
        let efi = parse(&vm_yaml(&vm("efi", true, 2), "web"));
        let domain = &efi["spec"]["template"]["spec"]["domain"];
        assert_eq!(domain["firmware"]["bootloader"]["efi"]["persistent"], true);
        assert_eq!(domain["firmware"]["bootloader"]["efi"]["secureBoot"], true);
        assert_eq!(domain["features"]["smm"]["enabled"], true);
        assert_eq!(domain["cpu"]["sockets"], 2);
        assert_eq!(domain["resources"]["requests"]["memory"], "2048Mi");
        assert_eq!(domain["devices"]["disks"][0]["bootOrder"], 1);
        assert!(domain["devices"]["disks"][1].get("bootOrder").is_none());
        assert_eq!(
            efi["spec"]["template"]["spec"]["volumes"][1]["hostDisk"]["path"],
            "/var/tmp/v2v/web-sdb"
        );
        let bios = parse(&vm_yaml(&vm("bios", false, 1), "web"));
        assert!(
            bios["spec"]["template"]["spec"]["domain"]["firmware"]["bootloader"]["bios"]
                .is_object()
        );
        let unset = parse(&vm_yaml(&vm("", false, 1), "web"));
        assert!(
            unset["spec"]["template"]["spec"]["domain"]["firmware"]["bootloader"]["bios"]
                .is_object()
        );
    }

    #[test]
    fn inspection_names_the_os() {
        let xml = inspection_xml(&vm("efi", false, 1), &[64 << 20]);
        assert!(xml.contains("<osinfo>rhel9.0</osinfo>"));
        assert!(xml.contains("<firmware type='uefi'/>"));
        assert_eq!(guest_os("windows2019srvNext_64Guest").osinfo, "win2k22");
        assert_eq!(guest_os("otherGuest64").name, "linux");
        assert_eq!(guest_os("Windows10_64").name, "windows");
    }

    #[test]
    fn letters_and_metrics() {
        assert_eq!(disk_letters(0), "sda");
        assert_eq!(disk_letters(25), "sdz");
        assert_eq!(disk_letters(26), "sdaa");
        let text = metrics_text(&BTreeMap::from([(1, 42.56), (2, 100.0), (3, 250.0)]));
        assert!(text.contains("v2v_disk_transfers{disk_id=\"1\"} 42.5\n"));
        assert!(text.contains("v2v_disk_transfers{disk_id=\"2\"} 100\n"));
        assert!(text.contains("v2v_disk_transfers{disk_id=\"3\"} 100\n"));
    }
}
