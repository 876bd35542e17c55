//! What a container sees: its environment and its mounts, resolved from the pod spec and
//! the objects it names (Secrets, ConfigMaps, claims), as the kubelet resolves them
//! before it starts a container. Values from Secrets stay in memory and are never
//! printed ([`Env`]'s `Debug` shows names only).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, Pod, Secret, Volume};
use kube::{Api, ResourceExt};

use crate::cluster::config::ClusterConfig;
use crate::cluster::kubeapi;
use crate::cluster::volumes::{self, HostVolume, MountError};

/// A container's environment. `Debug` prints the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env(pub BTreeMap<String, String>);

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env {
    /// One variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What is mounted at a container path.
#[derive(Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A host directory (a claim's volume, an NFS share, an `emptyDir`).
    Dir(PathBuf),
    /// Files from a ConfigMap or Secret, by key.
    Files(BTreeMap<String, Vec<u8>>),
    /// Something the sandbox does not materialize (projected tokens, downward API).
    Other,
}

impl fmt::Debug for MountSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(path) => f.debug_tuple("Dir").field(path).finish(),
            Self::Files(files) => f.debug_tuple("Files").field(&files.keys()).finish(),
            Self::Other => f.write_str("Other"),
        }
    }
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where the container sees it.
    pub path: PathBuf,
    /// What it is.
    pub source: MountSource,
}

/// A block device a container sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Where the container sees it (`/dev/block0`).
    pub path: PathBuf,
    /// The host file standing in for it.
    pub host: PathBuf,
}

/// A container, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    /// Its name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// `command` then `args`.
    pub argv: Vec<String>,
    /// Its environment.
    pub env: Env,
    /// Its mounts, longest path first.
    pub mounts: Vec<Mount>,
    /// Its block devices.
    pub devices: Vec<Device>,
}

impl ContainerView {
    /// The host path behind a container path inside a directory mount, if any. The
    /// remainder of the path must be plain (no `..`); the caller still checks the real
    /// path with [`volumes::inside`] before using it.
    pub fn host_path(&self, container_path: &Path) -> Option<PathBuf> {
        self.mounts.iter().find_map(|mount| {
            let MountSource::Dir(dir) = &mount.source else {
                return None;
            };
            let rest = container_path.strip_prefix(&mount.path).ok()?;
            volumes::is_plain_relative(rest).then(|| dir.join(rest))
        })
    }

    /// The content of a file from a ConfigMap or Secret mount.
    pub fn file(&self, container_path: &Path) -> Option<&[u8]> {
        self.mounts.iter().find_map(|mount| {
            let MountSource::Files(files) = &mount.source else {
                return None;
            };
            let rest = container_path.strip_prefix(&mount.path).ok()?;
            files.get(rest.to_str()?).map(Vec::as_slice)
        })
    }

    /// The host file behind a device path.
    pub fn device(&self, container_path: &Path) -> Option<&Path> {
        self.devices
            .iter()
            .find(|d| d.path == container_path)
            .map(|d| d.host.as_path())
    }
}

/// Why a container cannot start yet (the pod stays `Pending`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// A volume cannot be mounted (`FailedMount`).
    #[error("MountVolume.SetUp failed for volume \"{volume}\": {reason}")]
    Mount {
        /// The pod's volume name.
        volume: String,
        /// Why.
        reason: String,
    },
    /// A claim is not bound (the scheduler's `Unschedulable`).
    #[error("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims ({0})")]
    Unbound(String),
    /// A Secret or ConfigMap the environment names is missing
    /// (`CreateContainerConfigError`).
    #[error("{0}")]
    Config(String),
}

impl NotReady {
    /// The Kubernetes reason for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Mount { .. } => "FailedMount",
            Self::Unbound(_) => "Unschedulable",
            Self::Config(_) => "CreateContainerConfigError",
        }
    }
}

/// Reads Secrets and ConfigMaps of one namespace, once each.
struct Objects<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
    secrets: BTreeMap<String, Option<Secret>>,
    config_maps: BTreeMap<String, Option<ConfigMap>>,
}

impl<'a> Objects<'a> {
    fn new(client: &'a kube::Client, namespace: &'a str) -> Self {
        Self {
            client,
            namespace,
            secrets: BTreeMap::new(),
            config_maps: BTreeMap::new(),
        }
    }

    async fn secret(&mut self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>, NotReady> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), self.namespace);
            let found = kubeapi::get_opt(&api, name)
                .await
                .map_err(|e| NotReady::Config(e.to_string()))?;
            self.secrets.insert(name.to_owned(), found);
        }
        Ok(self
            .secrets
            .get(name)
            .and_then(|s| s.as_ref())
            .map(|secret| {
                let mut data: BTreeMap<String, Vec<u8>> = secret
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect();
                for (k, v) in secret.string_data.iter().flatten() {
                    data.insert(k.clone(), v.clone().into_bytes());
                }
                data
            }))
    }

    async fn config_map(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, NotReady> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), self.namespace);
            let found = kubeapi::get_opt(&api, name)
                .await
                .map_err(|e| NotReady::Config(e.to_string()))?;
            self.config_maps.insert(name.to_owned(), found);
        }
        Ok(self
            .config_maps
            .get(name)
            .and_then(|c| c.as_ref())
            .map(|cm| {
                let mut data: BTreeMap<String, Vec<u8>> = cm
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect();
                for (k, v) in cm.binary_data.iter().flatten() {
                    data.insert(k.clone(), v.0.clone());
                }
                data
            }))
    }
}

/// Facts about the pod that `fieldRef`s read.
#[derive(Debug, Clone)]
pub struct PodFacts {
    /// Its IP.
    pub ip: Option<Ipv4Addr>,
    /// Its host's IP.
    pub host_ip: Ipv4Addr,
}

/// Resolves every container of `pod` (init containers first, in order).
pub async fn resolve(
    client: &kube::Client,
    config: &ClusterConfig,
    pod: &Pod,
    facts: &PodFacts,
) -> Result<(Vec<ContainerView>, Vec<ContainerView>), NotReady> {
    let namespace = pod.namespace().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let mut objects = Objects::new(client, &namespace);
    let mut sources = BTreeMap::new();
    for volume in spec.volumes.iter().flatten() {
        let source = volume_source(client, config, pod, volume, &mut objects).await?;
        sources.insert(volume.name.clone(), source);
    }
    let views = |containers: &[Container]| -> Vec<(Container, Vec<Mount>, Vec<Device>)> {
        containers
            .iter()
            .map(|c| {
                let mut mounts: Vec<Mount> = c
                    .volume_mounts
                    .iter()
                    .flatten()
                    .filter_map(|m| {
                        let source = sources.get(&m.name)?;
                        let source = match (source, m.sub_path.as_deref().filter(|s| !s.is_empty()))
                        {
                            (Resolved::Dir(dir), Some(sub))
                                if volumes::is_plain_relative(Path::new(sub)) =>
                            {
                                MountSource::Dir(dir.join(sub))
                            }
                            (Resolved::Dir(_), Some(_)) => MountSource::Other,
                            (Resolved::Dir(dir), None) => MountSource::Dir(dir.clone()),
                            (Resolved::Files(files), _) => MountSource::Files(files.clone()),
                            (Resolved::Block(_) | Resolved::Other, _) => MountSource::Other,
                        };
                        Some(Mount {
                            path: PathBuf::from(&m.mount_path),
                            source,
                        })
                    })
                    .collect();
                mounts.sort_by_key(|m| std::cmp::Reverse(m.path.as_os_str().len()));
                let devices = c
                    .volume_devices
                    .iter()
                    .flatten()
                    .filter_map(|d| match sources.get(&d.name)? {
                        Resolved::Block(host) => Some(Device {
                            path: PathBuf::from(&d.device_path),
                            host: host.clone(),
                        }),
                        _ => None,
                    })
                    .collect();
                (c.clone(), mounts, devices)
            })
            .collect()
    };
    let init = views(spec.init_containers.as_deref().unwrap_or_default());
    let main = views(&spec.containers);
    let mut finish = Vec::new();
    for list in [init, main] {
        let mut out = Vec::new();
        for (container, mounts, devices) in list {
            let env = environment(pod, &container, facts, &mut objects).await?;
            let mut argv = container.command.clone().unwrap_or_default();
            argv.extend(container.args.clone().unwrap_or_default());
            out.push(ContainerView {
                name: container.name.clone(),
                image: container.image.clone().unwrap_or_default(),
                argv,
                env,
                mounts,
                devices,
            });
        }
        finish.push(out);
    }
    let main = finish.pop().unwrap_or_default();
    let init = finish.pop().unwrap_or_default();
    Ok((init, main))
}

/// A pod volume, resolved.
#[derive(Debug, Clone)]
enum Resolved {
    Dir(PathBuf),
    Block(PathBuf),
    Files(BTreeMap<String, Vec<u8>>),
    Other,
}

async fn volume_source(
    client: &kube::Client,
    config: &ClusterConfig,
    pod: &Pod,
    volume: &Volume,
    objects: &mut Objects<'_>,
) -> Result<Resolved, NotReady> {
    let namespace = pod.namespace().unwrap_or_default();
    let mount_error = |reason: String| NotReady::Mount {
        volume: volume.name.clone(),
        reason,
    };
    if let Some(claim) = &volume.persistent_volume_claim {
        return match volumes::resolve_claim(client, config, &namespace, &claim.claim_name).await {
            Ok(HostVolume::Dir(dir)) => Ok(Resolved::Dir(dir)),
            Ok(HostVolume::Block(file)) => Ok(Resolved::Block(file)),
            Err(MountError::ClaimNotBound(name)) => Err(NotReady::Unbound(name)),
            Err(error) => Err(mount_error(error.to_string())),
        };
    }
    if let Some(source) = &volume.config_map {
        let data = objects.config_map(&source.name).await?;
        return match data {
            Some(data) => Ok(Resolved::Files(select_items(data, source.items.as_deref()))),
            None if source.optional == Some(true) => Ok(Resolved::Files(BTreeMap::new())),
            None => Err(mount_error(format!(
                "configmap \"{}\" not found",
                source.name
            ))),
        };
    }
    if let Some(source) = &volume.secret {
        let name = source.secret_name.clone().unwrap_or_default();
        let data = objects.secret(&name).await?;
        return match data {
            Some(data) => Ok(Resolved::Files(select_items(data, source.items.as_deref()))),
            None if source.optional == Some(true) => Ok(Resolved::Files(BTreeMap::new())),
            None => Err(mount_error(format!("secret \"{name}\" not found"))),
        };
    }
    if volume.empty_dir.is_some() || volume.ephemeral.is_some() {
        let uid = pod.uid().unwrap_or_default();
        if !volumes::is_plain_relative(Path::new(&uid))
            || !volumes::is_plain_relative(Path::new(&volume.name))
        {
            return Ok(Resolved::Other);
        }
        let dir = config
            .data_dir
            .join("pods")
            .join(&uid)
            .join("volumes")
            .join(&volume.name);
        std::fs::create_dir_all(&dir).map_err(|e| mount_error(e.to_string()))?;
        return Ok(Resolved::Dir(dir));
    }
    Ok(Resolved::Other)
}

fn select_items(
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[k8s_openapi::api::core::v1::KeyToPath]>,
) -> BTreeMap<String, Vec<u8>> {
    match items {
        None => data,
        Some(items) => items
            .iter()
            .filter_map(|item| data.get(&item.key).map(|v| (item.path.clone(), v.clone())))
            .collect(),
    }
}

async fn environment(
    pod: &Pod,
    container: &Container,
    facts: &PodFacts,
    objects: &mut Objects<'_>,
) -> Result<Env, NotReady> {
    let mut env = BTreeMap::new();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (data, name, optional, kind) = if let Some(s) = &from.secret_ref {
            (
                objects.secret(&s.name).await?,
                s.name.clone(),
                s.optional,
                "secret",
            )
        } else if let Some(c) = &from.config_map_ref {
            (
                objects.config_map(&c.name).await?,
                c.name.clone(),
                c.optional,
                "configmap",
            )
        } else {
            continue;
        };
        match data {
            Some(data) => {
                for (key, value) in data {
                    env.insert(
                        format!("{prefix}{key}"),
                        String::from_utf8_lossy(&value).into_owned(),
                    );
                }
            }
            None if optional == Some(true) => {}
            None => return Err(NotReady::Config(format!("{kind} \"{name}\" not found"))),
        }
    }
    for var in container.env.iter().flatten() {
        if let Some(value) = env_value(pod, var, facts, objects).await? {
            env.insert(var.name.clone(), value);
        }
    }
    Ok(Env(env))
}

async fn env_value(
    pod: &Pod,
    var: &EnvVar,
    facts: &PodFacts,
    objects: &mut Objects<'_>,
) -> Result<Option<String>, NotReady> {
    let Some(from) = &var.value_from else {
        return Ok(Some(var.value.clone().unwrap_or_default()));
    };
    if let Some(key) = &from.secret_key_ref {
        let data = objects.secret(&key.name).await?;
        return match data.and_then(|d| d.get(&key.key).cloned()) {
            Some(value) => Ok(Some(String::from_utf8_lossy(&value).into_owned())),
            None if key.optional == Some(true) => Ok(None),
            None => Err(NotReady::Config(format!(
                "couldn't find key {} in Secret {}/{}",
                key.key,
                pod.namespace().unwrap_or_default(),
                key.name
            ))),
        };
    }
    if let Some(key) = &from.config_map_key_ref {
        let data = objects.config_map(&key.name).await?;
        return match data.and_then(|d| d.get(&key.key).cloned()) {
            Some(value) => Ok(Some(String::from_utf8_lossy(&value).into_owned())),
            None if key.optional == Some(true) => Ok(None),
            None => Err(NotReady::Config(format!(
                "couldn't find key {} in ConfigMap {}/{}",
                key.key,
                pod.namespace().unwrap_or_default(),
                key.name
            ))),
        };
    }
    if let Some(field) = &from.field_ref {
        return Ok(Some(field_value(pod, &field.field_path, facts)));
    }
    Ok(Some(String::new()))
}

/// The value of a downward-API field path.
pub fn field_value(pod: &Pod, path: &str, facts: &PodFacts) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let lookup = |map: &BTreeMap<String, String>, rest: &str| {
        rest.strip_prefix("['")
            .and_then(|r| r.strip_suffix("']"))
            .and_then(|k| map.get(k).cloned())
            .unwrap_or_default()
    };
    match path {
        "metadata.name" => pod.name_any(),
        "metadata.namespace" => pod.namespace().unwrap_or_default(),
        "metadata.uid" => pod.uid().unwrap_or_default(),
        "spec.nodeName" => spec.node_name.unwrap_or_default(),
        "spec.serviceAccountName" => spec.service_account_name.unwrap_or_default(),
        "status.podIP" => facts.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        "status.hostIP" => facts.host_ip.to_string(),
        other => {
            if let Some(rest) = other.strip_prefix("metadata.labels") {
                lookup(pod.labels(), rest)
            } else if let Some(rest) = other.strip_prefix("metadata.annotations") {
                lookup(pod.annotations(), rest)
            } else {
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_debug_hides_values() {
        let env = Env(BTreeMap::from([("V2V_secretKey".into(), "hunter2".into())]));
        let shown = format!("{env:?}");
        assert!(shown.contains("V2V_secretKey"));
        assert!(!shown.contains("hunter2"));
        let files = MountSource::Files(BTreeMap::from([("password".into(), b"hunter2".to_vec())]));
        assert!(!format!("{files:?}").contains("hunter2"));
    }

    #[test]
    fn container_paths_map_into_mounts_only() {
        let view = ContainerView {
            name: "c".into(),
            image: String::new(),
            argv: vec![],
            env: Env::default(),
            mounts: vec![
                Mount {
                    path: "/ova/sub".into(),
                    source: MountSource::Dir("/host/other".into()),
                },
                Mount {
                    path: "/ova".into(),
                    source: MountSource::Dir("/host/share".into()),
                },
                Mount {
                    path: "/tmp/hook".into(),
                    source: MountSource::Files(BTreeMap::from([(
                        "playbook.yml".into(),
                        b"- hosts: localhost".to_vec(),
                    )])),
                },
            ],
            devices: vec![Device {
                path: "/dev/block0".into(),
                host: "/host/vol/disk.img".into(),
            }],
        };
        assert_eq!(
            view.host_path(Path::new("/ova/a.ova")),
            Some(PathBuf::from("/host/share/a.ova"))
        );
        assert_eq!(
            view.host_path(Path::new("/ova/sub/b.ova")),
            Some(PathBuf::from("/host/other/b.ova"))
        );
        assert_eq!(view.host_path(Path::new("/ova/../etc/passwd")), None);
        assert_eq!(view.host_path(Path::new("/etc/passwd")), None);
        assert_eq!(
            view.file(Path::new("/tmp/hook/playbook.yml")),
            Some(&b"- hosts: localhost"[..])
        );
        assert_eq!(
            view.device(Path::new("/dev/block0")),
            Some(Path::new("/host/vol/disk.img"))
        );
    }
}
