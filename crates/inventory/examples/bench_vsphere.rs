//! Measures the vSphere inventory against vcsim, for `BENCHMARKS.md`:
//!
//! ```text
//! FERRY_VCSIM=… cargo run --release -p ferry-inventory --example bench_vsphere -- 1000 [changes]
//! ```
//!
//! Starts vcsim with N VMs (N/2 per resource pool, powered off; Ferry's launcher, with
//! no start-up limit: 10 000 VMs take minutes), then reports: the simulator's start-up,
//! the collector's first load (connect to parity), the SOAP calls it took, one
//! `GET /providers/vsphere/<uid>/vms` through the REST router, and the process's
//! resident memory (the simulator is another process).
//!
//! Then it renames `changes` VMs (default 20) one at a time through the vSphere API, and
//! measures the time from sending each `Rename_Task` to seeing the change, twice: first
//! with a bare `WaitForUpdatesEx` watch on the same filter (what vcsim itself takes to
//! report a change; it recomputes the filter's whole object set for each change, so
//! this grows with the model), then with the collector (to its change event). The
//! difference is the collector's own share. p50, p99 and max of each.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use ferry_inventory::query::Kind;
use ferry_inventory::rest::auth::Disabled;
use ferry_inventory::rest::{RestState, router};
use ferry_inventory::vsphere::{CollectorConfig, ConnectionSettings, VsphereInventory};
use ferry_inventory::{Inventory, ProviderInfo, Registry};
use ferry_vim::{Client, ConnectConfig, MoRef, UpdateWatch, Value, WaitOptions, forklift};
use tokio::io::AsyncBufReadExt as _;
use tower::ServiceExt;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench_vsphere: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_vsphere: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: u32 = args.first().map_or(Ok(1000), |n| n.parse())?;
    let changes: usize = args.get(1).map_or(Ok(20), |n| n.parse())?;

    let started = Instant::now();
    let vcsim = launch(count.div_ceil(2)).await?;
    println!(
        "vcsim with {} VMs started in {:?}",
        count,
        started.elapsed()
    );

    let rss_before = memory("VmRSS");
    let cpu_before = cpu_time();
    let inventory = VsphereInventory::new();
    let started = Instant::now();
    let task = inventory.spawn(CollectorConfig::new(ConnectionSettings::new(
        vcsim.config.clone(),
    )));
    let mut state = inventory.state();
    let progress = tokio::spawn(async move {
        while state.changed().await.is_ok() {
            let state = state.borrow_and_update().clone();
            eprintln!("collector: {:?} (error: {:?})", state.phase, state.error);
        }
    });
    let mut status = inventory.status();
    tokio::time::timeout(Duration::from_secs(3600), status.wait_for(|s| s.parity)).await??;
    let load = started.elapsed();
    progress.abort();
    let snapshot = inventory.snapshot();
    println!(
        "first load: {} VMs, {} hosts, {} networks, {} datastores in {load:?}",
        snapshot.vms.len(),
        snapshot.hosts.len(),
        snapshot.networks.len(),
        snapshot.datastores.len()
    );
    println!(
        "collector CPU time for the load (this process; the simulator's is apart): {:?}",
        cpu_time().saturating_sub(cpu_before)
    );
    println!("SOAP calls for the load: {:?}", inventory.call_stats());
    println!(
        "resident memory: {} KiB before, {} KiB after the load (peak {} KiB)",
        rss_before,
        memory("VmRSS"),
        memory("VmHWM")
    );

    let registry = Arc::new(Registry::new());
    let mut provider = ferry_api::Provider::new(
        "bench",
        "vcsim",
        ferry_api::provider::ProviderSpec {
            r#type: Some("vsphere".into()),
            url: vcsim.config.url.to_string(),
            ..Default::default()
        },
    );
    provider.metadata.uid = Some("bench-uid".into());
    registry.insert(ProviderInfo::from_provider(&provider)?, inventory.clone());
    let routes = router(RestState::new(registry, Arc::new(Disabled)));
    let started = Instant::now();
    let response = routes
        .oneshot(Request::get("/providers/vsphere/bench-uid/vms").body(Body::empty())?)
        .await?;
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    println!(
        "GET vms (always full detail): {} bytes in {:?}",
        body.len(),
        started.elapsed()
    );
    drop(snapshot);

    if changes == 0 {
        return Ok(());
    }
    let client = Client::connect(vcsim.config.clone()).await?;
    let ids: Vec<String> = inventory
        .snapshot()
        .vms
        .values()
        .map(|vm| vm.base.id.clone())
        .collect();

    // What vcsim takes by itself: a bare watch on the collector's filter.
    task.shutdown().await;
    let mut spec =
        forklift::inventory_filter(&client.content().root_folder, &client.about().api_version);
    for prop in &mut spec.prop_set {
        if prop.kind == "VirtualMachine" {
            prop.paths.push("config.changeVersion".into());
        }
    }
    let options = WaitOptions {
        max_wait_seconds: Some(10),
        max_object_updates: Some(500),
    };
    let mut watch = UpdateWatch::new(client.clone(), spec, options);
    while let Some(batch) = watch.next().await? {
        if !batch.update.truncated {
            break;
        }
    }
    let mut bare = Vec::with_capacity(changes);
    for round in 0..changes {
        let id = &ids[round % ids.len()];
        let name = format!("bare-{round}");
        let started = Instant::now();
        let task = client
            .rename(&MoRef::new("VirtualMachine", id.as_str()), &name)
            .await?;
        'seen: loop {
            let Some(batch) = watch.next().await? else {
                continue;
            };
            for update in batch.update.object_updates() {
                let renamed = update.changes.iter().any(|c| {
                    c.name == "name" && c.value.as_ref().and_then(Value::as_str) == Some(&name)
                });
                if update.obj.value == *id && renamed {
                    break 'seen;
                }
            }
        }
        bare.push(started.elapsed());
        client.wait_for_task(&task, Duration::from_secs(60)).await?;
    }
    watch.close().await?;
    report("vcsim alone (bare watch)", &mut bare);

    // The collector.
    let inventory = VsphereInventory::new();
    let _task = inventory.spawn(CollectorConfig::new(ConnectionSettings::new(
        vcsim.config.clone(),
    )));
    let mut status = inventory.status();
    tokio::time::timeout(Duration::from_secs(3600), status.wait_for(|s| s.parity)).await??;
    let mut feed = inventory.subscribe();
    let calls_before = inventory.call_stats();
    let mut latencies = Vec::with_capacity(changes);
    for round in 0..changes {
        let id = &ids[round % ids.len()];
        let name = format!("renamed-{round}");
        let started = Instant::now();
        let task = client
            .rename(&MoRef::new("VirtualMachine", id.as_str()), &name)
            .await?;
        loop {
            let change = tokio::time::timeout(Duration::from_secs(600), feed.recv()).await??;
            if change.kind == Kind::Vm && change.id == *id && change.name == name {
                break;
            }
        }
        latencies.push(started.elapsed());
        client.wait_for_task(&task, Duration::from_secs(60)).await?;
    }
    report("collector (to its change event)", &mut latencies);
    let after = inventory.call_stats();
    let delta: Vec<(String, u64)> = after
        .iter()
        .map(|(m, n)| (m.clone(), n - calls_before.get(m).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    println!("SOAP calls while following the renames: {delta:?}");
    Ok(())
}

fn report(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    if latencies.is_empty() {
        return;
    }
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "change to {what} over {} renames: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1]
    );
}

/// A running vcsim started by this benchmark (killed on drop).
struct Launched {
    _child: tokio::process::Child,
    config: ConnectConfig,
}

/// Starts Ferry's vcsim launcher (`FERRY_VCSIM`) with `per_pool` VMs per resource pool,
/// without the test helper's start-up limit.
async fn launch(per_pool: u32) -> Result<Launched, Box<dyn std::error::Error>> {
    let binary = std::env::var_os("FERRY_VCSIM")
        .ok_or("FERRY_VCSIM is not set: run scripts/test or source scripts/setup.d/20-vcsim.sh")?;
    let password = "bench-Passw0rd!";
    let mut child = tokio::process::Command::new(binary)
        .arg("-l=127.0.0.1:0")
        .arg("-username=ferry")
        .arg(format!("-password={password}"))
        .arg("-stdinexit")
        .arg(format!("-vm={per_pool}"))
        .arg("-autostart=false")
        // vcsim copies whole objects per property path while collecting: without a
        // memory limit, Go's collector lets a 10 000-VM collection grow past 12 GB.
        .env("GOMEMLIMIT", "2GiB")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines
        .next_line()
        .await?
        .ok_or("vcsim exited before printing its URL")?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // ConnectConfig drops the credentials the URL carries.
    let config =
        ConnectConfig::new(first.trim(), "ferry", password)?.with_insecure_skip_verify(true);
    Ok(Launched {
        _child: child,
        config,
    })
}

/// This process's user + system CPU time (`/proc/self/stat`, 100 ticks a second).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1.to_owned();
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            // utime and stime are fields 14 and 15; `fields` starts at field 3.
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user + system)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// A `/proc/self/status` field, in KiB (0 where unavailable).
fn memory(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
        })
        .unwrap_or(0)
}
