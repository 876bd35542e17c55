//! The virt-v2v conversion pod (`forklift.app=virt-v2v`), as Forklift's image behaves:
//!
//! 1. the monitor listens on `:2112` (the pod is `Running` from then on) and exposes
//!    `v2v_disk_transfers{disk_id="N"}` percentages;
//! 2. `virt-v2v -i ova $V2V_diskPath` reads the appliance from the OVA share (`/ova`,
//!    resolved through the pod's claim to the share directory) and writes disk `i` of
//!    the VM into `/mnt/disks/disk<i>/disk.img` (or the device `/dev/block<i>`) with
//!    `qemu-img convert -O raw` — real data, paced to [`crate::cluster::config::Pace`];
//! 3. with `LOCAL_MIGRATION` not `false`, a server on `:8080` serves `/vm` (the KubeVirt
//!    VM YAML, firmware included), `/inspection`, `/warnings`, and ends the pod on
//!    `/shutdown`; otherwise the pod ends at once.
//!
//! An injected disk failure ([`crate::cluster::faults::DiskFailure`]) stops that disk's
//! copy half-way, leaves the rest of the disk zero and fails the pod with virt-v2v's
//! `error:` line as termination message. Inspection pods (`V2V_remoteInspection`) and
//! in-place conversions (`V2V_inPlace`) copy nothing.

pub mod output;
pub mod source;
pub mod vsphere;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use tokio_util::sync::CancellationToken;

use super::{PodRun, Ready, serve};
use crate::cluster::kubelet::status::Exit;
use crate::cluster::kubelet::view::ContainerView;
use crate::cluster::logs::ContainerLog;
use crate::cluster::qemu::{self, Pacer, Source};
use crate::cluster::volumes::{self, DISK_IMAGE};

/// The metrics port.
pub const METRICS_PORT: u16 = 2112;
/// The results port.
pub const RESULTS_PORT: u16 = 8080;

/// Per-disk progress, shared with the metrics server.
type Progress = Arc<Mutex<BTreeMap<usize, f64>>>;

/// One output disk: where disk `index` of the VM goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `i` of `/mnt/disks/disk<i>` or `/dev/block<i>`.
    pub index: usize,
    /// The host image file.
    pub image: PathBuf,
    /// Whether it stands in for a block device.
    pub block: bool,
}

/// The output disks a container has, by index (pure but for nothing: paths only).
pub fn outputs(container: &ContainerView) -> Vec<Output> {
    let mut found = Vec::new();
    for mount in &container.mounts {
        let Some(index) = numbered(&mount.path, "/mnt/disks", "disk") else {
            continue;
        };
        if let Some(dir) = container.host_path(&mount.path) {
            found.push(Output {
                index,
                image: dir.join(DISK_IMAGE),
                block: false,
            });
        }
    }
    for device in &container.devices {
        if let Some(index) = numbered(&device.path, "/dev", "block") {
            found.push(Output {
                index,
                image: device.host.clone(),
                block: true,
            });
        }
    }
    found.sort_by_key(|o| o.index);
    found.dedup_by_key(|o| o.index);
    found
}

/// `N` of `<dir>/<prefix>N`.
fn numbered(path: &Path, dir: &str, prefix: &str) -> Option<usize> {
    if path.parent()? != Path::new(dir) {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix(prefix)?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A line as virt-v2v prints it: `[  12.3] text`.
struct Clock(tokio::time::Instant);

impl Clock {
    fn line(&self, log: &ContainerLog, text: &str) {
        log.line(format!("[{:6.1}] {text}", self.0.elapsed().as_secs_f64()));
    }
}

fn truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(str::trim),
        Some("1" | "true" | "True" | "TRUE" | "yes")
    )
}

/// Runs the conversion pod.
pub async fn run(run: &PodRun, ready: &mut Ready) -> Exit {
    let Some(container) = run.main() else {
        return Exit::failure(1, "the conversion pod has no container");
    };
    let log = run.log(&container.name);
    let clock = Clock(tokio::time::Instant::now());
    let progress: Progress = Arc::default();
    let stop = run.cancel.child_token();
    let _stop_guard = stop.clone().drop_guard();

    log.line(format!(
        "virt-v2v monitoring: Setting up prometheus endpoint :{METRICS_PORT}/metrics"
    ));
    let metrics_state = Arc::clone(&progress);
    let metrics = Router::new().route(
        "/metrics",
        get(move || {
            let state = Arc::clone(&metrics_state);
            async move {
                let text =
                    output::metrics_text(&state.lock().unwrap_or_else(PoisonError::into_inner));
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }
        }),
    );
    match run.listener(METRICS_PORT).await {
        Ok(listener) => {
            serve::spawn(listener, metrics, stop.clone());
        }
        Err(error) => {
            return Exit::failure(
                1,
                format!("virt-v2v monitoring: prometheus endpoint failed to start: {error}"),
            );
        }
    }
    ready.signal();

    let env = &container.env;
    let inspection = truthy(env.get("V2V_remoteInspection"))
        || run
            .pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("forklift.app"))
            .map(String::as_str)
            == Some("virt-v2v-inspection");
    if inspection {
        clock.line(
            &log,
            "virt-v2v-inspector: remote inspection (nothing to copy in the sandbox)",
        );
        return Exit::success();
    }
    let in_place = truthy(env.get("V2V_inPlace"));
    let local = env.get("LOCAL_MIGRATION").map(str::trim) != Some("false");
    let vm_name = env.get("V2V_vmName").unwrap_or_default().to_owned();
    let output_name = env
        .get("V2V_NewName")
        .filter(|n| !n.is_empty())
        .map_or_else(|| vm_name.clone(), str::to_owned);

    let converted = if in_place {
        clock.line(
            &log,
            "virt-v2v-in-place: converting the guest on its disks in place",
        );
        None
    } else {
        match convert(run, container, &log, &clock, &progress, &vm_name).await {
            Ok(converted) => Some(converted),
            Err(message) => {
                let line = format!("virt-v2v: error: {message}");
                log.line(&line);
                return Exit::failure(1, line);
            }
        }
    };
    clock.line(&log, "Creating output metadata");
    clock.line(&log, "Finishing off");
    log.line("virt-v2v monitoring: Finished");
    let (vm_yaml, inspection_xml) = match &converted {
        Some((appliance, sizes)) => (
            output::vm_yaml(&appliance.vm, &output_name),
            output::inspection_xml(&appliance.vm, sizes),
        ),
        None => (String::new(), String::new()),
    };
    if !local {
        return Exit::success();
    }
    serve_results(run, &log, vm_yaml, inspection_xml, &stop).await
}

/// Copies every disk of the VM; returns the appliance and the disks' virtual sizes.
async fn convert(
    run: &PodRun,
    container: &ContainerView,
    log: &ContainerLog,
    clock: &Clock,
    progress: &Progress,
    vm_name: &str,
) -> Result<(source::Appliance, Vec<u64>), String> {
    let env = &container.env;
    let source_type = env.get("V2V_source").unwrap_or_default();
    if source_type == vsphere::SOURCE {
        return vsphere::convert(run, container, log, clock, progress, vm_name).await;
    }
    if source_type != "ova" {
        return Err(format!(
            "the sandbox's virt-v2v converts OVA appliances only (V2V_source={source_type:?})"
        ));
    }
    let disk_path = env.get("V2V_diskPath").unwrap_or_default();
    clock.line(log, &format!("Setting up the source: -i ova {disk_path}"));
    let host = container.host_path(Path::new(disk_path)).ok_or_else(|| {
        format!("-i ova: {disk_path}: no such file or directory (not on a mounted volume)")
    })?;
    let roots = volumes::roots(&run.config);
    let host = volumes::inside(&host, &roots)
        .ok_or_else(|| format!("-i ova: {disk_path}: no such file or directory"))?;
    let wanted = (!vm_name.is_empty()).then(|| vm_name.to_owned());
    let appliance = tokio::task::spawn_blocking(move || source::open(&host, wanted.as_deref()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let outputs = outputs(container);
    if outputs.len() < appliance.disks.len() {
        return Err(format!(
            "the appliance has {} disks but the pod has {} output disks (/mnt/disks/disk<i> or /dev/block<i>)",
            appliance.disks.len(),
            outputs.len()
        ));
    }
    clock.line(log, "Opening the source");
    clock.line(
        log,
        &format!(
            "Source guest information: name {} ({} disks)",
            appliance.vm.name,
            appliance.disks.len()
        ),
    );
    clock.line(log, "Inspecting the source");
    clock.line(log, "Checking for sufficient free disk space in the guest");
    clock.line(log, "Converting the guest to run on KVM");
    clock.line(
        log,
        "Mapping filesystem data to avoid copying unused and blank areas",
    );
    clock.line(log, "Closing the overlay");
    clock.line(log, "Assigning disks to buses");
    clock.line(log, "Checking if the guest needs BIOS or UEFI to boot");
    clock.line(
        log,
        "Setting up the destination: -o kubevirt -os /var/tmp/v2v",
    );
    let total = appliance.disks.len();
    let mut sizes = Vec::with_capacity(total);
    for (i, (disk, out)) in appliance.disks.iter().zip(&outputs).enumerate() {
        let id = i + 1;
        clock.line(log, &format!("Copying disk {id}/{total}"));
        set(progress, id, 0.0);
        if !run.config.pace.convert_disks {
            // Zero-cost work (benchmarks): the output sized to the OVF capacity, no copy.
            let size = appliance
                .vm
                .disks
                .get(i)
                .and_then(|d| d.capacity_bytes().ok())
                .and_then(|b| u64::try_from(b).ok())
                .unwrap_or(0);
            sizes.push(size);
            prepare_output(out, size).map_err(|e| format!("disk {id}: {e}"))?;
            set(progress, id, 100.0);
            continue;
        }
        let info = qemu::probe(&run.config.qemu_img, &disk.source)
            .await
            .map_err(|e| format!("disk {id} ({}): {e}", disk.name))?;
        sizes.push(info.virtual_size);
        prepare_output(out, info.virtual_size).map_err(|e| format!("disk {id}: {e}"))?;
        let fails = run
            .config
            .faults
            .disk_failure(vm_name, id)
            .is_some_and(|failure| run.config.fault_counts.fire(failure, vm_name, id));
        copy_disk(
            run,
            &disk.source,
            out,
            info.virtual_size,
            fails,
            log,
            progress,
            id,
        )
        .await?;
        set(progress, id, 100.0);
    }
    Ok((appliance, sizes))
}

/// Makes sure the output image exists and can hold `size` bytes.
fn prepare_output(out: &Output, size: u64) -> Result<(), String> {
    let current = out.image.metadata().map(|m| m.len());
    match current {
        Ok(len) if len >= size => Ok(()),
        Ok(len) if out.block => Err(format!(
            "the block device is {len} bytes, smaller than the disk's {size} bytes"
        )),
        _ => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&out.image)
                .map_err(|e| format!("{}: {e}", out.image.display()))?;
            file.set_len(size)
                .map_err(|e| format!("{}: {e}", out.image.display()))
        }
    }
}

fn set(progress: &Progress, disk: usize, pct: f64) {
    let mut map = progress.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = map.entry(disk).or_insert(0.0);
    // The monitor's counter only goes up.
    if pct > *entry {
        *entry = pct;
    }
}

/// Copies one disk with progress; with `fails`, stops half-way and fails.
#[allow(clippy::too_many_arguments)]
async fn copy_disk(
    run: &PodRun,
    source: &Source,
    out: &Output,
    virtual_size: u64,
    fails: bool,
    log: &ContainerLog,
    progress: &Progress,
    id: usize,
) -> Result<(), String> {
    let pacer = Pacer::start(run.config.pace.min_duration(virtual_size));
    let stop_at = if fails { 50.0 } else { 101.0 };
    let cancel = run.cancel.child_token();
    let real = Arc::new(Mutex::new(0.0_f64));
    let ticker = {
        let real = Arc::clone(&real);
        let progress = Arc::clone(progress);
        let pacer = pacer.clone();
        let cancel = cancel.clone();
        let log = log.clone();
        let interval = run.config.pace.progress_interval;
        tokio::spawn(async move {
            let mut last_logged = -10.0;
            loop {
                let shown = pacer.cap(*real.lock().unwrap_or_else(PoisonError::into_inner));
                set(&progress, id, shown.min(stop_at));
                if shown - last_logged >= 10.0 {
                    log.line(format!("    ({shown:.2}/100%)"));
                    last_logged = shown;
                }
                if shown >= stop_at {
                    cancel.cancel();
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = cancel.cancelled() => break,
                }
            }
        })
    };
    let result = qemu::convert_to_raw(
        &run.config.qemu_img,
        source,
        &out.image,
        true,
        &cancel,
        |pct| *real.lock().unwrap_or_else(PoisonError::into_inner) = pct,
    )
    .await;
    match result {
        Ok(()) if !fails => {
            // The copy is done; the pace decides when it is reported done.
            tokio::select! {
                () = tokio::time::sleep(pacer.remaining()) => {}
                () = run.cancel.cancelled() => {}
            }
            cancel.cancel();
            let _ = ticker.await;
            Ok(())
        }
        Ok(()) | Err(qemu::QemuError::Cancelled) if fails && !run.cancel.is_cancelled() => {
            cancel.cancel();
            let _ = ticker.await;
            // What a copy interrupted half-way leaves: the first half written, the rest zero.
            let half = virtual_size / 2;
            let zeroed = std::fs::OpenOptions::new()
                .write(true)
                .open(&out.image)
                .and_then(|file| {
                    if out.block {
                        zero_range(&file, half, virtual_size)
                    } else {
                        file.set_len(half)
                            .and_then(|()| file.set_len(virtual_size.max(half)))
                    }
                });
            if let Err(error) = zeroed {
                tracing::debug!(%error, "cannot leave the failed disk half-written");
            }
            Err(format!(
                "nbdcopy command failed: disk {id} was not copied completely (injected failure: \
                 the sandbox fails disk {id} of this VM)"
            ))
        }
        Ok(()) => Ok(()),
        Err(error) => {
            cancel.cancel();
            let _ = ticker.await;
            Err(format!("disk {id}: {error}"))
        }
    }
}

/// Writes zeros over `[from, to)` of a file (block stand-ins keep their size).
fn zero_range(file: &std::fs::File, from: u64, to: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = file;
    file.seek(SeekFrom::Start(from))?;
    let chunk = vec![0u8; 1 << 20];
    let mut left = to.saturating_sub(from);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Serves the results until `POST /shutdown`.
async fn serve_results(
    run: &PodRun,
    log: &ContainerLog,
    vm_yaml: String,
    inspection_xml: String,
    stop: &CancellationToken,
) -> Exit {
    let shutdown = CancellationToken::new();
    let vm_yaml = Arc::new(vm_yaml);
    let inspection_xml = Arc::new(inspection_xml);
    let shutdown_signal = shutdown.clone();
    let router = Router::new()
        .route(
            "/vm",
            get(move || {
                let yaml = Arc::clone(&vm_yaml);
                async move {
                    if yaml.is_empty() {
                        // In-place conversions write no YAML.
                        StatusCode::NO_CONTENT.into_response()
                    } else {
                        ([(header::CONTENT_TYPE, "text/yaml")], (*yaml).clone()).into_response()
                    }
                }
            }),
        )
        .route(
            "/inspection",
            get(move || {
                let xml = Arc::clone(&inspection_xml);
                async move { ([(header::CONTENT_TYPE, "application/xml")], (*xml).clone()) }
            }),
        )
        .route(
            "/warnings",
            get(|| async {
                (
                    StatusCode::NO_CONTENT,
                    [(header::CONTENT_TYPE, "application/json")],
                )
            }),
        )
        .route(
            "/shutdown",
            any(move || {
                let signal = shutdown_signal.clone();
                async move {
                    signal.cancel();
                    StatusCode::NO_CONTENT
                }
            }),
        );
    let listener = match run.listener(RESULTS_PORT).await {
        Ok(listener) => listener,
        Err(error) => return Exit::failure(1, format!("failed to run the server: {error}")),
    };
    log.line(format!("Starting server on :{RESULTS_PORT}"));
    let server_stop = stop.child_token();
    let server = serve::spawn(listener, router, server_stop.clone());
    tokio::select! {
        () = shutdown.cancelled() => {
            log.line("Shutdown request received. Shutting down server.");
            // Let the shutdown answer go out before the listener closes.
            tokio::time::sleep(Duration::from_millis(20)).await;
            server_stop.cancel();
            let _ = server.await;
            Exit::success()
        }
        () = stop.cancelled() => Exit::success(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kubelet::view::{Device, Env, Mount, MountSource};

    #[test]
    fn output_disks_by_index() {
        let view = ContainerView {
            name: "virt-v2v".into(),
            image: String::new(),
            argv: vec![],
            env: Env::default(),
            mounts: vec![
                Mount {
                    path: "/mnt/disks/disk1".into(),
                    source: MountSource::Dir("/v/b".into()),
                },
                Mount {
                    path: "/mnt/disks/disk0".into(),
                    source: MountSource::Dir("/v/a".into()),
                },
                Mount {
                    path: "/mnt/disks/diskX".into(),
                    source: MountSource::Dir("/v/x".into()),
                },
                Mount {
                    path: "/ova".into(),
                    source: MountSource::Dir("/share".into()),
                },
            ],
            devices: vec![Device {
                path: "/dev/block2".into(),
                host: "/v/c/disk.img".into(),
            }],
        };
        let found = outputs(&view);
        assert_eq!(
            found,
            vec![
                Output {
                    index: 0,
                    image: "/v/a/disk.img".into(),
                    block: false
                },
                Output {
                    index: 1,
                    image: "/v/b/disk.img".into(),
                    block: false
                },
                Output {
                    index: 2,
                    image: "/v/c/disk.img".into(),
                    block: true
                },
            ]
        );
        assert_eq!(
            numbered(Path::new("/mnt/disks/disk10"), "/mnt/disks", "disk"),
            Some(10)
        );
        assert_eq!(
            numbered(Path::new("/mnt/other/disk1"), "/mnt/disks", "disk"),
            None
        );
    }
}
