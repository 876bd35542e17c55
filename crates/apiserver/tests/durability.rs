//! Durability: a child process writes in a loop and reports each acknowledged write;
//! it is killed with SIGKILL; a server restarted on the same data directory has every
//! acknowledged object, and resourceVersions keep increasing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_apiserver::ApiServer;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const CHILD_ENV: &str = "FERRY_APISERVER_DURABILITY_CHILD";

/// The child: runs only when re-executed by the parent test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_child_write_loop() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let server = ApiServer::builder().data_dir(&dir).start().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    println!("READY");
    // Several writers at once, so commits are batched while the kill lands.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                let c: ConfigMap = serde_json::from_value(
                    json!({"metadata": {"name": name}, "data": {"i": i.to_string()}}),
                )
                .unwrap();
                match api.create(&PostParams::default(), &c).await {
                    Ok(created) => {
                        println!("ACK {name} {}", created.metadata.resource_version.unwrap())
                    }
                    Err(e) => {
                        println!("ERR {e}");
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = tokio::process::Command::new(exe)
        .args([
            "durability_child_write_loop",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(rest) = l.strip_prefix("ACK ") {
                let (name, rv) = rest.split_once(' ').unwrap();
                acked.insert(name.to_string(), rv.parse().unwrap());
                if acked.len() >= 300 {
                    return;
                }
            }
        }
        panic!("the child stopped before 300 writes");
    })
    .await;
    assert!(read.is_ok(), "the child did not write in time");
    // SIGKILL, mid-write.
    child.start_kill().unwrap();
    let _ = child.wait().await;
    // Acknowledgements printed between our last read and the kill count too.
    while let Ok(Some(l)) = lines.next_line().await {
        if let Some(rest) = l.strip_prefix("ACK ") {
            let (name, rv) = rest.split_once(' ').unwrap();
            acked.insert(name.to_string(), rv.parse().unwrap());
        }
    }
    let before = std::fs::read_to_string(dir.path().join("kubeconfig")).unwrap();
    let server = ApiServer::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let stored: BTreeMap<String, u64> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| {
            (
                c.metadata.name.unwrap(),
                c.metadata.resource_version.unwrap().parse().unwrap(),
            )
        })
        .collect();
    for (name, rv) in &acked {
        assert_eq!(
            stored.get(name),
            Some(rv),
            "acknowledged {name} at {rv} is missing after kill -9"
        );
    }
    let max_acked = acked.values().max().copied().unwrap();
    let after: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "after-restart"}})).unwrap();
    let created = api.create(&PostParams::default(), &after).await.unwrap();
    let rv: u64 = created.metadata.resource_version.unwrap().parse().unwrap();
    assert!(
        rv > max_acked,
        "resourceVersion {rv} after restart is not above {max_acked}"
    );
    assert!(server.resource_version() >= rv);
    // The restarted server keeps the token and the CA, so credentials handed out
    // before the crash stay valid.
    let after = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    let keep = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains("token:") || l.contains("certificate-authority-data:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(keep(&before), keep(&after));
    let kc = kube::config::Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let again: Api<ConfigMap> = Api::namespaced(kube::Client::try_from(cfg).unwrap(), "default");
    assert!(again.get_opt("after-restart").await.unwrap().is_some());
}

/// Starts a server on `dir`, bounded.
async fn start_on(dir: &std::path::Path) -> ferry_apiserver::RunningApiServer {
    tokio::time::timeout(
        Duration::from_secs(20),
        ApiServer::builder().data_dir(dir).start(),
    )
    .await
    .expect("the server starts within 20 s")
    .unwrap_or_else(|e| panic!("starting on {}: {e}", dir.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_start_again_on_one_data_dir_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let server = start_on(dir.path()).await;
        let client = server.client().unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        // What earlier rounds wrote is there.
        for earlier in 0..round {
            assert!(
                api.get_opt(&format!("round-{earlier}"))
                    .await
                    .unwrap()
                    .is_some(),
                "round {round}: round-{earlier} is missing"
            );
        }
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("round-{round}")}}))
                .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
        // A watch still open when the server stops must not keep the database.
        let mut stream = {
            use futures::StreamExt;
            api.watch(&kube::api::WatchParams::default(), "0")
                .await
                .unwrap()
                .boxed()
        };
        let watching = tokio::spawn(async move {
            use futures::StreamExt;
            while let Some(Ok(_)) = stream.next().await {}
        });
        tokio::time::timeout(Duration::from_secs(20), server.shutdown())
            .await
            .expect("shutdown within 20 s");
        tokio::time::timeout(Duration::from_secs(20), watching)
            .await
            .expect("the watch ends when the server stops")
            .unwrap();
        drop(client);
    }
    // A server dropped without shutdown releases the database at once, even with
    // a watch open.
    let server = start_on(dir.path()).await;
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let _open = api
        .watch(&kube::api::WatchParams::default(), "0")
        .await
        .unwrap();
    drop(server);
    let server = start_on(dir.path()).await;
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    assert!(api.get_opt("round-2").await.unwrap().is_some());
    server.shutdown().await;
}
