//! `ferry sandbox` as a user runs it: the process starts the API server, the simulated
//! cluster, the controllers and the OVA inventory, writes `endpoints.json` once the two
//! Providers are Ready, serves until Ctrl-C, and resumes from its data directory; on
//! the real kube-apiserver and etcd too (`--kube-bin`, from FERRY_KUBE_BIN).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::results::{assert_converted, catalog, converting, no_duplicates};
use common::{Ferry, bounded, client, kube_bin, token, wait_for_file};
use ferry_api::{Plan, Provider};
use ferry_sandbox::sandbox::progress::{self, PlanState};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(300);

async fn providers_ready(client: &kube::Client) {
    let providers: Api<Provider> = Api::namespaced(client.clone(), "konveyor-forklift");
    for name in ["host", "ova"] {
        let provider = providers.get(name).await.unwrap();
        let ready = provider
            .status
            .conditions
            .find("Ready")
            .is_some_and(|c| c.is_true());
        assert!(
            ready,
            "Provider {name} is not Ready: {:?}",
            provider.status.conditions
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_demo_serves_ready_providers_and_the_inventory_then_resumes() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("sandbox");
        let data_arg = data.display().to_string();
        let args = ["sandbox", "--data-dir", data_arg.as_str(), "--no-demo", "--speed", "0", "--progress", "lines"];
        let endpoints_path = data.join("endpoints.json");

        let mut ferry = Ferry::spawn(&args, dir.path());
        wait_for_file(&mut ferry, &endpoints_path, START).await;
        let endpoints: Value = serde_json::from_str(&std::fs::read_to_string(&endpoints_path).unwrap()).unwrap();
        let kubeconfig = data.join("kubeconfig");
        assert_eq!(endpoints["kubeconfig"], kubeconfig.display().to_string());
        assert_eq!(endpoints["namespace"], "konveyor-forklift");
        let client = client(&kubeconfig).await;
        providers_ready(&client).await;

        // The inventory serves the catalog's VMs with Forklift's routes.
        let inventory = endpoints["inventory"].as_str().unwrap().to_owned();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let bearer = format!("Bearer {}", token(&kubeconfig));
        let providers: Value = http
            .get(format!("{inventory}/providers?detail=1"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ova = providers["ova"].as_array().expect("OVA providers listed");
        let uid = ova[0]["uid"].as_str().unwrap().to_owned();
        let vms: Value = http
            .get(format!("{inventory}/providers/ova/{uid}/vms"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<&str> = vms.as_array().unwrap().iter().filter_map(|vm| vm["name"].as_str()).collect();
        for sample in ["ferry-vmware-efi", "ferry-virtualbox-bios", "ferry-plain", "ferry-ovirt"] {
            assert!(names.contains(&sample), "{sample} missing from {names:?}");
        }
        let unauthenticated = http.get(format!("{inventory}/providers")).send().await.unwrap();
        assert_eq!(unauthenticated.status().as_u16(), 401);

        // Something to find again after a restart.
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let marker: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "marker" }, "data": { "run": "1" },
        }))
        .unwrap();
        cms.create(&PostParams::default(), &marker).await.unwrap();
        assert!(ferry.interrupt().await, "Ctrl-C ends the sandbox cleanly:\n{}", ferry.output());
        assert!(ferry.output().contains("kubectl --kubeconfig"), "{}", ferry.output());

        // A second run on the same directory resumes: same API server, same objects.
        std::fs::remove_file(&endpoints_path).unwrap();
        let mut again = Ferry::spawn(&args, dir.path());
        wait_for_file(&mut again, &endpoints_path, START).await;
        let resumed: Value = serde_json::from_str(&std::fs::read_to_string(&endpoints_path).unwrap()).unwrap();
        assert_eq!(resumed["apiserver"], endpoints["apiserver"], "the API server keeps its address");
        let client = common::client(&kubeconfig).await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let found = cms.get("marker").await.unwrap();
        assert_eq!(found.data.unwrap().get("run").map(String::as_str), Some("1"));
        providers_ready(&client).await;
        assert!(again.interrupt().await, "{}", again.output());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_are_refused_with_what_to_write() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("sandbox").display().to_string();
        for (flag, value, expected) in [
            ("--fail-disk", "no-disk-number", "VM:DISK"),
            ("--delay", "node/x=1", "KIND/NAME=SECONDS"),
            ("--api-error-rate", "2", "between 0 and 1"),
            ("--progress", "fancy", "bars, lines or quiet"),
            ("--kube-bin", "/nonexistent/kube", "not a directory"),
            (
                "--kube-bin",
                &dir.path().display().to_string(),
                "no executable kube-apiserver",
            ),
        ] {
            let mut ferry =
                Ferry::spawn(&["sandbox", "--data-dir", &data, flag, value], dir.path());
            assert!(
                !ferry.wait(Duration::from_secs(60)).await,
                "{flag} {value} is refused"
            );
            let output = ferry.output();
            assert!(output.contains(expected), "{flag} {value}: {output}");
            if flag == "--kube-bin" {
                assert!(output.contains("tools/kube/build.sh"), "{output}");
            }
        }
        assert!(
            !dir.path().join("sandbox").join("kubeconfig").exists(),
            "nothing started"
        );
    })
    .await;
}

/// The demo Plan, once it exists.
async fn plan(client: &kube::Client) -> Option<Plan> {
    let plans: Api<Plan> = Api::namespaced(client.clone(), "konveyor-forklift");
    plans.get_opt("demo").await.ok().flatten()
}

/// Starts `ferry sandbox --no-demo` on `data` and returns it with a client, to look at
/// what an earlier run left.
async fn inspect(
    data: &std::path::Path,
    logs: &std::path::Path,
    extra: &[&str],
) -> (Ferry, kube::Client) {
    let endpoints = data.join("endpoints.json");
    let _ = std::fs::remove_file(&endpoints);
    let data_arg = data.display().to_string();
    let mut args = vec!["sandbox", "--data-dir", &data_arg, "--no-demo"];
    args.extend_from_slice(extra);
    let mut ferry = Ferry::spawn(&args, logs);
    wait_for_file(&mut ferry, &endpoints, START).await;
    let client = client(&data.join("kubeconfig")).await;
    (ferry, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_done_migrates_every_sample_and_exits_0() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("sandbox");
        let data_arg = data.display().to_string();
        let mut ferry = Ferry::spawn(
            &[
                "sandbox",
                "--data-dir",
                &data_arg,
                "--exit-when-done",
                "--speed",
                "0",
            ],
            dir.path(),
        );
        assert!(
            ferry.wait(START).await,
            "the demo migration succeeds:\n{}",
            ferry.output()
        );
        let output = ferry.output();
        assert!(
            output.contains("Summary: 4 VMs: 4 succeeded, 0 failed, 0 canceled"),
            "{output}"
        );
        assert!(
            output.contains("get plans,migrations"),
            "kubectl hints: {output}"
        );

        // The result stays in the data directory: the converted disks equal the sources.
        let (mut ferry, client) = inspect(&data, dir.path(), &[]).await;
        let plan = plan(&client).await.expect("the demo plan");
        assert_eq!(progress::plan_state(&plan), PlanState::Succeeded);
        let catalog = catalog();
        for appliance in &catalog.appliances {
            assert_converted(&client, &plan, &catalog, &appliance.vm_name).await;
        }
        no_duplicates(&client, &catalog, &plan).await;
        assert!(ferry.interrupt().await, "{}", ferry.output());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_done_fails_with_the_reason_when_a_vm_fails() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let data_arg = dir.path().join("sandbox").display().to_string();
        let mut ferry = Ferry::spawn(
            &[
                "sandbox",
                "--data-dir",
                &data_arg,
                "--exit-when-done",
                "--speed",
                "0",
                "--vms",
                "2",
                "--fail-disk",
                "ferry-vmware-efi:2",
            ],
            dir.path(),
        );
        assert!(
            !ferry.wait(START).await,
            "a failed migration exits non-zero"
        );
        let output = ferry.output();
        assert!(output.contains("the migration failed"), "{output}");
        assert!(
            output.contains("ferry-vmware-efi"),
            "the failed VM is named: {output}"
        );
        assert!(output.contains("1 succeeded, 1 failed"), "{output}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_killed_mid_run_resumes_from_its_data_dir() {
    killed_mid_run_resumes(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_real_kube_apiserver_a_sandbox_killed_mid_run_resumes_from_its_data_dir() {
    let bin = kube_bin().display().to_string();
    killed_mid_run_resumes(&["--kube-bin", &bin]).await;
}

/// Kills `ferry sandbox <extra>` while a VM copies, runs it again on the same data
/// directory until the migration ends, then looks at the result.
async fn killed_mid_run_resumes(extra: &[&str]) {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("sandbox");
        let data_arg = data.display().to_string();
        let mut args = vec![
            "sandbox",
            "--data-dir",
            &data_arg,
            "--exit-when-done",
            "--vms",
            "3",
            "--speed",
            "16",
            "--progress",
            "lines",
        ];
        args.extend_from_slice(extra);
        let mut ferry = Ferry::spawn(&args, dir.path());
        wait_for_file(&mut ferry, &data.join("endpoints.json"), START).await;
        let client = client(&data.join("kubeconfig")).await;
        let deadline = tokio::time::Instant::now() + START;
        loop {
            ferry.assert_running();
            if converting(&client).await {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no VM started copying:\n{}",
                ferry.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A crash: nothing is cleaned up, the database is left as it is.
        ferry.kill();
        drop(client);

        let mut again = Ferry::spawn(&args, dir.path());
        assert!(
            again.wait(START).await,
            "the resumed run finishes the migration:\n{}",
            again.output()
        );
        assert!(again.output().contains("3 succeeded"), "{}", again.output());

        let (mut ferry, client) = inspect(&data, dir.path(), extra).await;
        let plan = plan(&client).await.expect("the demo plan");
        let migrations: Api<ferry_api::Migration> =
            Api::namespaced(client.clone(), "konveyor-forklift");
        assert_eq!(
            migrations
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .len(),
            1,
            "no second Migration"
        );
        let catalog = catalog();
        no_duplicates(&client, &catalog, &plan).await;
        for vm in ["ferry-vmware-efi", "ferry-virtualbox-bios", "ferry-plain"] {
            assert_converted(&client, &plan, &catalog, vm).await;
        }
        assert!(ferry.interrupt().await, "{}", ferry.output());
        if !extra.is_empty() {
            assert!(
                ferry.output().contains("the real kube-apiserver"),
                "{}",
                ferry.output()
            );
            assert!(data.join("kube").join("etcd").is_dir(), "etcd's data");
            // The data directory is the real server's: the embedded one refuses it.
            let mut embedded = Ferry::spawn(
                &["sandbox", "--data-dir", &data_arg, "--exit-when-done"],
                dir.path(),
            );
            assert!(!embedded.wait(Duration::from_secs(60)).await);
            let output = embedded.output();
            assert!(output.contains("with the same --kube-bin"), "{output}");
        }
    })
    .await;
}
