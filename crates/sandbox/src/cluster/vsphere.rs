//! Reading a vSphere VM's disks from its datastores, as virt-v2v's vCenter input
//! (libvirt's ESX driver and nbdkit's curl plugin) and CDI's VDDK importer read them,
//! for the simulated conversion pod and importer: over HTTPS from
//! `/folder/<path>?dcPath=<datacenter>&dsName=<datastore>` with the session cookie, in
//! ranged requests, into the claim's raw image.
//!
//! A disk's backing file (`[datastore] vm/disk.vmdk`) is a VMDK *descriptor* naming its
//! extents (`RW 2097152 VMFS "disk-flat.vmdk"`), whose bytes are raw; or, for disks
//! made elsewhere, a sparse VMDK (or qcow2) holding the data itself, which is
//! downloaded and converted to raw with `qemu-img`. An empty descriptor (what vcsim
//! creates) stands for the usual `<disk>-flat.vmdk` extent. Extents shorter than the
//! disk leave the rest zero, as a thin disk reads; all-zero chunks are not written, so
//! the image stays sparse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_vim::{
    ByteRange, Client, ConnectConfig, DatastoreFile, MoRef, PropertyFilterSpec, PropertySpec, Value,
};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::cluster::qemu::{self, Source};

/// The size of each ranged read.
pub const CHUNK: u64 = 8 << 20;
/// The largest descriptor read.
pub const MAX_DESCRIPTOR: usize = 64 << 10;
/// How long one ranged read may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// A sector.
const SECTOR: u64 = 512;

/// Why a disk could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A vSphere call failed (the message names the server, never a credential).
    #[error("{0}")]
    Vim(#[from] ferry_vim::Error),
    /// The datastore holds something that is not a disk.
    #[error("{file}: {reason}")]
    NotADisk {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing the image failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The image.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `qemu-img` failed.
    #[error("{0}")]
    Qemu(String),
    /// The pod was deleted.
    #[error("cancelled")]
    Cancelled,
}

/// A disk of a VM, as its configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmDisk {
    /// The device key.
    pub key: i64,
    /// The controller's bus: `scsi`, `sata`, `ide`, `nvme`.
    pub bus: &'static str,
    /// The controller's key.
    pub controller_key: i64,
    /// The unit on the controller.
    pub unit: i64,
    /// `[datastore] dir/file.vmdk`.
    pub file: String,
    /// Bytes (`capacityInBytes`, else `capacityInKB` × 1024).
    pub capacity: u64,
}

/// The parts of a VM's configuration the conversion needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmConfig {
    /// The VM.
    pub vm: MoRef,
    /// Its name.
    pub name: String,
    /// `bios` or `efi`.
    pub firmware: String,
    /// Secure boot.
    pub secure_boot: bool,
    /// vCPUs.
    pub cpus: i64,
    /// Cores per socket.
    pub cores_per_socket: i64,
    /// Memory in MiB.
    pub memory_mb: i64,
    /// The guest ID (`rhel9_64Guest`).
    pub guest_id: String,
    /// Its disks, in libvirt's order (scsi, sata, ide, nvme; then controller, unit, key).
    pub disks: Vec<VmDisk>,
}

/// The VM properties read.
pub const VM_PATHS: [&str; 8] = [
    "name",
    "config.firmware",
    "config.bootOptions.efiSecureBootEnabled",
    "config.hardware.numCPU",
    "config.hardware.numCoresPerSocket",
    "config.hardware.memoryMB",
    "config.guestId",
    "config.hardware.device",
];

fn bus_of(controller_type: &str) -> Option<&'static str> {
    Some(match controller_type {
        "VirtualIDEController" => "ide",
        "VirtualBusLogicController"
        | "VirtualLsiLogicController"
        | "VirtualLsiLogicSASController"
        | "ParaVirtualSCSIController" => "scsi",
        "VirtualAHCIController" => "sata",
        "VirtualNVMEController" => "nvme",
        _ => return None,
    })
}

/// The disks of a `config.hardware.device` list, in libvirt's order.
pub fn disks_of(devices: &[Value]) -> Vec<VmDisk> {
    let int = |v: &Value, name: &str| v.get(name).and_then(Value::as_i64);
    let controllers: Vec<(i64, &'static str)> = devices
        .iter()
        .filter_map(|d| Some((int(d, "key")?, bus_of(d.type_name()?)?)))
        .collect();
    let mut disks: Vec<VmDisk> = devices
        .iter()
        .filter(|d| d.type_name() == Some("VirtualDisk"))
        .filter_map(|d| {
            let controller_key = int(d, "controllerKey").unwrap_or(-1);
            let bus = controllers
                .iter()
                .find(|(key, _)| *key == controller_key)
                .map_or("scsi", |(_, bus)| *bus);
            let capacity = int(d, "capacityInBytes")
                .filter(|c| *c > 0)
                .or_else(|| int(d, "capacityInKB").map(|kb| kb.saturating_mul(1024)))
                .unwrap_or(0);
            Some(VmDisk {
                key: int(d, "key").unwrap_or(0),
                bus,
                controller_key,
                unit: int(d, "unitNumber").unwrap_or(0),
                file: d.path("backing.fileName")?.as_str()?.to_string(),
                capacity: u64::try_from(capacity).unwrap_or(0),
            })
        })
        .collect();
    let rank = |bus: &str| match bus {
        "scsi" => 0,
        "sata" => 1,
        "ide" => 2,
        _ => 3,
    };
    disks.sort_by_key(|d| (rank(d.bus), d.controller_key, d.unit, d.key));
    disks
}

/// vSphere escapes `%`, `/` and `\` in names (`%25`, `%2f`, `%5c`); compare unescaped.
fn unescape(name: &str) -> String {
    name.replace("%2f", "/")
        .replace("%2F", "/")
        .replace("%5c", "\\")
        .replace("%5C", "\\")
        .replace("%25", "%")
}

fn config_of(vm: MoRef, object: &ferry_vim::ObjectContent) -> VmConfig {
    let text = |path: &str| {
        object
            .get(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let int = |path: &str| object.get(path).and_then(Value::as_i64).unwrap_or(0);
    VmConfig {
        vm,
        name: unescape(&text("name")),
        firmware: text("config.firmware"),
        secure_boot: object
            .get("config.bootOptions.efiSecureBootEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        cpus: int("config.hardware.numCPU"),
        cores_per_socket: int("config.hardware.numCoresPerSocket"),
        memory_mb: int("config.hardware.memoryMB"),
        guest_id: text("config.guestId"),
        disks: disks_of(
            object
                .get("config.hardware.device")
                .and_then(Value::as_array)
                .unwrap_or_default(),
        ),
    }
}

/// The VM named `name` (virt-v2v's `-i libvirt … <name>`): exactly one must match.
pub async fn find_vm_by_name(client: &Client, name: &str) -> Result<VmConfig, ReadError> {
    let root = client.content().root_folder.clone();
    let view = client
        .create_container_view(&root, &["VirtualMachine"], true)
        .await?;
    let spec = PropertyFilterSpec::for_view(
        view.clone(),
        vec![PropertySpec::new("VirtualMachine", &VM_PATHS)],
    );
    let found = client.retrieve_all(&spec, 200).await;
    if let Err(error) = client.destroy_view(&view).await {
        tracing::debug!(%error, "destroying a container view failed");
    }
    let mut hits: Vec<VmConfig> = found?
        .iter()
        .map(|object| config_of(object.obj.clone(), object))
        .filter(|config| config.name == name)
        .collect();
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(ReadError::NotADisk {
            file: name.to_string(),
            reason: "no VM of this name on the server".into(),
        }),
        n => Err(ReadError::NotADisk {
            file: name.to_string(),
            reason: format!("{n} VMs have this name"),
        }),
    }
}

/// The VM with this BIOS (or instance) UUID (CDI's VDDK importer finds the VM so).
pub async fn find_vm_by_uuid(client: &Client, uuid: &str) -> Result<VmConfig, ReadError> {
    let mut vm = client.find_by_uuid(None, uuid, true, false).await?;
    if vm.is_none() {
        vm = client.find_by_uuid(None, uuid, true, true).await?;
    }
    let vm = vm.ok_or_else(|| ReadError::NotADisk {
        file: uuid.to_string(),
        reason: "no VM with this UUID on the server".into(),
    })?;
    let object = client
        .retrieve_one(&vm, &VM_PATHS)
        .await?
        .ok_or_else(|| ReadError::NotADisk {
            file: uuid.to_string(),
            reason: "the VM has no configuration".into(),
        })?;
    Ok(config_of(vm, &object))
}

/// The inventory path of the datacenter holding `entity` (`dcPath`), following parents.
pub async fn datacenter_path(client: &Client, entity: &MoRef) -> Result<String, ReadError> {
    let mut current = entity.clone();
    let mut datacenter: Option<Vec<String>> = None;
    for _ in 0..64 {
        let object = client.retrieve_one(&current, &["name", "parent"]).await?;
        let name = object
            .as_ref()
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .map(unescape)
            .unwrap_or_default();
        let parent = object
            .as_ref()
            .and_then(|o| o.get("parent"))
            .and_then(Value::as_moref)
            .cloned();
        if let Some(path) = datacenter.as_mut() {
            match parent {
                // Below the root folder: a folder above the datacenter.
                Some(next) => {
                    path.insert(0, name);
                    current = next;
                }
                None => break,
            }
            continue;
        }
        if current.kind == "Datacenter" {
            datacenter = Some(vec![name]);
        }
        match parent {
            Some(next) => current = next,
            None => break,
        }
    }
    datacenter
        .map(|path| path.join("/"))
        .ok_or_else(|| ReadError::NotADisk {
            file: entity.to_string(),
            reason: "not inside a datacenter".into(),
        })
}

/// One extent of a disk: a file of the datastore, the part of it holding data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    /// The file, in the descriptor's directory.
    pub file: String,
    /// Its first byte.
    pub offset: u64,
    /// Its length.
    pub length: u64,
}

/// What a disk's backing file turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A descriptor naming raw extents (an empty file: `<disk>-flat.vmdk`).
    Flat(Vec<Extent>),
    /// The data itself, in a format `qemu-img` converts (`vmdk` sparse, `qcow2`).
    Image(&'static str),
}

/// The directory part of a datastore path (`dir/` of `dir/file.vmdk`).
fn directory(path: &str) -> &str {
    path.rfind('/').map_or("", |at| &path[..=at])
}

/// Reads a disk's layout from the start of its backing file (pure).
pub fn layout(path: &str, head: &[u8], capacity: u64) -> Result<Layout, String> {
    if head.starts_with(b"KDMV") {
        return Ok(Layout::Image("vmdk"));
    }
    if head.starts_with(b"QFI\xfb") {
        return Ok(Layout::Image("qcow2"));
    }
    let dir = directory(path);
    if head.iter().all(u8::is_ascii_whitespace) {
        let stem = path.strip_suffix(".vmdk").unwrap_or(path);
        return Ok(Layout::Flat(vec![Extent {
            file: format!("{stem}-flat.vmdk"),
            offset: 0,
            length: capacity,
        }]));
    }
    let text = std::str::from_utf8(head)
        .map_err(|_| "neither a VMDK descriptor nor a disk image".to_string())?;
    if !text.trim_start().starts_with("# Disk DescriptorFile") {
        return Err("neither a VMDK descriptor nor a disk image".into());
    }
    let mut extents = Vec::new();
    for line in text.lines().map(str::trim) {
        let mut words = line.splitn(4, ' ');
        let (Some(access), Some(sectors), Some(kind), Some(rest)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
            continue;
        }
        let sectors: u64 = sectors
            .parse()
            .map_err(|_| format!("extent line `{line}` has no sector count"))?;
        if !matches!(kind, "FLAT" | "VMFS") {
            return Err(format!(
                "extent type {kind} is not supported (only FLAT and VMFS extents)"
            ));
        }
        let rest = rest.trim();
        let name_end = rest
            .strip_prefix('"')
            .and_then(|r| r.find('"'))
            .ok_or_else(|| format!("extent line `{line}` has no quoted file name"))?;
        let name = &rest[1..=name_end];
        if name.is_empty() || name.contains('/') || name == ".." {
            return Err(format!(
                "extent file `{name}` is outside the disk's directory"
            ));
        }
        let offset: u64 = rest[name_end + 2..]
            .split_whitespace()
            .next()
            .map(str::parse)
            .transpose()
            .map_err(|_| format!("extent line `{line}` has a bad offset"))?
            .unwrap_or(0);
        extents.push(Extent {
            file: format!("{dir}{name}"),
            offset: offset.saturating_mul(SECTOR),
            length: sectors.saturating_mul(SECTOR),
        });
    }
    if extents.is_empty() {
        return Err("the descriptor names no extents".into());
    }
    Ok(Layout::Flat(extents))
}

/// Where a disk goes.
#[derive(Clone, Debug)]
pub struct Target {
    /// The raw image (or block device stand-in).
    pub image: PathBuf,
    /// Whether it stands in for a block device (not truncated).
    pub block: bool,
}

/// Connects with the credentials of the conversion's Secret.
pub async fn connect(config: ConnectConfig) -> Result<Client, ReadError> {
    Ok(Client::connect(config).await?)
}

/// Reads disk `disk` of a VM in datacenter `datacenter` into `target`, reporting the
/// bytes done; returns the disk's size.
pub async fn read_disk(
    client: &Client,
    datacenter: &str,
    disk: &VmDisk,
    target: &Target,
    qemu_img: &Path,
    cancel: &CancellationToken,
    mut progress: impl FnMut(u64) + Send,
) -> Result<u64, ReadError> {
    let backing = DatastoreFile::from_datastore_path(datacenter, &disk.file)?;
    let head = match client
        .download_to_vec(
            &backing,
            Some(ByteRange {
                start: 0,
                end: Some(MAX_DESCRIPTOR as u64 - 1),
            }),
            MAX_DESCRIPTOR,
            READ_TIMEOUT,
        )
        .await
    {
        Ok(head) => head,
        // An empty file cannot satisfy a range.
        Err(ferry_vim::Error::Http { status: 416, .. }) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    let not_a_disk = |reason: String| ReadError::NotADisk {
        file: disk.file.clone(),
        reason,
    };
    match layout(&backing.path, &head, disk.capacity).map_err(not_a_disk)? {
        Layout::Flat(extents) => {
            prepare(target, disk.capacity)?;
            let mut written = 0u64;
            for extent in extents {
                let file = DatastoreFile {
                    path: extent.file.clone(),
                    ..backing.clone()
                };
                let length = extent.length.min(disk.capacity.saturating_sub(written));
                copy_range(
                    client,
                    &file,
                    extent.offset,
                    length,
                    target,
                    written,
                    cancel,
                    &mut |done| progress(written + done),
                )
                .await?;
                written += length;
                progress(written);
            }
            progress(disk.capacity);
            Ok(disk.capacity)
        }
        Layout::Image(format) => {
            let scratch = target.image.with_extension("download");
            let size = download_all(client, &backing, &scratch, cancel).await?;
            let source = Source {
                file: scratch.clone(),
                slice: None,
                format: Some(format.to_string()),
            };
            if !target.block {
                let _ = std::fs::remove_file(&target.image);
            }
            let converted = qemu::convert_to_raw(
                qemu_img,
                &source,
                &target.image,
                target.block,
                cancel,
                |pct| progress((pct / 100.0 * disk.capacity as f64) as u64),
            )
            .await;
            let _ = std::fs::remove_file(&scratch);
            converted.map_err(|error| match error {
                qemu::QemuError::Cancelled => ReadError::Cancelled,
                other => ReadError::Qemu(other.to_string()),
            })?;
            if !target.block {
                // A sparse image no larger than its capacity may be shorter than the disk.
                let len = std::fs::metadata(&target.image)
                    .map(|m| m.len())
                    .map_err(|source| ReadError::Io {
                        path: target.image.clone(),
                        source,
                    })?;
                if len < disk.capacity {
                    prepare(target, disk.capacity)?;
                }
            }
            tracing::debug!(bytes = size, "downloaded a disk image");
            Ok(disk.capacity.max(size))
        }
    }
}

/// Makes sure the image exists and holds `size` bytes.
fn prepare(target: &Target, size: u64) -> Result<(), ReadError> {
    let io = |source| ReadError::Io {
        path: target.image.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&target.image)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len < size {
        if target.block {
            return Err(ReadError::Io {
                path: target.image.clone(),
                source: std::io::Error::other(format!(
                    "the block device is {len} bytes, smaller than the disk's {size} bytes"
                )),
            });
        }
        file.set_len(size).map_err(io)?;
    }
    Ok(())
}

/// Copies `length` bytes of `file` from `offset` into the image at `at`, in ranged reads;
/// stops early at the end of a shorter file. All-zero chunks are skipped.
#[allow(clippy::too_many_arguments)]
async fn copy_range(
    client: &Client,
    file: &DatastoreFile,
    offset: u64,
    length: u64,
    target: &Target,
    at: u64,
    cancel: &CancellationToken,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(), ReadError> {
    let io = |source| ReadError::Io {
        path: target.image.clone(),
        source,
    };
    let mut out = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&target.image)
        .await
        .map_err(io)?;
    let mut done = 0u64;
    while done < length {
        if cancel.is_cancelled() {
            return Err(ReadError::Cancelled);
        }
        let want = CHUNK.min(length - done);
        let range = ByteRange {
            start: offset + done,
            end: Some(offset + done + want - 1),
        };
        let mut download = match client.download(file, Some(range), READ_TIMEOUT).await {
            Ok(download) => download,
            // Past the end of the file: the rest of the disk is zero.
            Err(ferry_vim::Error::Http { status: 416, .. }) => break,
            Err(error) => return Err(error.into()),
        };
        let mut got = 0u64;
        loop {
            let chunk = tokio::select! {
                chunk = download.chunk() => chunk?,
                () = cancel.cancelled() => return Err(ReadError::Cancelled),
            };
            let Some(chunk) = chunk else { break };
            let chunk = &chunk[..chunk
                .len()
                .min(usize::try_from(want - got).unwrap_or(usize::MAX))];
            if chunk.iter().any(|b| *b != 0) {
                out.seek(std::io::SeekFrom::Start(at + done + got))
                    .await
                    .map_err(io)?;
                out.write_all(chunk).await.map_err(io)?;
            }
            got += chunk.len() as u64;
            progress(done + got);
            if got >= want {
                break;
            }
        }
        if got == 0 {
            break;
        }
        done += got;
        if got < want {
            // A short read: the file ends here.
            break;
        }
    }
    out.flush().await.map_err(io)?;
    Ok(())
}

/// Downloads a whole file (a disk image) to `path`; returns its size.
async fn download_all(
    client: &Client,
    file: &DatastoreFile,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<u64, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = tokio::fs::File::create(path).await.map_err(io)?;
    let mut download = client.download(file, None, READ_TIMEOUT * 10).await?;
    let mut size = 0u64;
    loop {
        let chunk = tokio::select! {
            chunk = download.chunk() => chunk?,
            () = cancel.cancelled() => return Err(ReadError::Cancelled),
        };
        let Some(chunk) = chunk else { break };
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert_eq!(
            layout("vm/disk1.vmdk", b"", 1024).unwrap(),
            Layout::Flat(vec![Extent {
                file: "vm/disk1-flat.vmdk".into(),
                offset: 0,
                length: 1024
            }])
        );
        let descriptor = b"# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n\n# Extent description\nRW 2048 VMFS \"disk1-flat.vmdk\"\nRW 8 FLAT \"disk1-s002.vmdk\" 4\n";
        assert_eq!(
            layout("vm/disk1.vmdk", descriptor, 0).unwrap(),
            Layout::Flat(vec![
                Extent {
                    file: "vm/disk1-flat.vmdk".into(),
                    offset: 0,
                    length: 2048 * 512
                },
                Extent {
                    file: "vm/disk1-s002.vmdk".into(),
                    offset: 4 * 512,
                    length: 8 * 512
                },
            ])
        );
        assert_eq!(
            layout("d.vmdk", b"KDMV\x01", 1).unwrap(),
            Layout::Image("vmdk")
        );
        assert_eq!(
            layout("d.vmdk", b"QFI\xfb", 1).unwrap(),
            Layout::Image("qcow2")
        );
        for hostile in [
            &b"garbage"[..],
            b"# Disk DescriptorFile\nRW 8 SPARSE \"x.vmdk\"\n",
            b"# Disk DescriptorFile\nRW 8 VMFS \"../etc/passwd\"\n",
            b"# Disk DescriptorFile\nRW 8 VMFS \"a/b\"\n",
            b"# Disk DescriptorFile\nRW lots VMFS \"x\"\n",
            b"# Disk DescriptorFile\n",
            b"\xff\xfe",
        ] {
            assert!(layout("vm/d.vmdk", hostile, 1).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn devices_become_disks_in_libvirt_order() {
        use ferry_vim::DataObject;
        let controller = |kind: &str, key: i64| {
            Value::Object(DataObject::new(kind).with("key", Value::Int(key)))
        };
        let disk = |key: i64, controller: i64, unit: i64, file: &str, bytes: i64, kb: i64| {
            Value::Object(
                DataObject::new("VirtualDisk")
                    .with("key", Value::Int(key))
                    .with(
                        "backing",
                        Value::Object(
                            DataObject::new("VirtualDiskFlatVer2BackingInfo")
                                .with("fileName", Value::Text(file.into())),
                        ),
                    )
                    .with("controllerKey", Value::Int(controller))
                    .with("unitNumber", Value::Int(unit))
                    .with("capacityInKB", Value::Int(kb))
                    .with("capacityInBytes", Value::Int(bytes)),
            )
        };
        let devices = vec![
            controller("VirtualAHCIController", 15000),
            controller("ParaVirtualSCSIController", 202),
            disk(16000, 15000, 0, "[ds] vm/sata.vmdk", 0, 4),
            disk(2001, 202, 1, "[ds] vm/b.vmdk", 2048, 0),
            disk(2000, 202, 0, "[ds] vm/a.vmdk", 1024, 0),
            Value::Object(DataObject::new("VirtualE1000").with("key", Value::Int(4000))),
        ];
        let disks = disks_of(&devices);
        let files: Vec<(&str, &str, u64)> = disks
            .iter()
            .map(|d| (d.file.as_str(), d.bus, d.capacity))
            .collect();
        assert_eq!(
            files,
            [
                ("[ds] vm/a.vmdk", "scsi", 1024),
                ("[ds] vm/b.vmdk", "scsi", 2048),
                ("[ds] vm/sata.vmdk", "sata", 4096)
            ]
        );
        assert_eq!(unescape("a%2fb%25c"), "a/b%c");
    }
}
