//! `ferry sandbox --vsphere <vcsim URL>`: the vSphere Provider is Ready with its VMs in
//! the inventory REST, and a plan over two vcsim VMs migrates to Succeeded; the
//! password given in the environment appears nowhere in the output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Ferry, bounded, client, token, wait_for_file};
use ferry_api::Plan;
use kube::api::Api;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_migrates_two_vms_of_a_given_vcenter() {
    bounded(async {
        ferry_sandbox::cluster::install_crypto_provider();
        let vcsim = ferry_vim::vcsim::Vcsim::builder()
            .autostart(false)
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let password = vcsim.password().expose().to_string();
        let dir = tempfile::tempdir().unwrap();
        let cacert = dir.path().join("vcsim.pem");
        std::fs::write(&cacert, vcsim.cert_pem().unwrap()).unwrap();
        let data = dir.path().join("sandbox");
        let url = vcsim.url().to_string();
        let args = [
            "sandbox",
            "--data-dir",
            data.to_str().unwrap(),
            "--vms",
            "1",
            "--speed",
            "0",
            "--progress",
            "lines",
            "--vsphere",
            url.as_str(),
            "--vsphere-user",
            vcsim.user(),
            "--vsphere-cacert",
            cacert.to_str().unwrap(),
            "--vsphere-vms",
            "DC0_H0_VM0,DC0_H0_VM1",
        ];
        // The password goes through the environment, not the command line.
        let mut ferry =
            Ferry::spawn_with_env(&args, dir.path(), &[("FERRY_VSPHERE_PASSWORD", &password)]);
        let endpoints_path = data.join("endpoints.json");
        wait_for_file(&mut ferry, &endpoints_path, LIMIT).await;
        let endpoints: Value =
            serde_json::from_str(&std::fs::read_to_string(&endpoints_path).unwrap()).unwrap();
        let kubeconfig = data.join("kubeconfig");
        let inventory = endpoints["inventory"].as_str().unwrap().to_owned();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let bearer = format!("Bearer {}", token(&kubeconfig));

        // The Provider shows in the inventory REST with vcsim's VMs.
        let deadline = tokio::time::Instant::now() + LIMIT;
        let names = loop {
            ferry.assert_running();
            let providers: Value = http
                .get(format!("{inventory}/providers?detail=1"))
                .header("Authorization", &bearer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(uid) = providers["vsphere"]
                .as_array()
                .and_then(|list| list.first())
                .and_then(|p| p["uid"].as_str())
            {
                let response = http
                    .get(format!("{inventory}/providers/vsphere/{uid}/vms"))
                    .header("Authorization", &bearer)
                    .send()
                    .await
                    .unwrap();
                if response.status().as_u16() == 200 {
                    let vms: Value = response.json().await.unwrap();
                    break vms
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|vm| vm["name"].as_str().map(str::to_owned))
                        .collect::<Vec<_>>();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no vSphere inventory:\n{}",
                ferry.output()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        for vm in [
            "DC0_H0_VM0",
            "DC0_H0_VM1",
            "DC0_C0_RP0_VM0",
            "DC0_C0_RP0_VM1",
        ] {
            assert!(names.iter().any(|n| n == vm), "{vm} in {names:?}");
        }

        // The plan over two of its VMs succeeds.
        let kube = client(&kubeconfig).await;
        let plans: Api<Plan> = Api::namespaced(kube, "konveyor-forklift");
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            ferry.assert_running();
            if let Ok(plan) = plans.get("vsphere-demo").await {
                assert!(
                    !plan.status.conditions.has(&["Failed"]),
                    "the vSphere plan failed:\n{}",
                    ferry.output()
                );
                if plan.status.conditions.has(&["Succeeded"]) {
                    assert_eq!(plan.status.migration.vms.len(), 2);
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the vSphere plan did not succeed:\n{}",
                ferry.output()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let output = loop {
            let output = ferry.output();
            if output.contains("plan vsphere-demo: succeeded") || output.contains("Serving") {
                break output;
            }
            ferry.assert_running();
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(output.contains("Provider 'vsphere' is Ready"), "{output}");
        assert!(
            ferry.interrupt().await,
            "Ctrl-C ends the sandbox:\n{}",
            ferry.output()
        );
        let output = ferry.output();
        assert!(
            !output.contains(&password),
            "the password was printed:\n{output}"
        );
        // The secret stays out of the stored logs too.
        for entry in walk(&data) {
            if let Ok(text) = std::fs::read_to_string(&entry) {
                assert!(
                    !text.contains(&password) || entry.ends_with("kubeconfig") || is_store(&entry),
                    "the password is in {}",
                    entry.display()
                );
            }
        }
    })
    .await;
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The API server's database, which holds Secrets by design (mode 0600).
fn is_store(path: &std::path::Path) -> bool {
    path.components().any(|c| c.as_os_str() == "apiserver")
}
