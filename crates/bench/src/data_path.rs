//! `ferry bench data-path`: how fast the sandbox's conversion path turns a disk inside
//! an OVA into a raw image, against `qemu-img convert` run directly on the same VMDK and
//! against `cat` of the raw image to `/dev/null` (how fast this machine reads it).
//!
//! The input is made first: a raw image of the chosen size whose 1 MiB blocks are, in
//! turn of eight, two left as holes (zeros), two filled with a repeating text page (it
//! compresses) and four with pseudo-random bytes (they do not), converted to a
//! streamOptimized VMDK with `qemu-img` and packed with an OVF descriptor into an OVA.
//!
//! Then, per run, in this order:
//! 1. **sandbox**: what the virt-v2v workload does with the appliance, with the same
//!    code: open the OVA in place ([`ferry_sandbox::cluster::workload::v2v::source`]),
//!    `qemu-img info` and its checks ([`ferry_sandbox::cluster::qemu::probe`]), size the
//!    output, and [`ferry_sandbox::cluster::qemu::convert_to_raw`] (a `qemu-img convert
//!    -p -O raw -n` reading the VMDK as a slice of the archive, with progress parsing);
//! 2. **qemu-img**: `qemu-img convert -f vmdk -O raw disk.vmdk out.img` on the VMDK file
//!    the OVA was packed from (the same bytes);
//! 3. **cat**: `cat raw.img > /dev/null` of the source raw image.
//!
//! Every file is in the page cache (the machine has far more memory than the files), so
//! the figures are CPU- and memory-bound, not the disk's. The first run also checks that
//! the sandbox's output equals the source raw image, byte for byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ferry_inventory::ova::samples::SampleOptions;
use ferry_sandbox::cluster::qemu;
use ferry_sandbox::cluster::workload::v2v::source;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::BenchError;
use crate::procfs;

const MIB: u64 = 1 << 20;
/// The VM's name in the descriptor.
const VM_NAME: &str = "bench-data-path";
/// The disk's file name in the OVA.
const DISK_FILE: &str = "bench-data-path-disk1.vmdk";

/// How to run the data-path benchmark.
#[derive(Debug, Clone)]
pub struct DataPathOptions {
    /// The virtual disk size, bytes (a multiple of 1 MiB).
    pub size_bytes: u64,
    /// How many runs of the three measurements.
    pub runs: usize,
    /// The working directory (`None`: a temporary one, removed at the end).
    pub dir: Option<PathBuf>,
    /// The `qemu-img` binary.
    pub qemu_img: PathBuf,
}

impl Default for DataPathOptions {
    /// 1 GiB, two runs, a temporary directory, `qemu-img` from `$FERRY_QEMU_IMG` or
    /// `PATH`.
    fn default() -> Self {
        Self {
            size_bytes: 1 << 30,
            runs: 2,
            dir: None,
            qemu_img: SampleOptions::from_env().qemu_img,
        }
    }
}

/// One run of the three measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPathRun {
    /// The sandbox's conversion path, seconds.
    pub sandbox_seconds: f64,
    /// `qemu-img convert` directly, seconds.
    pub qemu_img_seconds: f64,
    /// `cat` of the raw image, seconds.
    pub cat_seconds: f64,
    /// Virtual disk MiB per second through the sandbox's path.
    pub sandbox_mib_per_s: f64,
    /// Through `qemu-img convert`.
    pub qemu_img_mib_per_s: f64,
    /// Through `cat`.
    pub cat_mib_per_s: f64,
    /// sandbox throughput / `qemu-img` throughput.
    pub sandbox_vs_qemu_img: f64,
    /// sandbox throughput / `cat` throughput.
    pub sandbox_vs_cat: f64,
    /// The 1-minute load average before the run.
    pub load_average: Option<f64>,
}

/// What the data-path benchmark measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPathReport {
    /// `data-path`.
    pub bench: &'static str,
    /// The virtual disk size, bytes.
    pub size_bytes: u64,
    /// What is in it.
    pub content: &'static str,
    /// The streamOptimized VMDK, bytes.
    pub vmdk_bytes: u64,
    /// The OVA, bytes.
    pub ova_bytes: u64,
    /// Making the raw image, the VMDK and the OVA, seconds.
    pub prepare_seconds: f64,
    /// `qemu-img --version`'s first line.
    pub qemu_img_version: String,
    /// Whether the sandbox's output equals the source raw image (checked on the first run).
    pub output_identical: bool,
    /// The runs.
    pub runs: Vec<DataPathRun>,
    /// The first run's sandbox / `qemu-img` throughput ratio.
    pub sandbox_vs_qemu_img: f64,
    /// The first run's sandbox / `cat` throughput ratio.
    pub sandbox_vs_cat: f64,
}

/// The content of block `index` (1 MiB): `None` for a hole (pure).
pub fn block(index: u64) -> Option<Vec<u8>> {
    match index % 8 {
        0 | 1 => None,
        2 | 3 => {
            let page = format!(
                "Ferry data-path benchmark block {index:08}: the quick brown fox jumps over the lazy dog.\n"
            );
            Some(page.bytes().cycle().take(MIB as usize).collect())
        }
        _ => {
            // xorshift64*, seeded by the block index: incompressible, reproducible.
            let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut bytes = Vec::with_capacity(MIB as usize);
            while bytes.len() < MIB as usize {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
            }
            Some(bytes)
        }
    }
}

/// Writes the raw source image of `size` bytes.
fn write_raw(path: &Path, size: u64) -> Result<(), BenchError> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::create(path)?;
    file.set_len(size)?;
    for index in 0..size / MIB {
        if let Some(bytes) = block(index) {
            file.seek(SeekFrom::Start(index * MIB))?;
            file.write_all(&bytes)?;
        }
    }
    file.flush()?;
    Ok(())
}

/// A VMware-shaped OVF descriptor for one VM with one streamOptimized disk of `size`
/// bytes (pure).
pub fn descriptor(size: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="{DISK_FILE}" ovf:id="file1"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{mib}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{VM_NAME}">
    <Info>A virtual machine</Info>
    <Name>{VM_NAME}</Name>
    <OperatingSystemSection ovf:id="80" vmw:osType="rhel9_64Guest"><Info>The guest OS</Info></OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>1024MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Address>00:50:56:00:00:01</rasd:Address><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#,
        mib = size / MIB
    )
}

async fn run_tool(program: &Path, args: &[&std::ffi::OsStr]) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| BenchError::Failed(format!("cannot run {}: {e}", program.display())))?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(BenchError::Failed(format!(
            "{} {:?} failed ({}): {}",
            program.display(),
            args,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(elapsed)
}

/// `cat path > /dev/null`, timed.
async fn cat(path: &Path) -> Result<Duration, BenchError> {
    run_tool(Path::new("cat"), &[path.as_os_str()]).await
}

/// The sandbox's conversion of the OVA's disk into `out`, timed.
async fn sandbox_convert(qemu_img: &Path, ova: &Path, out: &Path) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let path = ova.to_owned();
    let appliance = tokio::task::spawn_blocking(move || source::open(&path, Some(VM_NAME)))
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))?
        .map_err(|e| BenchError::Failed(e.to_string()))?;
    let disk = appliance
        .disks
        .first()
        .ok_or_else(|| BenchError::Failed("the appliance has no disk".into()))?;
    let info = qemu::probe(qemu_img, &disk.source)
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))?;
    let file = std::fs::File::create(out)?;
    file.set_len(info.virtual_size)?;
    drop(file);
    qemu::convert_to_raw(
        qemu_img,
        &disk.source,
        out,
        true,
        &CancellationToken::new(),
        |_| {},
    )
    .await
    .map_err(|e| BenchError::Failed(e.to_string()))?;
    Ok(started.elapsed())
}

/// Whether two files have the same bytes (`cmp -s`).
async fn identical(a: &Path, b: &Path) -> Result<bool, BenchError> {
    let status = tokio::process::Command::new("cmp")
        .arg("-s")
        .arg(a)
        .arg(b)
        .status()
        .await
        .map_err(|e| BenchError::Failed(format!("cannot run cmp: {e}")))?;
    Ok(status.success())
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64().max(1e-9)
}

/// Runs the benchmark, writing progress lines to `out`; returns the figures.
pub async fn run(
    options: &DataPathOptions,
    out: &mut (dyn Write + Send),
) -> Result<DataPathReport, BenchError> {
    if options.size_bytes == 0 || !options.size_bytes.is_multiple_of(MIB) || options.runs == 0 {
        return Err(BenchError::Invalid(
            "the size must be a positive multiple of 1 MiB and runs at least 1".into(),
        ));
    }
    let temporary;
    let dir = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("ferry-bench-data-")
                .tempdir()?;
            temporary.path().to_owned()
        }
    };
    let qemu_img = &options.qemu_img;
    let version = tokio::process::Command::new(qemu_img)
        .arg("--version")
        .output()
        .await
        .map_err(|e| {
            BenchError::Failed(format!(
                "qemu-img ('{}') cannot be run: {e}. Install qemu-utils (scripts/test does) or \
                 set FERRY_QEMU_IMG",
                qemu_img.display()
            ))
        })?;
    let qemu_img_version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let size = options.size_bytes;
    writeln!(
        out,
        "bench data-path: {} MiB disk in {} ({qemu_img_version})",
        size / MIB,
        dir.display()
    )?;

    let prepared = Instant::now();
    let raw = dir.join("source.raw");
    let vmdk = dir.join(DISK_FILE);
    let ova = dir.join(format!("{VM_NAME}.ova"));
    {
        let raw = raw.clone();
        tokio::task::spawn_blocking(move || write_raw(&raw, size))
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))??;
    }
    let _ = std::fs::remove_file(&vmdk);
    run_tool(
        qemu_img,
        &[
            "convert".as_ref(),
            "-f".as_ref(),
            "raw".as_ref(),
            "-O".as_ref(),
            "vmdk".as_ref(),
            "-o".as_ref(),
            "subformat=streamOptimized".as_ref(),
            raw.as_os_str(),
            vmdk.as_os_str(),
        ],
    )
    .await?;
    {
        let (ova, vmdk) = (ova.clone(), vmdk.clone());
        tokio::task::spawn_blocking(move || pack_ova(&ova, &vmdk, size))
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))??;
    }
    let prepare_seconds = prepared.elapsed().as_secs_f64();
    let vmdk_bytes = std::fs::metadata(&vmdk)?.len();
    let ova_bytes = std::fs::metadata(&ova)?.len();
    writeln!(
        out,
        "  prepared in {prepare_seconds:.1} s: VMDK {} MiB, OVA {} MiB",
        vmdk_bytes / MIB,
        ova_bytes / MIB
    )?;

    let sandbox_out = dir.join("sandbox-out.img");
    let direct_out = dir.join("qemu-img-out.img");
    let mut runs = Vec::with_capacity(options.runs);
    let mut output_identical = false;
    for index in 0..options.runs {
        let load_average = procfs::load_average();
        let _ = std::fs::remove_file(&sandbox_out);
        let sandbox = sandbox_convert(qemu_img, &ova, &sandbox_out).await?;
        if index == 0 {
            output_identical = identical(&raw, &sandbox_out).await?;
            if !output_identical {
                return Err(BenchError::Failed(format!(
                    "the sandbox's output {} differs from the source image {}",
                    sandbox_out.display(),
                    raw.display()
                )));
            }
        }
        let _ = std::fs::remove_file(&sandbox_out);
        let _ = std::fs::remove_file(&direct_out);
        let direct = run_tool(
            qemu_img,
            &[
                "convert".as_ref(),
                "-f".as_ref(),
                "vmdk".as_ref(),
                "-O".as_ref(),
                "raw".as_ref(),
                vmdk.as_os_str(),
                direct_out.as_os_str(),
            ],
        )
        .await?;
        let _ = std::fs::remove_file(&direct_out);
        let cat = cat(&raw).await?;
        let run = DataPathRun {
            sandbox_seconds: sandbox.as_secs_f64(),
            qemu_img_seconds: direct.as_secs_f64(),
            cat_seconds: cat.as_secs_f64(),
            sandbox_mib_per_s: mib_per_s(size, sandbox),
            qemu_img_mib_per_s: mib_per_s(size, direct),
            cat_mib_per_s: mib_per_s(size, cat),
            sandbox_vs_qemu_img: direct.as_secs_f64() / sandbox.as_secs_f64().max(1e-9),
            sandbox_vs_cat: cat.as_secs_f64() / sandbox.as_secs_f64().max(1e-9),
            load_average,
        };
        writeln!(
            out,
            "  run {}: sandbox {:.2} s ({:.0} MiB/s), qemu-img {:.2} s ({:.0} MiB/s), cat {:.2} s ({:.0} MiB/s); load {}",
            index + 1,
            run.sandbox_seconds,
            run.sandbox_mib_per_s,
            run.qemu_img_seconds,
            run.qemu_img_mib_per_s,
            run.cat_seconds,
            run.cat_mib_per_s,
            load_average.map_or_else(|| "?".into(), |l| format!("{l:.2}")),
        )?;
        runs.push(run);
    }
    let first = runs.first().cloned();
    Ok(DataPathReport {
        bench: "data-path",
        size_bytes: size,
        content: "1 MiB blocks, of every 8: 2 holes, 2 of repeated text, 4 of pseudo-random bytes",
        vmdk_bytes,
        ova_bytes,
        prepare_seconds,
        qemu_img_version,
        output_identical,
        sandbox_vs_qemu_img: first.as_ref().map_or(0.0, |r| r.sandbox_vs_qemu_img),
        sandbox_vs_cat: first.as_ref().map_or(0.0, |r| r.sandbox_vs_cat),
        runs,
    })
}

/// Packs the descriptor and the VMDK into an OVA (a tar archive, descriptor first).
fn pack_ova(ova: &Path, vmdk: &Path, size: u64) -> Result<(), BenchError> {
    let file = std::fs::File::create(ova)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    let text = descriptor(size);
    let mut disk = std::fs::File::open(vmdk)?;
    let disk_len = disk.metadata()?.len();
    // Plain ustar members, as ovftool writes them (a file with holes would otherwise
    // become a GNU sparse member, which OVA readers do not take).
    let header = |name: &str, len: u64| -> std::io::Result<tar::Header> {
        let mut header = tar::Header::new_ustar();
        header.set_path(name)?;
        header.set_size(len);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        Ok(header)
    };
    builder.append(
        &header(&format!("{VM_NAME}.ovf"), text.len() as u64)?,
        text.as_bytes(),
    )?;
    builder.append(&header(DISK_FILE, disk_len)?, &mut disk)?;
    builder.into_inner()?.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_mix_holes_text_and_noise() {
        assert_eq!(block(0), None);
        assert_eq!(block(9), None);
        let text = block(2).unwrap();
        assert_eq!(text.len(), MIB as usize);
        assert!(text.starts_with(b"Ferry data-path benchmark block 00000002"));
        let noise = block(4).unwrap();
        assert_eq!(noise.len(), MIB as usize);
        assert_ne!(block(4), block(5));
        assert_eq!(block(4), block(4));
        // Not a run of one byte.
        assert!(noise.iter().any(|b| *b != noise[0]));
    }

    #[test]
    fn the_descriptor_parses_as_one_vm_with_one_disk() {
        let xml = descriptor(1 << 30);
        let envelope = ferry_inventory::ova::ovf::parse(&xml, 100_000).unwrap();
        assert_eq!(envelope.files, vec![DISK_FILE.to_owned()]);
    }

    #[tokio::test]
    async fn invalid_sizes_are_refused() {
        let mut out = Vec::new();
        let options = DataPathOptions {
            size_bytes: 1000,
            ..DataPathOptions::default()
        };
        assert!(matches!(
            run(&options, &mut out).await,
            Err(BenchError::Invalid(_))
        ));
    }
}
