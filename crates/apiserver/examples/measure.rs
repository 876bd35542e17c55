//! The API server benchmark (numbers for BENCHMARKS.md; never asserted anywhere):
//! the same workload against the embedded server or the real kube-apiserver +
//! etcd, each in processes of its own on a durable data dir, driven over HTTPS by
//! kube-rs with the same payloads and the same client concurrency.
//!
//! ```text
//! cargo build --release -p ferry-apiserver --example measure
//! target/release/examples/measure --target embedded --objects 100000
//! FERRY_KUBE_BIN=... target/release/examples/measure --target real --objects 100000
//! ```
//!
//! Phases: start-up on an empty data dir; warm-up (excluded); creates per second
//! (`--writers` concurrent requests); gets per second (same concurrency); watch
//! delivery latency (`--watchers` watches, one object written every 20 ms, from
//! the moment the write is sent to the moment each watcher has the event);
//! resident memory of the server processes (VmRSS and its peak, from /proc) with
//! the objects stored; then a graceful stop and a restart on the same data dir:
//! time until `/readyz` and until a full list of the objects returns. Each phase
//! reports the machine's load average and the CPU seconds the server processes
//! used, so a reader can tell a busy machine from a slow server.
//!
//! With `--target embedded` the server runs in a child process (this program
//! started with `--serve DIR`), so its memory is the server's alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

struct Options {
    target: String,
    objects: usize,
    writers: usize,
    gets: usize,
    watchers: usize,
    watch_events: usize,
    warmup: usize,
}

fn options() -> Options {
    let mut o = Options {
        target: "embedded".into(),
        objects: 100_000,
        writers: 16,
        gets: 20_000,
        watchers: 10,
        watch_events: 200,
        warmup: 1_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| panic!("{a} needs a value"))
                .clone()
        };
        match a.as_str() {
            "--target" => o.target = value(),
            "--objects" => o.objects = value().parse().expect("--objects N"),
            "--writers" => o.writers = value().parse().expect("--writers N"),
            "--gets" => o.gets = value().parse().expect("--gets N"),
            "--watchers" => o.watchers = value().parse().expect("--watchers N"),
            "--watch-events" => o.watch_events = value().parse().expect("--watch-events N"),
            "--warmup" => o.warmup = value().parse().expect("--warmup N"),
            other => panic!(
                "unknown argument {other}; use --target embedded|real --objects N --writers N \
                 --gets N --watchers N --watch-events N --warmup N"
            ),
        }
    }
    assert!(
        o.target == "embedded" || o.target == "real",
        "--target is embedded or real"
    );
    o
}

/// The same small ConfigMap for both servers.
fn config_map(prefix: &str, i: usize) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{prefix}-{i:07}"),
            "labels": {"app": "bench", "shard": (i % 16).to_string()}},
        "data": {"key": format!("value-{i}")}
    }))
    .unwrap()
}

/// A running server under test.
enum Server {
    Embedded { child: Child, kubeconfig: PathBuf },
    Real(Box<ferry_realkube::ControlPlane>),
}

impl Server {
    async fn start(target: &str, dir: &Path) -> Server {
        match target {
            "embedded" => {
                let mut child = Command::new(std::env::current_exe().unwrap())
                    .arg("--serve")
                    .arg(dir)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap();
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                Server::Embedded {
                    child,
                    kubeconfig: PathBuf::from(line.trim()),
                }
            }
            _ => Server::Real(Box::new(
                ferry_realkube::ControlPlane::builder()
                    .data_dir(dir)
                    .start()
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            )),
        }
    }

    async fn client(&self) -> kube::Client {
        let mut config = match self {
            Server::Embedded { kubeconfig, .. } => {
                let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
                kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .unwrap()
            }
            Server::Real(plane) => plane.config(),
        };
        config.read_timeout = Some(Duration::from_secs(600));
        kube::Client::try_from(config).unwrap()
    }

    fn pids(&self) -> Vec<(String, u32)> {
        match self {
            Server::Embedded { child, .. } => vec![("ferry-apiserver".into(), child.id())],
            Server::Real(plane) => plane
                .processes()
                .into_iter()
                .map(|(n, p)| (n.to_string(), p))
                .collect(),
        }
    }

    /// Stops gracefully (the embedded server on stdin's end, the real control
    /// plane with SIGTERM), keeping the data dir.
    fn stop(self) {
        match self {
            Server::Embedded { mut child, .. } => {
                drop(child.stdin.take());
                child.wait().unwrap();
            }
            Server::Real(plane) => plane.stop().unwrap(),
        }
    }
}

/// `--serve DIR`: the embedded server on a durable data dir, until stdin closes.
async fn serve(dir: &str) {
    let server = ferry_apiserver::ApiServer::builder()
        .data_dir(dir)
        .start()
        .await
        .unwrap();
    println!("{}", server.kubeconfig_path().display());
    std::io::stdout().flush().unwrap();
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .unwrap();
    server.shutdown().await;
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after the comm.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Times a phase and reports the load and the server's CPU use during it.
struct Phase {
    name: &'static str,
    started: Instant,
    cpu: f64,
    pids: Vec<u32>,
}

impl Phase {
    fn begin(name: &'static str, server: &Server) -> Phase {
        let pids: Vec<u32> = server.pids().iter().map(|(_, p)| *p).collect();
        Phase {
            name,
            started: Instant::now(),
            cpu: pids.iter().map(|p| cpu_seconds(*p)).sum(),
            pids,
        }
    }

    fn end(self) -> Duration {
        let took = self.started.elapsed();
        let cpu: f64 = self.pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - self.cpu;
        println!(
            "    [{}: {:.2} s wall, server CPU {:.1} s, load average {}]",
            self.name,
            took.as_secs_f64(),
            cpu,
            load_average()
        );
        took
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    if api.get_opt(name).await.unwrap().is_none() {
        api.create(&PostParams::default(), &ns).await.unwrap();
    }
}

/// Creates `n` ConfigMaps named `<prefix>-<i>` with `writers` concurrent requests.
async fn create_all(cms: &Api<ConfigMap>, prefix: &'static str, n: usize, writers: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (cms, next) = (cms.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                cms.create(&PostParams::default(), &config_map(prefix, i))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Gets `n` of the `of` ConfigMaps named `<prefix>-<i>`, spread over them.
async fn get_all(cms: &Api<ConfigMap>, prefix: &'static str, n: usize, of: usize, readers: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..readers {
        let (cms, next) = (cms.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                // A stride that visits objects all over the key space.
                let j = (i * 7919) % of.max(1);
                cms.get(&format!("{prefix}-{j:07}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// `watchers` watches see `events` creates, one every 20 ms; the delay from
/// sending each write to each watcher receiving it.
async fn watch_latency(
    cms: &Api<ConfigMap>,
    watchers: usize,
    events: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let rv = cms
        .list_metadata(&ListParams::default().labels("app=latency").limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let sent: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let mut stream = cms
            .watch(
                &WatchParams::default().labels("app=latency").timeout(290),
                &rv,
            )
            .await
            .unwrap()
            .boxed();
        let sent = sent.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while latencies.len() < events {
                match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Added(o)))) => {
                        let arrived = Instant::now();
                        let name = o.metadata.name.unwrap_or_default();
                        let started = loop {
                            if let Some(t) = sent.lock().unwrap().get(&name).copied() {
                                break t;
                            }
                            tokio::task::yield_now().await;
                        };
                        latencies.push(arrived.saturating_duration_since(started));
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            latencies
        }));
    }
    // Let every watch be established before the first write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut write_latencies = Vec::new();
    for i in 0..events {
        let mut c = config_map("lat", i);
        c.metadata.labels = Some([("app".to_string(), "latency".to_string())].into());
        sent.lock()
            .unwrap()
            .insert(c.metadata.name.clone().unwrap(), Instant::now());
        let t0 = Instant::now();
        cms.create(&PostParams::default(), &c).await.unwrap();
        write_latencies.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    write_latencies.sort();
    (all, write_latencies)
}

fn report_memory(server: &Server, when: &str) {
    let mut total_rss = 0;
    let mut parts = Vec::new();
    for (name, pid) in server.pids() {
        let rss = proc_status_kib(pid, "VmRSS:");
        let peak = proc_status_kib(pid, "VmHWM:");
        total_rss += rss;
        parts.push(format!(
            "{name} {:.0} MiB (peak {:.0} MiB)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        ));
    }
    println!(
        "memory {when}: {:.0} MiB resident in all: {}",
        total_rss as f64 / 1024.0,
        parts.join(", ")
    );
}

async fn wait_ready(client: &kube::Client) {
    loop {
        let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
        if let Ok(Ok(body)) =
            tokio::time::timeout(Duration::from_secs(5), client.request_text(req)).await
            && body.trim() == "ok"
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve(&args[2]).await;
    }
    let o = options();
    let dir = tempfile::Builder::new()
        .prefix("ferry-measure-")
        .tempdir()
        .unwrap();
    println!(
        "target {}: {} objects, {} concurrent writers/readers, {} gets, {} watchers x {} events, \
         {} warm-up objects; {} CPUs, load average {} at start",
        o.target,
        o.objects,
        o.writers,
        o.gets,
        o.watchers,
        o.watch_events,
        o.warmup,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // Start-up on an empty data dir (until /readyz answers ok).
    let started = Instant::now();
    let server = Server::start(&o.target, dir.path()).await;
    let client = server.client().await;
    wait_ready(&client).await;
    println!("start-up, empty data dir: {}", ms(started.elapsed()));
    report_memory(&server, "when empty");
    namespace(&client, "bench").await;
    namespace(&client, "warmup").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "bench");
    let warm: Api<ConfigMap> = Api::namespaced(client.clone(), "warmup");

    // Warm-up: connections, caches, allocators (not measured).
    let phase = Phase::begin("warm-up", &server);
    create_all(&warm, "warm", o.warmup, o.writers).await;
    get_all(&warm, "warm", o.warmup, o.warmup, o.writers).await;
    phase.end();

    let phase = Phase::begin("creates", &server);
    create_all(&cms, "cm", o.objects, o.writers).await;
    let took = phase.end();
    println!(
        "creates: {} in {:.2} s = {:.0}/s ({} concurrent requests)",
        o.objects,
        took.as_secs_f64(),
        o.objects as f64 / took.as_secs_f64(),
        o.writers
    );
    report_memory(&server, &format!("with {} objects", o.objects + o.warmup));

    let phase = Phase::begin("gets", &server);
    get_all(&cms, "cm", o.gets, o.objects, o.writers).await;
    let took = phase.end();
    println!(
        "gets: {} in {:.2} s = {:.0}/s ({} concurrent requests)",
        o.gets,
        took.as_secs_f64(),
        o.gets as f64 / took.as_secs_f64(),
        o.writers
    );

    let phase = Phase::begin("watch latency", &server);
    let (latency, writes) = watch_latency(&cms, o.watchers, o.watch_events).await;
    phase.end();
    println!(
        "watch delivery ({} watchers, {} events, write sent -> event received): p50 {}, p99 {}, max {}; \
         the writes themselves: p50 {}, p99 {}",
        o.watchers,
        latency.len(),
        ms(percentile(&latency, 0.50)),
        ms(percentile(&latency, 0.99)),
        ms(latency.last().copied().unwrap_or_default()),
        ms(percentile(&writes, 0.50)),
        ms(percentile(&writes, 0.99)),
    );
    report_memory(&server, "at the end");

    // Restart on the same data dir.
    let total = o.objects + o.warmup + o.watch_events;
    let stopping = Instant::now();
    server.stop();
    println!("graceful stop: {}", ms(stopping.elapsed()));
    let started = Instant::now();
    let server = Server::start(&o.target, dir.path()).await;
    let client = server.client().await;
    wait_ready(&client).await;
    let ready = started.elapsed();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "bench");
    let listed = cms.list(&ListParams::default()).await.unwrap();
    let served = started.elapsed();
    println!(
        "start-up with {total} objects on disk: /readyz ok after {}, a full list of {} objects after {}",
        ms(ready),
        listed.items.len(),
        ms(served)
    );
    report_memory(&server, "after the restart and the list");
    server.stop();
}
