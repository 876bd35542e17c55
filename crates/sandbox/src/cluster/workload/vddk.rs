//! CDI's VDDK import (`IMPORTER_SOURCE=vddk`), as the importer runs it for a DataVolume
//! with `spec.source.vddk`: log in to `IMPORTER_ENDPOINT` (the vCenter or ESXi SDK URL)
//! with `IMPORTER_ACCESS_KEY_ID` / `IMPORTER_SECRET_KEY`, accepting the certificate
//! whose SHA-1 is `IMPORTER_THUMBPRINT`, find the VM by `IMPORTER_UUID`, and read the
//! disk `IMPORTER_BACKING_FILE` into the claim.
//!
//! VDDK itself reads over NFC; the sandbox reads the same bytes from the datastore over
//! HTTPS ([`crate::cluster::vsphere`]), so a DataVolume imported this way holds exactly
//! what the virt-v2v path would have copied.

use std::path::Path;

use ferry_vim::ConnectConfig;
use tokio_util::sync::CancellationToken;

use super::PodRun;
use crate::cluster::kubelet::view::Env;
use crate::cluster::qemu::Pacer;
use crate::cluster::vsphere::{self as datastore, Target, VmDisk};

/// What the importer's environment says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VddkSource {
    /// `IMPORTER_ENDPOINT`.
    pub endpoint: String,
    /// `IMPORTER_UUID`.
    pub uuid: String,
    /// `IMPORTER_BACKING_FILE`.
    pub backing_file: String,
    /// `IMPORTER_THUMBPRINT`.
    pub thumbprint: String,
}

impl VddkSource {
    /// From the importer's environment; every field is required.
    pub fn from_env(env: &Env) -> Result<Self, String> {
        let field = |name: &str| {
            env.get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("the VDDK source needs {name}"))
        };
        Ok(Self {
            endpoint: field("IMPORTER_ENDPOINT")?,
            uuid: field("IMPORTER_UUID")?,
            backing_file: field("IMPORTER_BACKING_FILE")?,
            thumbprint: field("IMPORTER_THUMBPRINT")?,
        })
    }
}

/// Imports the disk into `target` (`size` bytes requested), reporting percentages.
pub async fn import(
    run: &PodRun,
    env: &Env,
    target: &Path,
    size: u64,
    block: bool,
    set: &(impl Fn(f64) + Sync),
) -> Result<(), String> {
    let source = VddkSource::from_env(env)?;
    let user = env.get("IMPORTER_ACCESS_KEY_ID").unwrap_or_default();
    let password = env.get("IMPORTER_SECRET_KEY").unwrap_or_default();
    let config = ConnectConfig::new(&source.endpoint, user, password)
        .and_then(|c| c.with_fingerprint(&source.thumbprint))
        .map_err(|e| format!("Unable to connect to vddk data source: {e}"))?;
    let client = datastore::connect(config)
        .await
        .map_err(|e| format!("Unable to connect to vddk data source: {e}"))?;
    let outcome = copy(run, &client, &source, target, size, block, set, &run.cancel).await;
    if let Err(error) = client.logout().await {
        tracing::debug!(%error, "logging the importer's session out failed");
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn copy(
    run: &PodRun,
    client: &ferry_vim::Client,
    source: &VddkSource,
    target: &Path,
    size: u64,
    block: bool,
    set: &(impl Fn(f64) + Sync),
    cancel: &CancellationToken,
) -> Result<(), String> {
    let vm = datastore::find_vm_by_uuid(client, &source.uuid)
        .await
        .map_err(|e| format!("Unable to find the VM: {e}"))?;
    let datacenter = datastore::datacenter_path(client, &vm.vm)
        .await
        .map_err(|e| format!("Unable to find the VM's datacenter: {e}"))?;
    let disk = vm
        .disks
        .iter()
        .find(|d| d.file == source.backing_file)
        .cloned()
        .unwrap_or(VmDisk {
            key: 0,
            bus: "scsi",
            controller_key: 0,
            unit: 0,
            file: source.backing_file.clone(),
            capacity: size,
        });
    if size > 0 && disk.capacity > size {
        return Err(format!(
            "Virtual image size {} is larger than the reported available storage {size}. A larger PVC is required.",
            disk.capacity
        ));
    }
    if !block {
        // A fresh image: whatever an earlier attempt left is discarded.
        let _ = std::fs::remove_file(target);
    }
    let pacer = Pacer::start(run.config.pace.min_duration(disk.capacity));
    let capacity = disk.capacity.max(1) as f64;
    datastore::read_disk(
        client,
        &datacenter,
        &disk,
        &Target {
            image: target.to_owned(),
            block,
        },
        &run.config.qemu_img,
        cancel,
        |done| set(pacer.cap(done as f64 / capacity * 100.0)),
    )
    .await
    .map_err(|e| format!("Unable to transfer the disk: {e}"))?;
    if !block && size > disk.capacity {
        crate::cluster::storage::create_sparse(target, size).map_err(|e| e.to_string())?;
    }
    loop {
        let shown = pacer.cap(100.0);
        set(shown);
        if shown >= 100.0 {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(run.config.pace.progress_interval.min(pacer.remaining())) => {}
            () = cancel.cancelled() => return Err("cancelled".into()),
        }
    }
}
