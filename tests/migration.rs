//! Whole migrations in the sandbox (the library `ferry sandbox` runs on): the sample
//! OVAs (BIOS and EFI, several disks, several NICs) migrate to Succeeded and the
//! converted images hold the source disks' content; a VM whose disk fails fails alone
//! and a new Migration completes it; one VM is canceled; the controllers are killed and
//! restarted mid-run. (The whole sandbox restarted mid-run: `tests/sandbox.rs`, as
//! processes.) The cold migration and the controllers' restart also run on the real
//! kube-apiserver and etcd (`--kube-bin`, from FERRY_KUBE_BIN).
//!
//! Scenarios run one at a time (each is a whole cluster; the machine is small).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::results::{
    assert_converted, catalog, converting, kubectl_binary, no_duplicates, states,
};
use common::{bounded, kube_bin};
use ferry_api::destination::VirtualMachine;
use ferry_api::{Migration, Plan};
use ferry_sandbox::cluster::Pace;
use ferry_sandbox::cluster::faults::{DiskFailure, Faults};
use ferry_sandbox::sandbox::controllers::FerryManager;
use ferry_sandbox::sandbox::progress::{self, PlanState, VmState};
use ferry_sandbox::sandbox::{Sandbox, SandboxOptions, ServerChoice, demo};
use k8s_openapi::api::core::v1::{Event, Node};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

/// One scenario at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MIGRATION: Duration = Duration::from_secs(300);

fn options(dir: &Path, pace: Pace, faults: Faults) -> SandboxOptions {
    SandboxOptions {
        data_dir: dir.to_owned(),
        catalog: None,
        sample_vms: 4,
        pace,
        faults,
        api_faults: Default::default(),
        controllers: Arc::new(FerryManager::default()),
        server: ServerChoice::Embedded,
    }
}

/// The real kube-apiserver, etcd and kube-controller-manager (FERRY_KUBE_BIN).
fn real() -> ServerChoice {
    ServerChoice::Real {
        bin: kube_bin(),
        apiserver_args: Vec::new(),
    }
}

/// An error and its causes, one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

async fn start(options: &SandboxOptions) -> Sandbox {
    let mut sandbox = Sandbox::start(options)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    sandbox
        .start_controllers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sandbox.apply_providers().await.unwrap();
    sandbox
        .wait_providers(Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sandbox
}

/// On the real server: the sandbox's node exists and is Ready, and pods were bound to
/// it through `pods/binding` (the scheduler's `Scheduled` Events say so).
async fn bound_through_the_node(client: &kube::Client) {
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(nodes.len(), 1, "one simulated node");
    let node = nodes[0].metadata.name.clone().unwrap();
    let ready = nodes[0]
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    assert!(ready, "the node {node} is Ready");
    let events: Api<Event> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
    let scheduled: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Scheduled"))
        .filter_map(|e| e.message)
        .collect();
    assert!(!scheduled.is_empty(), "no pod was bound");
    for message in &scheduled {
        assert!(message.ends_with(&format!(" to {node}")), "{message}");
    }
}

/// Waits until the Plan's latest migration ends; returns the Plan.
async fn finished(sandbox: &Sandbox, limit: Duration) -> Plan {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(plan) = sandbox.plan().await.unwrap() {
            let state = progress::plan_state(&plan);
            let ended = matches!(
                state,
                PlanState::Succeeded | PlanState::Failed(_) | PlanState::Canceled
            ) && plan.status.migration.timed.completed.is_some();
            if ended {
                return plan;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the migration did not end within {limit:?}: {state:?} {:?}",
                progress::lines(&plan)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until a conversion pod runs (a VM is copying disks); returns the Plan then.
async fn copying(sandbox: &Sandbox) -> Plan {
    let deadline = tokio::time::Instant::now() + MIGRATION;
    loop {
        if converting(&sandbox.client()).await
            && let Some(plan) = sandbox.plan().await.unwrap()
            && !plan.status.migration.vms.is_empty()
        {
            return plan;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no VM started copying"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_vms_migrate_and_their_images_equal_the_sources() {
    sample_vms_migrate(ServerChoice::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_vms_migrate_on_the_real_kube_apiserver() {
    sample_vms_migrate(real()).await;
}

async fn sample_vms_migrate(server: ServerChoice) {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let options = SandboxOptions {
            server,
            ..options(dir.path(), Pace::fast(), Faults::default())
        };
        let real_server = matches!(options.server, ServerChoice::Real { .. });
        let sandbox = start(&options).await;
        assert_eq!(sandbox.is_real_server(), real_server);
        sandbox.apply_demo(None).await.unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        assert_eq!(
            progress::plan_state(&plan),
            PlanState::Succeeded,
            "{:?}",
            progress::lines(&plan)
        );
        let catalog = catalog();
        let client = sandbox.client();
        for appliance in &catalog.appliances {
            assert_eq!(states(&plan)[&appliance.vm_name], VmState::Succeeded);
            assert_converted(&client, &plan, &catalog, &appliance.vm_name).await;
        }
        // The VMs exist with the firmware their appliances declare.
        let vms: Api<VirtualMachine> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
        let listed = vms.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(listed.len(), catalog.appliances.len());
        let efi = listed
            .iter()
            .find(|vm| vm.metadata.name.as_deref() == Some("ferry-vmware-efi"))
            .expect("the EFI VM");
        let firmware = serde_json::to_value(&efi.spec.template.spec.domain).unwrap();
        assert!(
            firmware["firmware"]["bootloader"]["efi"].is_object(),
            "{firmware}"
        );
        let interfaces = &efi.spec.template.spec.domain.devices.interfaces;
        assert_eq!(interfaces.len(), 2, "both NICs are migrated");
        no_duplicates(&client, &catalog, &plan).await;
        if real_server {
            bound_through_the_node(&client).await;
        }
        let migrations: Api<Migration> = Api::namespaced(client.clone(), demo::NAMESPACE);
        let migration = migrations.get(&format!("{}-1", demo::PLAN)).await.unwrap();
        assert!(
            migration
                .status
                .conditions
                .find("Succeeded")
                .is_some_and(|c| c.is_true())
        );
        // kubectl shows the columns a real cluster shows.
        let kubeconfig = sandbox.layout().kubeconfig();
        let kubectl = |namespace: &str, kinds: &str| {
            let output = std::process::Command::new(kubectl_binary())
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["get", kinds, "-n", namespace])
                .output()
                .expect("kubectl runs (scripts/test installs it)");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let forklift = kubectl(demo::NAMESPACE, "plans,migrations");
        for column in [
            "READY",
            "EXECUTING",
            "SUCCEEDED",
            "FAILED",
            "RUNNING",
            "AGE",
        ] {
            assert!(forklift.contains(column), "{column} missing:\n{forklift}");
        }
        let kubevirt = kubectl(demo::TARGET_NAMESPACE, "virtualmachines");
        for column in ["NAME", "AGE", "STATUS", "READY"] {
            assert!(kubevirt.contains(column), "{column} missing:\n{kubevirt}");
        }
        assert!(kubevirt.contains("ferry-vmware-efi"), "{kubevirt}");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_disk_fails_its_vm_alone_and_a_new_migration_completes_it() {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults {
            disk_failures: vec![DiskFailure::parse("ferry-vmware-efi:2:1").unwrap()],
            ..Faults::default()
        };
        let sandbox = start(&options(dir.path(), Pace::fast(), faults)).await;
        sandbox.apply_demo(Some(2)).await.unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        let first = states(&plan);
        assert_eq!(
            first["ferry-vmware-efi"],
            VmState::Failed,
            "{:?}",
            progress::lines(&plan)
        );
        assert_eq!(
            first["ferry-virtualbox-bios"],
            VmState::Succeeded,
            "the other VM is not affected"
        );
        assert!(matches!(progress::plan_state(&plan), PlanState::Failed(_)));

        let second = sandbox.start_migration(true).await.unwrap();
        assert_eq!(second, format!("{}-2", demo::PLAN));
        let plan = finished_after(&sandbox, &second).await;
        assert_eq!(
            progress::plan_state(&plan),
            PlanState::Succeeded,
            "{:?}",
            progress::lines(&plan)
        );
        let catalog = catalog();
        assert_converted(&sandbox.client(), &plan, &catalog, "ferry-vmware-efi").await;
        sandbox.shutdown().await;
    })
    .await;
}

/// Waits until the migration named `migration` is the Plan's latest and has ended.
async fn finished_after(sandbox: &Sandbox, migration: &str) -> Plan {
    let deadline = tokio::time::Instant::now() + MIGRATION;
    loop {
        let plan = finished(sandbox, MIGRATION).await;
        let latest = plan
            .status
            .migration
            .history
            .last()
            .map(|h| h.migration.name.clone());
        if latest.as_deref() == Some(migration) {
            return plan;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{migration} never ran"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vm_is_canceled_while_the_others_complete() {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        // Slow enough to cancel mid-copy: the EFI VM's 96 MiB take about 24 s.
        let pace = Pace {
            bytes_per_second: Some(4 << 20),
            ..Pace::fast()
        };
        let sandbox = start(&options(dir.path(), pace, Faults::default())).await;
        let migration = sandbox.apply_demo(Some(2)).await.unwrap();
        let plan = copying(&sandbox).await;
        let efi = plan
            .status
            .migration
            .vms
            .iter()
            .find(|vm| vm.vm.name == "ferry-vmware-efi")
            .map(|vm| vm.vm.id.clone())
            .expect("the EFI VM runs");
        let migrations: Api<Migration> = Api::namespaced(sandbox.client(), demo::NAMESPACE);
        migrations
            .patch(
                &migration,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "cancel": [{ "id": efi }] } })),
            )
            .await
            .unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        let states = states(&plan);
        assert_eq!(
            states["ferry-vmware-efi"],
            VmState::Canceled,
            "{:?}",
            progress::lines(&plan)
        );
        assert_eq!(states["ferry-virtualbox-bios"], VmState::Succeeded);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_killed_mid_run_finish_every_vm_after_a_restart() {
    controllers_killed_mid_run(ServerChoice::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_killed_mid_run_on_the_real_kube_apiserver() {
    controllers_killed_mid_run(real()).await;
}

async fn controllers_killed_mid_run(server: ServerChoice) {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pace = Pace {
            bytes_per_second: Some(16 << 20),
            ..Pace::fast()
        };
        let options = SandboxOptions {
            server,
            ..options(dir.path(), pace, Faults::default())
        };
        let mut sandbox = start(&options).await;
        sandbox.apply_demo(Some(3)).await.unwrap();
        copying(&sandbox).await;
        sandbox.stop_controllers().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        sandbox.start_controllers().await.unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        assert_eq!(
            progress::plan_state(&plan),
            PlanState::Succeeded,
            "{:?}",
            progress::lines(&plan)
        );
        let catalog = catalog();
        no_duplicates(&sandbox.client(), &catalog, &plan).await;
        assert_converted(&sandbox.client(), &plan, &catalog, "ferry-vmware-efi").await;
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_on_the_controllers_client_do_not_stop_the_migration() {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let mut options = options(dir.path(), Pace::fast(), Faults::default());
        options.api_faults = ferry_sandbox::cluster::faults::ApiFaults {
            rate: 0.02,
            codes: vec![500, 429, 409],
            watches: false,
            seed: 42,
        };
        let sandbox = start(&options).await;
        sandbox.apply_demo(Some(2)).await.unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        assert_eq!(
            progress::plan_state(&plan),
            PlanState::Succeeded,
            "{:?}",
            progress::lines(&plan)
        );
        let catalog = catalog();
        no_duplicates(&sandbox.client(), &catalog, &plan).await;
        assert_converted(&sandbox.client(), &plan, &catalog, "ferry-vmware-efi").await;
        sandbox.shutdown().await;
    })
    .await;
}

/// Base64 of `text`, for a Hook's `spec.playbook`.
fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_their_playbooks_and_a_failing_one_fails_its_vm() {
    let _one = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start(&options(dir.path(), Pace::fast(), Faults::default())).await;
        let client = sandbox.client();
        let hooks: Api<ferry_api::Hook> = Api::namespaced(client.clone(), demo::NAMESPACE);
        let hook = |name: &str, playbook: &str| {
            serde_json::from_value::<ferry_api::Hook>(json!({
                "apiVersion": "forklift.konveyor.io/v1beta1",
                "kind": "Hook",
                "metadata": { "name": name, "namespace": demo::NAMESPACE },
                "spec": { "image": "quay.io/kubev2v/hook-runner", "playbook": base64(playbook) },
            }))
            .unwrap()
        };
        let good = "- name: Post\n  hosts: localhost\n  tasks:\n  - name: Say done\n    debug: {msg: done}\n";
        let bad = "- name: Pre\n  hosts: localhost\n  tasks:\n  - name: Refuse\n    fail:\n      msg: the database is still running\n";
        hooks.create(&Default::default(), &hook("says-done", good)).await.unwrap();
        hooks.create(&Default::default(), &hook("refuses", bad)).await.unwrap();
        // The demo plan, with a post-hook on the EFI VM and a failing pre-hook on the BIOS VM.
        let vms = ferry_sandbox::sandbox::catalog::choose(
            &ferry_sandbox::sandbox::catalog::read(sandbox.catalog()).unwrap(),
            Some(2),
        );
        let mut plan = demo::plan(&vms);
        plan["spec"]["vms"][0]["hooks"] = json!([{ "step": "PostHook", "hook": { "name": "says-done", "namespace": demo::NAMESPACE } }]);
        plan["spec"]["vms"][1]["hooks"] = json!([{ "step": "PreHook", "hook": { "name": "refuses", "namespace": demo::NAMESPACE } }]);
        let plans: Api<Plan> = Api::namespaced(client.clone(), demo::NAMESPACE);
        plans
            .create(&Default::default(), &serde_json::from_value(plan).unwrap())
            .await
            .unwrap();
        sandbox.apply_demo(Some(2)).await.unwrap();
        let plan = finished(&sandbox, MIGRATION).await;
        let states = states(&plan);
        assert_eq!(states["ferry-vmware-efi"], VmState::Succeeded, "{:?}", progress::lines(&plan));
        assert_eq!(states["ferry-virtualbox-bios"], VmState::Failed);
        let failed = plan
            .status
            .migration
            .vms
            .iter()
            .find(|vm| vm.vm.name == "ferry-virtualbox-bios")
            .unwrap();
        let error = failed.error.as_ref().expect("the VM's error");
        assert_eq!(error.phase, "PreHook", "{error:?}");
        let efi = plan.status.migration.vms.iter().find(|vm| vm.vm.name == "ferry-vmware-efi").unwrap();
        assert!(efi.pipeline.iter().any(|s| s.task.name == "PostHook" && s.task.timed.completed.is_some()));
        sandbox.shutdown().await;
    })
    .await;
}
