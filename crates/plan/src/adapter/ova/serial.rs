//! Disk serials (upstream `base.DiskSerial`, `adapter/base/disk_serial.go`).

use sha2::{Digest, Sha256};

/// The longest serial QEMU keeps for a virtio disk.
pub const MAX_DISK_SERIAL_LENGTH: usize = 20;

/// Upstream `DiskSerial`: the source's disk ID with everything but ASCII letters, digits
/// and `-` removed, cut to 20 characters; when nothing is left, the first 20 hex digits
/// of SHA-256 over `<vm_id>:<disk_key>`. The guest then finds the disk under the same
/// `/dev/disk/by-id/` name on every migration.
pub fn disk_serial(source_id: &str, vm_id: &str, disk_key: i64) -> String {
    let sanitized: String = source_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(MAX_DISK_SERIAL_LENGTH)
        .collect();
    if !sanitized.is_empty() {
        return sanitized;
    }
    let digest = Sha256::digest(format!("{vm_id}:{disk_key}").as_bytes());
    let mut serial = hex::encode(digest);
    serial.truncate(MAX_DISK_SERIAL_LENGTH);
    serial
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream `disk_serial_test.go`.
    #[test]
    fn upstream_table() {
        assert_eq!(
            disk_serial("6000C29a-1234-5678-abcd-000000000001", "vm-42", 0),
            "6000C29a-1234-5678-a"
        );
        assert_eq!(disk_serial("disk-123", "vm-42", 0), "disk-123");
        let fallback = disk_serial("", "vm-42", 0);
        assert_eq!(fallback.len(), MAX_DISK_SERIAL_LENGTH);
        assert_eq!(fallback, disk_serial("", "vm-42", 0), "deterministic");
        assert_eq!(
            disk_serial("@@@", "vm-42", 0),
            fallback,
            "sanitized to nothing"
        );
        assert_ne!(disk_serial("", "vm-42", 1), fallback, "differs by disk key");
        assert_ne!(
            disk_serial("", "vm-1", 0),
            disk_serial("", "vm-2", 0),
            "differs by VM"
        );
        for (input, expected) in [
            ("abc123", "abc123"),
            ("disk@#$%^&*()", "disk"),
            ("disk 01", "disk01"),
            ("{12345678-abcd}", "12345678-abcd"),
        ] {
            assert_eq!(disk_serial(input, "vm", 0), expected, "{input}");
        }
    }

    /// The fallback is SHA-256 of `<vm>:<key>`: `printf 'vm-42:0' | sha256sum | cut -c1-20`.
    #[test]
    fn fallback_vector() {
        assert_eq!(disk_serial("", "vm-42", 0), "19a2bbbf1a05c9dee17c");
    }

    #[test]
    fn non_ascii_is_dropped_not_split() {
        assert_eq!(disk_serial("dïsk-ü1", "vm", 0), "dsk-1");
        assert_eq!(disk_serial("ééé", "vm", 3), disk_serial("", "vm", 3));
    }
}
