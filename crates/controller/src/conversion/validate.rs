//! Validation of a Conversion's spec (upstream `pkg/controller/conversion/validation.go`),
//! plus the names Ferry checks before they reach a URL or a pod: a Conversion with any
//! of these `Critical` conditions fails with their messages. Pure.

use ferry_api::Conversion;
use ferry_api::condition::{Condition, category, reason};
use ferry_api::conversion::{ConversionType, DiskEncryptionType};
use ferry_plan::names::{is_dns1123_label, is_dns1123_subdomain};

use super::pod::target_namespace;

/// Condition types of a Conversion.
pub mod types {
    /// `spec.type` is not a known type.
    pub const TYPE_NOT_VALID: &str = "TypeNotValid";
    /// `spec.vm` is empty.
    pub const VM_NOT_SET: &str = "VMNotSet";
    /// A conversion without disks.
    pub const DISKS_NOT_SET: &str = "DisksNotSet";
    /// No connection secret.
    pub const CONNECTION_NOT_SET: &str = "ConnectionNotSet";
    /// A deep inspection without VDDK image.
    pub const VDDK_IMAGE_NOT_SET: &str = "VDDKImageNotSet";
    /// LUKS without its secret.
    pub const LUKS_SECRET_NOT_SET: &str = "LUKSSecretNotSet";
    /// No target namespace.
    pub const TARGET_NAMESPACE_NOT_SET: &str = "TargetNamespaceNotSet";
    /// Ferry: the target namespace is not a namespace name.
    pub const TARGET_NAMESPACE_NOT_VALID: &str = "TargetNamespaceNotValid";
    /// Ferry: disks the pod cannot mount.
    pub const DISKS_NOT_VALID: &str = "DisksNotValid";
    /// Ferry: a connection secret the pod cannot mount.
    pub const CONNECTION_NOT_VALID: &str = "ConnectionNotValid";
    /// Ferry: disk encryption the pod cannot use.
    pub const DISK_ENCRYPTION_NOT_VALID: &str = "DiskEncryptionNotValid";
    /// Ferry: `podSettings` the API server would refuse.
    pub const POD_SETTINGS_NOT_VALID: &str = "PodSettingsNotValid";
    /// The conversion failed.
    pub const CONVERSION_FAILED: &str = "ConversionFailed";
    /// The conversion was canceled.
    pub const CONVERSION_CANCELED: &str = "ConversionCanceled";
    /// What a running conversion is doing.
    pub const ADVISORY: &str = "Advisory";
}

/// Longest name quoted in a condition item.
const QUOTE_LIMIT: usize = 80;

/// `value` quoted, cut at [`QUOTE_LIMIT`] characters: a hostile name must not bloat the
/// status.
pub fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTE_LIMIT {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(QUOTE_LIMIT).collect();
        format!("{cut:?}… ({} characters)", value.chars().count())
    }
}

fn critical(r#type: &str, reason: &str, message: &str) -> Condition {
    Condition::new(r#type, category::CRITICAL)
        .with_reason(reason)
        .with_message(message)
}

fn absolute_clean(path: &str) -> bool {
    path.starts_with('/') && !path.contains('\0') && path.split('/').all(|segment| segment != "..")
}

fn disk_problems(conversion: &Conversion) -> Vec<String> {
    let namespace = target_namespace(conversion);
    let mut problems = Vec::new();
    for (i, disk) in conversion.spec.disks.iter().enumerate() {
        if !is_dns1123_label(&disk.name) {
            problems.push(format!(
                "disks[{i}]: name {} is not a DNS-1123 label (it names the pod volume)",
                quote(&disk.name)
            ));
        }
        if disk.namespace.is_empty() {
            problems.push(format!("disks[{i}]: namespace is required"));
        } else if disk.namespace != namespace {
            problems.push(format!(
                "disks[{i}]: namespace {} is not the pod's namespace {}",
                quote(&disk.namespace),
                quote(namespace)
            ));
        }
        for (field, path) in [
            ("mountPath", &disk.mount_path),
            ("devicePath", &disk.device_path),
        ] {
            if !path.is_empty() && !absolute_clean(path) {
                problems.push(format!(
                    "disks[{i}]: {field} {} is not an absolute path",
                    quote(path)
                ));
            }
        }
    }
    problems
}

/// The secret reference `(namespace, name)` problems: the pod mounts secrets of its own
/// namespace only.
fn secret_problems(
    what: &str,
    namespace: Option<&str>,
    name: &str,
    pod_namespace: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_dns1123_subdomain(name) {
        problems.push(format!(
            "{what}: name {} is not a DNS-1123 subdomain",
            quote(name)
        ));
    }
    if let Some(namespace) = namespace.filter(|n| !n.is_empty())
        && namespace != pod_namespace
    {
        problems.push(format!(
            "{what}: namespace {} is not the pod's namespace {}",
            quote(namespace),
            quote(pod_namespace)
        ));
    }
    problems
}

/// Whether a `generateName` prefix can name a pod.
fn valid_generate_name(prefix: &str) -> bool {
    // The API server cuts the prefix and appends five characters; what is left must
    // read as a subdomain once a character is appended.
    prefix.len() <= 253 && is_dns1123_subdomain(&format!("{prefix}a"))
}

/// The conditions a Conversion's spec earns (empty when it is valid).
pub fn findings(conversion: &Conversion) -> Vec<Condition> {
    let spec = &conversion.spec;
    let mut found = Vec::new();
    if !spec.r#type.is_known() {
        found.push(critical(
            types::TYPE_NOT_VALID,
            reason::NOT_VALID,
            "The `Type` must be one of: DeepInspection, Inspection, InPlace, Remote.",
        ));
    }
    if spec.target_namespace.is_empty() {
        found.push(critical(
            types::TARGET_NAMESPACE_NOT_SET,
            reason::NOT_SET,
            "The `targetNamespace` field is required.",
        ));
    } else if !is_dns1123_label(&spec.target_namespace) {
        found.push(
            critical(
                types::TARGET_NAMESPACE_NOT_VALID,
                reason::NOT_VALID,
                "The `targetNamespace` is not a namespace name (a DNS-1123 label).",
            )
            .with_items([quote(&spec.target_namespace)]),
        );
    }
    if spec.vm.not_set() {
        found.push(critical(
            types::VM_NOT_SET,
            reason::NOT_SET,
            "The `VM` reference is not set.",
        ));
    }
    if matches!(
        spec.r#type,
        ConversionType::InPlace | ConversionType::Remote
    ) && spec.disks.is_empty()
    {
        found.push(critical(
            types::DISKS_NOT_SET,
            reason::NOT_SET,
            "The `Disks` field is required for this conversion type.",
        ));
    }
    let disks = disk_problems(conversion);
    if !disks.is_empty() {
        found.push(
            critical(
                types::DISKS_NOT_VALID,
                reason::NOT_VALID,
                "Some `disks` cannot be mounted by the conversion pod.",
            )
            .with_items(disks),
        );
    }
    let pod_namespace = target_namespace(conversion);
    let secret = &spec.connection.secret;
    match secret.name.as_deref().filter(|n| !n.is_empty()) {
        None => found.push(critical(
            types::CONNECTION_NOT_SET,
            reason::NOT_SET,
            "The `Connection.Secret` is required.",
        )),
        Some(name) => {
            let problems = secret_problems(
                "connection.secret",
                secret.namespace.as_deref(),
                name,
                pod_namespace,
            );
            if !problems.is_empty() {
                found.push(
                    critical(
                        types::CONNECTION_NOT_VALID,
                        reason::NOT_VALID,
                        "The `connection.secret` cannot be mounted by the conversion pod.",
                    )
                    .with_items(problems),
                );
            }
        }
    }
    if spec.r#type == ConversionType::DeepInspection && spec.vddk_image.is_empty() {
        found.push(critical(
            types::VDDK_IMAGE_NOT_SET,
            reason::NOT_SET,
            "The `vddkImage` field is required when `type` is DeepInspection.",
        ));
    }
    if let Some(encryption) = &spec.disk_encryption {
        match &encryption.r#type {
            DiskEncryptionType::Luks => {
                match encryption.secret.name.as_deref().filter(|n| !n.is_empty()) {
                    None => found.push(critical(
                        types::LUKS_SECRET_NOT_SET,
                        reason::NOT_SET,
                        "The `diskEncryption.secret` is required when `diskEncryption.type` is LUKS.",
                    )),
                    Some(name) => {
                        let problems = secret_problems(
                            "diskEncryption.secret",
                            encryption.secret.namespace.as_deref(),
                            name,
                            pod_namespace,
                        );
                        if !problems.is_empty() {
                            found.push(
                                critical(
                                    types::DISK_ENCRYPTION_NOT_VALID,
                                    reason::NOT_VALID,
                                    "The `diskEncryption.secret` cannot be mounted by the conversion pod.",
                                )
                                .with_items(problems),
                            );
                        }
                    }
                }
            }
            DiskEncryptionType::Clevis => {}
            DiskEncryptionType::Unknown(other) => found.push(
                critical(
                    types::DISK_ENCRYPTION_NOT_VALID,
                    reason::NOT_VALID,
                    "The `diskEncryption.type` must be LUKS or Clevis.",
                )
                .with_items([quote(other)]),
            ),
        }
    }
    let generate_name = &spec.pod_settings.generate_name;
    if !generate_name.is_empty() && !valid_generate_name(generate_name) {
        found.push(
            critical(
                types::POD_SETTINGS_NOT_VALID,
                reason::NOT_VALID,
                "The `podSettings.generateName` cannot prefix a pod name.",
            )
            .with_items([quote(generate_name)]),
        );
    }
    found
}
