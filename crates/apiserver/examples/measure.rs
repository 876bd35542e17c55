//! Rough numbers for the embedded server (a development aid; BENCHMARKS.md has the
//! methodology): creates per second with concurrent writers, gets per second over
//! HTTP, watch delivery latency with 10 watchers, resident memory with N objects,
//! and start-up time with N objects on disk.
//!
//! `cargo run --release -p ferry-apiserver --example measure -- [N]` (default 100000).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ferry_apiserver::ApiServer;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn cm(i: usize) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("cm-{i:07}"), "namespace": "default", "labels": {"app": "bench", "shard": (i % 16).to_string()}},
        "data": {"key": format!("value-{i}")}})
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let api = server.api();
    let base = rss_mib();

    // Creates, in process, 64 concurrent writers (the commit thread batches fsyncs).
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let def = api.registry.resolve("", "v1", "configmaps").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (api, def, next) = (api.clone(), def.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let opts = ferry_apiserver::ops::WriteOptions::default();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                api.create(&def, "default", cm(i), &opts).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "creates (in process, 64 writers, fsync batched): {n} in {secs:.2} s = {:.0}/s",
        n as f64 / secs
    );
    println!(
        "resident memory with {n} objects: {:.0} MiB (+{:.0} MiB over the empty server)",
        rss_mib(),
        rss_mib() - base
    );

    // Gets over HTTPS with kube-rs, 8 concurrent clients.
    let client = server.client().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let gets = 20_000.min(n);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let cms = cms.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..gets).step_by(8) {
                cms.get(&format!("cm-{i:07}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "gets (HTTPS, kube-rs, 8 clients): {gets} in {secs:.2} s = {:.0}/s",
        gets as f64 / secs
    );

    // Watch latency: 10 watchers, 200 updates, time from acknowledged write to delivery.
    let rv = server.resource_version().to_string();
    let mut watchers = Vec::new();
    for _ in 0..10 {
        let s = cms
            .watch(&WatchParams::default().labels("app=latency"), &rv)
            .await
            .unwrap()
            .boxed();
        watchers.push(s);
    }
    let sent: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> =
        Default::default();
    let mut handles = Vec::new();
    for mut s in watchers {
        let sent = sent.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while lat.len() < 200 {
                match tokio::time::timeout(Duration::from_secs(20), s.next()).await {
                    Ok(Some(Ok(WatchEvent::Added(o)))) => {
                        let name = o.metadata.name.unwrap();
                        let t0 = loop {
                            if let Some(t) = sent.lock().unwrap().get(&name).copied() {
                                break t;
                            }
                            tokio::task::yield_now().await;
                        };
                        lat.push(t0.elapsed());
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            lat
        }));
    }
    for i in 0..200 {
        let name = format!("lat-{i}");
        let c: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"app": "latency"}}}),
        )
        .unwrap();
        sent.lock().unwrap().insert(name, Instant::now());
        cms.create(&PostParams::default(), &c).await.unwrap();
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    if !all.is_empty() {
        let p = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
        println!(
            "watch delivery (10 watchers, {} events): p50 {:?}, p99 {:?}",
            all.len(),
            p(0.5),
            p(0.99)
        );
    }

    // Start-up with everything on disk.
    server.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let again = ApiServer::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    println!(
        "start-up with {} objects on disk: {:.0} ms (server reports {:.0} ms)",
        again.api().store.count_all(),
        started.elapsed().as_secs_f64() * 1000.0,
        again.startup_time().as_secs_f64() * 1000.0
    );
    again.shutdown().await;
}
