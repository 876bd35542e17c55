//! Reading what the virt-v2v pod reports (plan spec §4.7 C, §6.5): disk copy progress from
//! its metrics endpoint, and the converted VM (`/vm`), its firmware and boot disk, and the
//! conversion warnings.

use serde::Deserialize;
use serde_json::Value;

/// Where the conversion pod serves its metrics.
pub const METRICS_PORT: u16 = 2112;
/// Where the conversion pod serves its results.
pub const RESULTS_PORT: u16 = 8080;

/// One disk's copy progress from `v2v_disk_transfers{disk_id="<n>"} <pct>`: the 1-based
/// disk number and the percentage, clamped to 100.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiskProgress {
    /// 1-based disk number.
    pub disk: usize,
    /// Percent done (0–100).
    pub percent: f64,
}

/// The `v2v_disk_transfers` lines of a metrics page.
pub fn disk_progress(metrics: &str) -> Vec<DiskProgress> {
    let mut out = Vec::new();
    for line in metrics.lines() {
        let Some(rest) = line.trim().strip_prefix("v2v_disk_transfers{disk_id=\"") else {
            continue;
        };
        let Some((disk, rest)) = rest.split_once("\"} ") else {
            continue;
        };
        let Ok(disk) = disk.parse::<usize>() else {
            continue;
        };
        let value: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let Ok(percent) = value.parse::<f64>() else {
            continue;
        };
        if disk == 0 || !percent.is_finite() {
            continue;
        }
        out.push(DiskProgress {
            disk,
            percent: percent.min(100.0),
        });
    }
    out
}

/// The converted VM as the results endpoint describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertedVm {
    /// `bios`, `uefi`, or empty when undetected.
    pub firmware: String,
    /// Index of the first disk with `bootOrder: 1`.
    pub boot_disk: Option<i64>,
}

/// Why a `/vm` document cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the converted VM description is not valid YAML: {0}")]
pub struct ParseError(String);

/// Upstream `GetFirmwareFromYaml` and `GetDiskBootOrderFromYaml`: the firmware from the
/// old format (`spec.template.spec.domain.os.firmware`) or the new one (a BIOS or EFI
/// bootloader), and the first disk with `bootOrder: 1`.
pub fn converted_vm(yaml: &str) -> Result<ConvertedVm, ParseError> {
    if yaml.trim().is_empty() {
        return Ok(ConvertedVm::default());
    }
    let document: Value = serde_saphyr::from_str(yaml).map_err(|e| ParseError(e.to_string()))?;
    let domain = document.pointer("/spec/template/spec/domain");
    let old = domain
        .and_then(|d| d.pointer("/os/firmware"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let firmware = if !old.is_empty() {
        old.to_string()
    } else {
        match domain.and_then(|d| d.pointer("/firmware/bootloader")) {
            Some(bootloader) if bootloader.get("bios").is_some_and(|v| !v.is_null()) => {
                "bios".to_string()
            }
            Some(bootloader) if bootloader.get("efi").is_some_and(|v| !v.is_null()) => {
                "uefi".to_string()
            }
            _ => String::new(),
        }
    };
    let boot_disk = domain
        .and_then(|d| d.pointer("/devices/disks"))
        .and_then(Value::as_array)
        .and_then(|disks| {
            disks
                .iter()
                .position(|d| d.get("bootOrder").and_then(Value::as_i64) == Some(1))
        })
        .map(|i| i as i64);
    Ok(ConvertedVm {
        firmware,
        boot_disk,
    })
}

/// One virt-v2v warning from `/warnings`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Warning {
    /// Reason.
    #[serde(default)]
    pub reason: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}

/// The warnings of a `/warnings` body; anything unreadable is no warnings, as upstream.
pub fn warnings(json: &str) -> Vec<Warning> {
    serde_json::from_str(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_lines() {
        let page = "# HELP v2v_disk_transfers progress\nv2v_disk_transfers{disk_id=\"1\"} 42.5\nv2v_disk_transfers{disk_id=\"2\"} 150\nv2v_disk_transfers{disk_id=\"0\"} 5\nother 1\nv2v_disk_transfers{disk_id=\"x\"} 5\n";
        assert_eq!(
            disk_progress(page),
            [
                DiskProgress {
                    disk: 1,
                    percent: 42.5
                },
                DiskProgress {
                    disk: 2,
                    percent: 100.0
                }
            ]
        );
        assert!(disk_progress("").is_empty());
    }

    #[test]
    fn warnings_json() {
        assert_eq!(
            warnings(r#"[{"reason":"R","message":"M"}]"#),
            [Warning {
                reason: "R".into(),
                message: "M".into()
            }]
        );
        assert!(warnings("nope").is_empty());
    }

    #[test]
    fn bad_yaml_is_an_error() {
        assert!(converted_vm("not valid yaml: [").is_err());
        assert_eq!(converted_vm("").unwrap(), ConvertedVm::default());
    }
}
