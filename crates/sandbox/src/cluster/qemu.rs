//! `qemu-img`, the sandbox's real data path: image inspection with the checks that keep a
//! hostile image from reading files it names, and conversion to raw with progress.
//!
//! A disk inside an `.ova` (a tar archive) is never extracted: `qemu-img` reads it in
//! place through a `raw` slice of the archive (`json:{"driver": "vmdk", "file":
//! {"driver": "raw", "offset": ..., "size": ..., "file": {"driver": "file", "filename":
//! ...}}}`), as virt-v2v does for uncompressed OVAs.
//!
//! Image formats can name other files: a qcow2 backing file, VMDK extents in a
//! descriptor. Before anything is converted, [`probe`] asks `qemu-img info` what the
//! image is and refuses anything with a backing file, any extent outside the image
//! itself, and any format other than the one the descriptor declares; the conversion
//! then opens it with `backing: null`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// Why `qemu-img` could not do the work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QemuError {
    /// It cannot be run.
    #[error(
        "qemu-img ('{0}') cannot be run: {1}. Install qemu-utils (scripts/test does) or set FERRY_QEMU_IMG"
    )]
    Missing(PathBuf, String),
    /// It failed.
    #[error("qemu-img {what} failed: {stderr}")]
    Failed {
        /// What it was doing.
        what: &'static str,
        /// What it printed.
        stderr: String,
    },
    /// The image is not acceptable.
    #[error("refusing disk image {image}: {reason}")]
    Refused {
        /// The image.
        image: String,
        /// Why.
        reason: String,
    },
    /// Stopped on request.
    #[error("cancelled")]
    Cancelled,
}

/// Where an image's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// A slice of it (a tar member): offset and length.
    pub slice: Option<(u64, u64)>,
    /// The format driver (`vmdk`, `qcow2`, `raw`); `None` to let `qemu-img` probe (only
    /// for files the sandbox made itself).
    pub format: Option<String>,
}

impl Source {
    /// The `json:` filename `qemu-img` opens.
    pub fn spec(&self) -> String {
        let mut file = json!({ "driver": "file", "filename": self.file.display().to_string() });
        if let Some((offset, size)) = self.slice {
            file = json!({ "driver": "raw", "offset": offset, "size": size, "file": file });
        }
        let spec = match self.format.as_deref() {
            Some(format) => {
                let mut spec = json!({ "driver": format, "file": file });
                if format == "qcow2" {
                    spec["backing"] = Value::Null;
                }
                spec
            }
            None => file,
        };
        format!("json:{spec}")
    }
}

/// What `qemu-img info` says about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format it found.
    pub format: String,
    /// Guest-visible size in bytes.
    pub virtual_size: u64,
}

/// Checks `info`'s JSON output: the format expected, no backing file, no extent other
/// than the image itself (pure).
pub fn check_info(
    info: &Value,
    expected_format: Option<&str>,
    image: &str,
) -> Result<ImageInfo, QemuError> {
    let refused = |reason: String| QemuError::Refused {
        image: image.to_owned(),
        reason,
    };
    let format = info["format"].as_str().unwrap_or_default().to_owned();
    if let Some(expected) = expected_format
        && format != expected
    {
        return Err(refused(format!(
            "it is {format}, not {expected} as declared"
        )));
    }
    if info.get("backing-filename").is_some() || info.get("full-backing-filename").is_some() {
        return Err(refused("it has a backing file".into()));
    }
    if let Some(extents) = info["format-specific"]["data"]["extents"].as_array()
        && extents.len() > 1
    {
        return Err(refused(format!(
            "it has {} extents; only single-file images are read",
            extents.len()
        )));
    }
    let virtual_size = info["virtual-size"]
        .as_u64()
        .ok_or_else(|| refused("qemu-img reported no virtual size".into()))?;
    Ok(ImageInfo {
        format,
        virtual_size,
    })
}

/// Inspects an image (see [`check_info`]).
pub async fn probe(qemu_img: &Path, source: &Source) -> Result<ImageInfo, QemuError> {
    let spec = source.spec();
    let output = Command::new(qemu_img)
        .args(["info", "--output=json", &spec])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| QemuError::Missing(qemu_img.to_owned(), e.to_string()))?;
    if !output.status.success() {
        return Err(QemuError::Failed {
            what: "info",
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let info: Value = serde_json::from_slice(&output.stdout).map_err(|e| QemuError::Failed {
        what: "info",
        stderr: format!("unreadable output: {e}"),
    })?;
    check_info(
        &info,
        source.format.as_deref(),
        &source.file.display().to_string(),
    )
}

/// Parses `qemu-img convert -p` output: the last `(NN.NN/100%)` in `text`.
pub fn last_progress(text: &str) -> Option<f64> {
    text.rsplit('(').find_map(|chunk| {
        let value = chunk.split_once("/100%)")?.0.trim();
        value
            .parse::<f64>()
            .ok()
            .filter(|v| (0.0..=100.0).contains(v))
    })
}

/// Converts `source` to a raw image at `target`. With `existing`, writes into the
/// existing file (or device stand-in) without recreating it (`-n`), as virt-v2v writes
/// into the disk a claim provides. `progress` gets percentages as `qemu-img` reports
/// them.
pub async fn convert_to_raw(
    qemu_img: &Path,
    source: &Source,
    target: &Path,
    existing: bool,
    cancel: &CancellationToken,
    mut progress: impl FnMut(f64),
) -> Result<(), QemuError> {
    let spec = source.spec();
    let mut command = Command::new(qemu_img);
    command.args(["convert", "-p", "-O", "raw"]);
    if existing {
        command.arg("-n");
        if holds_no_data(target) {
            // Nothing to overwrite: qemu-img may skip the source's zero areas instead
            // of writing zeros over them (a sixth of the time of a half-sparse disk).
            command.arg("--target-is-zero");
        }
    }
    command
        .arg(&spec)
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| QemuError::Missing(qemu_img.to_owned(), e.to_string()))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text).await;
        }
        text
    });
    let mut buffer = [0u8; 4096];
    let mut tail = String::new();
    while let Some(out) = stdout.as_mut() {
        tokio::select! {
            read = out.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    tail.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    if let Some(pct) = last_progress(&tail) {
                        progress(pct);
                    }
                    if tail.len() > 256 {
                        tail = tail[tail.len() - 64..].to_owned();
                    }
                }
            },
            () = cancel.cancelled() => {
                let _ = child.kill().await;
                return Err(QemuError::Cancelled);
            }
        }
    }
    let status = tokio::select! {
        status = child.wait() => status.map_err(|e| QemuError::Failed { what: "convert", stderr: e.to_string() })?,
        () = cancel.cancelled() => {
            let _ = child.kill().await;
            return Err(QemuError::Cancelled);
        }
    };
    let stderr = stderr_task.await.unwrap_or_default();
    if status.success() {
        progress(100.0);
        Ok(())
    } else {
        Err(QemuError::Failed {
            what: "convert",
            stderr: stderr.trim().to_owned(),
        })
    }
}

/// Whether the regular file at `path` holds no data at all: every byte is in a hole,
/// so it reads as zeros (a freshly provisioned volume). A file written before (an
/// earlier attempt), anything but a regular file, a filesystem that cannot tell holes
/// (`SEEK_DATA` then finds data at 0) and any error all say no.
pub fn holds_no_data(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    matches!(
        rustix::fs::seek(&file, rustix::fs::SeekFrom::Data(0)),
        Err(errno) if errno == rustix::io::Errno::NXIO
    )
}

/// Slows reported progress down to a pace: the percentage shown is the lesser of the
/// real one and the share of `min` elapsed.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: tokio::time::Instant,
    min: Duration,
}

impl Pacer {
    /// Starts the clock; the work takes at least `min`.
    pub fn start(min: Duration) -> Self {
        Self {
            start: tokio::time::Instant::now(),
            min,
        }
    }

    /// The percentage to show for a real `pct`.
    pub fn cap(&self, pct: f64) -> f64 {
        if self.min.is_zero() {
            return pct;
        }
        let paced = self.start.elapsed().as_secs_f64() / self.min.as_secs_f64() * 100.0;
        pct.min(paced).clamp(0.0, 100.0)
    }

    /// What is left of the minimum time.
    pub fn remaining(&self) -> Duration {
        self.min.saturating_sub(self.start.elapsed())
    }
}

/// The `qemu-img` driver for the image starting at `offset` of `file`, from its magic
/// (`vmdk` for sparse/streamOptimized VMDKs, `qcow2`, else `raw`).
/// A VMDK *descriptor* (text naming extent files) is refused: it could name any file.
pub fn sniff_format(file: &Path, offset: u64) -> Result<&'static str, String> {
    let mut head = [0u8; 32];
    use std::io::{Read, Seek, SeekFrom};
    let mut handle = std::fs::File::open(file).map_err(|e| e.to_string())?;
    handle
        .seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    let read = handle.read(&mut head).map_err(|e| e.to_string())?;
    let head = &head[..read];
    if head.starts_with(b"KDMV") {
        Ok("vmdk")
    } else if head.starts_with(b"QFI\xfb") {
        Ok("qcow2")
    } else if head.starts_with(b"# Disk DescriptorFile") {
        Err(
            "a VMDK descriptor naming separate extent files is not supported; export a \
             streamOptimized or monolithic VMDK"
                .into(),
        )
    } else {
        Ok("raw")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_of_holes_hold_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(64 << 20).unwrap();
        assert!(holds_no_data(&path), "a sparse file is all holes");
        std::os::unix::fs::FileExt::write_at(&file, b"stale", 32 << 20).unwrap();
        file.sync_all().unwrap();
        assert!(!holds_no_data(&path), "written once, it holds data");
        assert!(!holds_no_data(dir.path()), "a directory");
        assert!(!holds_no_data(&dir.path().join("missing")));
    }

    /// Converts a raw image with a hole into an existing target, and reads it back.
    async fn convert_into(target: &Path) -> Vec<u8> {
        let dir = target.parent().unwrap();
        let source = dir.join("source.raw");
        let file = std::fs::File::create(&source).unwrap();
        file.set_len(8 << 20).unwrap();
        std::os::unix::fs::FileExt::write_at(&file, &[b'A'; 1 << 20], 0).unwrap();
        let source = Source {
            file: source,
            slice: None,
            format: Some("raw".into()),
        };
        let qemu_img = std::env::var_os("FERRY_QEMU_IMG").unwrap_or("qemu-img".into());
        convert_to_raw(
            Path::new(&qemu_img),
            &source,
            target,
            true,
            &CancellationToken::new(),
            |_| {},
        )
        .await
        .expect("qemu-img converts (scripts/test installs qemu-utils)");
        std::fs::read(target).unwrap()
    }

    #[tokio::test]
    async fn an_existing_target_gets_the_sources_holes_as_zeros() {
        for stale in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("target.raw");
            let file = std::fs::File::create(&target).unwrap();
            file.set_len(8 << 20).unwrap();
            if stale {
                // An earlier attempt left data where the source has a hole.
                std::os::unix::fs::FileExt::write_at(&file, &[b'x'; 4096], 4 << 20).unwrap();
            }
            let out = convert_into(&target).await;
            assert_eq!(out.len(), 8 << 20);
            assert!(out[..1 << 20].iter().all(|&b| b == b'A'), "stale={stale}");
            assert!(out[1 << 20..].iter().all(|&b| b == 0), "stale={stale}");
        }
    }

    #[test]
    fn specs_read_tar_members_in_place() {
        let source = Source {
            file: "/share/a \"b\".ova".into(),
            slice: Some((9216, 1_139_200)),
            format: Some("vmdk".into()),
        };
        let spec = source.spec();
        let inner: Value = serde_json::from_str(spec.strip_prefix("json:").unwrap()).unwrap();
        assert_eq!(inner["driver"], "vmdk");
        assert_eq!(inner["file"]["driver"], "raw");
        assert_eq!(inner["file"]["offset"], 9216);
        assert_eq!(inner["file"]["file"]["filename"], "/share/a \"b\".ova");
        let qcow = Source {
            format: Some("qcow2".into()),
            slice: None,
            ..source
        };
        let inner: Value =
            serde_json::from_str(qcow.spec().strip_prefix("json:").unwrap()).unwrap();
        assert!(inner["backing"].is_null() && inner.get("backing").is_some());
    }

    #[test]
    fn info_checks_refuse_what_reads_other_files() {
        let ok = json!({ "format": "vmdk", "virtual-size": 67108864 });
        assert_eq!(
            check_info(&ok, Some("vmdk"), "x").unwrap().virtual_size,
            67_108_864
        );
        let cases = [
            json!({ "format": "qcow2", "virtual-size": 1 }),
            json!({ "format": "vmdk", "virtual-size": 1, "backing-filename": "/etc/shadow" }),
            json!({ "format": "vmdk", "virtual-size": 1,
                    "format-specific": { "data": { "extents": [{}, {}] } } }),
            json!({ "format": "vmdk" }),
        ];
        for case in cases {
            assert!(
                matches!(
                    check_info(&case, Some("vmdk"), "x"),
                    Err(QemuError::Refused { .. })
                ),
                "{case}"
            );
        }
    }

    #[test]
    fn sniffs_formats() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        assert_eq!(sniff_format(&write("a", b"KDMV\x01\0\0\0"), 0), Ok("vmdk"));
        assert_eq!(
            sniff_format(&write("b", b"QFI\xfb\0\0\0\x03"), 0),
            Ok("qcow2")
        );
        assert_eq!(sniff_format(&write("c", b"\0\0\0\0"), 0), Ok("raw"));
        assert!(
            sniff_format(
                &write("d", b"# Disk DescriptorFile\nRW 1 FLAT \"/etc/shadow\" 0"),
                0
            )
            .is_err()
        );
        assert_eq!(sniff_format(&write("e", b"xxxxKDMV"), 4), Ok("vmdk"));
    }

    #[test]
    fn progress_parsing() {
        assert_eq!(
            last_progress("    (0.00/100%)\r    (3.03/100%)\r"),
            Some(3.03)
        );
        assert_eq!(last_progress("(100.00/100%)"), Some(100.0));
        assert_eq!(last_progress("nothing"), None);
        assert_eq!(last_progress("(500.00/100%)"), None);
    }

    #[test]
    fn pacer_caps_progress() {
        let free = Pacer::start(Duration::ZERO);
        assert_eq!(free.cap(42.0), 42.0);
        let slow = Pacer::start(Duration::from_secs(3600));
        assert!(slow.cap(100.0) < 1.0);
        assert!(slow.remaining() > Duration::from_secs(3500));
    }
}
