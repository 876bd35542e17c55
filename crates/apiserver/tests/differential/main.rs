//! Differential: the same request sequences against the embedded server and the
//! real kube-apiserver + etcd (+ kube-controller-manager's garbage collector,
//! namespace, service-account and PV/PVC protection controllers), built by
//! `scripts/test`. Each scenario runs against both at once; every step's status
//! code, `Status` reason, message and details (causes), returned object and
//! warnings are compared after normalization (see `harness`). A difference fails
//! the test unless `docs/apiserver-differences.md` lists it (step and what differs,
//! with the reason it is accepted); a listed difference that no longer occurs fails
//! too, so the list stays true.
//!
//! `FERRY_DIFFERENTIAL_DUMP=1` prints what the real server answered at each step.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "512"]

#[path = "../common/mod.rs"]
mod common;

mod apply;
mod crd;
mod default_class;
mod deletion;
mod harness;
mod input;
mod invalid;
mod lists;
mod namespaces;
mod objects;
mod requests;
mod scheduling;
mod watch;
mod writes;

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_apiserver::ApiServer;
use harness::{Control, Session};

/// The bound on one scenario (both servers): waits for controllers are the longest.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(600);

/// The scenarios, by the name their steps are listed under.
const SCENARIOS: [&str; 15] = [
    "requests",
    "objects",
    "writes",
    "apply",
    "watch",
    "compaction",
    "crd",
    "crd-definitions",
    "invalid",
    "deletion",
    "lists",
    "namespaces",
    "input",
    "scheduling",
    "default-class",
];

/// Runs `scenario` against the shared real control plane and a fresh embedded
/// server, then checks the differences against the accepted list.
async fn differential(name: &str, scenario: impl AsyncFn(&mut Session)) {
    let plane = common::shared_plane().await;
    let real = Session::new("real", raw_client(plane.config()), Control::SharedReal);
    run(name, real, scenario).await;
}

/// Like [`differential`], with a real control plane of the scenario's own (which it
/// may restart).
async fn differential_alone(name: &str, scenario: impl AsyncFn(&mut Session)) {
    let plane = ferry_realkube::ControlPlane::builder()
        .garbage_collection()
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot start the real kube-apiserver ({e}); run scripts/test, which builds it")
        });
    let client = raw_client(plane.config());
    let real = Session::new("real", client, Control::OwnReal(Box::new(plane)));
    run(name, real, scenario).await;
}

/// A client that shows every answer as it came: no retries on 429/503/504 (kube-rs
/// retries those by default, honouring `Retry-After`).
fn raw_client(mut config: kube::Config) -> kube::Client {
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

async fn run(name: &str, mut real: Session, scenario: impl AsyncFn(&mut Session)) {
    assert!(SCENARIOS.contains(&name), "{name} is not in SCENARIOS");
    let server = ApiServer::builder().in_memory().start().await.unwrap();
    let client = raw_client(server.client_config());
    let mut ours = Session::new("ours", client, Control::Ours(server));
    tokio::time::timeout(SCENARIO_TIMEOUT, async {
        tokio::join!(scenario(&mut real), scenario(&mut ours))
    })
    .await
    .unwrap_or_else(|_| panic!("{name}: not done within {SCENARIO_TIMEOUT:?}"));
    harness::check(name, &real, &ours);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests() {
    differential("requests", requests::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_objects() {
    differential("objects", objects::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_updates_and_patches() {
    differential("writes", writes::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply() {
    differential("apply", apply::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches() {
    differential("watch", watch::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_and_lists_after_compaction() {
    differential_alone("compaction", watch::compaction).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources() {
    differential("crd", crd::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_custom_resource_definitions() {
    differential("crd-definitions", crd::invalid_definitions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects() {
    differential("invalid", invalid::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_finalizers_and_garbage_collection() {
    differential("deletion", deletion::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paging_and_selectors() {
    differential("lists", lists::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_namespaces() {
    differential("namespaces", namespaces::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_pod_binding() {
    differential("scheduling", scheduling::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_storage_class_admission() {
    differential_alone("default-class", default_class::scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input() {
    differential("input", input::scenario).await;
}

/// Every accepted difference names a scenario that exists and says what differs
/// in words the comparison uses (the scenario's own test checks the step).
#[test]
fn the_accepted_differences_name_real_scenarios_and_aspects() {
    let aspects: BTreeSet<&str> = [
        "code", "reason", "message", "details", "body", "warnings", "events", "wait",
    ]
    .into();
    for (key, listed) in harness::accepted() {
        let scenario = key.split('/').next().unwrap_or_default();
        assert!(
            SCENARIOS.contains(&scenario),
            "docs/apiserver-differences.md: {key}: no scenario {scenario}"
        );
        assert!(!listed.is_empty(), "{key}: no aspects listed");
        for a in &listed {
            assert!(aspects.contains(a.as_str()), "{key}: unknown aspect {a}");
        }
    }
}
