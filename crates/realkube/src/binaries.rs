//! Finding the binaries `tools/kube/build.sh` builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The environment variable `scripts/setup.d/30-kube.sh` exports: the directory that
/// holds `kube-apiserver`, `etcd`, `kube-controller-manager` and `kubectl`.
pub const BIN_ENV: &str = "FERRY_KUBE_BIN";

/// The build script, by its path in this repository.
const BUILD_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/kube/build.sh");

/// The programs the directory must hold.
const REQUIRED: [&str; 4] = [
    "kube-apiserver",
    "etcd",
    "kube-controller-manager",
    "kubectl",
];

/// A directory holding the real control-plane binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Finds the binaries without building anything: `FERRY_KUBE_BIN` if it is set,
    /// else the build cache of `tools/kube/build.sh` when it is complete. Fails with
    /// [`Error::BinariesMissing`] (which says to run `scripts/test`) otherwise, so a test
    /// never waits minutes for a compiler.
    pub fn locate() -> Result<Self> {
        match std::env::var_os(BIN_ENV) {
            Some(dir) if !dir.is_empty() => Self::from_dir(PathBuf::from(dir)),
            _ => Self::run_build_script(&["--cached"]),
        }
    }

    /// Builds the binaries with `tools/kube/build.sh` (minutes when the Go build cache
    /// is cold, well under a second when the binaries are cached) and returns them.
    pub fn build() -> Result<Self> {
        Self::run_build_script(&[])
    }

    /// Uses the binaries in `dir`, checking that each one is there and executable.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|name| !is_executable(&dir.join(name)))
            .collect();
        if missing.is_empty() {
            Ok(Binaries { dir })
        } else {
            Err(Error::BinariesMissing {
                reason: format!("{} has no executable {}", dir.display(), missing.join(", ")),
            })
        }
    }

    /// The directory that holds the binaries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `kube-apiserver` binary.
    pub fn kube_apiserver(&self) -> PathBuf {
        self.dir.join("kube-apiserver")
    }

    /// The `etcd` binary.
    pub fn etcd(&self) -> PathBuf {
        self.dir.join("etcd")
    }

    /// The `kube-controller-manager` binary.
    pub fn kube_controller_manager(&self) -> PathBuf {
        self.dir.join("kube-controller-manager")
    }

    /// The `kubectl` binary.
    pub fn kubectl(&self) -> PathBuf {
        self.dir.join("kubectl")
    }

    fn run_build_script(args: &[&str]) -> Result<Self> {
        let script = Path::new(BUILD_SCRIPT);
        if !script.is_file() {
            return Err(Error::BinariesMissing {
                reason: format!("{BIN_ENV} is not set and {} is missing", script.display()),
            });
        }
        let output = Command::new("bash")
            .arg(script)
            .args(args)
            .output()
            .map_err(|e| Error::io("run", script, e))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() == Some(CACHE_MISS_EXIT) {
            return Err(Error::BinariesMissing {
                reason: format!("{BIN_ENV} is not set and {}", stderr.trim()),
            });
        }
        if !output.status.success() {
            return Err(Error::Build {
                status: output.status.to_string(),
                output: last_lines(&format!("{stdout}{stderr}"), 30),
            });
        }
        let dir = stdout.lines().last().unwrap_or_default().trim();
        Self::from_dir(PathBuf::from(dir))
    }
}

/// The exit status `build.sh --cached` uses for "not built yet".
const CACHE_MISS_EXIT: i32 = 3;

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The last `n` lines of `text`.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_directory_names_every_missing_binary_and_scripts_test() {
        let dir = tempfile::tempdir().unwrap();
        let err = Binaries::from_dir(dir.path()).unwrap_err();
        let text = err.to_string();
        for name in REQUIRED {
            assert!(text.contains(name), "{text}");
        }
        assert!(
            text.contains("run scripts/test (or tools/kube/build.sh)"),
            "{text}"
        );
    }

    #[test]
    fn a_file_that_is_not_executable_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        for name in REQUIRED {
            std::fs::write(dir.path().join(name), "#!/bin/sh\n").unwrap();
        }
        let err = Binaries::from_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("kube-apiserver"), "{err}");
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
        assert_eq!(last_lines("", 5), "");
    }
}
