//! Where volumes live on this machine.
//!
//! - A volume the sandbox provisions is a directory `<data>/volumes/<pv name>`, holding
//!   `disk.img` as CDI lays out filesystem volumes; a `Block` volume's `hostPath` names
//!   the image file itself (it stands in for the device).
//! - An `nfs` volume is a local directory: the NFS path, which must be (inside) one of
//!   the configured shares ([`super::config::ClusterConfig::shares`]) — the sandbox has
//!   no NFS server, the catalog directory stands in for the export.
//!
//! Every path handed to a workload is canonicalized and checked to be inside the volume
//! directory or a share, so no object in the API can make the sandbox read or write
//! elsewhere.

use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::Api;

use super::config::ClusterConfig;
use super::kubeapi;

/// The image file in a filesystem volume, as CDI names it.
pub const DISK_IMAGE: &str = "disk.img";

/// A volume as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostVolume {
    /// A directory (filesystem volumes, NFS shares).
    Dir(PathBuf),
    /// A file standing in for a block device.
    Block(PathBuf),
}

impl HostVolume {
    /// The path.
    pub fn path(&self) -> &Path {
        match self {
            Self::Dir(path) | Self::Block(path) => path,
        }
    }
}

/// Why a volume cannot be mounted (the kubelet's `FailedMount`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// The claim does not exist.
    #[error("persistentvolumeclaim \"{0}\" not found")]
    ClaimNotFound(String),
    /// The claim is not bound yet.
    #[error("persistentvolumeclaim \"{0}\" is not bound")]
    ClaimNotBound(String),
    /// The bound volume does not exist.
    #[error("persistentvolume \"{0}\" not found")]
    VolumeNotFound(String),
    /// The volume's source is not one the sandbox can mount.
    #[error(
        "persistentvolume \"{volume}\" has a {kind} source; the sandbox mounts hostPath, \
         local and nfs volumes only"
    )]
    Unsupported {
        /// The volume.
        volume: String,
        /// Its source kind.
        kind: &'static str,
    },
    /// The volume's path is outside the sandbox's volume directory and shares.
    #[error(
        "persistentvolume \"{volume}\" points at {path}, which is outside the sandbox's \
         volume directory and NFS shares; add the directory as a share (the sandbox's \
         --catalog) or use the sandbox's storage class"
    )]
    Outside {
        /// The volume.
        volume: String,
        /// The path it names.
        path: String,
    },
    /// The volume's path does not exist.
    #[error("persistentvolume \"{volume}\": {path} does not exist")]
    Missing {
        /// The volume.
        volume: String,
        /// The path it names.
        path: String,
    },
    /// The API could not be read.
    #[error("{0}")]
    Api(String),
}

/// The directory of the provisioned volume `pv`.
pub fn volume_dir(config: &ClusterConfig, pv: &str) -> PathBuf {
    config.volumes_dir().join(pv)
}

/// The roots inside which volumes may live: the volume directory and the shares.
pub fn roots(config: &ClusterConfig) -> Vec<PathBuf> {
    let mut roots = vec![config.volumes_dir()];
    roots.extend(config.shares.iter().cloned());
    roots
}

/// Canonicalizes `path` and checks it is inside one of `roots` (also canonicalized).
pub fn inside(path: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    roots
        .iter()
        .filter_map(|root| root.canonicalize().ok())
        .any(|root| real.starts_with(&root))
        .then_some(real)
}

/// Whether a path has no `..`, no root or prefix component after the first, and is
/// not empty: a path a container names, safe to join under a mount point.
pub fn is_plain_relative(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The host volume behind `namespace/claim`.
pub async fn resolve_claim(
    client: &kube::Client,
    config: &ClusterConfig,
    namespace: &str,
    claim: &str,
) -> Result<HostVolume, MountError> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let pvc = kubeapi::get_opt(&pvcs, claim)
        .await
        .map_err(|e| MountError::Api(e.to_string()))?
        .ok_or_else(|| MountError::ClaimNotFound(claim.to_owned()))?;
    let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let volume = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|v| !v.is_empty() && bound)
        .ok_or_else(|| MountError::ClaimNotBound(claim.to_owned()))?;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pv = kubeapi::get_opt(&pvs, &volume)
        .await
        .map_err(|e| MountError::Api(e.to_string()))?
        .ok_or_else(|| MountError::VolumeNotFound(volume.clone()))?;
    host_volume(config, &pv)
}

/// The host volume behind a PersistentVolume (pure but for the path checks).
pub fn host_volume(
    config: &ClusterConfig,
    pv: &PersistentVolume,
) -> Result<HostVolume, MountError> {
    let name = pv.metadata.name.clone().unwrap_or_default();
    let spec = pv.spec.clone().unwrap_or_default();
    let block = spec.volume_mode.as_deref() == Some("Block");
    let path = if let Some(host) = &spec.host_path {
        host.path.clone()
    } else if let Some(local) = &spec.local {
        local.path.clone()
    } else if let Some(nfs) = &spec.nfs {
        nfs.path.clone()
    } else {
        let kind = if spec.csi.is_some() {
            "csi"
        } else if spec.iscsi.is_some() {
            "iscsi"
        } else {
            "unknown"
        };
        return Err(MountError::Unsupported { volume: name, kind });
    };
    let requested = Path::new(&path);
    if !requested.is_absolute() {
        return Err(MountError::Outside { volume: name, path });
    }
    if !requested.exists() {
        // A path outside the roots is reported as such even when it is also missing,
        // so nothing is learnt about the rest of the file system.
        let parent_inside = requested.parent().and_then(|p| inside(p, &roots(config)));
        return Err(match parent_inside {
            Some(_) => MountError::Missing { volume: name, path },
            None => MountError::Outside { volume: name, path },
        });
    }
    let real = inside(requested, &roots(config)).ok_or_else(|| MountError::Outside {
        volume: name.clone(),
        path: path.clone(),
    })?;
    Ok(if block {
        HostVolume::Block(real)
    } else {
        HostVolume::Dir(real)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{HostPathVolumeSource, NFSVolumeSource, PersistentVolumeSpec};

    fn pv(spec: PersistentVolumeSpec) -> PersistentVolume {
        PersistentVolume {
            metadata: kube::api::ObjectMeta {
                name: Some("pv-1".into()),
                ..Default::default()
            },
            spec: Some(spec),
            status: None,
        }
    }

    #[test]
    fn volumes_resolve_inside_the_sandbox_only() {
        let data = tempfile::tempdir().unwrap();
        let share = tempfile::tempdir().unwrap();
        let mut config = ClusterConfig::new(data.path());
        config.shares = vec![share.path().to_owned()];
        let dir = volume_dir(&config, "pvc-1");
        std::fs::create_dir_all(&dir).unwrap();

        let ok = pv(PersistentVolumeSpec {
            host_path: Some(HostPathVolumeSource {
                path: dir.display().to_string(),
                type_: None,
            }),
            ..Default::default()
        });
        assert_eq!(
            host_volume(&config, &ok).unwrap(),
            HostVolume::Dir(dir.canonicalize().unwrap())
        );

        let nfs = pv(PersistentVolumeSpec {
            nfs: Some(NFSVolumeSource {
                server: "127.0.0.1".into(),
                path: share.path().display().to_string(),
                read_only: None,
            }),
            ..Default::default()
        });
        assert!(host_volume(&config, &nfs).is_ok());

        for path in ["/etc", "relative/dir", "/nonexistent/x"] {
            let bad = pv(PersistentVolumeSpec {
                nfs: Some(NFSVolumeSource {
                    server: "h".into(),
                    path: path.into(),
                    read_only: None,
                }),
                ..Default::default()
            });
            assert!(
                matches!(host_volume(&config, &bad), Err(MountError::Outside { .. })),
                "{path}"
            );
        }
        let escape = pv(PersistentVolumeSpec {
            host_path: Some(HostPathVolumeSource {
                path: format!("{}/../..", dir.display()),
                type_: None,
            }),
            ..Default::default()
        });
        assert!(matches!(
            host_volume(&config, &escape),
            Err(MountError::Outside { .. })
        ));
        let missing = pv(PersistentVolumeSpec {
            host_path: Some(HostPathVolumeSource {
                path: format!("{}/gone", dir.display()),
                type_: None,
            }),
            ..Default::default()
        });
        assert!(matches!(
            host_volume(&config, &missing),
            Err(MountError::Missing { .. })
        ));
        assert!(matches!(
            host_volume(&config, &pv(PersistentVolumeSpec::default())),
            Err(MountError::Unsupported { .. })
        ));
    }

    #[test]
    fn plain_relative_paths() {
        assert!(is_plain_relative(Path::new("a/b.vmdk")));
        assert!(!is_plain_relative(Path::new("../a")));
        assert!(!is_plain_relative(Path::new("/a")));
        assert!(!is_plain_relative(Path::new("a/../../b")));
    }
}
