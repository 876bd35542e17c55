//! The OVA Provider's `spec.url`: an NFS export, `server:/path`.
//!
//! Upstream validates it with `^[^:]+:\/[^:].*$` (`pkg/controller/provider/validation.go`
//! `isValidNFSPath`) and splits it on `:` into the NFS server and path. Ferry accepts the
//! same strings with two fixes: it splits at the *first* colon only, so a path that
//! contains a colon is kept whole (upstream's `strings.Split(url, ":")[1]` would cut it),
//! and it refuses the URL form `nfs://server/path`, which upstream's expression lets
//! through as server `nfs`, path `//server/path` (a mount that can only fail).
//!
//! # How the share reaches the pods
//!
//! Upstream mounts the export twice, read-only, with static volumes (no provisioner):
//!
//! 1. for the inventory, the OVA provider server: a `PersistentVolume` with
//!    `nfs: {server, path}`, `accessModes: [ReadOnlyMany]`, `capacity: 1Gi`,
//!    `persistentVolumeReclaimPolicy: Retain`, and a `PersistentVolumeClaim` bound to it,
//!    mounted at `/ova` (`CATALOG_PATH`);
//! 2. for each VM's conversion (`CreatePvForNfs`/`CreatePvcForNfs`, now
//!    `BuildPVForNFS`/`BuildPVCForNFS` in `pkg/controller/plan/kubevirt.go`): a PV
//!    `generateName: ova-store-pv-<provider>-<plan>-`, the same NFS source, `ReadOnlyMany`,
//!    `1Gi`, labelled `provider`, `app: forklift`, `migration`, `plan` (the Plan UID),
//!    `plan-name`, `plan-namespace`, `ova: nfs-pv`, `vmID`; and a PVC `generateName:
//!    ova-store-pvc-<provider>-<plan>-` in the target namespace with `storageClassName:
//!    ""`, `volumeName: <the PV>`, `ReadOnlyMany`, `1Gi`, the same labels with `ova:
//!    nfs-pvc` and `migration` set to the Migration UID. Both are found again by their
//!    labels rather than re-created. The virt-v2v pod mounts the claim as volume
//!    `store-pv` at `/ova`, so `ovfPath`/`FilePath` (`/ova/...`) are valid inside it and
//!    `V2V_diskPath` points at the `.ova` file (or the `.ovf`'s directory).
//!
//! Because disk IDs hash `FilePath`, the inventory must report paths under the same
//! mount point (`/ova`) for its IDs to match Forklift's:
//! [`super::CatalogConfig::mount_path`].
//!
//! In the sandbox there is no NFS server: a local directory stands in for the share.
//! The catalog is read from that directory and `mount_path` is set to it, so the
//! simulated conversion opens the very paths the inventory reports.

use std::fmt;

/// An NFS export named by a Provider URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsShare {
    /// The NFS server (host name or address).
    pub server: String,
    /// The exported path, absolute.
    pub path: String,
}

/// Why a Provider URL is not an NFS export.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the OVA provider URL '{url}' is not an NFS export: {reason}. Use the form \
     'server:/exported/path', e.g. 'nfs.example.com:/exports/ova'"
)]
pub struct NfsUrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl NfsShare {
    /// Parses `server:/path` with upstream's rule (`^[^:]+:\/[^:].*$`, where `.` does
    /// not match a newline).
    pub fn parse(url: &str) -> Result<Self, NfsUrlError> {
        let error = |reason| NfsUrlError {
            url: url.to_owned(),
            reason,
        };
        let Some((server, path)) = url.split_once(':') else {
            return Err(error("there is no ':' between server and path"));
        };
        if server.is_empty() {
            return Err(error("the server is empty"));
        }
        let mut chars = path.chars();
        if chars.next() != Some('/') {
            return Err(error("the path does not start with '/'"));
        }
        match chars.next() {
            None => return Err(error("the path is only '/'")),
            Some(':') => return Err(error("the path starts with '/:'")),
            Some('/') => return Err(error("it is a URL ('scheme://'), not 'server:/path'")),
            Some(_) => {}
        }
        // Upstream's `[^:]` may match a newline but the trailing `.*$` may not.
        if path.get(2..).is_some_and(|rest| rest.contains('\n')) {
            return Err(error("the path contains a line break"));
        }
        Ok(Self {
            server: server.to_owned(),
            path: path.to_owned(),
        })
    }
}

impl fmt::Display for NfsShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.server, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_upstream_accepts() {
        let share = NfsShare::parse("nfs.example.com:/exports/ova").unwrap();
        assert_eq!(share.server, "nfs.example.com");
        assert_eq!(share.path, "/exports/ova");
        assert_eq!(share.to_string(), "nfs.example.com:/exports/ova");
        assert_eq!(NfsShare::parse("10.0.0.1:/a").unwrap().path, "/a");
        assert_eq!(
            NfsShare::parse("h:/a:b").unwrap().path,
            "/a:b",
            "a colon later in the path is kept"
        );
    }

    #[test]
    fn rejects_what_upstream_rejects() {
        for url in [
            "",
            "server",
            ":/path",
            "server:path",
            "server:/",
            "server:/:x",
            "nfs://server/path",
            "server:/a\nb",
        ] {
            let error = NfsShare::parse(url).unwrap_err();
            assert!(
                error.to_string().contains("server:/exported/path"),
                "{url:?}"
            );
        }
        assert_eq!(
            NfsShare::parse("nfs://server/path").unwrap_err().reason,
            "it is a URL ('scheme://'), not 'server:/path'"
        );
    }
}
