//! The simulated cluster's actors against a real API server: what a controller sees of
//! storage, CDI, pods, Jobs, KubeVirt and the virt-v2v pod.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Env, bounded, wait_for};
use ferry_api::destination::{DataVolume, VirtualMachine, VirtualMachineInstance};
use ferry_inventory::ova::samples::{SampleCatalog, SampleOptions, write_samples};
use ferry_sandbox::cluster::apifaults::faulty_client;
use ferry_sandbox::cluster::faults::ApiFaults;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("a valid object")
}

async fn create<K>(api: &Api<K>, value: Value) -> K
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &object(value))
        .await
        .expect("created")
}

fn phase(pod: &Pod) -> Option<String> {
    pod.status.as_ref()?.phase.clone()
}

async fn pod_in_phase(pods: &Api<Pod>, name: &str, wanted: &[&str]) -> Pod {
    wait_for(WAIT, &format!("pod {name} in {wanted:?}"), || async {
        let pod = pods.get_opt(name).await.ok().flatten()?;
        phase(&pod)
            .filter(|p| wanted.contains(&p.as_str()))
            .map(|_| pod)
    })
    .await
}

/// The sample appliances, written into the environment's share once.
fn samples(env: &'static Env) -> &'static SampleCatalog {
    env.samples.get_or_init(|| {
        write_samples(&env.share, &SampleOptions::from_env())
            .unwrap_or_else(|e| panic!("writing sample OVAs: {e}"))
    })
}

fn qemu_img() -> PathBuf {
    SampleOptions::from_env().qemu_img
}

/// `qemu-img compare` of two images (same guest-visible content).
fn same_content(a: &Path, b: &Path) -> bool {
    std::process::Command::new(qemu_img())
        .args(["compare", "-q"])
        .arg(a)
        .arg(b)
        .status()
        .is_ok_and(|s| s.success())
}

async fn claims_get_provisioned_bound_and_released(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("storage").await;
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        create(
            &pvcs,
            json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": "data" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "10Mi" } } } }),
        )
        .await;
        let bound = wait_for(WAIT, "claim bound", || async {
            let pvc = pvcs.get("data").await.ok()?;
            (pvc.status.as_ref()?.phase.as_deref() == Some("Bound")).then_some(pvc)
        })
        .await;
        let spec = bound.spec.clone().unwrap();
        assert_eq!(spec.storage_class_name.as_deref(), Some("sandbox-hostpath"), "the default class");
        let pv_name = spec.volume_name.clone().unwrap();
        assert_eq!(pv_name, format!("pvc-{}", bound.metadata.uid.clone().unwrap()));
        let pv = pvs.get(&pv_name).await.unwrap();
        assert_eq!(pv.status.unwrap().phase.as_deref(), Some("Bound"));
        let dir = PathBuf::from(pv.spec.unwrap().host_path.unwrap().path);
        assert!(dir.is_dir() && dir.starts_with(&env.data), "{}", dir.display());
        assert_eq!(
            bound.metadata.annotations.unwrap().get("pv.kubernetes.io/bind-completed").map(String::as_str),
            Some("yes")
        );

        // A static volume binds to the claim naming it (the OVA NFS pair).
        let share = env.share.display().to_string();
        create(
            &pvs,
            json!({ "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": { "name": format!("nfs-{ns}") },
                "spec": { "capacity": { "storage": "1Gi" }, "accessModes": ["ReadOnlyMany"],
                    "persistentVolumeReclaimPolicy": "Retain", "nfs": { "server": "127.0.0.1", "path": share } } }),
        )
        .await;
        create(
            &pvcs,
            json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": "store" },
                "spec": { "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": format!("nfs-{ns}"),
                    "resources": { "requests": { "storage": "1Gi" } } } }),
        )
        .await;
        wait_for(WAIT, "static claim bound", || async {
            let pvc = pvcs.get("store").await.ok()?;
            (pvc.status.as_ref()?.phase.as_deref() == Some("Bound")).then_some(())
        })
        .await;

        // A deleted claim releases its provisioned volume, which goes with its data.
        pvcs.delete("data", &DeleteParams::default()).await.unwrap();
        wait_for(WAIT, "volume deleted", || async {
            pvs.get_opt(&pv_name).await.ok()?.is_none().then_some(())
        })
        .await;
        assert!(!dir.exists(), "the volume's directory is removed");
        wait_for(WAIT, "claim gone", || async { pvcs.get_opt("data").await.ok()?.is_none().then_some(()) })
            .await;
        let _ = pvs.delete(&format!("nfs-{ns}"), &DeleteParams::default()).await;
    })
    .await;
}

async fn blank_data_volumes_import_as_cdi_reports_it(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("cdi").await;
        let dvs: Api<DataVolume> = Api::namespaced(client.clone(), &ns);
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        create(
            &dvs,
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                "metadata": { "name": "disk-0", "annotations": { "forklift.konveyor.io/disk-source": "/ova/a.ova::a.vmdk" },
                    "labels": { "plan": "p1" } },
                "spec": { "source": { "blank": {} },
                    "storage": { "resources": { "requests": { "storage": "64Mi" } } } } }),
        )
        .await;
        let done = wait_for(WAIT, "DataVolume Succeeded", || async {
            let dv = dvs.get("disk-0").await.ok()?;
            (dv.status.phase.as_deref() == Some("Succeeded")).then_some(dv)
        })
        .await;
        assert_eq!(done.status.progress.as_deref(), Some("100.0%"));
        assert_eq!(done.status.claim_name.as_deref(), Some("disk-0"));
        let ready = done.condition("Ready").unwrap();
        assert_eq!(ready.status, "True");
        let bound = done.condition("Bound").unwrap();
        assert_eq!((bound.status.as_str(), bound.reason.as_deref()), ("True", Some("Bound")));
        assert_eq!(bound.message.as_deref(), Some("PVC disk-0 Bound"));
        let running = done.condition("Running").unwrap();
        assert_eq!((running.status.as_str(), running.reason.as_deref()), ("False", Some("Completed")));
        assert_eq!(running.message.as_deref(), Some("Import Complete"));

        let pvc = pvcs.get("disk-0").await.unwrap();
        let annotations = pvc.metadata.annotations.clone().unwrap();
        assert_eq!(annotations.get("cdi.kubevirt.io/storage.import.source").map(String::as_str), Some("none"));
        assert_eq!(annotations.get("cdi.kubevirt.io/storage.pod.phase").map(String::as_str), Some("Succeeded"));
        assert_eq!(
            annotations.get("forklift.konveyor.io/disk-source").map(String::as_str),
            Some("/ova/a.ova::a.vmdk"),
            "the DataVolume's annotations are kept on the claim"
        );
        assert_eq!(pvc.metadata.labels.unwrap().get("plan").map(String::as_str), Some("p1"));
        let owner = &pvc.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("DataVolume", Some(true)));

        // The blank disk is a sparse raw image of the requested size.
        let pv: PersistentVolume = Api::all(client.clone())
            .get(&pvc.spec.unwrap().volume_name.unwrap())
            .await
            .unwrap();
        let image = PathBuf::from(pv.spec.unwrap().host_path.unwrap().path).join("disk.img");
        assert_eq!(std::fs::metadata(&image).unwrap().len(), 64 << 20);
        // The importer pod is gone once the import is done.
        wait_for(WAIT, "importer pod deleted", || async {
            pods.get_opt("importer-disk-0").await.ok()?.is_none().then_some(())
        })
        .await;
    })
    .await;
}

async fn http_data_volumes_download_real_bytes(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("http").await;
        // A qcow2 image served on loopback.
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("source.raw");
        let qcow = dir.path().join("source.qcow2");
        let sample = &samples(env).appliances[0].disks[0];
        let small = ferry_inventory::ova::samples::SampleDisk {
            virtual_size: 8 << 20,
            ..sample.clone()
        };
        small.write_raw(&raw).unwrap();
        let status = std::process::Command::new(qemu_img())
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&raw)
            .arg(&qcow)
            .status()
            .unwrap();
        assert!(status.success());
        let body = std::fs::read(&qcow).unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route(
            "/disk.qcow2",
            axum::routing::get(move || {
                let body = body.clone();
                async move { body }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });

        let dvs: Api<DataVolume> = Api::namespaced(client.clone(), &ns);
        create(
            &dvs,
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                "metadata": { "name": "web" },
                "spec": { "source": { "http": { "url": format!("http://127.0.0.1:{port}/disk.qcow2") } },
                    "storage": { "resources": { "requests": { "storage": "16Mi" } } } } }),
        )
        .await;
        wait_for(WAIT, "http import Succeeded", || async {
            let dv = dvs.get("web").await.ok()?;
            (dv.status.phase.as_deref() == Some("Succeeded")).then_some(())
        })
        .await;
        let pvc: PersistentVolumeClaim = Api::namespaced(client.clone(), &ns).get("web").await.unwrap();
        let pv: PersistentVolume = Api::all(client.clone())
            .get(&pvc.spec.unwrap().volume_name.unwrap())
            .await
            .unwrap();
        let image = PathBuf::from(pv.spec.unwrap().host_path.unwrap().path).join("disk.img");
        assert!(same_content(&raw, &image), "the imported disk holds the source's data");

        // A source that is not there fails the importer; CDI retries it (restartCount).
        create(
            &dvs,
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                "metadata": { "name": "missing" },
                "spec": { "source": { "http": { "url": format!("http://127.0.0.1:{port}/nope") } },
                    "storage": { "resources": { "requests": { "storage": "16Mi" } } } } }),
        )
        .await;
        let retried = wait_for(WAIT, "importer restarted", || async {
            let dv = dvs.get("missing").await.ok()?;
            (dv.status.restart_count.unwrap_or(0) >= 1).then_some(dv)
        })
        .await;
        assert_ne!(retried.status.phase.as_deref(), Some("Succeeded"));
        let running = retried.condition("Running").unwrap();
        assert_eq!(running.status, "False");
    })
    .await;
}

async fn pods_run_with_loopback_ips_and_report_their_end(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("pods").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let pod = |name: &str, restart: &str, command: Option<&[&str]>| {
            let mut container = json!({ "name": "main", "image": "registry.example/tool:1" });
            if let Some(command) = command {
                container["command"] = json!(command);
            }
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": name },
                "spec": { "restartPolicy": restart, "containers": [container] } })
        };
        create(&pods, pod("batch", "Never", None)).await;
        create(&pods, pod("server", "Always", None)).await;
        create(&pods, pod("fails", "Never", Some(&["/bin/sh", "-c", "exit 3"]))).await;

        let done = pod_in_phase(&pods, "batch", &["Succeeded"]).await;
        let status = done.status.clone().unwrap();
        let ip: std::net::Ipv4Addr = status.pod_ip.clone().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[0], 127, "pod IPs are loopback addresses");
        assert_eq!(ip.octets()[1], env.network, "in the cluster's pod network");
        assert_eq!(status.host_ip.as_deref(), Some("127.0.0.1"));
        {
            assert_eq!(done.spec.clone().unwrap().node_name.as_deref(), Some("sandbox"), "bound to the node");
        }
        let terminated = status.container_statuses.unwrap()[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!((terminated.exit_code, terminated.reason.as_deref()), (0, Some("Completed")));

        let failed = pod_in_phase(&pods, "fails", &["Failed"]).await;
        let terminated = failed.status.unwrap().container_statuses.unwrap()[0]
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap();
        assert_eq!(terminated.exit_code, 3);

        let running = pod_in_phase(&pods, "server", &["Running"]).await;
        let server_ip = running.status.clone().unwrap().pod_ip.unwrap();
        assert_ne!(server_ip, ip.to_string(), "running pods have distinct addresses");
        let ready = running.status.unwrap().conditions.unwrap();
        assert!(ready.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        // Deleting a running pod stops it and removes it.
        pods.delete("server", &DeleteParams::default()).await.unwrap();
        wait_for(WAIT, "pod removed", || async { pods.get_opt("server").await.ok()?.is_none().then_some(()) }).await;

        // A pod naming a ConfigMap that does not exist waits, as a kubelet makes it wait.
        create(
            &pods,
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "waits" },
                "spec": { "restartPolicy": "Never", "containers": [{ "name": "main", "image": "x",
                    "volumeMounts": [{ "name": "cfg", "mountPath": "/cfg" }] }],
                    "volumes": [{ "name": "cfg", "configMap": { "name": "absent" } }] } }),
        )
        .await;
        let waiting = wait_for(WAIT, "container creating", || async {
            let pod = pods.get("waits").await.ok()?;
            let state = pod.status.as_ref()?.container_statuses.as_ref()?.first()?.state.clone()?;
            state.waiting.filter(|w| w.reason.as_deref() == Some("ContainerCreating")).map(|_| pod)
        })
        .await;
        assert_eq!(phase(&waiting).as_deref(), Some("Pending"));
        // Once it exists, the pod runs.
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        create(&cms, json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "absent" }, "data": { "a": "b" } }))
            .await;
        pod_in_phase(&pods, "waits", &["Succeeded"]).await;
    })
    .await;
}

fn hook_job(name: &str, config_map: &str) -> Value {
    json!({ "apiVersion": "batch/v1", "kind": "Job", "metadata": { "name": name },
        "spec": { "backoffLimit": 1, "template": { "spec": {
            "restartPolicy": "Never",
            "containers": [{ "name": "hook", "image": "quay.io/kubev2v/hook-runner",
                "command": ["/bin/entrypoint", "ansible-runner", "run", "/tmp/runner", "-p", "/tmp/hook/playbook.yml"],
                "volumeMounts": [{ "name": "hook", "mountPath": "/tmp/hook" }] }],
            "volumes": [{ "name": "hook", "configMap": { "name": config_map } }] } } } })
}

async fn hook_jobs_succeed_or_fail_on_their_playbook(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("hooks").await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
        let playbook = |text: &str, name: &str| {
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name },
                "data": { "playbook.yml": text, "workload.yml": "vm: {}\n", "plan.yml": "{}\n" } })
        };
        create(&cms, playbook("- hosts: localhost\n  tasks:\n  - name: Say hello\n    debug: {msg: hi}\n", "good")).await;
        create(
            &cms,
            playbook("- hosts: localhost\n  tasks:\n  - name: Refuse\n    fail:\n      msg: the database is still running\n", "bad"),
        )
        .await;
        create(&jobs, hook_job("pre-hook", "good")).await;
        create(&jobs, hook_job("post-hook", "bad")).await;
        let condition = |job: &Job, kind: &str| {
            job.status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .and_then(|c| c.into_iter().find(|c| c.type_ == kind && c.status == "True"))
        };
        let good = wait_for(WAIT, "hook job complete", || async {
            let job = jobs.get("pre-hook").await.ok()?;
            condition(&job, "Complete").map(|_| job)
        })
        .await;
        assert_eq!(good.status.as_ref().unwrap().succeeded, Some(1));
        assert!(good.status.as_ref().unwrap().completion_time.is_some());
        let bad = wait_for(WAIT, "hook job failed", || async {
            let job = jobs.get("post-hook").await.ok()?;
            condition(&job, "Failed").map(|c| (job, c))
        })
        .await;
        assert_eq!(bad.1.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(bad.1.message.as_deref(), Some("Job has reached the specified backoff limit"));
        assert_eq!(bad.0.status.as_ref().unwrap().failed, Some(2), "one try plus backoffLimit retries");
        // The pods carry the playbook's failure as their termination message.
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let listed = pods.list(&ListParams::default().labels("job-name=post-hook")).await.unwrap();
        let message = listed.items[0].status.clone().unwrap().container_statuses.unwrap()[0]
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .message;
        assert_eq!(message.as_deref(), Some("the database is still running"));
    })
    .await;
}

/// The claims and pod of a conversion of `vm` (from `appliance`), as Forklift creates
/// them; returns the disk claim names.
async fn conversion(
    env: &'static Env,
    client: &kube::Client,
    ns: &str,
    vm: &str,
    appliance: &str,
    disks: &[u64],
) -> Vec<String> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let dvs: Api<DataVolume> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let share = env.share.display().to_string();
    create(
        &pvs,
        json!({ "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": { "name": format!("ova-store-pv-{ns}") },
            "spec": { "capacity": { "storage": "1Gi" }, "accessModes": ["ReadOnlyMany"],
                "persistentVolumeReclaimPolicy": "Retain", "nfs": { "server": "127.0.0.1", "path": share } } }),
    )
    .await;
    create(
        &pvcs,
        json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": { "name": "ova-store" },
            "spec": { "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": format!("ova-store-pv-{ns}"),
                "resources": { "requests": { "storage": "1Gi" } } } }),
    )
    .await;
    let mut names = Vec::new();
    for (i, size) in disks.iter().enumerate() {
        let name = format!("{vm}-disk-{i}");
        create(
            &dvs,
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": { "name": name },
                "spec": { "source": { "blank": {} }, "storage": { "resources": { "requests": { "storage": size.to_string() } } } } }),
        )
        .await;
        names.push(name);
    }
    for name in &names {
        wait_for(WAIT, "blank disk ready", || async {
            let dv = dvs.get(name).await.ok()?;
            (dv.status.phase.as_deref() == Some("Succeeded")).then_some(())
        })
        .await;
    }
    let mounts: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "name": n, "mountPath": format!("/mnt/disks/disk{i}") }))
        .chain(std::iter::once(
            json!({ "name": "store-pv", "mountPath": "/ova" }),
        ))
        .collect();
    let volumes: Vec<Value> = names
        .iter()
        .map(|n| json!({ "name": n, "persistentVolumeClaim": { "claimName": n } }))
        .chain(std::iter::once(
            json!({ "name": "store-pv", "persistentVolumeClaim": { "claimName": "ova-store" } }),
        ))
        .collect();
    create(
        &pods,
        json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": format!("{vm}-v2v"), "labels": { "forklift.app": "virt-v2v", "vmID": vm } },
            "spec": { "restartPolicy": "Never",
                "containers": [{ "name": "virt-v2v", "image": "quay.io/kubev2v/forklift-virt-v2v",
                    "env": [
                        { "name": "V2V_vmName", "value": vm },
                        { "name": "V2V_source", "value": "ova" },
                        { "name": "V2V_diskPath", "value": format!("/ova/{appliance}") },
                        { "name": "LOCAL_MIGRATION", "value": "true" },
                    ],
                    "ports": [{ "name": "metrics", "containerPort": 2112, "protocol": "TCP" }],
                    "volumeMounts": mounts }],
                "volumes": volumes } }),
    )
    .await;
    names
}

async fn disk_image(client: &kube::Client, ns: &str, claim: &str) -> PathBuf {
    let pvc: PersistentVolumeClaim = Api::namespaced(client.clone(), ns)
        .get(claim)
        .await
        .unwrap();
    let pv: PersistentVolume = Api::all(client.clone())
        .get(&pvc.spec.unwrap().volume_name.unwrap())
        .await
        .unwrap();
    PathBuf::from(pv.spec.unwrap().host_path.unwrap().path).join("disk.img")
}

fn metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("v2v_disk_transfers{disk_id=\""))
        .filter_map(|l| {
            let (id, value) = l.split_once("\"} ")?;
            Some((id.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn the_conversion_pod_converts_real_disks_and_serves_its_results(env: &'static Env) {
    bounded(async {
        let catalog = samples(env);
        let efi = catalog
            .appliances
            .iter()
            .find(|a| a.vm_name == "ferry-vmware-efi")
            .expect("the EFI sample");
        let client = env.client();
        let ns = env.namespace("v2v").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let sizes: Vec<u64> = efi.disks.iter().map(|d| d.virtual_size).collect();
        let claims = conversion(env, &client, &ns, &efi.vm_name, &efi.relative, &sizes).await;
        let pod_name = format!("{}-v2v", efi.vm_name);
        let running = pod_in_phase(&pods, &pod_name, &["Running", "Succeeded", "Failed"]).await;
        assert_eq!(phase(&running).as_deref(), Some("Running"));
        let ip = running.status.unwrap().pod_ip.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        // The monitor's progress reaches 100 for every disk, then /vm answers.
        let yaml = wait_for(WAIT, "conversion results", || async {
            let text = http
                .get(format!("http://{ip}:2112/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let m = metrics(&text);
            if m.len() != 2 || m.values().any(|v| *v < 100.0) {
                return None;
            }
            let response = http.get(format!("http://{ip}:8080/vm")).send().await.ok()?;
            response
                .status()
                .is_success()
                .then_some(response)
                .map(|r| async { r.text().await.ok() })?
                .await
        })
        .await;
        let vm: Value = serde_saphyr::from_str(yaml.trim_start_matches("---\n")).unwrap();
        let bootloader = &vm["spec"]["template"]["spec"]["domain"]["firmware"]["bootloader"];
        assert!(
            bootloader["efi"].is_object(),
            "the EFI sample converts to an EFI VM: {bootloader}"
        );
        let inspection = http
            .get(format!("http://{ip}:8080/inspection"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(inspection.contains("<osinfo>"), "{inspection}");
        let warnings = http
            .get(format!("http://{ip}:8080/warnings"))
            .send()
            .await
            .unwrap();
        assert_eq!(warnings.status().as_u16(), 204);
        let shutdown = http
            .post(format!("http://{ip}:8080/shutdown"))
            .send()
            .await
            .unwrap();
        assert_eq!(shutdown.status().as_u16(), 204);
        pod_in_phase(&pods, &pod_name, &["Succeeded"]).await;
        if matches!(env.server, common::Server::Embedded(_)) {
            // The embedded server serves container output (a real one asks its kubelets).
            let logs = pods.logs(&pod_name, &Default::default()).await.unwrap();
            assert!(
                logs.contains("Copying disk 2/2") && logs.contains("Finishing off"),
                "{logs}"
            );
        }

        // The converted images hold the source disks' content.
        for (disk, claim) in efi.disks.iter().zip(&claims) {
            let expected = tempfile::NamedTempFile::new().unwrap();
            disk.write_raw(expected.path()).unwrap();
            let image = disk_image(&client, &ns, claim).await;
            assert!(
                same_content(expected.path(), &image),
                "{} differs from its source",
                image.display()
            );
        }
    })
    .await;
}

async fn a_failing_disk_fails_the_conversion_half_written(env: &'static Env) {
    bounded(async {
        let catalog = samples(env);
        let plain = catalog
            .appliances
            .iter()
            .find(|a| a.vm_name == common::FAILING_VM)
            .expect("the plain OVF sample");
        let client = env.client();
        let ns = env.namespace("v2v-fail").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let dir = Path::new(&plain.relative)
            .parent()
            .unwrap()
            .display()
            .to_string();
        let sizes: Vec<u64> = plain.disks.iter().map(|d| d.virtual_size).collect();
        let claims = conversion(env, &client, &ns, &plain.vm_name, &dir, &sizes).await;
        let failed = pod_in_phase(
            &pods,
            &format!("{}-v2v", plain.vm_name),
            &["Failed", "Succeeded"],
        )
        .await;
        assert_eq!(phase(&failed).as_deref(), Some("Failed"));
        let terminated = failed.status.unwrap().container_statuses.unwrap()[0]
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap();
        assert_eq!(terminated.exit_code, 1);
        let message = terminated.message.unwrap();
        assert!(
            message.starts_with("virt-v2v: error:") && message.contains("disk 1"),
            "{message}"
        );
        let expected = tempfile::NamedTempFile::new().unwrap();
        plain.disks[0].write_raw(expected.path()).unwrap();
        let image = disk_image(&client, &ns, &claims[0]).await;
        assert!(
            !same_content(expected.path(), &image),
            "the failed disk is not complete"
        );
    })
    .await;
}

async fn virtual_machines_run_or_stop_by_run_strategy(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("kubevirt").await;
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
        let vms: Api<VirtualMachine> = Api::namespaced(client.clone(), &ns);
        let vmis: Api<VirtualMachineInstance> = Api::namespaced(client.clone(), &ns);
        create(
            &pvcs,
            json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": { "name": "root" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Mi" } } } }),
        )
        .await;
        let vm = |name: &str, strategy: &str| {
            json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": { "name": name },
                "spec": { "runStrategy": strategy, "template": { "spec": {
                    "domain": { "devices": { "disks": [{ "name": "vol-0", "disk": { "bus": "virtio" } }],
                        "interfaces": [{ "name": "net-0", "masquerade": {}, "macAddress": "00:50:56:00:00:01" }] } },
                    "networks": [{ "name": "net-0", "pod": {} }],
                    "volumes": [{ "name": "vol-0", "persistentVolumeClaim": { "claimName": "root" } }] } } } })
        };
        create(&vms, vm("runs", "Always")).await;
        create(&vms, vm("stopped", "Halted")).await;
        let running = wait_for(WAIT, "VM running", || async {
            let vm = vms.get("runs").await.ok()?;
            (vm.status.printable_status.as_deref() == Some("Running") && vm.status.ready == Some(true)).then_some(vm)
        })
        .await;
        assert_eq!(running.status.created, Some(true));
        let vmi = vmis.get("runs").await.unwrap();
        assert_eq!(vmi.status.phase.as_deref(), Some("Running"));
        assert_eq!(vmi.status.node_name.as_deref(), Some("sandbox"));
        let stopped = wait_for(WAIT, "VM stopped", || async {
            let vm = vms.get("stopped").await.ok()?;
            (vm.status.printable_status.as_deref() == Some("Stopped")).then_some(vm)
        })
        .await;
        assert_eq!(stopped.status.ready, Some(false));
        assert!(vmis.get_opt("stopped").await.unwrap().is_none());
        // A VM whose claim does not exist says so.
        create(&vms, json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": { "name": "orphan" },
            "spec": { "runStrategy": "Always", "template": { "spec": {
                "volumes": [{ "name": "v", "persistentVolumeClaim": { "claimName": "gone" } }] } } } }))
        .await;
        wait_for(WAIT, "VM reports the missing claim", || async {
            let vm = vms.get("orphan").await.ok()?;
            (vm.status.printable_status.as_deref() == Some("ErrorPvcNotFound")).then_some(())
        })
        .await;
    })
    .await;
}

async fn the_fault_injecting_client_answers_with_api_errors(env: &'static Env) {
    bounded(async {
        let config = env.config.clone();
        let always = ApiFaults {
            rate: 1.0,
            codes: vec![500],
            ..ApiFaults::default()
        };
        let (client, stats) = faulty_client(config.clone(), &always).unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        let error = cms.list(&ListParams::default()).await.unwrap_err();
        match error {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 500);
                assert!(status.message.contains("injected by ferry sandbox"));
            }
            other => panic!("expected an API error, got {other}"),
        }
        assert_eq!(stats.injected(), 1);
        let half = ApiFaults {
            rate: 0.5,
            codes: vec![429, 500],
            ..ApiFaults::default()
        };
        let (client, stats) = faulty_client(config, &half).unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        let mut ok = 0;
        for _ in 0..40 {
            if cms.list(&ListParams::default()).await.is_ok() {
                ok += 1;
            }
        }
        assert!(
            ok > 0 && stats.injected() > 0,
            "some calls pass, some fail ({ok} passed)"
        );
        assert_eq!(stats.requests(), 40);
    })
    .await;
}

async fn kubectl_shows_the_columns_a_real_cluster_shows(env: &'static Env) {
    bounded(async {
        let client = env.client();
        let ns = env.namespace("kubectl").await;
        let dvs: Api<DataVolume> = Api::namespaced(client.clone(), &ns);
        create(
            &dvs,
            json!({ "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": { "name": "d" },
                "spec": { "source": { "blank": {} }, "storage": { "resources": { "requests": { "storage": "1Mi" } } } } }),
        )
        .await;
        wait_for(WAIT, "DataVolume done", || async {
            (dvs.get("d").await.ok()?.status.phase.as_deref() == Some("Succeeded")).then_some(())
        })
        .await;
        let kubectl = env.kubectl();
        let output = std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&env.kubeconfig)
            .args(["get", "datavolumes,virtualmachines", "-n", &ns])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let header = text.lines().next().unwrap_or_default();
        for column in ["NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"] {
            assert!(header.contains(column), "{header}");
        }
        assert!(text.contains("Succeeded") && text.contains("100.0%"), "{text}");
    })
    .await;
}

/// Each scenario against the real kube-apiserver and against Ferry's embedded one.
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn real_kube_apiserver() {
                    super::$name(super::common::real()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded_apiserver() {
                    super::$name(super::common::embedded()).await;
                }
            }
        )*
    };
}

on_both_servers!(
    claims_get_provisioned_bound_and_released,
    blank_data_volumes_import_as_cdi_reports_it,
    http_data_volumes_download_real_bytes,
    pods_run_with_loopback_ips_and_report_their_end,
    hook_jobs_succeed_or_fail_on_their_playbook,
    the_conversion_pod_converts_real_disks_and_serves_its_results,
    a_failing_disk_fails_the_conversion_half_written,
    virtual_machines_run_or_stop_by_run_strategy,
    the_fault_injecting_client_answers_with_api_errors,
    kubectl_shows_the_columns_a_real_cluster_shows
);
