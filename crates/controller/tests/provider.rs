//! The Provider controller against the embedded API server: OVA providers over a real
//! catalog, the host provider, bad secrets and URLs, recovery through the Secret
//! watch, collector restarts and clean-up, finalizers, and objects that do not decode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Bed, EXPORT, NS, bounded, condition, events_about, reference, types};
use ferry_api::Provider;
use ferry_api::condition::types as t;
use ferry_api::provider::{ProviderSpec, phase};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};

fn ova(name: &str, url: &str, secret: &str) -> Provider {
    Provider::new(
        NS,
        name,
        ProviderSpec {
            r#type: Some("ova".into()),
            url: url.into(),
            secret: reference(secret),
            ..ProviderSpec::default()
        },
    )
}

fn phase_is(p: &'static str) -> impl Fn(&Provider) -> bool {
    move |provider: &Provider| provider.status.phase == p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ova_provider_becomes_ready_and_its_inventory_is_served() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    bed.secret("ova-creds", &[("url", EXPORT)]).await;
    let created = bed.create(&ova("ova", EXPORT, "ova-creds")).await;
    let provider: Provider = bed
        .wait("ova", "provider Ready", phase_is(phase::READY))
        .await;
    assert_eq!(
        types(&provider.status.conditions),
        [
            t::CONNECTION_TEST_SUCCEEDED,
            t::INVENTORY_CREATED,
            t::READY,
            t::VALIDATED
        ]
    );
    let ready = condition(&provider.status.conditions, t::READY).unwrap();
    assert_eq!(ready.message, "The provider is ready.");
    assert_eq!(provider.status.observed_generation, provider.generation());
    assert!(!provider.status.secret_resource_version.is_empty());
    // The inventory is registered under the provider's UID and holds the samples.
    let uid = created.uid();
    let inventory = bed
        .manager()
        .collectors()
        .inventory(uid)
        .expect("registered inventory");
    let vms = inventory.list(ferry_inventory::Kind::Vm).unwrap();
    assert_eq!(vms.len(), bed.catalog.appliances.len());
    // Condition changes were published as Events.
    let events = bounded("events", async {
        loop {
            let events = events_about(&bed.client, "ova").await;
            if events.iter().any(|(_, reason, _)| reason == t::READY) {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(events.contains(&(
        "Normal".into(),
        t::READY.into(),
        "The provider is ready.".into()
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_provider_is_ready_without_a_secret() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    bed.create(&Provider::host(NS)).await;
    let host: Provider = bed.wait("host", "host Ready", phase_is(phase::READY)).await;
    assert!(host.status.conditions.is_ready());
    assert!(
        bed.manager().collectors().is_empty(),
        "the host needs no collector"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_secrets_and_urls_are_conditions_and_a_secret_created_later_is_noticed() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    bed.create(&ova("missing-secret", EXPORT, "later")).await;
    let provider: Provider = bed
        .wait("missing-secret", "SecretNotValid", |p: &Provider| {
            condition(&p.status.conditions, t::SECRET_NOT_VALID).is_some()
        })
        .await;
    let c = condition(&provider.status.conditions, t::SECRET_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str()),
        ("NotFound", "Critical")
    );
    assert_eq!(provider.status.phase, phase::VALIDATION_FAILED);
    // Creating the secret is enough: the Secret watch wakes the provider.
    bed.secret("later", &[("url", EXPORT)]).await;
    bed.wait(
        "missing-secret",
        "Ready after the secret appears",
        phase_is(phase::READY),
    )
    .await;

    bed.secret("no-url", &[("password", "hunter2")]).await;
    bed.create(&ova("bad-data", EXPORT, "no-url")).await;
    let provider: Provider = bed
        .wait("bad-data", "DataErr", |p: &Provider| {
            condition(&p.status.conditions, t::SECRET_NOT_VALID).is_some()
        })
        .await;
    let c = condition(&provider.status.conditions, t::SECRET_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.items.as_slice()),
        ("DataErr", ["url".to_string()].as_slice())
    );
    let status = serde_json::to_string(&provider.status).unwrap();
    assert!(!status.contains("hunter2"), "no secret value in the status");

    bed.create(&ova("bad-url", "nfs://server/path", "later"))
        .await;
    let provider: Provider = bed
        .wait("bad-url", "UrlNotValid", |p: &Provider| {
            condition(&p.status.conditions, t::URL_NOT_VALID).is_some()
        })
        .await;
    // Upstream's expression lets `nfs://...` through (server `nfs`); Ferry says why not.
    let c = condition(&provider.status.conditions, t::URL_NOT_VALID).unwrap();
    assert_eq!(c.reason, "Malformed");
    assert!(c.message.contains("is not an NFS export"), "{}", c.message);
    assert_eq!(provider.status.phase, phase::VALIDATION_FAILED);

    let absurd = "x:/".to_string() + &"../".repeat(500) + "etc";
    bed.create(&ova("absurd", &absurd, "later")).await;
    let provider: Provider = bed
        .wait("absurd", "absurd URL refused", |p: &Provider| {
            condition(&p.status.conditions, t::URL_NOT_VALID).is_some()
        })
        .await;
    assert!(
        condition(&provider.status.conditions, t::URL_NOT_VALID)
            .unwrap()
            .message
            .contains("cannot be mapped below Ferry's OVA mount root")
    );

    let mut ovirt = ova("ovirt", "https://engine.example/ovirt-engine/api", "later");
    ovirt.spec.r#type = Some("ovirt".into());
    bed.create(&ovirt).await;
    let provider: Provider = bed
        .wait("ovirt", "unsupported type", |p: &Provider| {
            condition(&p.status.conditions, t::PROVIDER_TYPE_NOT_SUPPORTED).is_some()
        })
        .await;
    assert!(
        condition(&provider.status.conditions, t::PROVIDER_TYPE_NOT_SUPPORTED)
            .unwrap()
            .message
            .contains("`ovirt`")
    );
    let events = events_about(&bed.client, "bad-data").await;
    assert!(
        events
            .iter()
            .any(|(kind, reason, _)| kind == "Warning" && reason == t::SECRET_NOT_VALID),
        "{events:?}"
    );
    assert!(events.iter().all(|(_, _, note)| !note.contains("hunter2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_catalog_fails_the_connection_until_it_appears() {
    let mut bed = Bed::new().await;
    let missing = bed.dir.path().join("not-yet");
    bed.settings
        .ova
        .shares
        .push(("nfs.example:/later".into(), missing.clone()));
    bed.start_manager().await;
    bed.secret("creds", &[("url", "x")]).await;
    bed.create(&ova("later", "nfs.example:/later", "creds"))
        .await;
    let provider: Provider = bed
        .wait(
            "later",
            "ConnectionFailed",
            phase_is(phase::CONNECTION_FAILED),
        )
        .await;
    let c = condition(&provider.status.conditions, t::CONNECTION_TEST_FAILED).unwrap();
    assert!(
        c.message.starts_with("Connection test, failed: "),
        "{}",
        c.message
    );
    // The collector keeps rescanning (its own timer); the share "gets mounted".
    std::fs::create_dir_all(&missing).unwrap();
    let provider: Provider = bed
        .wait(
            "later",
            "Ready once the directory exists",
            phase_is(phase::READY),
        )
        .await;
    assert!(condition(&provider.status.conditions, t::CONNECTION_TEST_FAILED).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collectors_follow_the_url_and_stop_with_the_provider() {
    let mut bed = Bed::new().await;
    let other = bed.dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    bed.settings
        .ova
        .shares
        .push(("nfs.example:/other".into(), other.clone()));
    bed.start_manager().await;
    bed.secret("creds", &[("url", "x")]).await;
    let created = bed.create(&ova("ova", EXPORT, "creds")).await;
    bed.wait("ova", "Ready", phase_is(phase::READY)).await;
    let collectors = bed.manager().collectors().clone();
    assert_eq!(collectors.ova_root(created.uid()), Some(bed.root()));
    // A new URL restarts the collector on the new directory.
    bed.api::<Provider>()
        .patch(
            "ova",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"url": "nfs.example:/other"}})),
        )
        .await
        .unwrap();
    bed.wait("ova", "observed the new URL", |p: &Provider| {
        p.status.observed_generation == p.generation() && p.status.phase == phase::READY
    })
    .await;
    bounded("the collector moved", async {
        while collectors.ova_root(created.uid()) != Some(other.clone()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let inventory = collectors.inventory(created.uid()).unwrap();
    assert!(
        inventory
            .list(ferry_inventory::Kind::Vm)
            .unwrap()
            .is_empty()
    );
    // Deleting the provider stops its collector and unregisters the inventory.
    bed.api::<Provider>()
        .delete("ova", &DeleteParams::default())
        .await
        .unwrap();
    bounded("the collector stopped", async {
        while !collectors.is_empty() || collectors.inventory(created.uid()).is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forklifts_provider_finalizer_does_not_keep_a_provider_forever() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    bed.secret("creds", &[("url", "x")]).await;
    let mut provider = ova("finalized", EXPORT, "creds");
    provider.metadata.finalizers = Some(vec![
        ferry_api::provider::OVA_PROVIDER_FINALIZER.into(),
        "example.com/keep".into(),
    ]);
    bed.create(&provider).await;
    bed.wait("finalized", "Ready", phase_is(phase::READY)).await;
    bed.api::<Provider>()
        .delete("finalized", &DeleteParams::default())
        .await
        .unwrap();
    let provider: Provider = bed
        .wait(
            "finalized",
            "Forklift's finalizer removed",
            |p: &Provider| {
                p.metadata.finalizers.as_deref() == Some(&["example.com/keep".to_string()][..])
            },
        )
        .await;
    assert!(provider.metadata.deletion_timestamp.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_decode_does_not_wedge_the_controller() {
    // A permissive schema (as a hand-edited or older CRD could have) lets a Provider
    // with a wrong type in its spec reach the controller.
    let mut bed = Bed::with_crds(|crd| {
        if crd.spec.names.kind == "Provider" {
            let version = &mut crd.spec.versions[0];
            let schema = version.schema.as_mut().unwrap();
            let props = schema.open_api_v3_schema.as_mut().unwrap();
            let spec = props.properties.as_mut().unwrap().get_mut("spec").unwrap();
            *spec = serde_json::from_value(serde_json::json!({
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true
            }))
            .unwrap();
        }
    })
    .await;
    bed.start_manager().await;
    let api = bed.api::<Provider>();
    let broken: kube::core::DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Provider",
        "metadata": {"name": "broken", "namespace": NS},
        "spec": {"type": 5, "url": ["not", "a", "string"], "secret": "nope"}
    }))
    .unwrap();
    let dynamic: kube::Api<kube::core::DynamicObject> = kube::Api::namespaced_with(
        bed.client.clone(),
        NS,
        &kube::core::ApiResource::erase::<Provider>(&()),
    );
    dynamic
        .create(&PostParams::default(), &broken)
        .await
        .expect("the permissive schema accepts it");
    // Other providers are still served.
    bed.create(&Provider::host(NS)).await;
    bed.wait(
        "host",
        "host Ready next to a broken provider",
        phase_is(phase::READY),
    )
    .await;
    let events = bounded("the malformed object is reported", async {
        loop {
            let events = events_about(&bed.client, "broken").await;
            if !events.is_empty() {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(events[0].0, "Warning");
    assert_eq!(events[0].1, "MalformedObject");
    assert!(
        events[0].2.contains("Provider ns/broken cannot be read"),
        "{}",
        events[0].2
    );
    // Fixing the object brings it back.
    let fixed = serde_json::json!({"spec": {"type": "openshift", "url": null, "secret": {}}});
    dynamic
        .patch("broken", &PatchParams::default(), &Patch::Merge(fixed))
        .await
        .unwrap();
    let _ = api;
    bed.wait(
        "broken",
        "the fixed provider is Ready",
        phase_is(phase::READY),
    )
    .await;
}
