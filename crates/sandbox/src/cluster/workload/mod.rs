//! What runs inside the simulated pods, in process.
//!
//! [`classify`] recognizes a pod by its labels and containers, as an operator would
//! recognize its own pods:
//!
//! | pod | recognized by | does |
//! |---|---|---|
//! | virt-v2v conversion ([`v2v`]) | label `forklift.app` `virt-v2v` or `virt-v2v-inspection`, or a container named `virt-v2v` | converts the OVA's disks into the disk claims with `qemu-img`, serves `:2112/metrics`, `:8080/vm`, `/inspection`, `/warnings`, exits on `POST /shutdown` |
//! | CDI importer ([`importer`]) | label `cdi.kubevirt.io: importer` | fills `/data/disk.img` (or the block device) from the source, serves progress on `:8443/metrics` |
//! | hook ([`hook`]) | owned by a Job, container `hook` with a mount at `/tmp/hook` | succeeds, or fails on a `fail` task of its playbook |
//! | `sh -c "exit N"` | its command | exits `N` |
//! | anything else ([`generic`]) | — | with `restartPolicy: Always`, runs until deleted; else succeeds after [`crate::cluster::config::Pace::generic_run`] |
//!
//! Annotations `sandbox.ferry.dev/run-seconds` and `sandbox.ferry.dev/exit-code` on a
//! generic pod set how long it runs and how it exits.

pub mod generic;
pub mod hook;
pub mod importer;
pub mod serve;
pub mod v2v;
pub mod vddk;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::config::{ANNOTATION_PREFIX, ClusterConfig};
use super::kubelet::ips::Ports;
use super::kubelet::status::Exit;
use super::kubelet::view::ContainerView;
use super::logs::ContainerLog;

/// A pod about to run, with everything resolved.
pub struct PodRun {
    /// The API.
    pub client: kube::Client,
    /// The cluster's configuration.
    pub config: Arc<ClusterConfig>,
    /// The pod as it was when it started.
    pub pod: Pod,
    /// Its IP.
    pub ip: Ipv4Addr,
    /// Its workload ports, bound when the IP was allocated.
    pub ports: Arc<Ports>,
    /// Its containers, resolved.
    pub containers: Vec<ContainerView>,
    /// Cancelled when the pod is deleted or the sandbox stops.
    pub cancel: CancellationToken,
}

impl PodRun {
    /// The output stream of `container`.
    pub fn log(&self, container: &str) -> ContainerLog {
        ContainerLog::new(
            Arc::clone(&self.config.logs),
            &self.pod.namespace().unwrap_or_default(),
            &self.pod.name_any(),
            container,
        )
    }

    /// A listener on the pod's `port`: the one held since the IP was allocated, else a
    /// fresh one.
    pub async fn listener(&self, port: u16) -> std::io::Result<tokio::net::TcpListener> {
        match self.ports.take(port) {
            Some(held) => held.listen(1024),
            None => tokio::net::TcpListener::bind((self.ip, port)).await,
        }
    }

    /// The first container (the one workloads are recognized by).
    pub fn main(&self) -> Option<&ContainerView> {
        self.containers.first()
    }
}

/// Tells the kubelet the containers are up (listening): the pod becomes `Running`.
pub struct Ready(Option<oneshot::Sender<()>>);

impl Ready {
    /// A signal and what the kubelet waits on.
    pub fn new() -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (Self(Some(tx)), rx)
    }

    /// The containers are up.
    pub fn signal(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// What a pod runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// The virt-v2v conversion or inspection.
    VirtV2v,
    /// CDI's importer.
    Importer,
    /// A hook playbook.
    Hook,
    /// `sh -c "exit N"`.
    Exit(i32),
    /// Something else.
    Generic {
        /// How long it runs; `None` until deleted.
        run_for: Option<Duration>,
        /// How it exits.
        exit_code: i32,
    },
}

/// Recognizes what `pod` runs (pure).
pub fn classify(pod: &Pod, generic_run: Duration) -> Workload {
    let labels = pod.labels();
    let spec = pod.spec.clone().unwrap_or_default();
    let containers = &spec.containers;
    let app = labels.get("forklift.app").map(String::as_str);
    if matches!(app, Some("virt-v2v" | "virt-v2v-inspection"))
        || containers
            .iter()
            .any(|c| c.name == "virt-v2v" || c.name == "virt-v2v-inspection")
    {
        return Workload::VirtV2v;
    }
    if labels.get("cdi.kubevirt.io").map(String::as_str) == Some("importer") {
        return Workload::Importer;
    }
    let owned_by_job = pod
        .owner_references()
        .iter()
        .any(|r| r.kind == "Job" && r.api_version.starts_with("batch/"));
    let hook_container = containers.iter().any(|c| {
        c.name == "hook"
            && c.volume_mounts
                .iter()
                .flatten()
                .any(|m| m.mount_path.trim_end_matches('/') == "/tmp/hook")
    });
    if owned_by_job && hook_container {
        return Workload::Hook;
    }
    if let Some(code) = containers
        .first()
        .and_then(|c| shell_exit(c.command.as_deref(), c.args.as_deref()))
    {
        return Workload::Exit(code);
    }
    let annotation = |key: &str| {
        pod.annotations()
            .get(&format!("{ANNOTATION_PREFIX}{key}"))
            .cloned()
    };
    let exit_code = annotation("exit-code")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let run_for = match annotation("run-seconds").and_then(|v| v.trim().parse::<f64>().ok()) {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds.min(86_400.0)))
        }
        Some(_) => Some(generic_run),
        None if spec.restart_policy.as_deref().unwrap_or("Always") == "Always" => None,
        None => Some(generic_run),
    };
    Workload::Generic { run_for, exit_code }
}

/// `["/bin/sh", "-c", "exit N"]` (or `sh`, or the script in `args`) → `N`.
fn shell_exit(command: Option<&[String]>, args: Option<&[String]>) -> Option<i32> {
    let mut argv: Vec<&str> = command
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    argv.extend(args.unwrap_or_default().iter().map(String::as_str));
    let [shell, "-c", script] = argv.as_slice() else {
        return None;
    };
    if !matches!(*shell, "/bin/sh" | "sh" | "/bin/bash" | "bash") {
        return None;
    }
    let script = script.trim();
    if script == "true" {
        return Some(0);
    }
    if script == "false" {
        return Some(1);
    }
    let code = script.strip_prefix("exit")?.trim();
    if code.is_empty() {
        return Some(0);
    }
    code.parse::<i32>().ok().map(|c| c & 0xff)
}

/// Runs `workload` for `run` until it exits or is cancelled (then `None`).
pub async fn run(workload: &Workload, run: &PodRun, mut ready: Ready) -> Option<Exit> {
    let work = async {
        match workload {
            Workload::VirtV2v => v2v::run(run, &mut ready).await,
            Workload::Importer => importer::run(run, &mut ready).await,
            Workload::Hook => hook::run(run, &mut ready).await,
            Workload::Exit(code) => {
                ready.signal();
                if *code == 0 {
                    Exit::success()
                } else {
                    Exit::failure(*code, format!("exit status {code}"))
                }
            }
            Workload::Generic { run_for, exit_code } => {
                generic::run(run, &mut ready, *run_for, *exit_code).await
            }
        }
    };
    tokio::select! {
        exit = work => Some(exit),
        () = run.cancel.cancelled() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn recognizes_workloads() {
        let run = Duration::from_secs(1);
        let v2v = pod(json!({
            "metadata": { "name": "p", "labels": { "forklift.app": "virt-v2v" } },
            "spec": { "containers": [{ "name": "virt-v2v", "image": "x" }] },
        }));
        assert_eq!(classify(&v2v, run), Workload::VirtV2v);
        let importer = pod(json!({
            "metadata": { "name": "importer-x", "labels": { "cdi.kubevirt.io": "importer" } },
            "spec": { "containers": [{ "name": "importer", "image": "x" }] },
        }));
        assert_eq!(classify(&importer, run), Workload::Importer);
        let hook = pod(json!({
            "metadata": { "name": "h", "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u", "controller": true,
            }] },
            "spec": { "containers": [{ "name": "hook", "image": "x",
                "volumeMounts": [{ "name": "hook", "mountPath": "/tmp/hook" }] }] },
        }));
        assert_eq!(classify(&hook, run), Workload::Hook);
        let consumer = pod(json!({
            "metadata": { "name": "c" },
            "spec": { "containers": [{ "name": "main", "image": "x",
                "command": ["/bin/sh", "-c", "exit 0"] }] },
        }));
        assert_eq!(classify(&consumer, run), Workload::Exit(0));
        let server = pod(json!({
            "metadata": { "name": "s" },
            "spec": { "containers": [{ "name": "web", "image": "nginx" }] },
        }));
        assert_eq!(
            classify(&server, run),
            Workload::Generic {
                run_for: None,
                exit_code: 0
            }
        );
        let batch = pod(json!({
            "metadata": { "name": "b", "annotations": {
                "sandbox.ferry.dev/run-seconds": "2.5", "sandbox.ferry.dev/exit-code": "3" } },
            "spec": { "restartPolicy": "Never", "containers": [{ "name": "c", "image": "x" }] },
        }));
        assert_eq!(
            classify(&batch, run),
            Workload::Generic {
                run_for: Some(Duration::from_millis(2500)),
                exit_code: 3
            }
        );
    }

    #[test]
    fn shell_exits() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shell_exit(Some(&s(&["/bin/sh", "-c", "exit 0"])), None),
            Some(0)
        );
        assert_eq!(
            shell_exit(Some(&s(&["sh"])), Some(&s(&["-c", "exit 3"]))),
            Some(3)
        );
        assert_eq!(
            shell_exit(Some(&s(&["sh", "-c", "exit 300"])), None),
            Some(44)
        );
        assert_eq!(shell_exit(Some(&s(&["sh", "-c", "rm -rf /"])), None), None);
        assert_eq!(
            shell_exit(Some(&s(&["python", "-c", "exit 1"])), None),
            None
        );
    }
}
