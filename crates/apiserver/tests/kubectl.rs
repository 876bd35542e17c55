//! The real `kubectl` against the server: discovery, every upstream Forklift CRD and
//! sample, printer columns, watches, patches, server-side apply, waits, describe,
//! labels, annotations, logs.
//!
//! kubectl is found on PATH (or at `FERRY_KUBECTL`); `scripts/test` makes sure it is
//! installed.
//!
//! Against the real server each test has a control plane of its own: the tests install the Forklift CRDs and a fixed `forklift` namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TIMEOUT, TestTarget};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

fn kubectl_binary() -> PathBuf {
    if let Ok(p) = std::env::var("FERRY_KUBECTL") {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("kubectl");
        if p.is_file() {
            return p;
        }
    }
    panic!("kubectl not found on PATH (or FERRY_KUBECTL): run scripts/test, which installs it");
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn new(t: &TestTarget) -> Self {
        Self {
            bin: kubectl_binary(),
            kubeconfig: t.kubeconfig.clone(),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .args(args)
            .env("HOME", self.cache.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    async fn run_with_input(&self, args: &[&str], input: &str) -> Out {
        let mut child = self.command(args).spawn().expect("run kubectl");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).await.unwrap();
        drop(stdin);
        let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish"))
            .unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn run(&self, args: &[&str]) -> Out {
        self.run_with_input(args, "").await
    }

    /// Runs and requires success.
    async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(o.ok, "kubectl {args:?} failed: {}{}", o.stdout, o.stderr);
        o.stdout
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/upstream")
}

fn sample(name: &str, ns: &str) -> String {
    std::fs::read_to_string(fixtures().join("samples").join(name))
        .unwrap()
        .replace("${NAMESPACE}", ns)
}

async fn install_forklift_crds(k: &Kubectl) {
    let mut crds: Vec<PathBuf> = std::fs::read_dir(fixtures().join("crds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    crds.sort();
    assert_eq!(crds.len(), 14);
    let mut args = vec!["apply"];
    let paths: Vec<String> = crds.iter().map(|p| p.display().to_string()).collect();
    for p in &paths {
        args.push("-f");
        args.push(p);
    }
    let out = k.ok(&args).await;
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/plans.forklift.konveyor.io created"
        ),
        "{out}"
    );
    k.ok(&[
        "wait",
        "--for",
        "condition=established",
        "--timeout=10s",
        "crd/plans.forklift.konveyor.io",
        "crd/providers.forklift.konveyor.io",
    ])
    .await;
}

#[tokio::test]
async fn api_resources_lists_what_is_served() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    let out = k.ok(&["api-resources"]).await;
    for line in [
        "pods",
        "configmaps",
        "namespaces",
        "persistentvolumeclaims",
        "persistentvolumes",
        "secrets",
        "services",
        "serviceaccounts",
        "events",
        "jobs",
        "storageclasses",
        "leases",
        "nodes",
        "customresourcedefinitions",
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(line)),
            "{line} missing from:\n{out}"
        );
    }
    assert!(
        out.lines().any(|l| l.starts_with("pods")
            && l.contains(" po ")
            && l.contains("true")
            && l.contains("Pod")),
        "{out}"
    );
    assert!(out.contains("batch/v1"));
    let out = k
        .ok(&[
            "api-resources",
            "--api-group=apiextensions.k8s.io",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.trim(), "customresourcedefinitions.apiextensions.k8s.io");
    let v = k.ok(&["version", "-o", "json"]).await;
    assert!(v.contains("\"serverVersion\""), "{v}");
}

#[tokio::test]
async fn every_upstream_crd_and_the_valid_samples_apply() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    install_forklift_crds(&k).await;
    let out = k
        .ok(&[
            "api-resources",
            "--api-group=forklift.konveyor.io",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.lines().count(), 14, "{out}");
    k.ok(&["create", "namespace", "forklift"]).await;
    for s in [
        "forklift_v1beta1_provider.yaml",
        "forklift_v1beta1_migration.yaml",
        "forklift_v1beta1_hook.yaml",
        "forklift_v1beta1_forkliftcontroller.yaml",
        "forklift_v1beta1_ovirt_populator.yaml",
        "forklift_v1beta1_openstack_populator.yaml",
    ] {
        let o = k
            .run_with_input(&["apply", "-f", "-"], &sample(s, "forklift"))
            .await;
        assert!(o.ok, "{s}: {}{}", o.stdout, o.stderr);
        assert!(o.stdout.contains("created"), "{s}: {}", o.stdout);
    }
    // Applying again is a no-op.
    let o = k
        .run_with_input(
            &["apply", "-f", "-"],
            &sample("forklift_v1beta1_provider.yaml", "forklift"),
        )
        .await;
    assert!(
        o.ok && o.stdout.contains("unchanged"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    let got = k
        .ok(&[
            "get",
            "providers",
            "-n",
            "forklift",
            "-o",
            "jsonpath={.items[0].spec.type}",
        ])
        .await;
    assert_eq!(got, "vmware");
}

#[tokio::test]
async fn the_invalid_upstream_samples_are_refused_like_a_real_server_refuses_them() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    install_forklift_crds(&k).await;
    k.ok(&["create", "namespace", "forklift"]).await;
    // Plan and Host have no unknown fields: schema validation refuses them (422).
    let invalid = [
        (
            "forklift_v1beta1_plan.yaml",
            vec![
                "The Plan \"example-plan\" is invalid",
                "spec.map: Required value",
                "spec.targetNamespace: Required value",
                "spec.vms: Required value",
            ],
        ),
        (
            "forklift_v1beta1_host.yaml",
            vec![
                "The Host \"example-host\" is invalid",
                "spec.secret: Required value",
            ],
        ),
    ];
    for (file, expected) in invalid {
        let o = k
            .run_with_input(&["apply", "-f", "-"], &sample(file, "forklift"))
            .await;
        assert!(!o.ok, "{file} should be refused: {}", o.stdout);
        for e in expected {
            assert!(
                o.stderr.contains(e),
                "{file}: expected {e:?} in:\n{}",
                o.stderr
            );
        }
    }
    // The maps and the xcopy populator carry stale fields. kubectl asks for strict
    // field validation by default: the server refuses the unknown fields (400)...
    let stale = [
        (
            "forklift_v1beta1_networkmap.yaml",
            "NetworkMap in version \"v1beta1\" cannot be handled as a NetworkMap: strict decoding error: unknown field \"spec.provider.name\", unknown field \"spec.provider.namespace\"",
            vec![
                "The NetworkMap \"example-networkmap\" is invalid",
                "spec.provider.destination: Required value",
                "spec.provider.source: Required value",
            ],
        ),
        (
            "forklift_v1beta1_storagemap.yaml",
            "StorageMap in version \"v1beta1\" cannot be handled as a StorageMap: strict decoding error: unknown field \"spec.provider.name\", unknown field \"spec.provider.namespace\"",
            vec![
                "The StorageMap \"example-storagemap\" is invalid",
                "spec.provider.destination: Required value",
                "spec.provider.source: Required value",
            ],
        ),
        (
            "forklift_v1beta1_vsphere_xcopy_volume_populator.yaml",
            "strict decoding error: unknown field \"spec.secretRef\", unknown field \"spec.sourceVMDK\", unknown field \"spec.targetPVC\"",
            vec![
                "is invalid",
                "spec.vmId: Required value",
                "spec.vmdkPath: Required value",
                "spec.secretName: Required value",
                "spec.storageVendorProduct: Required value",
            ],
        ),
    ];
    for (file, strict, pruned) in stale {
        let o = k
            .run_with_input(&["apply", "-f", "-"], &sample(file, "forklift"))
            .await;
        assert!(!o.ok, "{file} should be refused: {}", o.stdout);
        assert!(
            o.stderr.contains("Error from server (BadRequest)") && o.stderr.contains(strict),
            "{file}:\n{}",
            o.stderr
        );
        // ...and without it they are pruned, then the required fields are missing (422).
        let o = k
            .run_with_input(
                &["apply", "--validate=false", "-f", "-"],
                &sample(file, "forklift"),
            )
            .await;
        assert!(!o.ok, "{file} should be refused: {}", o.stdout);
        for e in pruned {
            assert!(
                o.stderr.contains(e),
                "{file}: expected {e:?} in:\n{}",
                o.stderr
            );
        }
    }
}

const PLAN: &str = r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata:
  name: p
  namespace: forklift
spec:
  targetNamespace: target
  provider:
    source: {name: vsphere, namespace: forklift}
    destination: {name: host, namespace: forklift}
  map:
    network: {name: net, namespace: forklift}
    storage: {name: store, namespace: forklift}
  vms:
  - id: vm-1
"#;

#[tokio::test]
async fn printer_columns_wait_and_describe_for_plans() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    install_forklift_crds(&k).await;
    k.ok(&["create", "namespace", "forklift"]).await;
    let o = k.run_with_input(&["apply", "-f", "-"], PLAN).await;
    assert!(o.ok, "{}{}", o.stdout, o.stderr);
    let out = k.ok(&["get", "plans", "-n", "forklift"]).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "EXECUTING", "SUCCEEDED", "FAILED", "AGE"]
    );
    assert!(out.lines().nth(1).unwrap().starts_with("p "), "{out}");
    // A controller (here: the test) sets Ready through the status subresource.
    let patch = r#"{"status":{"conditions":[{"type":"Ready","status":"True","category":"Required","lastTransitionTime":"2024-01-01T00:00:00Z","message":"The migration plan is ready."}]}}"#;
    k.ok(&[
        "patch",
        "plan",
        "p",
        "-n",
        "forklift",
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    ])
    .await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "plan/p",
        "-n",
        "forklift",
        "--timeout=10s",
    ])
    .await;
    let out = k
        .ok(&["get", "plan", "p", "-n", "forklift", "--no-headers"])
        .await;
    let cells: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(cells[0..2], ["p", "True"]);
    let out = k.ok(&["describe", "plan", "p", "-n", "forklift"]).await;
    assert!(
        out.contains("Name:") && out.contains("Target Namespace:") && out.contains("target"),
        "{out}"
    );
    let out = k.ok(&["explain", "plan.spec.targetNamespace"]).await;
    assert!(out.contains("targetNamespace"), "{out}");
}

#[tokio::test]
async fn get_watch_streams_changes() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    k.ok(&["create", "namespace", "w"]).await;
    let mut child = k
        .command(&["get", "configmaps", "-n", "w", "-w"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // The first line is the header or the initial list; then our object appears.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    k.ok(&[
        "create",
        "configmap",
        "streamed",
        "-n",
        "w",
        "--from-literal=a=b",
    ])
    .await;
    let found = tokio::time::timeout(TIMEOUT, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.starts_with("streamed") {
                return l;
            }
        }
        String::new()
    })
    .await
    .expect("the watch shows the new object");
    assert!(
        found.split_whitespace().nth(1) == Some("1"),
        "DATA column: {found}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn patches_labels_annotations_and_server_side_apply() {
    let t = TestTarget::start_alone().await;
    let k = Kubectl::new(&t);
    k.ok(&["create", "namespace", "p"]).await;
    k.ok(&["create", "configmap", "c", "-n", "p", "--from-literal=a=1"])
        .await;
    k.ok(&[
        "patch",
        "configmap",
        "c",
        "-n",
        "p",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "configmap",
        "c",
        "-n",
        "p",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/data/a","value":"3"}]"#,
    ])
    .await;
    k.ok(&["label", "configmap", "c", "-n", "p", "tier=db"])
        .await;
    k.ok(&["annotate", "configmap", "c", "-n", "p", "note=hello"])
        .await;
    let out = k
        .ok(&[
            "get",
            "configmap",
            "c",
            "-n",
            "p",
            "-o",
            "jsonpath={.data.a},{.data.b},{.metadata.labels.tier},{.metadata.annotations.note}",
        ])
        .await;
    assert_eq!(out, "3,2,db,hello");
    let out = k
        .ok(&[
            "get",
            "configmaps",
            "-n",
            "p",
            "-l",
            "tier=db",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(out.trim(), "configmap/c");

    // Strategic merge patch of a pod's containers (kubectl's default for built-ins).
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: p}\nspec:\n  containers:\n  - {name: a, image: 'nginx:1'}\n  - {name: b, image: 'busybox:1'}\n";
    assert!(k.run_with_input(&["apply", "-f", "-"], pod).await.ok);
    k.ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        "p",
        "-p",
        r#"{"spec":{"containers":[{"name":"b","image":"busybox:2"}]}}"#,
    ])
    .await;
    let out = k
        .ok(&[
            "get",
            "pod",
            "web",
            "-n",
            "p",
            "-o",
            "jsonpath={.spec.containers[*].image}",
        ])
        .await;
    assert_eq!(out, "nginx:1 busybox:2");

    // Server-side apply: a second manager changing the same field conflicts.
    let mine =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: p}\ndata: {key: one}\n";
    let theirs =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: p}\ndata: {key: two}\n";
    let o = k
        .run_with_input(
            &["apply", "--server-side", "--field-manager=alice", "-f", "-"],
            mine,
        )
        .await;
    assert!(o.ok, "{}", o.stderr);
    let o = k
        .run_with_input(
            &["apply", "--server-side", "--field-manager=bob", "-f", "-"],
            theirs,
        )
        .await;
    assert!(!o.ok);
    assert!(
        o.stderr.contains("conflict with \"alice\"") && o.stderr.contains(".data.key"),
        "{}",
        o.stderr
    );
    let o = k
        .run_with_input(
            &[
                "apply",
                "--server-side",
                "--field-manager=bob",
                "--force-conflicts",
                "-f",
                "-",
            ],
            theirs,
        )
        .await;
    assert!(o.ok, "{}", o.stderr);
    let out = k
        .ok(&[
            "get",
            "configmap",
            "ssa",
            "-n",
            "p",
            "-o",
            "jsonpath={.data.key}",
        ])
        .await;
    assert_eq!(out, "two");
}

#[tokio::test]
async fn get_nodes_shows_readiness_roles_and_cordon() {
    let t = TestTarget::start().await;
    let k = Kubectl::new(&t);
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: kubectl-node\n  labels: {node-role.kubernetes.io/worker: \"\"}\nstatus:\n  conditions: [{type: Ready, status: \"True\"}]\n  nodeInfo: {kubeletVersion: v1.33.0}\n";
    let created = k.run_with_input(&["create", "-f", "-"], node).await;
    assert!(created.ok, "{}", created.stderr);
    let out = k.ok(&["get", "no", "kubectl-node"]).await;
    let row = out.lines().nth(1).unwrap_or_default().to_string();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells.first(), Some(&"kubectl-node"), "{out}");
    assert_eq!(cells.get(1), Some(&"Ready"), "{out}");
    assert_eq!(cells.get(2), Some(&"worker"), "{out}");
    assert_eq!(cells.last(), Some(&"v1.33.0"), "{out}");
    let out = k.ok(&["get", "nodes", "kubectl-node", "-o", "wide"]).await;
    assert!(
        out.contains("INTERNAL-IP") && out.contains("<unknown>"),
        "{out}"
    );
    let taints = k
        .ok(&[
            "get",
            "node",
            "kubectl-node",
            "-o",
            "jsonpath={.spec.taints[*].key}",
        ])
        .await;
    assert_eq!(taints, "node.kubernetes.io/not-ready");
    k.ok(&["cordon", "kubectl-node"]).await;
    let out = k.ok(&["get", "node", "kubectl-node"]).await;
    assert!(out.contains("Ready,SchedulingDisabled"), "{out}");
    k.ok(&["delete", "node", "kubectl-node"]).await;
}

#[tokio::test]
async fn delete_wait_describe_and_logs() {
    let t = TestTarget::start_alone().await;
    let Some(server) = t.embedded("an in-process pod log source") else {
        return;
    };
    let k = Kubectl::new(&t);
    k.ok(&["create", "namespace", "d"]).await;
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: runner, namespace: d}\nspec:\n  nodeName: node-1\n  containers:\n  - {name: main, image: busybox}\n";
    assert!(k.run_with_input(&["apply", "-f", "-"], pod).await.ok);
    server
        .memory_logs()
        .append("d", "runner", "main", "line one\nline two\n");
    let out = k.ok(&["logs", "runner", "-n", "d"]).await;
    assert_eq!(out, "line one\nline two\n");
    let out = k.ok(&["logs", "runner", "-n", "d", "--tail=1"]).await;
    assert_eq!(out, "line two\n");
    let e = k.run(&["logs", "runner", "-n", "d", "-c", "nope"]).await;
    assert!(
        !e.ok
            && e.stderr
                .contains("container nope is not valid for pod runner"),
        "{}",
        e.stderr
    );

    let out = k.ok(&["describe", "pod", "runner", "-n", "d"]).await;
    assert!(
        out.contains("Name:") && out.contains("runner") && out.contains("Containers:"),
        "{out}"
    );

    k.ok(&["create", "configmap", "gone", "-n", "d"]).await;
    let out = k
        .ok(&["delete", "configmap", "gone", "-n", "d", "--wait"])
        .await;
    assert!(out.contains("configmap \"gone\" deleted"), "{out}");
    // Deleting the namespace waits for the namespace controller (the pod is
    // scheduled, so its graceful deletion is confirmed by a kubelet: here, the test).
    let mut del = k
        .command(&["delete", "namespace", "d", "--wait", "--timeout=15s"])
        .spawn()
        .unwrap();
    common::eventually("the pod to be marked for deletion", || async {
        let o = k
            .run(&[
                "get",
                "pod",
                "runner",
                "-n",
                "d",
                "-o",
                "jsonpath={.metadata.deletionTimestamp}",
            ])
            .await;
        o.ok && !o.stdout.is_empty()
    })
    .await;
    k.ok(&[
        "delete",
        "pod",
        "runner",
        "-n",
        "d",
        "--grace-period=0",
        "--force",
    ])
    .await;
    let status = tokio::time::timeout(TIMEOUT, del.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let o = k.run(&["get", "namespace", "d"]).await;
    assert!(!o.ok && o.stderr.contains("NotFound"), "{}", o.stderr);
}
