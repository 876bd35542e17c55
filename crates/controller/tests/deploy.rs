//! `deploy/`: the generated manifests are current, every file parses into its
//! Kubernetes type, the ClusterRole grants exactly `rbac::RULES`, and the Deployment
//! runs `ferry controller` with the ServiceAccount, settings and probes it needs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferry_controller::rbac;
use ferry_controller::settings::catalog;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

fn deploy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file)
}

fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(deploy(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{file} does not parse: {e}"))
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(doc: &Value, file: &str) -> T {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{file}: {e}\n{doc}"))
}

/// Rewrites a generated file with `FERRY_UPDATE_DEPLOY=1`, then checks it is current.
fn generated(file: &str, content: &str) {
    let path = deploy(file);
    if std::env::var_os("FERRY_UPDATE_DEPLOY").is_some() {
        std::fs::write(&path, content).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == content,
        "deploy/{file} is stale: run `FERRY_UPDATE_DEPLOY=1 cargo test -p ferry-controller --test deploy`"
    );
}

#[test]
fn generated_manifests_are_current() {
    let crds = ferry_api::crds::all().unwrap();
    generated("10-crds.yaml", &ferry_api::crds::to_yaml(&crds).unwrap());
    generated("20-rbac.yaml", &rbac::manifest());
    let parsed = documents("10-crds.yaml");
    assert_eq!(parsed.len(), crds.len());
    for doc in &parsed {
        let _: CustomResourceDefinition = typed(doc, "10-crds.yaml");
    }
}

#[test]
fn the_cluster_role_grants_exactly_the_rules() {
    let docs = documents("20-rbac.yaml");
    assert_eq!(docs.len(), 3);
    let account: ServiceAccount = typed(&docs[0], "20-rbac.yaml");
    let role: ClusterRole = typed(&docs[1], "20-rbac.yaml");
    let binding: ClusterRoleBinding = typed(&docs[2], "20-rbac.yaml");
    let granted: BTreeSet<(String, String, String)> = role
        .rules
        .unwrap_or_default()
        .iter()
        .flat_map(|rule| {
            let groups = rule.api_groups.clone().unwrap_or_default();
            let resources = rule.resources.clone().unwrap_or_default();
            let verbs = rule.verbs.clone();
            groups.into_iter().flat_map(move |g| {
                let verbs = verbs.clone();
                resources.clone().into_iter().flat_map(move |r| {
                    let g = g.clone();
                    verbs
                        .clone()
                        .into_iter()
                        .map(move |v| (g.clone(), r.clone(), v))
                })
            })
        })
        .collect();
    let wanted: BTreeSet<(String, String, String)> = rbac::RULES
        .iter()
        .flat_map(|access| {
            access.resources.iter().flat_map(move |r| {
                access
                    .verbs
                    .iter()
                    .map(move |v| (access.group.to_string(), r.to_string(), v.to_string()))
            })
        })
        .collect();
    assert_eq!(granted, wanted);
    assert_eq!(account.metadata.name.as_deref(), Some(rbac::NAME));
    assert_eq!(binding.role_ref.name, rbac::NAME);
    let subject = &binding.subjects.unwrap()[0];
    assert_eq!(
        (subject.name.as_str(), subject.namespace.as_deref()),
        (rbac::NAME, Some(rbac::NAMESPACE))
    );
}

#[test]
fn the_deployment_runs_the_controller() {
    let namespace: Namespace = typed(&documents("00-namespace.yaml")[0], "00-namespace.yaml");
    assert_eq!(namespace.metadata.name.as_deref(), Some(rbac::NAMESPACE));
    let deployment: Deployment = typed(&documents("30-deployment.yaml")[0], "30-deployment.yaml");
    assert_eq!(
        deployment.metadata.namespace.as_deref(),
        Some(rbac::NAMESPACE)
    );
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(rbac::NAME));
    let container = &pod.containers[0];
    let args = container.args.clone().unwrap_or_default();
    assert_eq!(args.first().map(String::as_str), Some("controller"));
    let env = container.env.clone().unwrap_or_default();
    for var in &env {
        assert!(
            var.name == "POD_NAME" || catalog::find(&var.name).is_some(),
            "{} is not a setting (docs/settings.md)",
            var.name
        );
    }
    let pod_namespace = env.iter().find(|v| v.name == "POD_NAMESPACE").unwrap();
    assert_eq!(
        pod_namespace
            .value_from
            .as_ref()
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.as_str()),
        Some("metadata.namespace")
    );
    let probe_path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
    let host: ferry_api::Provider = typed(
        &documents("40-host-provider.yaml")[0],
        "40-host-provider.yaml",
    );
    assert!(host.is_host());
    assert_eq!(host.namespace(), rbac::NAMESPACE);
}
