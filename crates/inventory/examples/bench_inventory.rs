//! Measures the OVA inventory at scale, for `BENCHMARKS.md`:
//!
//! ```text
//! cargo run --release -p ferry-inventory --example bench_inventory -- 1000 [--real-disks]
//! ```
//!
//! Generates a catalog of N small appliances in a temporary directory
//! ([`generate_catalog`]), then reports: the first pass (discovery and parsing of every
//! appliance), a second pass over the unchanged catalog (the cached rescan), one
//! `GET /providers/ova/<uid>/vms?detail=all` through the REST router, and the
//! process's peak resident memory. `--real-disks` puts a real 1 MiB streamOptimized
//! VMDK in every appliance (needs `qemu-img`) instead of a placeholder member.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use ferry_inventory::ova::samples::{BenchDisk, SampleOptions, generate_catalog};
use ferry_inventory::ova::{CatalogConfig, OvaInventory};
use ferry_inventory::rest::auth::Disabled;
use ferry_inventory::rest::{RestState, router};
use ferry_inventory::{ProviderInfo, Registry};
use tower::ServiceExt;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_inventory: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().map_or(Ok(1000), |n| n.parse())?;
    let disk = if args.iter().any(|a| a == "--real-disks") {
        BenchDisk::Real(SampleOptions::from_env())
    } else {
        BenchDisk::Placeholder
    };
    let dir = tempfile::tempdir()?;

    let started = Instant::now();
    generate_catalog(dir.path(), count, &disk)?;
    report(
        "generate",
        started.elapsed(),
        &format!("{count} appliances"),
    );

    let mut config = CatalogConfig::new(dir.path());
    config.settle = Duration::ZERO;
    let inventory = OvaInventory::new(config);
    let started = Instant::now();
    let first = inventory.scan()?;
    report(
        "first pass",
        started.elapsed(),
        &format!(
            "{} files, {} parsed, {} VMs",
            first.files,
            first.parsed,
            inventory.snapshot().vms.len()
        ),
    );
    let started = Instant::now();
    let second = inventory.scan()?;
    report(
        "cached rescan",
        started.elapsed(),
        &format!("{} parsed", second.parsed),
    );

    let registry = Arc::new(Registry::new());
    registry.insert(
        ProviderInfo {
            uid: "bench".into(),
            name: "bench".into(),
            namespace: "bench".into(),
            resource_version: "1".into(),
            provider_type: "ova".into(),
            object: serde_json::Value::Null,
        },
        inventory,
    );
    let app = router(RestState::new(registry, Arc::new(Disabled)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (elapsed, bytes) = runtime.block_on(async {
        let started = Instant::now();
        let request = Request::get("/providers/ova/bench/vms?detail=all").body(Body::empty())?;
        let response = app.oneshot(request).await?;
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok::<_, Box<dyn std::error::Error>>((started.elapsed(), body.len()))
    })?;
    report("vms?detail=all", elapsed, &format!("{bytes} bytes"));
    if let Some(peak) = peak_rss_kib() {
        println!("{:<16} {peak} KiB", "peak RSS");
    }
    Ok(())
}

fn report(what: &str, elapsed: Duration, detail: &str) {
    println!(
        "{what:<16} {:>10.1} ms  {detail}",
        elapsed.as_secs_f64() * 1000.0
    );
}

/// `VmHWM` from `/proc/self/status` (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
