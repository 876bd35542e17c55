//! Finding appliances in the catalog directory (I/O): upstream's `findApplianceFiles`
//! and `isFileComplete` (`cmd/provider-common/inventory/scan.go`).
//!
//! The rules, as upstream:
//!
//! - a file whose name ends in `.ova` (any case) is an archive when it is at depth ≤ 2
//!   (the root or one directory down); one ending in `.ovf` is a descriptor at depth ≤ 3;
//! - directories are never appliances, whatever their name;
//! - archives come first, then descriptors, each in lexical walk order;
//! - a file is taken only when it is not empty and was last modified at least the
//!   settle time ago (upstream: 30 s), so files still being copied are not read.
//!
//! Where Ferry differs: the walk stops at depth 3 (nothing deeper can match; upstream
//! walks the whole share); a settle time of zero accepts every non-empty file (upstream
//! compares strictly, which tests cannot rely on); and symbolic links are followed only
//! to regular files inside the catalog (upstream opens whatever a link points at).
//! Symlinked directories are not descended, as upstream. Names that are not UTF-8 are
//! reported, not taken: paths travel as strings in JSON, annotations and the
//! conversion pod's environment.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::convert::ApplianceKind;
use crate::query::Problem;

/// Maximum depth of a `.ova` file (1 = in the catalog root).
const OVA_MAX_DEPTH: usize = 2;
/// Maximum depth of a `.ovf` file.
const OVF_MAX_DEPTH: usize = 3;

/// An appliance file ready to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The path relative to the catalog root, `/`-separated.
    pub relative: String,
    /// The path to open (inside the catalog; symlinks already resolved).
    pub path: PathBuf,
    /// Archive or descriptor.
    pub kind: ApplianceKind,
    /// Size in bytes.
    pub len: u64,
    /// Last modification time.
    pub modified: SystemTime,
}

/// The outcome of one walk.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, archives first.
    pub candidates: Vec<Candidate>,
    /// Files and directories that could not be considered, with why.
    pub problems: Vec<Problem>,
    /// How long until the soonest file still settling may be read, if any is.
    pub next_settle: Option<Duration>,
}

/// The catalog root itself cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the catalog directory '{path}': {source}")]
pub struct DiscoveryError {
    /// The root.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// Walks `root`. `mount_path` is how the conversion pod sees the root (for problem
/// subjects); `now` is the clock reading used for the settle rule.
pub fn discover(
    root: &Path,
    mount_path: &str,
    settle: Duration,
    now: SystemTime,
) -> Result<Discovery, DiscoveryError> {
    let canonical_root = fs::canonicalize(root).map_err(|source| DiscoveryError {
        path: root.to_owned(),
        source,
    })?;
    let mut walk = Walk {
        canonical_root: &canonical_root,
        mount_path,
        settle,
        now,
        ovas: Vec::new(),
        ovfs: Vec::new(),
        discovery: Discovery::default(),
    };
    walk.directory(&canonical_root, "", true, 1)
        .map_err(|source| DiscoveryError {
            path: root.to_owned(),
            source,
        })?;
    let Walk {
        ovas,
        ovfs,
        mut discovery,
        ..
    } = walk;
    discovery.candidates = ovas.into_iter().chain(ovfs).collect();
    Ok(discovery)
}

struct Walk<'a> {
    canonical_root: &'a Path,
    mount_path: &'a str,
    settle: Duration,
    now: SystemTime,
    ovas: Vec<Candidate>,
    ovfs: Vec<Candidate>,
    discovery: Discovery,
}

impl Walk<'_> {
    /// Lists one directory whose files are at `depth`; `utf8` says whether `relative`
    /// is the exact (UTF-8) path. Errors only for the root; deeper directories that
    /// cannot be read are reported and skipped, as upstream.
    fn directory(
        &mut self,
        dir: &Path,
        relative: &str,
        utf8: bool,
        depth: usize,
    ) -> io::Result<()> {
        let mut entries: Vec<fs::DirEntry> = match fs::read_dir(dir) {
            Ok(entries) => entries.collect::<io::Result<_>>(),
            Err(error) => Err(error),
        }
        .or_else(|error| {
            if depth == 1 {
                return Err(error);
            }
            self.problem(
                relative,
                "DirectoryUnreadable",
                format!(
                    "the directory cannot be read ({error}); appliances in it are not listed. \
                 Check its permissions"
                ),
            );
            Ok(Vec::new())
        })?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let child_relative = join(relative, &name);
            if file_type.is_dir() {
                if depth < OVF_MAX_DEPTH {
                    let child_utf8 = utf8 && name.to_str().is_some();
                    self.directory(&entry.path(), &child_relative, child_utf8, depth + 1)?;
                }
                continue;
            }
            let Some(kind) = appliance_kind(&name, depth) else {
                continue;
            };
            if !utf8 || name.to_str().is_none() {
                self.problem(
                    &child_relative,
                    "NameNotUtf8",
                    format!(
                        "the file name is not valid UTF-8 and cannot be passed to the conversion; \
                     rename it (as read: '{child_relative}')"
                    ),
                );
                continue;
            }
            self.file(&entry.path(), child_relative, kind, file_type.is_symlink());
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, relative: String, kind: ApplianceKind, symlink: bool) {
        let path =
            if symlink {
                match fs::canonicalize(path) {
                    Ok(target) if target.starts_with(self.canonical_root) => target,
                    Ok(target) => {
                        self.problem(&relative, "SymlinkOutsideCatalog", format!(
                        "the symbolic link points outside the catalog (to '{}'); Ferry reads \
                         nothing outside it. Copy the appliance into the catalog instead",
                        target.display()
                    ));
                        return;
                    }
                    Err(error) => {
                        self.problem(
                            &relative,
                            "SymlinkBroken",
                            format!("the symbolic link cannot be resolved ({error})"),
                        );
                        return;
                    }
                }
            } else {
                path.to_owned()
            };
        let metadata = match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => return,
            Err(error) => {
                self.problem(
                    &relative,
                    "FileUnreadable",
                    format!("the file's metadata cannot be read ({error})"),
                );
                return;
            }
        };
        let Ok(modified) = metadata.modified() else {
            return;
        };
        if metadata.len() == 0 {
            return;
        }
        let age = self.now.duration_since(modified).unwrap_or(Duration::ZERO);
        if age < self.settle {
            let remaining = self.settle - age;
            self.discovery.next_settle = Some(
                self.discovery
                    .next_settle
                    .map_or(remaining, |soonest| soonest.min(remaining)),
            );
            return;
        }
        let candidate = Candidate {
            relative,
            path,
            kind,
            len: metadata.len(),
            modified,
        };
        match kind {
            ApplianceKind::Ova => self.ovas.push(candidate),
            ApplianceKind::Ovf => self.ovfs.push(candidate),
        }
    }

    fn problem(&mut self, relative: &str, reason: &'static str, message: String) {
        self.discovery.problems.push(Problem {
            subject: subject(self.mount_path, relative),
            reason,
            message,
        });
    }
}

/// How the conversion pod names a catalog-relative path.
pub fn subject(mount_path: &str, relative: &str) -> String {
    format!("{}/{relative}", mount_path.trim_end_matches('/'))
}

/// Whether a file name at `depth` is an appliance, by upstream's suffix and depth rules.
fn appliance_kind(name: &OsStr, depth: usize) -> Option<ApplianceKind> {
    let bytes = name.as_encoded_bytes();
    let suffix = |ext: &[u8]| {
        bytes.len() >= ext.len() && bytes[bytes.len() - ext.len()..].eq_ignore_ascii_case(ext)
    };
    if depth <= OVA_MAX_DEPTH && suffix(b".ova") {
        Some(ApplianceKind::Ova)
    } else if depth <= OVF_MAX_DEPTH && suffix(b".ovf") {
        Some(ApplianceKind::Ovf)
    } else {
        None
    }
}

fn join(relative: &str, name: &OsStr) -> String {
    let name = name.to_string_lossy();
    if relative.is_empty() {
        name.into_owned()
    } else {
        format!("{relative}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn write(root: &Path, relative: &str, bytes: &[u8]) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn found(discovery: &Discovery) -> Vec<(&str, ApplianceKind)> {
        discovery
            .candidates
            .iter()
            .map(|c| (c.relative.as_str(), c.kind))
            .collect()
    }

    fn run(root: &Path) -> Discovery {
        discover(root, "/ova", Duration::ZERO, SystemTime::now()).unwrap()
    }

    /// Upstream's `scan_test.go` cases (with content, since empty files are skipped).
    #[test]
    fn upstream_depth_and_extension_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "test.ova",
            "test.ovf",
            "subdir1/test1.ova",
            "subdir1/test1.ovf",
            "subdir1/subdir2/test2.ovf",
            "subdir1/subdir2/test3.ova",
            "subdir1/subdir2/subdir3/test3.ovf",
            "test.txt",
            "subdir1.ova/test.ova",
            "subdir2.ovf/test.ovf",
            "UPPER.OVA",
            "Mixed.Ovf",
        ] {
            write(root, file, b"x");
        }
        fs::create_dir_all(root.join("empty.ova")).unwrap();
        let discovery = run(root);
        use ApplianceKind::{Ova, Ovf};
        assert_eq!(
            found(&discovery),
            [
                ("UPPER.OVA", Ova),
                ("subdir1/test1.ova", Ova),
                ("subdir1.ova/test.ova", Ova),
                ("test.ova", Ova),
                ("Mixed.Ovf", Ovf),
                ("subdir1/subdir2/test2.ovf", Ovf),
                ("subdir1/test1.ovf", Ovf),
                ("subdir2.ovf/test.ovf", Ovf),
                ("test.ovf", Ovf),
            ]
        );
        assert!(discovery.problems.is_empty());
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = discover(
            &dir.path().join("nope"),
            "/ova",
            Duration::ZERO,
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cannot read the catalog directory")
        );
    }

    #[test]
    fn empty_and_settling_files_wait() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "empty.ova", b"");
        write(root, "fresh.ova", b"x");
        write(root, "old.ova", b"x");
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(root.join("old.ova"))
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        let discovery = discover(root, "/ova", Duration::from_secs(30), SystemTime::now()).unwrap();
        assert_eq!(found(&discovery), [("old.ova", ApplianceKind::Ova)]);
        let wait = discovery.next_settle.unwrap();
        assert!(wait <= Duration::from_secs(30) && wait > Duration::ZERO);
        let later = discover(
            root,
            "/ova",
            Duration::from_secs(30),
            SystemTime::now() + Duration::from_secs(31),
        )
        .unwrap();
        assert_eq!(later.candidates.len(), 2, "empty files are never taken");
    }

    #[test]
    fn symlinks_are_followed_only_inside_the_catalog() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.ova", b"x");
        write(outside.path(), "dir/inner.ova", b"x");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "real/vm.ova", b"x");
        std::os::unix::fs::symlink(outside.path().join("secret.ova"), root.join("escape.ova"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("real/vm.ova"), root.join("alias.ova")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("dir"), root.join("linked")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("broken.ova")).unwrap();
        let discovery = run(root);
        assert_eq!(
            found(&discovery),
            [
                ("alias.ova", ApplianceKind::Ova),
                ("real/vm.ova", ApplianceKind::Ova)
            ]
        );
        let reasons: Vec<(&str, &str)> = discovery
            .problems
            .iter()
            .map(|p| (p.subject.as_str(), p.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("/ova/broken.ova", "SymlinkBroken"),
                ("/ova/escape.ova", "SymlinkOutsideCatalog")
            ]
        );
        assert!(
            discovery.candidates[0]
                .path
                .starts_with(fs::canonicalize(root).unwrap())
        );
    }

    #[test]
    fn names_that_are_not_utf8_are_reported() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join(OsStr::from_bytes(b"caf\xe9.ova")), b"x").unwrap();
        fs::create_dir(root.join(OsStr::from_bytes(b"d\xff"))).unwrap();
        fs::write(root.join(OsStr::from_bytes(b"d\xff")).join("x.ova"), b"x").unwrap();
        fs::write(root.join(OsStr::from_bytes(b"notes\xe9.txt")), b"x").unwrap();
        let discovery = run(root);
        assert!(discovery.candidates.is_empty());
        assert_eq!(discovery.problems.len(), 2);
        assert!(discovery.problems.iter().all(|p| p.reason == "NameNotUtf8"));
        assert!(discovery.problems[0].message.contains("not valid UTF-8"));
    }

    #[test]
    fn a_catalog_of_a_thousand_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for i in 0..1000 {
            write(root, &format!("d{}/vm{i:04}.ova", i % 10), b"x");
        }
        let discovery = run(root);
        assert_eq!(discovery.candidates.len(), 1000);
        assert_eq!(discovery.candidates[0].relative, "d0/vm0000.ova");
    }
}
