//! Against the real kube-apiserver (built by `scripts/test`): the CRDs `ferry crds` prints
//! are accepted by `kubectl apply`, the upstream samples are accepted or rejected as
//! specified, the CRD defaults are applied, and Ferry's typed objects (a full plan
//! status included) survive the server's validation and pruning unchanged.

// The helpers below are test code too: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use ferry_api::{Plan, Provider, crds};
use ferry_realkube::ControlPlane;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const NAMESPACE: &str = "openshift-mtv";
const BOUND: Duration = Duration::from_secs(300);

fn fixture(path: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text.replace("${NAMESPACE}", NAMESPACE)).unwrap()
}

fn sample(file: &str) -> Value {
    fixture(&format!("../../fixtures/upstream/samples/{file}"))
}

/// `kubectl <args>` with `stdin`, returning (success, stdout + stderr).
fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn wait_established(client: &Client, name: &str) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for _ in 0..600 {
        let crd = api.get(name).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never became Established");
}

fn dynamic(client: &Client, plural: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("forklift.konveyor.io", "v1beta1", kind);
    Api::namespaced_with(
        client.clone(),
        NAMESPACE,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

/// Creates `object` as-is; returns the server's object or its error message.
async fn create_raw(client: &Client, plural: &str, object: &Value) -> Result<Value, String> {
    let kind = object["kind"].as_str().unwrap();
    let object: DynamicObject = serde_json::from_value(object.clone()).unwrap();
    match dynamic(client, plural, kind)
        .create(&PostParams::default(), &object)
        .await
    {
        Ok(created) => Ok(serde_json::to_value(created).unwrap()),
        Err(kube::Error::Api(status)) => Err(status.message),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_apiserver_agrees_with_ferrys_crds_and_types() {
    tokio::time::timeout(BOUND, scenario())
        .await
        .expect("the test did not finish within its bound");
}

async fn scenario() {
    let plane = ControlPlane::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = plane.client().unwrap();
    let kubectl_bin = plane.binaries().kubectl();
    let kubeconfig = plane.kubeconfig();

    // `ferry crds | kubectl apply -f -`, first as a server-side dry run.
    let all = crds::all().unwrap();
    let yaml = crds::to_yaml(&all).unwrap();
    let (ok, out) = kubectl(
        &kubectl_bin,
        &kubeconfig,
        &["apply", "--dry-run=server", "-f", "-"],
        &yaml,
    );
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&kubectl_bin, &kubeconfig, &["apply", "-f", "-"], &yaml);
    assert!(ok, "{out}");
    assert_eq!(out.matches("created").count(), 14, "{out}");
    for crd in &all {
        wait_established(&client, crd.metadata.name.as_deref().unwrap()).await;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();

    // Valid samples are accepted...
    for (file, plural) in [
        ("forklift_v1beta1_provider.yaml", "providers"),
        ("forklift_v1beta1_migration.yaml", "migrations"),
        ("forklift_v1beta1_hook.yaml", "hooks"),
        (
            "forklift_v1beta1_forkliftcontroller.yaml",
            "forkliftcontrollers",
        ),
        (
            "forklift_v1beta1_ovirt_populator.yaml",
            "ovirtvolumepopulators",
        ),
        (
            "forklift_v1beta1_openstack_populator.yaml",
            "openstackvolumepopulators",
        ),
    ] {
        if let Err(message) = create_raw(&client, plural, &sample(file)).await {
            panic!("{file} was rejected: {message}");
        }
    }
    // ...and the invalid ones rejected, for the reasons the spec gives.
    for (file, plural, reasons) in [
        (
            "forklift_v1beta1_plan.yaml",
            "plans",
            &[
                "spec.map: Required value",
                "spec.targetNamespace: Required value",
                "spec.vms: Required value",
            ][..],
        ),
        (
            "forklift_v1beta1_networkmap.yaml",
            "networkmaps",
            &[
                "spec.provider.source: Required value",
                "spec.provider.destination: Required value",
            ][..],
        ),
        (
            "forklift_v1beta1_storagemap.yaml",
            "storagemaps",
            &[
                "spec.provider.source: Required value",
                "spec.provider.destination: Required value",
            ][..],
        ),
        (
            "forklift_v1beta1_host.yaml",
            "hosts",
            &["spec.secret: Required value"][..],
        ),
        (
            "forklift_v1beta1_vsphere_xcopy_volume_populator.yaml",
            "vspherexcopyvolumepopulators",
            &[
                "spec.vmId: Required value",
                "spec.vmdkPath: Required value",
                "spec.secretName: Required value",
                "spec.storageVendorProduct: Required value",
            ][..],
        ),
    ] {
        let message = create_raw(&client, plural, &sample(file))
            .await
            .expect_err(&format!("{file} must be rejected"));
        for reason in reasons {
            assert!(
                message.contains(reason),
                "{file}: {reason:?} not in {message:?}"
            );
        }
    }

    // The host provider, through the typed API.
    let providers: Api<Provider> = Api::namespaced(client.clone(), NAMESPACE);
    let host = providers
        .create(&PostParams::default(), &Provider::host(NAMESPACE))
        .await
        .unwrap();
    assert!(host.is_host());
    assert_eq!(host.spec, Provider::host(NAMESPACE).spec);

    // A plan: the CRD defaults fill in the Option<bool>s, and the full status survives
    // the server's validation and pruning unchanged.
    let plans: Api<Plan> = Api::namespaced(client.clone(), NAMESPACE);
    let full = fixture("tests/fixtures/full-plan.yaml");
    let mut plan: Plan = serde_json::from_value(full.clone()).unwrap();
    plan.metadata = ferry_api::ObjectMeta {
        name: Some("warm-plan".into()),
        namespace: Some(NAMESPACE.into()),
        ..Default::default()
    };
    plan.spec.preserve_static_ips = None;
    plan.spec.use_compatibility_mode = None;
    let created = plans.create(&PostParams::default(), &plan).await.unwrap();
    assert_eq!(
        created.spec.preserve_static_ips,
        Some(true),
        "CRD default applied"
    );
    assert_eq!(created.spec.use_compatibility_mode, Some(true));
    assert!(!created.spec.skip_guest_conversion);
    assert_eq!(
        created.spec.vms, plan.spec.vms,
        "luks: {{}} and all VM fields kept"
    );
    assert_eq!(created.spec.target_affinity, plan.spec.target_affinity);
    assert!(
        created.status.conditions.is_empty(),
        "status is ignored on create"
    );

    let status = json!({ "status": full["status"] });
    let patched = plans
        .patch_status("warm-plan", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&patched.status).unwrap(),
        full["status"],
        "the server pruned or changed part of a Forklift-shaped status"
    );
    assert_eq!(patched.status, plan.status);

    plane.stop().unwrap();
}
