//! Disk serial numbers of the target VM's disks (upstream `adapter/base/disk_serial.go`):
//! the source disk ID when it has one, so `/dev/disk/by-id/` stays stable across the
//! migration, else a deterministic serial from the VM ID and disk key.

use sha2::{Digest, Sha256};

/// Longest serial QEMU keeps.
pub const MAX_DISK_SERIAL_LENGTH: usize = 20;

/// Upstream `DiskSerial`: `source_id` with every character outside `[A-Za-z0-9-]`
/// removed, cut to 20 characters; when that leaves nothing, the first 20 hex digits of
/// `sha256("<vm_id>:<disk_key>")`.
pub fn disk_serial(source_id: &str, vm_id: &str, disk_key: i64) -> String {
    let sanitized = sanitize(source_id);
    if !sanitized.is_empty() {
        return sanitized.chars().take(MAX_DISK_SERIAL_LENGTH).collect();
    }
    let digest = Sha256::digest(format!("{vm_id}:{disk_key}").as_bytes());
    hex::encode(digest)[..MAX_DISK_SERIAL_LENGTH].to_string()
}

/// Keeps ASCII letters, digits and `-`.
pub fn sanitize(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstream `disk_serial_test.go`.
    #[test]
    fn upstream_table() {
        let serial = disk_serial("6000C29a-1234-5678-abcd-000000000001", "vm-42", 0);
        assert_eq!(serial, "6000C29a-1234-5678-a");
        assert_eq!(disk_serial("disk-123", "vm-42", 0), "disk-123");
        let fallback = disk_serial("", "vm-42", 0);
        assert_eq!(fallback.len(), MAX_DISK_SERIAL_LENGTH);
        assert_eq!(fallback, disk_serial("", "vm-42", 0));
        assert_eq!(disk_serial("@@@", "vm-42", 0), fallback);
        assert_ne!(disk_serial("", "vm-42", 1), fallback);
        assert_ne!(disk_serial("", "vm-1", 0), disk_serial("", "vm-2", 0));
        // The value itself: sha256("vm-42:0").
        let digest = hex::encode(Sha256::digest(b"vm-42:0"));
        assert_eq!(fallback, digest[..20]);
        for (input, want) in [
            (
                "6000C29a-1234-5678-abcd-000000000001",
                "6000C29a-1234-5678-abcd-000000000001",
            ),
            ("abc123", "abc123"),
            ("disk@#$%^&*()", "disk"),
            ("", ""),
            ("disk 01", "disk01"),
            ("{12345678-abcd}", "12345678-abcd"),
            ("dïsk", "dsk"),
        ] {
            assert_eq!(sanitize(input), want, "{input}");
        }
    }
}
