//! The conversion pod's vSphere input (`V2V_source=vSphere`), as Forklift's image runs
//! `virt-v2v -i libvirt -ic $V2V_libvirtURL -ip /etc/secret/secretKey -- $V2V_vmName`
//! without VDDK: libvirt's ESX driver finds the VM, and its disks are read over HTTPS
//! from the datastores (`/folder/…?dcPath=…&dsName=…`, session cookie, ranges) into the
//! output disks, in libvirt's disk order.
//!
//! - `V2V_libvirtURL` gives the server (`vpx://user@host:port/DC/host/…?no_verify=1`
//!   or `?cacert=…`); the password is the Secret's `secretKey` mounted at
//!   `/etc/secret`. With `cacert=` the Secret's `cacert` is trusted (the image links it
//!   to `/opt/ca-bundle.crt`), else the certificate must match `V2V_fingerprint`.
//! - The VM is found by name, its datacenter by walking its parents, its disks from its
//!   configuration ([`crate::cluster::vsphere`] reads them).
//! - Progress per disk goes to the monitor's `v2v_disk_transfers`, paced like the OVA
//!   input; `/vm` and `/inspection` describe the VM from its configuration.

use std::path::Path;

use ferry_inventory::ova::model::{ExportSource, Vm};
use ferry_vim::ConnectConfig;

use super::source::Appliance;
use super::{Clock, Progress, outputs, set};
use crate::cluster::kubelet::view::ContainerView;
use crate::cluster::logs::ContainerLog;
use crate::cluster::qemu::Pacer;
use crate::cluster::vsphere::{self as datastore, Target};
use crate::cluster::workload::PodRun;

/// `V2V_source` of vSphere conversions.
pub const SOURCE: &str = "vSphere";
/// Where the conversion's Secret is mounted.
pub const SECRET_DIR: &str = "/etc/secret";

/// What `V2V_libvirtURL` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibvirtUrl {
    /// `vpx` (a vCenter) or `esx` (a host).
    pub scheme: String,
    /// The user.
    pub user: String,
    /// `host[:port]`.
    pub authority: String,
    /// `no_verify=1`.
    pub insecure: bool,
}

/// Parses `V2V_libvirtURL` (pure).
pub fn parse_libvirt_url(url: &str) -> Result<LibvirtUrl, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("V2V_libvirtURL {url:?} is not a libvirt URI"))?;
    if !matches!(scheme, "vpx" | "esx") {
        return Err(format!(
            "V2V_libvirtURL: the sandbox reads vpx:// and esx:// sources, not {scheme}://"
        ));
    }
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (user, location) = location
        .rsplit_once('@')
        .map_or((String::new(), location), |(user, location)| {
            (percent_decode(user), location)
        });
    let authority = location.split('/').next().unwrap_or_default().to_string();
    if authority.is_empty() {
        return Err(format!("V2V_libvirtURL {url:?} names no server"));
    }
    Ok(LibvirtUrl {
        scheme: scheme.to_string(),
        user,
        authority,
        insecure: query.split('&').any(|p| p == "no_verify=1"),
    })
}

/// `%XX` decoding (invalid escapes are kept).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connection settings of the conversion.
fn connect_config(container: &ContainerView, url: &LibvirtUrl) -> Result<ConnectConfig, String> {
    let secret = |key: &str| {
        container
            .file(&Path::new(SECRET_DIR).join(key))
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    let password = secret("secretKey")
        .ok_or_else(|| format!("{SECRET_DIR}/secretKey: no such file (the conversion's Secret)"))?;
    let user = if url.user.is_empty() {
        secret("accessKeyId").unwrap_or_default()
    } else {
        url.user.clone()
    };
    let mut config = ConnectConfig::new(&format!("https://{}/sdk", url.authority), user, password)
        .map_err(|e| e.to_string())?;
    if url.insecure {
        config = config.with_insecure_skip_verify(true);
    } else if let Some(ca) = secret("cacert").filter(|ca| !ca.trim().is_empty()) {
        config = config.with_ca_pem(ca);
    } else if let Some(fingerprint) = container
        .env
        .get("V2V_fingerprint")
        .filter(|f| !f.is_empty())
    {
        config = config
            .with_fingerprint(fingerprint)
            .map_err(|e| e.to_string())?;
    }
    Ok(config)
}

/// The OVF model standing in for the VM, for the `/vm` and `/inspection` outputs.
fn model(config: &datastore::VmConfig, name: &str) -> Vm {
    let placeholder = ferry_inventory::ova::model::Disk {
        id: String::new(),
        name: String::new(),
        file_path: String::new(),
        capacity: 0,
        capacity_allocation_units: String::new(),
        disk_id: String::new(),
        file_ref: String::new(),
        format: String::new(),
        populated_size: 0,
    };
    Vm {
        id: config.vm.value.clone(),
        name: name.to_string(),
        ovf_path: String::new(),
        export_source: ExportSource::VMware,
        os_type: config.guest_id.clone(),
        revision: 1,
        uuid: String::new(),
        firmware: config.firmware.clone(),
        secure_boot: config.secure_boot,
        cpu_hot_add_enabled: false,
        cpu_hot_remove_enabled: false,
        memory_hot_add_enabled: false,
        cpu_count: config.cpus,
        cores_per_socket: config.cores_per_socket,
        memory: config.memory_mb,
        memory_units: "byte * 2^20".into(),
        cpu_units: String::new(),
        devices: vec![],
        nics: vec![],
        disks: vec![placeholder; config.disks.len()],
        networks: vec![],
        concerns: vec![],
    }
}

/// Copies every disk of the VM; returns the VM (as an appliance model) and the disks'
/// sizes.
pub(super) async fn convert(
    run: &PodRun,
    container: &ContainerView,
    log: &ContainerLog,
    clock: &Clock,
    progress: &Progress,
    vm_name: &str,
) -> Result<(Appliance, Vec<u64>), String> {
    let url_text = container.env.get("V2V_libvirtURL").unwrap_or_default();
    let url = parse_libvirt_url(url_text)?;
    clock.line(
        log,
        &format!(
            "Setting up the source: -i libvirt -ic {}://{}@{} -- {vm_name}",
            url.scheme, url.user, url.authority
        ),
    );
    let config = connect_config(container, &url)?;
    let client = datastore::connect(config)
        .await
        .map_err(|e| format!("libvirt: cannot connect to {}: {e}", url.authority))?;
    let outcome = copy_disks(run, container, log, clock, progress, vm_name, &client).await;
    if let Err(error) = client.logout().await {
        tracing::debug!(%error, "logging the conversion's session out failed");
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn copy_disks(
    run: &PodRun,
    container: &ContainerView,
    log: &ContainerLog,
    clock: &Clock,
    progress: &Progress,
    vm_name: &str,
    client: &ferry_vim::Client,
) -> Result<(Appliance, Vec<u64>), String> {
    let vm = datastore::find_vm_by_name(client, vm_name)
        .await
        .map_err(|e| format!("libvirt: {e}"))?;
    let datacenter = datastore::datacenter_path(client, &vm.vm)
        .await
        .map_err(|e| format!("libvirt: {e}"))?;
    let outputs = outputs(container);
    let total = vm.disks.len();
    if outputs.len() < total {
        return Err(format!(
            "the VM has {total} disks but the pod has {} output disks (/mnt/disks/disk<i> or /dev/block<i>)",
            outputs.len()
        ));
    }
    clock.line(log, "Opening the source");
    clock.line(
        log,
        &format!("Source guest information: name {} ({total} disks)", vm.name),
    );
    clock.line(log, "Inspecting the source");
    clock.line(log, "Converting the guest to run on KVM");
    clock.line(
        log,
        "Setting up the destination: -o kubevirt -os /var/tmp/v2v",
    );
    let mut sizes = Vec::with_capacity(total);
    for (i, (disk, out)) in vm.disks.iter().zip(&outputs).enumerate() {
        let id = i + 1;
        clock.line(log, &format!("Copying disk {id}/{total}: {}", disk.file));
        set(progress, id, 0.0);
        let pacer = Pacer::start(run.config.pace.min_duration(disk.capacity));
        let capacity = disk.capacity.max(1) as f64;
        let target = Target {
            image: out.image.clone(),
            block: out.block,
        };
        let size = datastore::read_disk(
            client,
            &datacenter,
            disk,
            &target,
            &run.config.qemu_img,
            &run.cancel,
            |done| set(progress, id, pacer.cap(done as f64 / capacity * 100.0)),
        )
        .await
        .map_err(|e| format!("disk {id} ({}): {e}", disk.file))?;
        // The copy is done; the pace decides when it is reported done.
        loop {
            let shown = pacer.cap(100.0);
            set(progress, id, shown);
            if shown >= 100.0 {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(run.config.pace.progress_interval.min(pacer.remaining())) => {}
                () = run.cancel.cancelled() => return Err("cancelled".into()),
            }
        }
        set(progress, id, 100.0);
        sizes.push(size);
    }
    let name = container
        .env
        .get("V2V_NewName")
        .filter(|n| !n.is_empty())
        .unwrap_or(vm_name);
    Ok((
        Appliance {
            vm: model(&vm, name),
            disks: Vec::new(),
        },
        sizes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libvirt_urls() {
        let url = parse_libvirt_url(
            "vpx://administrator%40vsphere.local@127.0.0.1:8989/DC0/host/C0/H0?no_verify=1",
        )
        .unwrap();
        assert_eq!(url.user, "administrator@vsphere.local");
        assert_eq!(url.authority, "127.0.0.1:8989");
        assert!(url.insecure);
        let url = parse_libvirt_url("esx://root@[fd00::1]?cacert=/opt/ca-bundle.crt").unwrap();
        assert_eq!(url.authority, "[fd00::1]");
        assert!(!url.insecure);
        for bad in ["", "vpx:/x", "qemu:///system", "vpx://u@/DC0"] {
            assert!(parse_libvirt_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(percent_decode("a%2Fb%zz"), "a/b%zz");
    }
}
