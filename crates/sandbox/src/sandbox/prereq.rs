//! What `ferry sandbox` needs from the machine, installed on first use where it can be.
//!
//! The sandbox converts real disks, so it needs `qemu-img` (Debian's `qemu-utils`). The
//! README promises that `cargo run --release -- sandbox` does all the set-up on a fresh
//! Debian machine as root, so a missing `qemu-img` is installed with `apt-get` (saying so
//! first); anywhere else the sandbox stops with the command to run.
//! `FERRY_SANDBOX_NO_INSTALL=1` turns the installation off; `FERRY_QEMU_IMG` names
//! another binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Why the machine is not ready for the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum PrereqError {
    /// `qemu-img` is missing and was not installed.
    #[error("qemu-img is needed to convert disks and cannot be run ({why}). {what_to_do}")]
    QemuImgMissing {
        /// What was found.
        why: String,
        /// What the user can do.
        what_to_do: &'static str,
    },
    /// The installation was tried and failed.
    #[error(
        "installing qemu-utils with apt-get failed ({0}); install it yourself (apt-get install qemu-utils) or set FERRY_QEMU_IMG"
    )]
    InstallFailed(String),
}

/// What to do about a missing `qemu-img` (pure, so it can be tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It runs: nothing to do.
    Ready,
    /// Install Debian's `qemu-utils`.
    Install,
    /// Stop and say what to do.
    Refuse(&'static str),
}

/// Decides from what the machine offers.
pub fn decide(found: bool, root: bool, apt: bool, opt_out: bool, named: bool) -> Step {
    match (found, named, opt_out, root, apt) {
        (true, ..) => Step::Ready,
        (false, true, ..) => Step::Refuse("FERRY_QEMU_IMG names a binary that does not run."),
        (false, false, true, ..) => Step::Refuse(
            "Install it (apt-get install qemu-utils); FERRY_SANDBOX_NO_INSTALL is set, so the sandbox does not.",
        ),
        (false, false, false, true, true) => Step::Install,
        (false, false, false, false, true) => Step::Refuse(
            "Install it: sudo apt-get install qemu-utils (or run the sandbox as root to have it installed).",
        ),
        (false, false, false, _, false) => Step::Refuse(
            "Install qemu-img with your system's package manager, or set FERRY_QEMU_IMG to its path.",
        ),
    }
}

/// Makes sure `qemu-img` runs, installing `qemu-utils` when the sandbox may; reports
/// what it does on `out`.
pub fn ensure_qemu_img(out: &mut (dyn Write + Send)) -> Result<(), PrereqError> {
    let named = std::env::var_os("FERRY_QEMU_IMG");
    let binary = named.clone().unwrap_or_else(|| "qemu-img".into());
    let runs = |binary: &std::ffi::OsStr| {
        Command::new(binary)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let step = decide(
        runs(&binary),
        running_as_root(),
        Path::new("/usr/bin/apt-get").exists(),
        std::env::var_os("FERRY_SANDBOX_NO_INSTALL").is_some_and(|v| !v.is_empty() && v != "0"),
        named.is_some(),
    );
    match step {
        Step::Ready => Ok(()),
        Step::Refuse(what_to_do) => Err(PrereqError::QemuImgMissing {
            why: format!("`{} --version` failed", binary.to_string_lossy()),
            what_to_do,
        }),
        Step::Install => {
            let _ = writeln!(
                out,
                "  qemu-img is missing: installing Debian's qemu-utils with apt-get (set FERRY_SANDBOX_NO_INSTALL=1 to stop this)"
            );
            apt(&["update", "-qq"])?;
            apt(&[
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "qemu-utils",
            ])?;
            if runs(&binary) {
                Ok(())
            } else {
                Err(PrereqError::InstallFailed(
                    "qemu-img still does not run after the installation".into(),
                ))
            }
        }
    }
}

fn apt(args: &[&str]) -> Result<(), PrereqError> {
    let output = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| PrereqError::InstallFailed(e.to_string()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    Err(PrereqError::InstallFailed(format!(
        "apt-get {} exited with {}: {}",
        args.join(" "),
        output.status,
        last.unwrap_or("no message")
    )))
}

/// Whether this process runs as root (effective uid 0, from `/proc/self/status`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(effective_uid)
        == Some(0)
}

/// The effective uid of a `/proc/<pid>/status` text (`Uid: real effective saved fs`).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_missing_qemu_img_leads_to() {
        assert_eq!(decide(true, false, false, false, false), Step::Ready);
        assert_eq!(decide(false, true, true, false, false), Step::Install);
        assert!(
            matches!(decide(false, true, true, true, false), Step::Refuse(m) if m.contains("FERRY_SANDBOX_NO_INSTALL"))
        );
        assert!(
            matches!(decide(false, false, true, false, false), Step::Refuse(m) if m.contains("sudo apt-get install qemu-utils"))
        );
        assert!(
            matches!(decide(false, true, false, false, false), Step::Refuse(m) if m.contains("FERRY_QEMU_IMG"))
        );
        assert!(
            matches!(decide(false, true, true, false, true), Step::Refuse(m) if m.contains("FERRY_QEMU_IMG names"))
        );
    }

    #[test]
    fn the_effective_uid_is_the_second_field() {
        let status = "Name:\tferry\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("garbage"), None);
    }
}
