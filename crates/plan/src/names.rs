//! Kubernetes name rules and upstream's target-name logic (`pkg/controller/plan/util`,
//! `adapter/base/template.go`, `vm_name_handler.go`).
//!
//! - [`is_dns1123_label`], [`is_dns1123_subdomain`]: apimachinery's `IsDNS1123Label` /
//!   `IsDNS1123Subdomain`, as booleans;
//! - [`change_vm_name`]: upstream `ChangeVmName`, which turns any source name into a
//!   DNS-1123 subdomain;
//! - [`resolve_target_vm_name`]: upstream `ResolveTargetVmName`, the `TargetVmName` of PVC
//!   name templates;
//! - [`suffix`]: the 4-character `[a-z0-9]` suffix upstream draws at random. Ferry derives
//!   it from a seed (the VM ID) instead, so a name chosen before a crash is chosen again
//!   after it (see `docs/compatibility.md`).

use sha2::{Digest, Sha256};

/// Maximum length of a DNS-1123 label (and of a name built from one).
pub const DNS1123_LABEL_MAX: usize = 63;
/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;

fn is_label_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Whether `s` is a non-empty run of `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (no length check).
fn is_label_shape(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            is_label_char(first)
                && is_label_char(last)
                && bytes.iter().all(|&b| is_label_char(b) || b == b'-')
        }
        _ => false,
    }
}

/// apimachinery `IsDNS1123Label`: at most 63 characters of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= DNS1123_LABEL_MAX && is_label_shape(s)
}

/// apimachinery `IsDNS1123Subdomain`: at most 253 characters of dot-separated
/// [`is_dns1123_label`] shapes.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= DNS1123_SUBDOMAIN_MAX && !s.is_empty() && s.split('.').all(is_label_shape)
}

const SUFFIX_CHARSET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A 4-character `[a-z0-9]` suffix derived from `seed`. Upstream draws it at random
/// (`GenerateRandomSuffix`); Ferry hashes the seed so the same VM gets the same name after
/// a restart.
pub fn suffix(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .take(4)
        .map(|b| char::from(SUFFIX_CHARSET[usize::from(*b) % SUFFIX_CHARSET.len()]))
        .collect()
}

/// Upstream `ChangeVmName`: lower-cases the name, splits it on dots, replaces `_ + * space
/// / \` with dashes, drops every other character outside `[a-z0-9-]`, collapses and trims
/// dashes, caps each part and the whole name at 63 characters, and falls back to
/// `vm-<suffix>` when nothing is left. The result is a DNS-1123 subdomain (and, unless
/// the source name has dots, a label). `seed` (the VM ID) makes the fallback suffix
/// deterministic.
pub fn change_vm_name(name: &str, seed: &str) -> String {
    let lower = name.to_lowercase();
    let trimmed = lower.trim_matches(|c| c == '.' || c == '-');
    let mut parts: Vec<String> = Vec::new();
    for part in trimmed.split('.') {
        let replaced: String = part
            .chars()
            .map(|c| match c {
                '_' | '+' | '*' | ' ' | '/' | '\\' => '-',
                other => other,
            })
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let mut cleaned = replaced
            .split('-')
            .filter(|piece| !piece.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if cleaned.len() > DNS1123_LABEL_MAX {
            cleaned.truncate(DNS1123_LABEL_MAX);
            cleaned = cleaned.trim_matches('-').to_string();
        }
        if !cleaned.is_empty() {
            parts.push(cleaned);
        }
    }
    let mut joined = parts.join(".");
    if joined.len() > DNS1123_LABEL_MAX {
        joined.truncate(DNS1123_LABEL_MAX);
        joined = joined.trim_matches(|c| c == '.' || c == '-').to_string();
    }
    if joined.is_empty() {
        joined = format!("vm-{}", suffix(seed));
    }
    joined
}

/// Upstream's name for a VM whose normalized name is taken (`changeVmNameDNS1123`): cut
/// to 58 characters, then `-<suffix>`.
pub fn with_suffix(name: &str, seed: &str) -> String {
    let mut base = name.to_string();
    if base.len() > DNS1123_LABEL_MAX - 5 {
        base.truncate(DNS1123_LABEL_MAX - 5);
    }
    format!("{base}-{}", suffix(seed))
}

fn has_ascii_alphanumeric(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Upstream `ResolveTargetVmName`: the DNS-safe target name of a VM, used as
/// `TargetVmName` in PVC name templates. First non-empty wins:
///
/// 1. `target_name` (the spec VM's `targetName`, trimmed);
/// 2. `new_name` (the status VM's `newName`, from a previous run);
/// 3. `vm_name` when it is a DNS-1123 label;
/// 4. [`change_vm_name`] of the name when it has an ASCII letter or digit, else of the
///    VM ID, else `vm-0000`.
pub fn resolve_target_vm_name(
    target_name: Option<&str>,
    new_name: Option<&str>,
    vm_id: &str,
    vm_name: &str,
) -> String {
    if let Some(name) = target_name.map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    if let Some(name) = new_name.filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    if is_dns1123_label(vm_name) {
        return vm_name.to_string();
    }
    if has_ascii_alphanumeric(vm_name) {
        change_vm_name(vm_name, vm_id)
    } else if has_ascii_alphanumeric(vm_id) {
        change_vm_name(vm_id, vm_id)
    } else {
        "vm-0000".to_string()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        for ok in ["a", "web01", "a-b", "0", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(!is_dns1123_label(bad), "{bad:?}");
        }
        assert!(is_dns1123_subdomain("a.b.c"));
        assert!(is_dns1123_subdomain(&"a".repeat(64)));
        for bad in ["", ".a", "a.", "a..b", "My VM", "Bad_NS", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad:?}");
        }
    }

    /// Upstream `utils_test.go` ("VM Name Handler").
    #[test]
    fn change_vm_name_upstream_vectors() {
        let cases = [
            (
                "----------------Vm!@#$%^&*()_+-Name/.is,';[]-CorREct-<>123----------------------",
                "vm-name.is-correct-123",
            ),
            ("mtv.func.-.rhel.-...8.8", "mtv.func.rhel.8.8"),
            (
                ".....mtv.func..-...............rhel.-...8.8",
                "mtv.func.rhel.8.8",
            ),
            ("vm with spaces in name", "vm-with-spaces-in-name"),
            ("vm+with+plus+signs", "vm-with-plus-signs"),
            (
                "vm---with----multiple-----dashes",
                "vm-with-multiple-dashes",
            ),
            (
                "vm   +++with   ---mixed+++   ---characters",
                "vm-with-mixed-characters",
            ),
            ("vm*with*asterisk*characters", "vm-with-asterisk-characters"),
            ("Web_01", "web-01"),
        ];
        for (input, want) in cases {
            let got = change_vm_name(input, "vm-1");
            assert_eq!(got, want, "{input}");
            assert!(is_dns1123_subdomain(&got));
        }
        let long = change_vm_name(&"a".repeat(73), "vm-1");
        assert_eq!(long, "a".repeat(63));
    }

    #[test]
    fn change_vm_name_empty_falls_back_to_seeded_suffix() {
        let a = change_vm_name(".__.", "vm-1");
        assert!(a.starts_with("vm-") && a.len() == 7, "{a}");
        assert!(is_dns1123_label(&a));
        assert_eq!(a, change_vm_name(".__.", "vm-1"), "deterministic");
        assert_ne!(a, change_vm_name(".__.", "vm-2"), "seeded by the VM");
    }

    #[test]
    fn hostile_names_never_panic_and_stay_valid() {
        let hostile = [
            "../../etc/passwd".to_string(),
            "🚀🚀🚀".to_string(),
            "ÉCOLE.Été".to_string(),
            "x".repeat(10_000),
            "İstanbul".to_string(),
            "a.".repeat(5_000),
            "\u{0}\u{7f}".to_string(),
        ];
        for name in hostile {
            let got = change_vm_name(&name, "id");
            assert!(is_dns1123_subdomain(&got), "{got:?}");
            assert!(got.len() <= DNS1123_LABEL_MAX);
        }
        assert_eq!(change_vm_name("../../etc/passwd", "id"), "etc-passwd");
    }

    /// Upstream `template_test.go` (`TestResolveTargetVmName`).
    #[test]
    fn resolve_target_vm_name_upstream_vectors() {
        let id = "358ce831-f790-4ad9-8ee0-ee272b0ecac4";
        assert_eq!(
            resolve_target_vm_name(None, None, id, "valid-name"),
            "valid-name"
        );
        assert_eq!(
            resolve_target_vm_name(None, None, id, "rhel9-node_2"),
            "rhel9-node-2"
        );
        assert_eq!(
            resolve_target_vm_name(Some("  custom-target  "), None, id, "rhel9-node_2"),
            "custom-target"
        );
        assert_eq!(
            resolve_target_vm_name(None, Some("migrated-name"), id, "rhel9-node_2"),
            "migrated-name"
        );
        assert_eq!(
            resolve_target_vm_name(
                Some("explicit-target"),
                Some("migrated-name"),
                id,
                "rhel9-node_2"
            ),
            "explicit-target"
        );
        assert_eq!(
            resolve_target_vm_name(Some("   "), None, id, "rhel9-node_2"),
            "rhel9-node-2"
        );
        assert_eq!(
            resolve_target_vm_name(None, None, id, "My_VM+Name"),
            "my-vm-name"
        );
        let first = resolve_target_vm_name(None, None, id, "...");
        assert_eq!(first, resolve_target_vm_name(None, None, id, "..."));
        let other =
            resolve_target_vm_name(None, None, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "...");
        assert_ne!(first, other);
        assert!(is_dns1123_label(&first), "{first}");
        assert_eq!(resolve_target_vm_name(None, None, "---", "..."), "vm-0000");
    }

    #[test]
    fn suffixed_names_fit_a_label() {
        let name = with_suffix(&"a".repeat(63), "vm-1");
        assert_eq!(name.len(), 63);
        assert!(is_dns1123_label(&name));
        assert_eq!(
            with_suffix("web", "vm-1"),
            format!("web-{}", suffix("vm-1"))
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
