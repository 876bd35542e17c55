//! CDI's importer pod (`cdi.kubevirt.io: importer`), as the CDI controller creates it:
//! it fills `/data/disk.img` (filesystem claims) or `/dev/cdi-block-volume` (block
//! claims) from `IMPORTER_SOURCE`:
//!
//! - `none` (a blank disk): a sparse raw image of `IMPORTER_IMAGE_SIZE`;
//! - `http`: the URL's content, really downloaded, then converted to raw with
//!   `qemu-img` (any format it recognizes, with the checks of [`crate::cluster::qemu`]);
//! - `vddk`: the VM's disk read from its vSphere datastore ([`super::vddk`]);
//! - `imageio`: the source has no data in the sandbox; the transfer is simulated at the
//!   configured pace and leaves a blank image of the right size.
//!
//! Progress is served as CDI's importer serves it, on `:8443/metrics`
//! (`kubevirt_cdi_import_progress_total{ownerUID="<OWNER_UID>"} 42.17`; plain HTTP in
//! the sandbox), and the termination message is CDI's JSON (`{"message":"Import
//! Complete"}`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{PodRun, Ready, serve};
use crate::cluster::kubelet::status::Exit;
use crate::cluster::qemu::{self, Pacer, Source};
use crate::cluster::storage::{create_sparse, parse_quantity};
use crate::cluster::volumes::DISK_IMAGE;

/// The progress port.
pub const METRICS_PORT: u16 = 8443;
/// The data mount of filesystem claims.
pub const DATA_DIR: &str = "/data";
/// The device path of block claims.
pub const BLOCK_DEVICE: &str = "/dev/cdi-block-volume";

fn termination(message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

/// Runs the importer.
pub async fn run(run: &PodRun, ready: &mut Ready) -> Exit {
    let Some(container) = run.main() else {
        return Exit::failure(1, "the importer pod has no container");
    };
    let log = run.log(&container.name);
    let env = &container.env;
    let owner = env.get("OWNER_UID").unwrap_or_default().to_owned();
    let progress = Arc::new(Mutex::new(0.0_f64));
    let state = Arc::clone(&progress);
    let metrics = Router::new().route(
        "/metrics",
        get(move || {
            let state = Arc::clone(&state);
            let owner = owner.clone();
            async move {
                let pct = *state.lock().unwrap_or_else(PoisonError::into_inner);
                let text = format!(
                    "# HELP kubevirt_cdi_import_progress_total The import progress in percentage\n\
                     # TYPE kubevirt_cdi_import_progress_total counter\n\
                     kubevirt_cdi_import_progress_total{{ownerUID=\"{owner}\"}} {pct:.2}\n"
                );
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }
        }),
    );
    let stop = run.cancel.child_token();
    let _guard = stop.clone().drop_guard();
    match run.listener(METRICS_PORT).await {
        Ok(listener) => {
            serve::spawn(listener, metrics, stop.clone());
        }
        Err(error) => {
            return Exit::failure(1, format!("Unable to start the metrics server: {error}"));
        }
    }
    ready.signal();

    let (target, block) = match container.device(Path::new(BLOCK_DEVICE)) {
        Some(device) => (device.to_owned(), true),
        None => match container.host_path(Path::new(DATA_DIR)) {
            Some(dir) => (dir.join(DISK_IMAGE), false),
            None => {
                return Exit::failure(
                    1,
                    "Unable to find the data volume at /data or /dev/cdi-block-volume",
                );
            }
        },
    };
    let size = env
        .get("IMPORTER_IMAGE_SIZE")
        .and_then(parse_quantity)
        .unwrap_or(0);
    let source = env.get("IMPORTER_SOURCE").unwrap_or("http").to_owned();
    let endpoint = env.get("IMPORTER_ENDPOINT").unwrap_or_default().to_owned();
    log.line(format!(
        "I0000 importer.go] Starting importer: source {source}, image size {size}"
    ));
    let set = |pct: f64| *progress.lock().unwrap_or_else(PoisonError::into_inner) = pct;
    let result = match source.as_str() {
        "none" | "blank" => blank(&target, size, block).map(|()| set(100.0)),
        "http" => http(run, &endpoint, &target, size, block, &set).await,
        "vddk" => super::vddk::import(run, env, &target, size, block, &set).await,
        "imageio" => {
            log.line(format!(
                "I0000 importer.go] the {source} source has no data in the sandbox: the transfer \
                 is simulated and leaves a blank disk of the requested size"
            ));
            simulated(run, &target, size, block, &set).await
        }
        other => Err(format!("Unknown data source: {other}")),
    };
    match result {
        Ok(()) => {
            log.line("I0000 importer.go] Import Complete");
            Exit::success_with(termination("Import Complete"))
        }
        Err(message) => {
            log.line(format!("E0000 importer.go] {message}"));
            Exit::failure(1, message)
        }
    }
}

/// A blank raw image: sparse, of `size` bytes (a block stand-in keeps its size).
fn blank(target: &Path, size: u64, block: bool) -> Result<(), String> {
    if block {
        return Ok(());
    }
    // A fresh image: whatever an earlier attempt left is discarded.
    let _ = std::fs::remove_file(target);
    create_sparse(target, size).map_err(|e| e.to_string())
}

/// A transfer with no data: the pace's time, with progress, then a blank image.
async fn simulated(
    run: &PodRun,
    target: &Path,
    size: u64,
    block: bool,
    set: &impl Fn(f64),
) -> Result<(), String> {
    let pacer = Pacer::start(run.config.pace.min_duration(size));
    loop {
        let pct = pacer.cap(100.0);
        set(pct);
        if pct >= 100.0 {
            break;
        }
        tokio::time::sleep(run.config.pace.progress_interval.min(pacer.remaining())).await;
    }
    blank(target, size, block)
}

/// Downloads `url` beside the target, converts it to raw into the target.
async fn http(
    run: &PodRun,
    url: &str,
    target: &Path,
    size: u64,
    block: bool,
    set: &impl Fn(f64),
) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("Unable to parse the URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "Unable to connect to http data source: unsupported scheme {:?}",
            parsed.scheme()
        ));
    }
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("Unable to connect to http data source: {e}"))?;
    let response = client
        .get(parsed)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("Unable to connect to http data source: {e}"))?;
    let length = response.content_length();
    // Whatever the server says, a download may not exceed twice the disk (plus slack).
    let limit = size.max(1 << 20).saturating_mul(2).saturating_add(64 << 20);
    if length.is_some_and(|l| l > limit) {
        return Err(format!(
            "Unable to process data: the source is {} bytes, larger than the volume allows",
            length.unwrap_or(0)
        ));
    }
    let scratch: PathBuf = target.with_extension("download");
    let mut file = tokio::fs::File::create(&scratch)
        .await
        .map_err(|e| format!("Unable to process data: {}: {e}", scratch.display()))?;
    let pacer = Pacer::start(run.config.pace.min_duration(length.unwrap_or(size)));
    let mut done: u64 = 0;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("Unable to process data: {e}"))?;
        done += chunk.len() as u64;
        if done > limit {
            let _ = tokio::fs::remove_file(&scratch).await;
            return Err(
                "Unable to process data: the source is larger than the volume allows".into(),
            );
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("Unable to process data: {e}"))?;
        if let Some(total) = length.filter(|t| *t > 0) {
            // Downloading is most of the work; conversion the rest.
            set(pacer.cap(done as f64 / total as f64 * 95.0));
        }
    }
    file.flush().await.map_err(|e| e.to_string())?;
    drop(file);
    let outcome = async {
        let format = qemu::sniff_format(&scratch, 0).map_err(|e| format!("Unable to process data: {e}"))?;
        let source = Source {
            file: scratch.clone(),
            slice: None,
            format: Some(format.to_owned()),
        };
        let info = qemu::probe(&run.config.qemu_img, &source).await.map_err(|e| e.to_string())?;
        if size > 0 && info.virtual_size > size {
            return Err(format!(
                "Virtual image size {} is larger than the reported available storage {size}. A larger PVC is required.",
                info.virtual_size
            ));
        }
        if !block {
            let _ = std::fs::remove_file(target);
        }
        qemu::convert_to_raw(&run.config.qemu_img, &source, target, block, &run.cancel, |_| {})
            .await
            .map_err(|e| e.to_string())?;
        if !block && size > info.virtual_size {
            create_sparse(target, size).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&scratch);
    outcome?;
    tokio::select! {
        () = tokio::time::sleep(pacer.remaining()) => {}
        () = run.cancel.cancelled() => {}
    }
    set(100.0);
    Ok(())
}
