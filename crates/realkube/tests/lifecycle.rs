//! The harness starts and stops the real control plane without leaving anything behind:
//! processes, ports, temp dirs; also when the test panics or its process is killed.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{alive, assert_no_leaks, bounded, eventually, start};
use ferry_realkube::ControlPlane;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{ListParams, PostParams, WatchParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_and_stops_three_times_without_leaks() {
    bounded(async {
        for round in 0..3 {
            let plane = start().await;
            let (pids, ports, dir) = (plane.pids(), plane.ports(), plane.dir().to_path_buf());
            assert!(
                pids.iter().all(|&pid| alive(pid)),
                "round {round}: {pids:?}"
            );

            // The server answers as the token user (a cluster admin).
            let namespaces: Api<Namespace> = Api::all(plane.client().unwrap());
            let default = namespaces.get("default").await.unwrap();
            assert_eq!(default.metadata.name.as_deref(), Some("default"));

            // The kubeconfig holds the token: owner-only.
            let mode = std::fs::metadata(plane.kubeconfig())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "round {round}");
            assert!(plane.url().starts_with("https://127.0.0.1:"));

            plane.stop().unwrap();
            assert_no_leaks(&pids, &ports, &dir).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_without_stop_cleans_up_too() {
    bounded(async {
        let plane = start().await;
        let (pids, ports, dir) = (plane.pids(), plane.ports(), plane.dir().to_path_buf());
        drop(plane);
        assert_no_leaks(&pids, &ports, &dir).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_test_body_still_kills_the_processes() {
    bounded(async {
        let (tx, rx) = std::sync::mpsc::channel();
        // The "test body": starts the control plane, then panics while holding it.
        let body = tokio::spawn(async move {
            let plane = start().await;
            tx.send((plane.pids(), plane.ports(), plane.dir().to_path_buf()))
                .unwrap();
            panic!("the test body fails while the control plane runs");
        });
        let err = body.await.unwrap_err();
        assert!(err.is_panic(), "{err}");
        let (pids, ports, dir) = rx.recv().unwrap();
        assert_no_leaks(&pids, &ports, &dir).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_manager_is_stopped_too() {
    bounded(async {
        let plane = ControlPlane::builder()
            .garbage_collection()
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (pids, ports, dir) = (plane.pids(), plane.ports(), plane.dir().to_path_buf());
        assert_eq!(
            pids.len(),
            4,
            "watchdog, etcd, kube-apiserver, kube-controller-manager"
        );
        assert_eq!(ports.len(), 4);
        assert!(pids.iter().all(|&pid| alive(pid)));
        plane.stop().unwrap();
        assert_no_leaks(&pids, &ports, &dir).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_controller_fails_the_start_with_the_managers_log() {
    bounded(async {
        let err = ControlPlane::builder()
            .controllers(["no-such-controller"])
            .start()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("kube-controller-manager exited"), "{text}");
        assert!(text.contains("no-such-controller"), "{text}");
    })
    .await;
}

/// Set for the child process of `a_killed_test_process_leaves_no_orphans`.
const CHILD_ENV: &str = "FERRY_REALKUBE_CHILD";

/// Not a test of its own: the child process `a_killed_test_process_leaves_no_orphans`
/// starts and SIGKILLs, so that no destructor runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run only as the child of a_killed_test_process_leaves_no_orphans"]
async fn child_holds_a_control_plane_until_killed() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "run by a_killed_test_process_leaves_no_orphans"
    );
    let plane = start().await;
    let pids: Vec<String> = plane.pids().iter().map(u32::to_string).collect();
    let ports: Vec<String> = plane.ports().iter().map(u16::to_string).collect();
    println!(
        "CONTROL-PLANE pids={} ports={} dir={}",
        pids.join(","),
        ports.join(","),
        plane.dir().display()
    );
    // The parent kills us long before this ends.
    tokio::time::sleep(Duration::from_secs(120)).await;
    panic!("the parent did not kill this process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_test_process_leaves_no_orphans() {
    bounded(async {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_holds_a_control_plane_until_killed",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Blocking reads on a blocking thread; the child prints the line within its own
        // start-up bound or exits (EOF).
        let line = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // libtest prints "test <name> ... " first, without a newline.
                .find_map(|l| l.find("CONTROL-PLANE ").map(|at| l[at..].to_string()))
        })
        .await
        .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let line = line.expect("the child printed no CONTROL-PLANE line (see its output)");

        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name))
                .unwrap()
                .to_string()
        };
        let pids: Vec<u32> = field("pids=")
            .split(',')
            .map(|p| p.parse().unwrap())
            .collect();
        let ports: Vec<u16> = field("ports=")
            .split(',')
            .map(|p| p.parse().unwrap())
            .collect();
        let dir = std::path::PathBuf::from(field("dir="));
        // No destructor ran in the child: the watchdog (one of `pids`) kills the servers
        // and removes the temp dir.
        assert_no_leaks(&pids, &ports, &dir).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_data_dir_survives_a_restart() {
    bounded(async {
        let parent = tempfile::tempdir().unwrap();
        let data = parent.path().join("plane");
        let plane = ControlPlane::builder()
            .data_dir(&data)
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plane.is_persistent());
        let (pids, ports, token) = (plane.pids(), plane.ports(), plane.token().to_string());
        let cms: Api<ConfigMap> = Api::namespaced(plane.client().unwrap(), "default");
        let kept: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kept"}, "data": {"k": "v"}
        }))
        .unwrap();
        let created = cms.create(&PostParams::default(), &kept).await.unwrap();
        plane.stop().unwrap();

        // Stopped (gracefully): nothing runs or listens, but the data dir stays.
        eventually(Duration::from_secs(30), "processes gone", || {
            pids.iter().all(|&pid| !alive(pid))
        })
        .await;
        eventually(Duration::from_secs(30), "ports free", || {
            ports.iter().all(|&p| common::port_free(p))
        })
        .await;
        assert!(data.join("etcd").is_dir());

        let plane = ControlPlane::builder()
            .data_dir(&data)
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plane.token(),
            token,
            "the same token, so old kubeconfigs work"
        );
        assert_eq!(plane.ports(), ports, "the same ports, as they were free");
        let cms: Api<ConfigMap> = Api::namespaced(plane.client().unwrap(), "default");
        let again = cms.get("kept").await.unwrap();
        assert_eq!(again.metadata.uid, created.metadata.uid);
        let pids = plane.pids();
        drop(plane);
        eventually(Duration::from_secs(30), "processes gone after drop", || {
            pids.iter().all(|&pid| !alive(pid))
        })
        .await;
        assert!(data.join("etcd").is_dir(), "dropping keeps the data too");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_and_an_apiserver_restart_expire_old_resource_versions() {
    bounded(async {
        let mut plane = start().await;
        let cms: Api<ConfigMap> = Api::namespaced(plane.client().unwrap(), "default");
        for i in 0..3 {
            let cm: ConfigMap =
                serde_json::from_value(serde_json::json!({"metadata": {"name": format!("c{i}")}}))
                    .unwrap();
            cms.create(&PostParams::default(), &cm).await.unwrap();
        }
        let first = cms.list(&ListParams::default().limit(1)).await.unwrap();
        let token = first.metadata.continue_.clone().unwrap();
        let rv = first.metadata.resource_version.clone().unwrap();
        // Compaction at revision R keeps R readable: write once more first.
        let later: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "later"}})).unwrap();
        cms.create(&PostParams::default(), &later).await.unwrap();

        // etcd compaction: the continue token (a read at the first page's revision)
        // is too old now.
        let revision = plane.compact_etcd().await.unwrap();
        assert!(revision > rv.parse::<u64>().unwrap());
        match cms
            .list(&ListParams::default().limit(1).continue_token(&token))
            .await
        {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 410, "{status:?}");
                assert_eq!(status.reason, "Expired", "{status:?}");
            }
            other => panic!("want 410 Expired, got {other:?}"),
        }

        // A restarted kube-apiserver's watch cache begins at etcd's current revision:
        // a watch from before is 410 Gone (an ERROR event).
        plane.restart_apiserver().await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(plane.client().unwrap(), "default");
        let mut events = cms
            .watch(&WatchParams::default().timeout(10), &rv)
            .await
            .unwrap()
            .boxed();
        use futures::StreamExt;
        match events.next().await {
            Some(Ok(kube::api::WatchEvent::Error(e))) => assert_eq!(e.code, 410, "{e:?}"),
            other => panic!("want a 410 ERROR event, got {other:?}"),
        }
        assert_eq!(
            cms.get("c2").await.unwrap().metadata.name.as_deref(),
            Some("c2")
        );
        plane.check_running().unwrap();
        plane.stop().unwrap();
    })
    .await;
}
