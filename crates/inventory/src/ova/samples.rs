//! Sample appliances: real OVAs with real disks, built on the fly for tests, the
//! sandbox (`ferry sandbox`) and `examples/make-ovas.sh`; and large generated catalogs
//! for benchmarks.
//!
//! [`write_samples`] writes, into a directory:
//!
//! | file | shape |
//! |---|---|
//! | `ferry-vmware-efi.ova` | VMware (ovftool): `vmw:` namespace, EFI with secure boot, 4 vCPUs as 2 sockets × 2 cores, 2 GiB, two streamOptimized VMDKs (sizes in `byte * 2^20` and in bytes), two NICs with MACs on `VM Network` and `Network 1`, a SHA-256 manifest |
//! | `ferry-virtualbox-bios.ova` | VirtualBox: OVF 2.0 and `vbox:` namespaces, no `<Name>`, BIOS, one VMDK sized in bytes, one NIC on `NAT` without MAC, memory in `MegaBytes` |
//! | `ferry-ovirt.ova` | oVirt: `ovirt:` namespace, UUID `ovf:id`, a qcow2 disk named by its image UUID and sized in `byte * 2^30`, one NIC on `ovirtmgmt` |
//! | `ferry-plain/ferry-plain.ovf` | an unpacked VMware appliance: a standalone descriptor next to its VMDK, BIOS |
//!
//! Every disk holds recognisable data between holes: a text boot sector, 1 MiB of
//! numbered text sectors at 1 MiB, and 1 MiB of seeded pseudo-random bytes half-way
//! through the disk; [`SampleDisk::write_raw`] writes the same content as a raw image,
//! so a converted disk can be checked with `qemu-img compare`. Everything is
//! deterministic: the same version of Ferry and `qemu-img` produce the same bytes
//! (the VMDK content ID, which `qemu-img` draws at random, is rewritten from the disk
//! name; tar headers carry a fixed time, owner and mode). Archives are assembled in a
//! staging directory and renamed into place, with a modification time in the past, so
//! a running collector never sees a half-written or "settling" appliance.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// `qemu-img` options for samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// The `qemu-img` binary.
    pub qemu_img: PathBuf,
}

impl SampleOptions {
    /// `$FERRY_QEMU_IMG`, else `qemu-img` from `PATH`.
    pub fn from_env() -> Self {
        Self {
            qemu_img: std::env::var_os("FERRY_QEMU_IMG")
                .map_or_else(|| PathBuf::from("qemu-img"), PathBuf::from),
        }
    }
}

/// Why samples could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// `qemu-img` is not installed.
    #[error(
        "qemu-img ('{0}') cannot be run: {1}. Run scripts/test (it installs qemu-utils) or \
         set FERRY_QEMU_IMG"
    )]
    QemuImgMissing(PathBuf, io::Error),
    /// `qemu-img` failed.
    #[error("qemu-img {args} failed ({status}): {stderr}")]
    QemuImg {
        /// Its arguments.
        args: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// Writing a file failed.
    #[error("cannot write sample files: {0}")]
    Io(#[from] io::Error),
}

/// The disk image format inside an appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// VMDK, streamOptimized subformat (VMware, VirtualBox).
    StreamOptimizedVmdk,
    /// qcow2 (oVirt).
    Qcow2,
}

/// One sample disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleDisk {
    /// The file name in the appliance (the OVF `File/@href`).
    pub file_name: String,
    /// Virtual size in bytes.
    pub virtual_size: u64,
    /// Image format.
    pub format: DiskFormat,
}

/// One sample appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleAppliance {
    /// The `.ova` or `.ovf` path relative to the catalog root.
    pub relative: String,
    /// The VM name the inventory shows.
    pub vm_name: String,
    /// Its disks, in descriptor order.
    pub disks: Vec<SampleDisk>,
}

/// What [`write_samples`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleCatalog {
    /// The catalog directory.
    pub root: PathBuf,
    /// The appliances, in the order the inventory lists them.
    pub appliances: Vec<SampleAppliance>,
}

/// The modification time given to sample files: long settled.
const SAMPLE_MTIME_SECS: u64 = 1_700_000_000;
const MIB: u64 = 1 << 20;
const STREAM_OPTIMIZED: &str =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

/// Writes the sample appliances once for this process, into `base/<prefix><pid>`, and
/// first removes the directories of that name left in `base` by processes that are
/// gone. For test binaries, which keep one catalog in a `static` for their whole life
/// (statics are never dropped, so a temp dir there would stay behind after every run).
pub fn write_samples_for_process(
    base: &Path,
    prefix: &str,
    options: &SampleOptions,
) -> Result<(PathBuf, SampleCatalog), SampleError> {
    if let Ok(entries) = fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name
                .to_str()
                .and_then(|name| name.strip_prefix(prefix))
                .and_then(|pid| pid.parse::<u32>().ok());
            if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let catalog = write_samples(&dir, options)?;
    Ok((dir, catalog))
}

/// Writes the sample appliances into `dir` (created if needed).
pub fn write_samples(dir: &Path, options: &SampleOptions) -> Result<SampleCatalog, SampleError> {
    fs::create_dir_all(dir)?;
    let staging = Staging::new(dir)?;
    let appliances = vec![
        ovirt(&staging, options)?,
        virtualbox_bios(&staging, options)?,
        vmware_efi(&staging, options)?,
        plain_ovf(&staging, options)?,
    ];
    Ok(SampleCatalog {
        root: dir.to_owned(),
        appliances,
    })
}

impl SampleDisk {
    /// Writes the guest-visible content of this disk as a raw image at `path`.
    pub fn write_raw(&self, path: &Path) -> io::Result<()> {
        let mut file = File::create(path)?;
        file.set_len(self.virtual_size)?;
        for (offset, bytes) in disk_content(&self.file_name, self.virtual_size) {
            file.seek(SeekFrom::Start(offset))?;
            file.write_all(&bytes)?;
        }
        file.sync_all()
    }

    fn build(&self, dir: &Path, options: &SampleOptions) -> Result<PathBuf, SampleError> {
        let raw = dir.join(format!("{}.raw", self.file_name));
        self.write_raw(&raw)?;
        let out = dir.join(&self.file_name);
        let mut args: Vec<String> = vec!["convert".into(), "-f".into(), "raw".into(), "-O".into()];
        match self.format {
            DiskFormat::StreamOptimizedVmdk => {
                args.extend([
                    "vmdk".into(),
                    "-o".into(),
                    "subformat=streamOptimized".into(),
                ]);
            }
            DiskFormat::Qcow2 => args.push("qcow2".into()),
        }
        args.push(raw.display().to_string());
        args.push(out.display().to_string());
        qemu_img(options, &args)?;
        fs::remove_file(&raw)?;
        if self.format == DiskFormat::StreamOptimizedVmdk {
            fix_vmdk_content_id(&out, &self.file_name)?;
        }
        Ok(out)
    }
}

/// The data regions of a sample disk: `(offset, bytes)`.
fn disk_content(seed: &str, size: u64) -> Vec<(u64, Vec<u8>)> {
    let mut boot = format!("FERRY SAMPLE DISK {seed}: boot sector\n").into_bytes();
    boot.resize(512, b'.');
    boot[510] = 0x55;
    boot[511] = 0xAA;
    let mut regions = vec![(0, boot)];
    if size >= 2 * MIB {
        let mut text = Vec::with_capacity(MIB as usize);
        for sector in 0..(MIB / 512) {
            let mut line = format!("FERRY SAMPLE {seed} SECTOR {sector:08}\n").into_bytes();
            line.resize(511, b' ');
            line.push(b'\n');
            text.extend_from_slice(&line);
        }
        regions.push((MIB, text));
    }
    if size >= 4 * MIB {
        let digest = Sha256::digest(seed.as_bytes());
        let mut state = u64::from_le_bytes(digest[..8].try_into().unwrap_or([1; 8])) | 1;
        let mut noise = Vec::with_capacity(MIB as usize);
        while noise.len() < MIB as usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise.extend_from_slice(&state.to_le_bytes());
        }
        regions.push(((size / 2) & !(MIB - 1), noise));
    }
    regions
}

/// Replaces the random content ID (`CID=<hex>`, printed without padding) in a VMDK's
/// embedded descriptor with 8 hex digits derived from `seed`, shifting the rest of the
/// descriptor text within its zero-padded area.
fn fix_vmdk_content_id(path: &Path, seed: &str) -> io::Result<()> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("VMDK: {what}"));
    let mut file = File::options().read(true).write(true).open(path)?;
    let mut head = vec![0; 64 * 1024];
    let read = file.read(&mut head)?;
    head.truncate(read);
    let field = |at: usize| {
        head.get(at..at + 8)
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(u64::from_le_bytes)
    };
    let (Some(offset), Some(size)) = (field(28), field(36)) else {
        return Err(invalid("header too short"));
    };
    let area_end = usize::try_from((offset + size) * 512)
        .map_err(|_| invalid("descriptor out of range"))?
        .min(head.len());
    let needle = b"\nCID=";
    let Some(at) = head.windows(needle.len()).position(|w| w == needle) else {
        return Err(invalid("no CID line in the descriptor"));
    };
    let digits = at + needle.len();
    let line_end = head[digits..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|n| digits + n)
        .ok_or_else(|| invalid("unterminated CID line"))?;
    let text_end = head[line_end..area_end]
        .iter()
        .position(|b| *b == 0)
        .map_or(area_end, |n| line_end + n);
    let cid = &hex::encode(Sha256::digest(seed.as_bytes()))[..8];
    let mut text = head[digits..digits].to_vec();
    text.extend_from_slice(cid.as_bytes());
    text.extend_from_slice(&head[line_end..text_end]);
    let old_len = text_end - digits;
    if digits + text.len() > area_end {
        return Err(invalid("descriptor area full"));
    }
    text.resize(text.len().max(old_len), 0);
    file.seek(SeekFrom::Start(digits as u64))?;
    file.write_all(&text)
}

fn qemu_img(options: &SampleOptions, args: &[String]) -> Result<(), SampleError> {
    let output = Command::new(&options.qemu_img)
        .args(args)
        .output()
        .map_err(|error| SampleError::QemuImgMissing(options.qemu_img.clone(), error))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(SampleError::QemuImg {
            args: args.join(" "),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// A staging directory inside the catalog (so publishing is a rename), removed when
/// done. Staged files sit four levels down, deeper than any appliance is looked for,
/// so a running collector never lists them.
struct Staging {
    root: PathBuf,
    dir: PathBuf,
    target: PathBuf,
}

impl Staging {
    fn new(target: &Path) -> io::Result<Self> {
        let root = target.join(format!(".ferry-staging-{}", std::process::id()));
        if root.exists() {
            fs::remove_dir_all(&root)?;
        }
        let dir = root.join("work");
        fs::create_dir_all(&dir)?;
        Ok(Self {
            root,
            dir,
            target: target.to_owned(),
        })
    }

    /// A fresh sub-directory of the staging area.
    fn scratch(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self.dir.join(name);
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Moves a staged file or directory to `relative` in the catalog.
    fn publish(&self, staged: &Path, relative: &str) -> io::Result<()> {
        let target = self.target.join(relative);
        if target.is_dir() {
            fs::remove_dir_all(&target)?;
        }
        fs::rename(staged, &target)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: a leftover staging directory is harmless (never listed).
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Sets a file's modification time to the fixed sample time.
fn settle(path: &Path) -> io::Result<()> {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(SAMPLE_MTIME_SECS);
    File::options().write(true).open(path)?.set_modified(time)
}

/// Writes a tar of `members` (name, path) to `out`, with fixed header metadata.
fn write_tar(out: &Path, members: &[(String, PathBuf)]) -> io::Result<()> {
    let mut builder = tar::Builder::new(io::BufWriter::new(File::create(out)?));
    for (name, path) in members {
        let mut file = File::open(path)?;
        let mut header = tar::Header::new_ustar();
        header.set_path(name)?;
        header.set_size(file.metadata()?.len());
        header.set_mode(0o644);
        header.set_mtime(SAMPLE_MTIME_SECS);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &mut file)?;
    }
    builder.into_inner()?.flush()
}

/// VMware's manifest line format.
fn manifest(files: &[(String, PathBuf)]) -> io::Result<String> {
    let mut text = String::new();
    for (name, path) in files {
        let mut hasher = Sha256::new();
        io::copy(&mut File::open(path)?, &mut hasher)?;
        text.push_str(&format!(
            "SHA256({name})= {}\n",
            hex::encode(hasher.finalize())
        ));
    }
    Ok(text)
}

/// Escapes text for XML content and attribute values.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Builds an `.ova`: descriptor first, then the manifest if any, then the disks.
fn pack_ova(
    staging: &Staging,
    scratch: &Path,
    name: &str,
    descriptor: &str,
    disks: &[PathBuf],
    with_manifest: bool,
) -> Result<(), SampleError> {
    let ovf = scratch.join(format!("{name}.ovf"));
    fs::write(&ovf, descriptor)?;
    let mut members = vec![(format!("{name}.ovf"), ovf)];
    let disk_members: Vec<(String, PathBuf)> = disks
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, path.clone())
        })
        .collect();
    if with_manifest {
        let mut hashed = members.clone();
        hashed.extend(disk_members.iter().cloned());
        let mf = scratch.join(format!("{name}.mf"));
        fs::write(&mf, manifest(&hashed)?)?;
        members.push((format!("{name}.mf"), mf));
    }
    members.extend(disk_members);
    let ova = scratch.join(format!("{name}.ova"));
    write_tar(&ova, &members)?;
    settle(&ova)?;
    staging.publish(&ova, &format!("{name}.ova"))?;
    Ok(())
}

/// A VMware-shaped VM description, rendered as ovftool writes it.
struct VmwareVm<'a> {
    id: &'a str,
    name: &'a str,
    os_type: &'a str,
    cpus: u32,
    cores_per_socket: u32,
    memory_mib: u64,
    firmware: &'a str,
    secure_boot: bool,
    /// (href, capacity, units)
    disks: Vec<(String, u64, &'a str)>,
    /// (name, description)
    networks: &'a [(&'a str, &'a str)],
    /// (network, MAC)
    nics: &'a [(&'a str, &'a str)],
}

fn vmware_descriptor(vm: &VmwareVm<'_>) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<!--Generated by Ferry's samples in the shape of VMware ovftool 4.4-->\n");
    out.push_str(concat!(
        "<Envelope vmw:buildId=\"build-16360108\" xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" ",
        "xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" ",
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" ",
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" ",
        "xmlns:vmw=\"http://www.vmware.com/schema/ovf\" ",
        "xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" ",
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    ));
    out.push_str("  <References>\n");
    for (index, (href, _, _)) in vm.disks.iter().enumerate() {
        out.push_str(&format!(
            "    <File ovf:href=\"{}\" ovf:id=\"file{}\"/>\n",
            xml(href),
            index + 1
        ));
    }
    out.push_str("  </References>\n  <DiskSection>\n    <Info>Virtual disk information</Info>\n");
    for (index, (_, capacity, units)) in vm.disks.iter().enumerate() {
        out.push_str(&format!(
            "    <Disk ovf:capacity=\"{capacity}\" ovf:capacityAllocationUnits=\"{units}\" \
             ovf:diskId=\"vmdisk{n}\" ovf:fileRef=\"file{n}\" ovf:format=\"{STREAM_OPTIMIZED}\"/>\n",
            n = index + 1
        ));
    }
    out.push_str(
        "  </DiskSection>\n  <NetworkSection>\n    <Info>The list of logical networks</Info>\n",
    );
    for (name, description) in vm.networks {
        out.push_str(&format!(
            "    <Network ovf:name=\"{}\">\n      <Description>{}</Description>\n    </Network>\n",
            xml(name),
            xml(description)
        ));
    }
    out.push_str("  </NetworkSection>\n");
    out.push_str(&format!(
        "  <VirtualSystem ovf:id=\"{id}\">\n    <Info>A virtual machine</Info>\n    <Name>{name}</Name>\n\
         \x20   <OperatingSystemSection ovf:id=\"80\" vmw:osType=\"{os}\">\n\
         \x20     <Info>The kind of installed guest operating system</Info>\n    </OperatingSystemSection>\n\
         \x20   <VirtualHardwareSection>\n      <Info>Virtual hardware requirements</Info>\n\
         \x20     <System>\n        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n\
         \x20       <vssd:InstanceID>0</vssd:InstanceID>\n\
         \x20       <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>\n\
         \x20       <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>\n      </System>\n",
        id = xml(vm.id),
        name = xml(vm.name),
        os = xml(vm.os_type),
    ));
    let mut instance = 0;
    let mut item = |out: &mut String, body: String| {
        instance += 1;
        out.push_str(&format!(
            "      <Item>\n{body}        <rasd:InstanceID>{instance}</rasd:InstanceID>\n      </Item>\n"
        ));
    };
    item(
        &mut out,
        format!(
            "        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n\
         \x20       <rasd:Description>Number of Virtual CPUs</rasd:Description>\n\
         \x20       <rasd:ElementName>{cpus} virtual CPU(s)</rasd:ElementName>\n\
         \x20       <rasd:ResourceType>3</rasd:ResourceType>\n\
         \x20       <rasd:VirtualQuantity>{cpus}</rasd:VirtualQuantity>\n\
         \x20       <vmw:CoresPerSocket ovf:required=\"false\">{cores}</vmw:CoresPerSocket>\n",
            cpus = vm.cpus,
            cores = vm.cores_per_socket
        ),
    );
    item(
        &mut out,
        format!(
            "        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n\
         \x20       <rasd:Description>Memory Size</rasd:Description>\n\
         \x20       <rasd:ElementName>{mib}MB of memory</rasd:ElementName>\n\
         \x20       <rasd:ResourceType>4</rasd:ResourceType>\n\
         \x20       <rasd:VirtualQuantity>{mib}</rasd:VirtualQuantity>\n",
            mib = vm.memory_mib
        ),
    );
    item(
        &mut out,
        "        <rasd:Address>0</rasd:Address>\n\
         \x20       <rasd:Description>SCSI Controller</rasd:Description>\n\
         \x20       <rasd:ElementName>SCSI controller 0</rasd:ElementName>\n\
         \x20       <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>\n\
         \x20       <rasd:ResourceType>6</rasd:ResourceType>\n"
            .into(),
    );
    for (index, _) in vm.disks.iter().enumerate() {
        item(
            &mut out,
            format!(
                "        <rasd:AddressOnParent>{index}</rasd:AddressOnParent>\n\
             \x20       <rasd:ElementName>Hard disk {n}</rasd:ElementName>\n\
             \x20       <rasd:HostResource>ovf:/disk/vmdisk{n}</rasd:HostResource>\n\
             \x20       <rasd:Parent>3</rasd:Parent>\n\
             \x20       <rasd:ResourceType>17</rasd:ResourceType>\n",
                n = index + 1
            ),
        );
    }
    for (index, (network, mac)) in vm.nics.iter().enumerate() {
        item(
            &mut out,
            format!(
                "        <rasd:Address>{mac}</rasd:Address>\n\
             \x20       <rasd:AddressOnParent>{slot}</rasd:AddressOnParent>\n\
             \x20       <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n\
             \x20       <rasd:Connection>{network}</rasd:Connection>\n\
             \x20       <rasd:Description>VmxNet3 ethernet adapter on &quot;{network}&quot;</rasd:Description>\n\
             \x20       <rasd:ElementName>Network adapter {n}</rasd:ElementName>\n\
             \x20       <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>\n\
             \x20       <rasd:ResourceType>10</rasd:ResourceType>\n\
             \x20       <vmw:Config ovf:required=\"false\" vmw:key=\"slotInfo.pciSlotNumber\" vmw:value=\"{pci}\"/>\n\
             \x20       <vmw:Config ovf:required=\"false\" vmw:key=\"wakeOnLanEnabled\" vmw:value=\"true\"/>\n",
                mac = xml(mac),
                network = xml(network),
                slot = 7 + index,
                n = index + 1,
                pci = 160 + 32 * index,
            ),
        );
    }
    item(
        &mut out,
        "        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n\
         \x20       <rasd:ElementName>Video card</rasd:ElementName>\n\
         \x20       <rasd:ResourceType>24</rasd:ResourceType>\n"
            .into(),
    );
    item(
        &mut out,
        "        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n\
         \x20       <rasd:ElementName>VMCI device</rasd:ElementName>\n\
         \x20       <rasd:ResourceSubType>vmware.vmci</rasd:ResourceSubType>\n\
         \x20       <rasd:ResourceType>1</rasd:ResourceType>\n"
            .into(),
    );
    out.push_str(&format!(
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"{}\"/>\n",
        vm.firmware
    ));
    out.push_str(&format!(
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"bootOptions.efiSecureBootEnabled\" vmw:value=\"{}\"/>\n",
        vm.secure_boot
    ));
    out.push_str(concat!(
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"cpuHotAddEnabled\" vmw:value=\"false\"/>\n",
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"cpuHotRemoveEnabled\" vmw:value=\"false\"/>\n",
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"memoryHotAddEnabled\" vmw:value=\"false\"/>\n",
        "      <vmw:Config ovf:required=\"false\" vmw:key=\"tools.syncTimeWithHost\" vmw:value=\"false\"/>\n",
        "      <vmw:ExtraConfig ovf:required=\"false\" vmw:key=\"svga.present\" vmw:value=\"TRUE\"/>\n",
        "    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n"
    ));
    out
}

fn vmware_efi(staging: &Staging, options: &SampleOptions) -> Result<SampleAppliance, SampleError> {
    let name = "ferry-vmware-efi";
    let scratch = staging.scratch(name)?;
    let disks = vec![
        SampleDisk {
            file_name: format!("{name}-disk1.vmdk"),
            virtual_size: 64 * MIB,
            format: DiskFormat::StreamOptimizedVmdk,
        },
        SampleDisk {
            file_name: format!("{name}-disk2.vmdk"),
            virtual_size: 32 * MIB,
            format: DiskFormat::StreamOptimizedVmdk,
        },
    ];
    let built = disks
        .iter()
        .map(|disk| disk.build(&scratch, options))
        .collect::<Result<Vec<_>, _>>()?;
    let descriptor = vmware_descriptor(&VmwareVm {
        id: name,
        name,
        os_type: "rhel9_64Guest",
        cpus: 4,
        cores_per_socket: 2,
        memory_mib: 2048,
        firmware: "efi",
        secure_boot: true,
        disks: vec![
            (disks[0].file_name.clone(), 64, "byte * 2^20"),
            (disks[1].file_name.clone(), 32 * MIB, "byte"),
        ],
        networks: &[
            ("VM Network", "The VM Network network"),
            ("Network 1", "The Network 1 network"),
        ],
        nics: &[
            ("VM Network", "00:50:56:8a:01:01"),
            ("Network 1", "00:50:56:8a:01:02"),
        ],
    });
    pack_ova(staging, &scratch, name, &descriptor, &built, true)?;
    Ok(SampleAppliance {
        relative: format!("{name}.ova"),
        vm_name: name.into(),
        disks,
    })
}

fn virtualbox_bios(
    staging: &Staging,
    options: &SampleOptions,
) -> Result<SampleAppliance, SampleError> {
    let name = "ferry-virtualbox-bios";
    let scratch = staging.scratch(name)?;
    let disk = SampleDisk {
        file_name: format!("{name}-disk001.vmdk"),
        virtual_size: 48 * MIB,
        format: DiskFormat::StreamOptimizedVmdk,
    };
    let built = disk.build(&scratch, options)?;
    let descriptor = format!(
        r#"<?xml version="1.0"?>
<Envelope ovf:version="2.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/2" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine" xmlns:epasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData.xsd" xmlns:sasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData.xsd">
  <References>
    <File ovf:id="file1" ovf:href="{disk}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="{capacity}" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="{STREAM_OPTIMIZED}" vbox:uuid="4f2b9c1e-6d3a-4e8b-9c0d-1a2b3c4d5e6f"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="80">
      <Info>The kind of installed guest operating system</Info>
      <Description>RedHat_64</Description>
      <vbox:OSType ovf:required="false">RedHat_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>1 virtual CPU</rasd:Caption>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>1024 MB of memory</rasd:Caption>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>1024 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>ideController0</rasd:Caption>
        <rasd:Description>IDE Controller</rasd:Description>
        <rasd:ElementName>ideController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>PIIX4</rasd:ResourceSubType>
        <rasd:ResourceType>5</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:Description>SATA Controller</rasd:Description>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:Description>Disk Image</rasd:Description>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>6</rasd:InstanceID>
        <rasd:Parent>4</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{{0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a}}" name="{name}">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Hardware>
        <BIOS><IOAPIC enabled="true"/></BIOS>
      </Hardware>
    </vbox:Machine>
  </VirtualSystem>
</Envelope>
"#,
        disk = disk.file_name,
        capacity = disk.virtual_size,
    );
    pack_ova(staging, &scratch, name, &descriptor, &[built], false)?;
    Ok(SampleAppliance {
        relative: format!("{name}.ova"),
        vm_name: name.into(),
        disks: vec![disk],
    })
}

/// The oVirt sample's VM ID (a UUID, as oVirt exports it).
pub const OVIRT_VM_ID: &str = "2f6a0c7e-5d2b-4c1e-9a43-6b1f0d8e7c21";
/// The `populatedSize` the oVirt sample declares for its disk.
const OVIRT_POPULATED_SIZE: u64 = 3 * MIB;

fn ovirt(staging: &Staging, options: &SampleOptions) -> Result<SampleAppliance, SampleError> {
    let name = "ferry-ovirt";
    let image_id = "b5d1c1f7-3f0e-4a6c-8d2e-7e9b0a1c2d3e";
    let disk_id = "c8e2a9d4-1b3f-4e5a-9c6d-0f1e2d3c4b5a";
    let scratch = staging.scratch(name)?;
    let disk = SampleDisk {
        file_name: image_id.into(),
        virtual_size: 1 << 30,
        format: DiskFormat::Qcow2,
    };
    let built = disk.build(&scratch, options)?;
    let size = fs::metadata(&built)?.len();
    // oVirt records the image's allocated size; a fixed figure keeps the disk ID (which
    // hashes it) independent of the qemu-img version.
    let populated = OVIRT_POPULATED_SIZE;
    let descriptor = format!(
        r#"<?xml version='1.0' encoding='UTF-8'?>
<ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1/" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.dmtf.org/ovf/envelope/1/" xmlns:ovirt="http://www.ovirt.org/ovf" ovf:version="4.4.0.0">
  <References>
    <File ovf:href="{image_id}" ovf:id="{image_id}" ovf:size="{size}"/>
  </References>
  <NetworkSection>
    <Info>List of networks</Info>
    <Network ovf:name="ovirtmgmt"/>
  </NetworkSection>
  <DiskSection>
    <Info>List of Virtual Disks</Info>
    <Disk ovf:diskId="{disk_id}" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:populatedSize="{populated}" ovf:parentRef="" ovf:fileRef="{image_id}" ovf:format="http://en.wikipedia.org/wiki/Qcow2" ovf:volume-format="COW" ovf:volume-type="Sparse" ovf:disk-interface="VirtIO_SCSI" ovf:boot="true" ovf:pass-discard="false" ovf:disk-alias="{name}_Disk1" ovf:disk-description="" ovf:wipe-after-delete="false" ovf:description="" ovf:disk_storage_type="IMAGE" ovf:cinder_volume_type=""/>
  </DiskSection>
  <VirtualSystem ovf:id="{OVIRT_VM_ID}">
    <Name>{name}</Name>
    <Description>Exported from oVirt 4.5</Description>
    <OperatingSystemSection ovf:id="80" ovirt:id="24" ovf:required="false">
      <Info>Guest Operating System</Info>
      <Description>rhel_8x64</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>2 CPU, 2048 Memory</Info>
      <System>
        <vssd:VirtualSystemType>ENGINE 4.5.0.0</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>2 virtual cpu</rasd:Caption>
        <rasd:Description>Number of virtual CPU</rasd:Description>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:num_of_sockets>2</rasd:num_of_sockets>
        <rasd:cpu_per_socket>1</rasd:cpu_per_socket>
        <rasd:threads_per_cpu>1</rasd:threads_per_cpu>
        <rasd:max_num_of_vcpus>16</rasd:max_num_of_vcpus>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Caption>2048 MB of memory</rasd:Caption>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Caption>{name}_Disk1</rasd:Caption>
        <rasd:InstanceID>{image_id}</rasd:InstanceID>
        <rasd:ResourceType>17</rasd:ResourceType>
        <rasd:HostResource>ovf:/disk/{disk_id}</rasd:HostResource>
        <rasd:Parent>00000000-0000-0000-0000-000000000000</rasd:Parent>
        <rasd:ApplicationList></rasd:ApplicationList>
      </Item>
      <Item>
        <rasd:Caption>Ethernet adapter on ovirtmgmt</rasd:Caption>
        <rasd:InstanceID>3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c</rasd:InstanceID>
        <rasd:ResourceType>10</rasd:ResourceType>
        <rasd:OtherResourceType>ovirtmgmt</rasd:OtherResourceType>
        <rasd:ResourceSubType>3</rasd:ResourceSubType>
        <rasd:Connection>ovirtmgmt</rasd:Connection>
        <rasd:Linked>true</rasd:Linked>
        <rasd:Name>nic1</rasd:Name>
        <rasd:ElementName>nic1</rasd:ElementName>
        <rasd:MACAddress>56:6f:1a:2b:00:01</rasd:MACAddress>
        <rasd:Address>56:6f:1a:2b:00:01</rasd:Address>
        <rasd:speed>10000</rasd:speed>
      </Item>
      <Item>
        <rasd:Caption>Graphical Controller</rasd:Caption>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceType>20</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
        <rasd:Device>qxl</rasd:Device>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</ovf:Envelope>
"#
    );
    pack_ova(staging, &scratch, name, &descriptor, &[built], false)?;
    Ok(SampleAppliance {
        relative: format!("{name}.ova"),
        vm_name: name.into(),
        disks: vec![disk],
    })
}

fn plain_ovf(staging: &Staging, options: &SampleOptions) -> Result<SampleAppliance, SampleError> {
    let name = "ferry-plain";
    let scratch = staging.scratch(name)?;
    let disk = SampleDisk {
        file_name: format!("{name}-disk1.vmdk"),
        virtual_size: 16 * MIB,
        format: DiskFormat::StreamOptimizedVmdk,
    };
    let built = disk.build(&scratch, options)?;
    settle(&built)?;
    let descriptor = vmware_descriptor(&VmwareVm {
        id: name,
        name,
        os_type: "ubuntu64Guest",
        cpus: 2,
        cores_per_socket: 1,
        memory_mib: 1024,
        firmware: "bios",
        secure_boot: false,
        disks: vec![(disk.file_name.clone(), 16, "byte * 2^20")],
        networks: &[("VM Network", "The VM Network network")],
        nics: &[("VM Network", "00:50:56:8a:02:01")],
    });
    let ovf = scratch.join(format!("{name}.ovf"));
    fs::write(&ovf, descriptor)?;
    settle(&ovf)?;
    staging.publish(&scratch, name)?;
    Ok(SampleAppliance {
        relative: format!("{name}/{name}.ovf"),
        vm_name: name.into(),
        disks: vec![disk],
    })
}

/// How [`generate_catalog`] fills appliances' disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchDisk {
    /// A 512-byte placeholder member: the inventory never reads disk data, so this
    /// measures discovery and parsing alone, without `qemu-img`.
    Placeholder,
    /// One real 1 MiB streamOptimized VMDK (made once with `qemu-img`, about 128 KiB),
    /// copied into every appliance.
    Real(SampleOptions),
}

/// What [`generate_catalog`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCatalog {
    /// The catalog directory.
    pub root: PathBuf,
    /// The VM names, `bench-vm-00000` onwards, in the order the inventory lists them.
    pub vm_names: Vec<String>,
}

/// Writes `count` small VMware-shaped appliances (one disk, one NIC on `VM Network`)
/// under `dir`, 100 per sub-directory, for benchmarks and scale tests. Quick: no
/// `qemu-img` per appliance.
pub fn generate_catalog(
    dir: &Path,
    count: usize,
    disk: &BenchDisk,
) -> Result<GeneratedCatalog, SampleError> {
    fs::create_dir_all(dir)?;
    let staging = Staging::new(dir)?;
    let scratch = staging.scratch("bench")?;
    let disk_file = match disk {
        BenchDisk::Placeholder => {
            let path = scratch.join("bench-disk1.vmdk");
            fs::write(&path, [0u8; 512])?;
            path
        }
        BenchDisk::Real(options) => SampleDisk {
            file_name: "bench-disk1.vmdk".into(),
            virtual_size: MIB,
            format: DiskFormat::StreamOptimizedVmdk,
        }
        .build(&scratch, options)?,
    };
    let mut vm_names = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("bench-vm-{index:05}");
        let descriptor = vmware_descriptor(&VmwareVm {
            id: &name,
            name: &name,
            os_type: "rhel9_64Guest",
            cpus: 2,
            cores_per_socket: 1,
            memory_mib: 1024,
            firmware: if index % 2 == 0 { "efi" } else { "bios" },
            secure_boot: index % 4 == 0,
            disks: vec![("bench-disk1.vmdk".into(), 1, "byte * 2^20")],
            networks: &[("VM Network", "The VM Network network")],
            nics: &[("VM Network", "00:50:56:00:00:01")],
        });
        let ovf = scratch.join(format!("{name}.ovf"));
        fs::write(&ovf, descriptor)?;
        let subdir = format!("d{:03}", index / 100);
        fs::create_dir_all(dir.join(&subdir))?;
        let ova = scratch.join(format!("{name}.ova"));
        write_tar(
            &ova,
            &[
                (format!("{name}.ovf"), ovf.clone()),
                ("bench-disk1.vmdk".into(), disk_file.clone()),
            ],
        )?;
        fs::remove_file(&ovf)?;
        settle(&ova)?;
        staging.publish(&ova, &format!("{subdir}/{name}.ova"))?;
        vm_names.push(name);
    }
    Ok(GeneratedCatalog {
        root: dir.to_owned(),
        vm_names,
    })
}
