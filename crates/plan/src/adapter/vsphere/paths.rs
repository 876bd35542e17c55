//! Disk file names and identifiers as upstream's vSphere adapter computes them
//! (`adapter/vsphere/utils.go`, `uuid_to_vmware_serial.go`), pure string work.

/// Upstream `trimBackingFileName`: removes the snapshot suffix of a backing file,
/// `[ds] vm/disk-000015.vmdk` → `[ds] vm/disk.vmdk`.
///
/// Upstream's pattern is the regular expression `-\d\d\d\d\d\d.vmdk`, whose `.` is not
/// escaped: any character stands between the six digits and `vmdk`, and every
/// non-overlapping match is replaced (`a-123456xvmdk` → `a.vmdk`). Ferry reproduces that
/// exactly, because the result is the identity that matches PVCs to disks.
pub fn trim_backing_file_name(file: &str) -> String {
    let chars: Vec<char> = file.chars().collect();
    let mut out = String::with_capacity(file.len());
    let mut i = 0;
    while i < chars.len() {
        if suffix_at(&chars, i) {
            out.push_str(".vmdk");
            i += 12;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Whether `-dddddd?vmdk` starts at `at`.
fn suffix_at(chars: &[char], at: usize) -> bool {
    let Some(window) = chars.get(at..at + 12) else {
        return false;
    };
    window[0] == '-'
        && window[1..7].iter().all(char::is_ascii_digit)
        && window[8..12] == ['v', 'm', 'd', 'k']
}

/// Upstream `baseVolume`: the first volume of a disk (snapshot suffix trimmed) for warm
/// migrations, the file as it is otherwise.
pub fn base_volume(file: &str, warm: bool) -> String {
    if warm {
        trim_backing_file_name(file)
    } else {
        file.to_string()
    }
}

/// Upstream `extractDiskFileName`: the file name of a datastore path,
/// `[datastore1] folder/vm-disk.vmdk` → `vm-disk.vmdk`; `/` and `\` both separate; a path
/// ending in a separator gives `""`.
pub fn extract_disk_file_name(disk_path: &str) -> String {
    if disk_path.is_empty() {
        return String::new();
    }
    let mut path = disk_path;
    // `^\[([^\]]+)\]\s*(.*)$`: a non-empty datastore name in brackets.
    if let Some(rest) = disk_path.strip_prefix('[')
        && let Some(close) = rest.find(']')
        && close > 0
    {
        path = rest[close + 1..].trim();
    }
    if path.ends_with('/') || path.ends_with('\\') {
        return String::new();
    }
    path.rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Upstream `stringifyWithQuotes`: `['a', 'b']` → `'a', 'b'`.
pub fn stringify_with_quotes(items: &[String]) -> String {
    format!("'{}'", items.join("', '"))
}

/// Upstream `UUIDToVMwareSerial`: `422c6a2a-5ea9-1083-39f3-3b140fffb444` →
/// `VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44` (lowercase); anything that
/// is not a canonical UUID is returned unchanged.
pub fn uuid_to_vmware_serial(uuid: &str) -> String {
    let groups: Vec<&str> = uuid.split('-').collect();
    let canonical = uuid.len() == 36
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if !canonical {
        return uuid.to_string();
    }
    let hex: String = groups.concat().to_ascii_lowercase();
    let pairs: Vec<&str> = (0..16).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    format!("VMware-{}-{}", pairs[..8].join(" "), pairs[8..].join(" "))
}

/// The datastore name and the path within it of `[datastore] dir/file.vmdk`, if the
/// path has that shape.
pub fn split_datastore_path(file: &str) -> Option<(&str, &str)> {
    let rest = file.trim().strip_prefix('[')?;
    let (datastore, path) = rest.split_once(']')?;
    (!datastore.is_empty()).then(|| (datastore, path.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream `validator_test.go` (`extractDiskFileName`).
    #[test]
    fn upstream_extract_disk_file_name_table() {
        for (input, want) in [
            ("[datastore1] folder/vm-disk.vmdk", "vm-disk.vmdk"),
            ("[datastore1] vm-disk.vmdk", "vm-disk.vmdk"),
            ("[datastore1] folder/subfolder/vm-disk.vmdk", "vm-disk.vmdk"),
            ("[datastore1] folder\\vm-disk.vmdk", "vm-disk.vmdk"),
            (
                "[datastore1] folder\\subfolder/vm-disk.vmdk",
                "vm-disk.vmdk",
            ),
            ("vm-disk.vmdk", "vm-disk.vmdk"),
            ("", ""),
            ("[datastore1] folder/", ""),
            ("[datastore1] VMs/test-vm/test-vm.vmdk", "test-vm.vmdk"),
            (
                "[shared-storage] shared/shared-disk.vmdk",
                "shared-disk.vmdk",
            ),
            // Not upstream's table: hostile shapes.
            ("[] a/b.vmdk", "b.vmdk"),
            ("[ds] ö/ü.vmdk", "ü.vmdk"),
        ] {
            assert_eq!(extract_disk_file_name(input), want, "{input:?}");
        }
    }

    #[test]
    fn snapshot_suffixes_are_trimmed_as_upstreams_pattern_does() {
        for (input, want) in [
            (
                "[datastore13] my-vm/disk-name-000015.vmdk",
                "[datastore13] my-vm/disk-name.vmdk",
            ),
            ("[ds] vm/vm.vmdk", "[ds] vm/vm.vmdk"),
            ("[ds] vm/vm-00001.vmdk", "[ds] vm/vm-00001.vmdk"),
            // The unescaped `.` of upstream's regular expression.
            ("[ds] vm/a-123456xvmdk", "[ds] vm/a.vmdk"),
            // Every match.
            ("[ds] a-000001.vmdk/b-000002.vmdk", "[ds] a.vmdk/b.vmdk"),
            ("[ds] ü-000001.vmdk", "[ds] ü.vmdk"),
            ("-000001", "-000001"),
        ] {
            assert_eq!(trim_backing_file_name(input), want, "{input:?}");
        }
        assert_eq!(base_volume("[ds] v/d-000003.vmdk", true), "[ds] v/d.vmdk");
        assert_eq!(
            base_volume("[ds] v/d-000003.vmdk", false),
            "[ds] v/d-000003.vmdk"
        );
    }

    /// Upstream `uuid_to_vmware_serial_test.go`.
    #[test]
    fn upstream_vmware_serial_table() {
        for (input, want) in [
            (
                "422c6a2a-5ea9-1083-39f3-3b140fffb444",
                "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44",
            ),
            (
                "422C6A2A-5EA9-1083-39F3-3B140FFFB444",
                "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44",
            ),
            (
                "422c6A2a-5eA9-1083-39F3-3b140FFFb444",
                "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44",
            ),
            (
                "00000000-0000-0000-0000-000000000000",
                "VMware-00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00",
            ),
            (
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
                "VMware-ff ff ff ff ff ff ff ff-ff ff ff ff ff ff ff ff",
            ),
            (
                "12345678-1234-1234-1234-123456789012",
                "VMware-12 34 56 78 12 34 12 34-12 34 12 34 56 78 90 12",
            ),
            (
                "abcdefab-cdef-abcd-efab-cdefabcdefab",
                "VMware-ab cd ef ab cd ef ab cd-ef ab cd ef ab cd ef ab",
            ),
        ] {
            assert_eq!(uuid_to_vmware_serial(input), want, "{input}");
        }
        for invalid in [
            "",
            "422c6a2a-5ea9-1083-39f3",
            "422c6a2a-5ea9-1083-39f3-3b140fffb444-extra",
            "422c6a2a5ea9108339f33b140fffb444",
            "422c6a2a-5ea9-1083-39f3-3b140fffb44g",
            "422c6a2a5-ea9-1083-39f3-3b140fffb444",
            "not-a-uuid",
            "422c6a2a-5ea9-1083-39f3- 3b140fffb444",
            "422c6a2a-5ea9",
            "422c6a2a-5ea9-1083-39f3-3b140fffb44é",
        ] {
            assert_eq!(uuid_to_vmware_serial(invalid), invalid, "{invalid:?}");
        }
    }

    #[test]
    fn quoting_and_datastore_paths() {
        assert_eq!(
            stringify_with_quotes(&["a".into(), "b c".into()]),
            "'a', 'b c'"
        );
        assert_eq!(
            split_datastore_path("[LocalDS_0] vm/disk1.vmdk"),
            Some(("LocalDS_0", "vm/disk1.vmdk"))
        );
        assert_eq!(split_datastore_path("[] x"), None);
        assert_eq!(split_datastore_path("no brackets"), None);
    }
}
